"""`voxprospect run` as a batch user sees it: progress bars on a terminal, plain step lines off
one, an end summary, ``--json`` for scripts, every output in report.json, the figures.

One random-forest run of the tiny project per mode (a few seconds each); the CLI is run as
a real subprocess, under a real pseudo-terminal for the bars.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tests_shared import make_tiny_project

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "120", "LINES": "40"}
STEPS = ("evidence", "samples", "RF under each protocol", "RF final fit", "RF prediction", "RF targets")
LINE = re.compile(r"^(\d\d:\d\d:\d\d) \[\s*(\d+\.\d)%\] ([^:]+): (.+)$")


def voxprospect(*args):
    exe = shutil.which("voxprospect")
    return [exe, *args] if exe else [sys.executable, "-m", "voxprospect_cli.main", *args]


def run_under_pty(cmd, cwd):
    """Run ``cmd`` with stdout and stderr on a pseudo-terminal; return (exit code, text)."""
    master, slave = os.openpty()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, cwd=cwd, env=ENV,
                            close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 1 << 16)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=300), b"".join(chunks).decode("utf-8", "replace")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    path = make_tiny_project(tmp_path_factory.mktemp("tiny") / "district", models='["RF"]')
    # small chunks, so whole-grid prediction reports several updates on this tiny grid
    path.write_text(path.read_text() + "\n[prediction]\nchunk_voxels = 1000\n")
    return path


@pytest.fixture(scope="module")
def json_run(project):
    """``run --json`` off a terminal: (stdout, stderr, outdir)."""
    outdir = project.parent / "out_json"
    p = subprocess.run(voxprospect("run", str(project), "-o", str(outdir), "--json"), capture_output=True,
                       text=True, env=ENV, timeout=300)
    assert p.returncode == 0, p.stderr
    return p.stdout, p.stderr, outdir


def test_bars_per_step_and_summary_on_a_terminal(project):
    outdir = project.parent / "out_tty"
    rc, text = run_under_pty(voxprospect("run", str(project), "-o", str(outdir)), project.parent)
    assert rc == 0, text
    renders = [r for r in re.split(r"[\r\n]+", text) if "|" in r and "%" in r]
    by_step = {}
    for r in renders:
        m = re.match(r"^\s*(.+?) \|.*\|\s*(\d+\.\d)%", r)
        if m:
            by_step.setdefault(m.group(1).strip(), []).append(float(m.group(2)))
    for step in STEPS:
        assert len(by_step.get(step, [])) >= 2, (step, sorted(by_step))
    # the long steps move: several distinct percentages, never backwards
    for step in ("evidence", "RF under each protocol", "RF prediction"):
        vals = by_step[step]
        assert len(set(vals)) >= 3, (step, vals)
        assert vals == sorted(vals), (step, vals)
    report = json.loads((outdir / "report.json").read_text())
    for protocol, m in report["metrics"]["RF"].items():
        if "skipped" in m:
            assert re.search(rf"{protocol}\s+skipped", text), protocol
        else:
            assert re.search(rf"{protocol}\s+AUC {m['auc']:.3f}", text), protocol
    assert f"targets: {report['targets']['count']}" in text


def test_plain_step_lines_off_a_terminal(json_run):
    stdout, stderr, _ = json_run
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    parsed = [LINE.match(ln) for ln in lines]
    assert all(parsed), [ln for ln, m in zip(lines, parsed) if not m]
    steps = [m.group(3) for m in parsed]
    seen = list(dict.fromkeys(steps))
    assert [s for s in seen if s in STEPS] == list(STEPS)
    pcts = [float(m.group(2)) for m in parsed]
    assert pcts == sorted(pcts) and pcts[-1] == 100.0
    assert "|" not in stderr and "\r" not in stderr  # no bar drawn into a log file


def test_json_carries_the_report_numbers(json_run):
    stdout, _, outdir = json_run
    summary = json.loads(stdout)  # stdout holds the JSON and nothing else
    report = json.loads((outdir / "report.json").read_text())
    scored = 0
    for protocol, m in report["metrics"]["RF"].items():
        got = summary["models"]["RF"]["protocols"][protocol]
        if "skipped" in m:  # the tiny district is too small for some honest protocols
            assert got == {"skipped": m["skipped"]}
            continue
        scored += 1
        for key in ("auc", "accuracy", "f1"):
            assert got[key] == m[key], (protocol, key)
    assert scored >= 1
    assert summary["threshold"] == report["pa"]["at_threshold"]["threshold"]
    assert summary["prediction_rate"] == report["pa"]["at_threshold"]["prediction_rate"]
    assert summary["volume_share"] == report["pa"]["at_threshold"]["volume_share"]
    assert summary["target_count"] == report["targets"]["count"] == len(report["target_tables"]["RF"])
    sizes = [t["volume_m3"] for t in summary["largest_targets"]]
    assert sizes == sorted(sizes, reverse=True)
    assert max(t["volume_m3"] for t in report["target_tables"]["RF"]) == sizes[0]
    assert summary["elapsed_s"] > 0


def test_report_lists_every_output_with_role_and_hash(json_run):
    _, _, outdir = json_run
    report = json.loads((outdir / "report.json").read_text())
    listed = {os.path.basename(r["path"]): r for r in report["outputs"]}
    on_disk = {p.name for p in outdir.iterdir() if p.is_file() and p.name != "report.json"}
    assert on_disk == set(listed)
    for name, rec in listed.items():
        data = (outdir / name).read_bytes()
        assert rec["sha256"] == hashlib.sha256(data).hexdigest()
        assert rec["size"] == len(data)
        assert rec["role"] and rec["role"] != "other", name
    roles = {r["role"] for r in report["outputs"]}
    assert {"checkpoint", "evidence", "prospectivity", "targets_table", "pa_plot", "figure_depth_slices",
            "figure_sections"} <= roles


def test_figures_are_pngs_of_the_named_levels_and_sections(json_run):
    from matplotlib.image import imread

    from voxprospect.io import read_volume
    from voxprospect.mapping.figures import choose_levels

    stdout, _, outdir = json_run
    summary = json.loads(stdout)
    figs = summary["models"]["RF"]["figures"]
    for name in figs["files"].values():
        path = outdir / name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        img = imread(path)
        assert img.shape[0] > 200 and img.shape[1] > 200 and np.ptp(img) > 0
        assert any(os.path.basename(f) == name for f in summary["figures"])
    prosp = read_volume(outdir / "prospectivity_RF.vti")
    values = np.where(prosp.active, np.asarray(prosp["prospectivity"], float), np.nan)
    grid = prosp.grid
    want = [grid.origin[2] + (k + 0.5) * grid.cell_size[2] for k in choose_levels(values, 3)]
    assert figs["depth_slice_elevations_m"] == pytest.approx(want)
    # the sections pass through the grid's cell centres, inside the grid
    for key, axis in (("section_sn_easting_m", 0), ("section_we_northing_m", 1)):
        v = figs[key]
        i = (v - grid.origin[axis]) / grid.cell_size[axis] - 0.5
        assert 0 <= i < grid.shape[axis] and i == pytest.approx(round(i))


def test_device_left_out_keeps_the_projects(project, tmp_path):
    text = project.read_text().replace("[training]", '[training]\ndevice = "cpu"')
    proj = project.parent / "project_cpu.toml"
    proj.write_text(text)
    # left out (and -q: nothing printed at all), then given explicitly with --json
    for args, want in ((("-q", "train"), "cpu"), (("train", "--json", "--device", "auto"), "auto")):
        outdir = tmp_path / f"out_{want}"
        p = subprocess.run(voxprospect(*args, str(proj), "-o", str(outdir), "--model", "RF"),
                           capture_output=True, text=True, env=ENV, timeout=300)
        assert p.returncode == 0, p.stderr
        assert json.loads((outdir / "report.json").read_text())["parameters"]["device"] == want
        if want == "cpu":
            assert p.stdout == "" and p.stderr == ""
        else:
            assert "RF" in json.loads(p.stdout)["models"]


def test_nested_progress_ranges():
    from voxprospect.workflows.progress import Progress, StepTracker

    seen = []
    top = Progress(lambda f, m: seen.append((f, m)))
    models = top.split(2, 0.2, 0.6, prefixes=["DL1: ", "RF: "])
    fold = models[1].sub(0.5, 1.0, "deposit: ")
    fold(0.5, "epoch 1/2 loss 0.5")
    assert seen[-1][0] == pytest.approx(0.2 + 0.2 + 0.2 * 0.75)
    assert seen[-1][1] == "RF: deposit: epoch 1/2 loss 0.5"
    fold(0.1, "restart")  # never backwards
    assert seen[-1][0] == pytest.approx(0.2 + 0.2 + 0.2 * 0.75)
    tr = StepTracker()
    assert tr.update("predicting the whole grid with DL4") == ("DL4 prediction", True)
    assert tr.update("predicting 5,148 voxels") == ("DL4 prediction", False)
    assert tr.update("epoch 3/5 loss 0.1") == ("DL4 prediction", False)


def test_ablation_report_lists_its_tables(project, tmp_path):
    from voxprospect.workflows.pipeline import run_ablation

    rep = run_ablation(project, tmp_path / "abl", models=["RF"])
    on_disk = json.loads((tmp_path / "abl" / "report.json").read_text())
    assert on_disk["outputs"] == rep["outputs"]
    roles = {r["role"]: r for r in on_disk["outputs"]}
    for role, name in (("ablation_table", "ablation.md"), ("ablation_json", "ablation.json")):
        data = (tmp_path / "abl" / name).read_bytes()
        assert roles[role]["sha256"] == hashlib.sha256(data).hexdigest()
