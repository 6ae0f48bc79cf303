"""The pipeline end to end on a tiny hand-made district: every step writes what it
promises, the report carries the keys issue 3 names, and bad inputs stop with one
clear error and no output."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner

from voxprospect import InputFileError, LayerError, NoPositivesError, OutputError, Volume, VoxelGrid
from voxprospect.io import read_volume, write_volume
from voxprospect_cli.main import cli

GRID = VoxelGrid((400_000.0, 3_000_000.0, -1_000.0), (100.0, 100.0, 50.0), (26, 22, 10), "EPSG:32651")

PROJECT = """
[project]
name = "tiny"
seed = 3
output_dir = "out"

[inputs.geology]
path = "geology.vti"

[inputs.geophysics]
path = "geophysics.vti"

[[evidence]]
name = "intrusion"
kind = "buffer"
source = "geology"
layer = "lithology"
classes = ["granodiorite"]
transform = "fuzzy"
max_distance_m = 1500

[[evidence]]
name = "density"
kind = "geophysics"
source = "geophysics"
layer = "density"

[orebodies]
source = "geology"
layer = "orebody"

[samples]
window = 3
min_distance_m = 500

[training]
models = {models}
epochs = 2
batch_size = 64
protocols = ["random", "spatial", "deposit"]
"""


def make_tiny_district(folder, models='["DL1", "RF"]', with_ore=True):
    """Two small deposits beside a granodiorite body, a density high over it."""
    folder.mkdir(parents=True, exist_ok=True)
    i, j, k = np.meshgrid(*(np.arange(n) for n in GRID.shape), indexing="ij")
    active = k < 9  # top level is air
    lith = np.zeros(GRID.shape, np.int16)
    lith[(i - 6) ** 2 + (j - 6) ** 2 + (k - 4) ** 2 <= 9] = 1
    ore = np.zeros(GRID.shape, np.int16)
    if with_ore:
        ore[9:11, 5:8, 3:6] = 1       # deposit 1 at the body's east contact
        ore[5:8, 9:11, 2:4] = 2       # deposit 2 at its north contact
    rng = np.random.default_rng(0)
    dens = (2.65 + 0.1 * (lith == 1) + 0.02 * rng.standard_normal(GRID.shape)).astype(np.float32)
    dens[~active] = np.nan
    geology = Volume(GRID, {"lithology": lith, "orebody": ore}, active,
                     classes={"lithology": {0: "host", 1: "granodiorite"},
                              "orebody": {0: "barren", 1: "East", 2: "North"}})
    write_volume(geology, folder / "geology.vti")
    write_volume(Volume(GRID, {"density": dens}, active), folder / "geophysics.vti")
    (folder / "project.toml").write_text(PROJECT.replace("{models}", models))
    return folder / "project.toml"


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    import torch
    torch.set_num_threads(1)
    from voxprospect.pipeline import run_project
    folder = tmp_path_factory.mktemp("tiny")
    project = make_tiny_district(folder)
    report = run_project(project, folder / "out")
    return folder, report


def test_study_report_has_the_issue_keys(study):
    folder, rep = study
    saved = json.loads((folder / "out" / "report.json").read_text())
    from voxprospect.models import build_model, count_parameters
    assert saved["models"]["DL1"]["n_params"] == count_parameters(build_model("DL1", 2))
    assert saved["models"]["DL1"]["flops"] > saved["models"]["DL1"]["n_params"]
    for name in ("DL1", "RF"):
        for protocol in ("random", "spatial", "deposit"):
            m = saved["models"][name]["metrics"][protocol]
            assert "skipped" in m or all(0.0 <= (m[k] if m[k] is not None else 0.0) <= 1.0
                                         for k in ("accuracy", "auc", "f1"))
    assert saved["models"]["DL1"]["metrics"]["random"]["leaky"] is True
    pa = saved["pa"]
    assert 0 < pa["threshold"] < 1 and pa["prediction_rate"] == pytest.approx(1 - pa["volume_share"], abs=1e-6)
    assert saved["targets"]["count"] >= 1
    assert saved["seed"] == 3 and saved["samples"]["n_positive"] == 18 + 12
    assert {i["path"].split("/")[-1] for i in saved["inputs"]} >= {"project.toml", "geology.vti", "geophysics.vti"}
    assert "total" in saved["timings_s"] and saved["versions"]["torch"]


def test_study_files_are_valid(study):
    import fiona
    folder, rep = study
    out = folder / "out"
    prosp = read_volume(out / "prospectivity_DL1.vti")
    assert prosp.grid == GRID
    vals = prosp["prospectivity"]
    assert np.isnan(vals[~prosp.active]).all()
    assert np.all((vals[prosp.active] >= 0) & (vals[prosp.active] <= 1))
    rows = (out / "targets_DL1.csv").read_text().strip().splitlines()
    assert len(rows) - 1 == rep["models"]["DL1"]["targets"]["count"]
    with fiona.open(out / "targets_DL1.gpkg", layer="target_centroids") as src:
        assert len(src) == rep["models"]["DL1"]["targets"]["count"]
        assert src.crs.to_epsg() == 32651
    labels = read_volume(out / "targets_DL1.vti")["target_id"]
    assert labels.max() == rep["models"]["DL1"]["targets"]["count"]
    # every target voxel is at or above the threshold
    assert np.all(vals[labels > 0] >= rep["models"]["DL1"]["threshold"])
    for f in ("pa_DL1.png", "training_DL1.png", "models.md", "DL1.vxp.safetensors", "RF.vxp.safetensors",
              "prospectivity_RF.tif", "evidence.vti"):
        assert (out / f).stat().st_size > 100, f


def test_checkpoint_predict_and_targets_steps_agree_with_the_study(study, tmp_path):
    from voxprospect.pipeline import run_predict, run_targets
    folder, rep = study
    out = folder / "out"
    s = run_predict(out / "RF.vxp.safetensors", out / "evidence.vti", tmp_path / "p.vti")
    again = read_volume(tmp_path / "p.vti")["prospectivity"]
    before = read_volume(out / "prospectivity_RF.vti")["prospectivity"]
    assert np.array_equal(np.isnan(again), np.isnan(before))
    assert np.nanmax(np.abs(again - before)) == 0.0
    assert s["active_voxels"] == int(np.isfinite(before).sum())
    t = run_targets(tmp_path / "p.vti", tmp_path / "t", orebody_path=folder / "geology.vti")
    assert t["pa"]["threshold"] == pytest.approx(rep["models"]["RF"]["pa"]["threshold"])
    assert t["targets"]["count"] == rep["models"]["RF"]["targets"]["count"]


def test_cli_train_predict_targets(tmp_path):
    folder = tmp_path / "d"
    project = make_tiny_district(folder, models='["RF"]')
    r = CliRunner().invoke(cli, ["train", str(project), "-o", str(tmp_path / "m"), "--model", "RF"])
    assert r.exit_code == 0, r.output
    assert "spatial" in r.output
    ckpt = tmp_path / "m" / "RF.vxp.safetensors"
    r = CliRunner().invoke(cli, ["predict", str(ckpt), str(tmp_path / "m" / "evidence.vti"),
                                 "-o", str(tmp_path / "p.vti"), "--geotiff", str(tmp_path / "p.tif")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "p.tif").exists() and (tmp_path / "p.report.json").exists()
    r = CliRunner().invoke(cli, ["targets", str(tmp_path / "p.vti"), "-o", str(tmp_path / "t"),
                                 "--orebodies", str(folder / "geology.vti")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "t" / "targets_prospectivity.gpkg").exists()
    rep = json.loads((tmp_path / "t" / "report.json").read_text())
    assert rep["targets"]["count"] >= 1


def test_no_positives_is_one_clear_error_and_no_output(tmp_path):
    project = make_tiny_district(tmp_path / "d", with_ore=False)
    r = CliRunner().invoke(cli, ["run", str(project), "-o", str(tmp_path / "out")])
    assert r.exit_code == 1
    assert "Error:" in r.output and "selects no voxel" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "out" / "report.json").exists()


def test_predict_refuses_missing_channels_and_overwriting_input(study, tmp_path):
    from voxprospect.pipeline import run_predict
    folder, _ = study
    out = folder / "out"
    ev = read_volume(out / "evidence.vti")
    write_volume(ev.select(["density"]), tmp_path / "partial.vti")
    with pytest.raises(LayerError, match="intrusion"):
        run_predict(out / "RF.vxp.safetensors", tmp_path / "partial.vti", tmp_path / "p.vti")
    assert not (tmp_path / "p.vti").exists()
    before = (out / "evidence.vti").read_bytes()
    with pytest.raises(OutputError):
        run_predict(out / "RF.vxp.safetensors", out / "evidence.vti", out / "evidence.vti")
    assert (out / "evidence.vti").read_bytes() == before


def test_predict_refuses_a_non_checkpoint(study, tmp_path):
    from voxprospect.pipeline import run_predict
    folder, _ = study
    bad = tmp_path / "model.vxp.safetensors"
    bad.write_bytes(b"not a checkpoint at all")
    r = CliRunner().invoke(cli, ["predict", str(bad), str(folder / "out" / "evidence.vti"), "-o",
                                 str(tmp_path / "p.vti")])
    assert r.exit_code == 1 and "model.vxp.safetensors" in r.output and "Traceback" not in r.output


def test_ablation_table_lists_every_model_and_protocol(study):
    from voxprospect.pipeline import ablation_table
    _, rep = study
    md = ablation_table(rep["models"])
    assert md.count("\n| DL1 |") == 1 and md.count("\n| RF |") == 1
    assert "random (leaky) AUC" in md and "spatial AUC" in md and "deposit AUC" in md


@pytest.mark.slow
def test_demo_tiny_end_to_end(tmp_path):
    import torch
    torch.set_num_threads(1)
    from voxprospect.pipeline import run_demo
    rep = run_demo(tmp_path / "demo", preset="tiny", epochs=1)
    out = tmp_path / "demo"
    saved = json.loads((out / "report.json").read_text())
    for name in ("DL4", "RF"):
        assert saved["models"][name]["n_params"] > 0
        assert set(saved["models"][name]["metrics"]) == {"random", "spatial", "deposit"}
        b = saved["benchmark"]["models"][name]
        assert 0.0 <= b["undiscovered_capture"]["top5"] <= b["undiscovered_capture"]["top10"] <= 1.0
        assert 0.0 <= b["truth_auc"] <= 1.0 and b["n_train"] > 0
    bench = saved["benchmark"]
    assert bench["undiscovered"] and not set(bench["undiscovered"]) & set(bench["known"])
    assert set(bench["undiscovered"]).isdisjoint(saved["deposits"].values())  # never a training label
    base = bench["baselines"]["best_single_channel"]
    assert base["channel"] in ("granodiorite", "dykes", "faults_ne", "faults_nw", "density", "susceptibility",
                               "resistivity") and base["sign"] in "+-" and 0.5 <= base["training_auc"] <= 1.0
    assert 0.0 <= saved["truth"]["auc"] <= 1.0
    assert saved["pa"]["threshold"] is not None and saved["targets"]["count"] >= 0
    summary = (out / "summary.md").read_text()
    assert "spatial AUC" in summary and "random (leaky) AUC" in summary
    assert "## Undiscovered deposits" in summary and "best single channel" in summary
    for f in ("pa_DL4.png", "training_DL4.png", "targets_DL4.gpkg", "prospectivity_DL4.vti"):
        assert (out / f).exists()
    assert rep["summary"].endswith("summary.md")


def test_cli_ablation_writes_table_one(tmp_path):
    project = make_tiny_district(tmp_path / "d")
    r = CliRunner().invoke(cli, ["ablation", str(project), "-o", str(tmp_path / "abl"), "--epochs", "1",
                                 "--models", "DL1,DL3,RF"])
    assert r.exit_code == 0, r.output
    table = json.loads((tmp_path / "abl" / "ablation.json").read_text())
    assert list(table) == ["DL1", "DL3", "RF"]
    from voxprospect.models import build_model, count_parameters
    assert table["DL3"]["n_params"] == count_parameters(build_model("DL3", 2)) > table["DL1"]["n_params"]
    for name in table:
        assert set(table[name]["metrics"]) == {"random", "spatial", "deposit"}
    md = (tmp_path / "abl" / "ablation.md").read_text()
    assert "| DL3 |" in md and "leaky" in md
    # the ablation scores models; it does not map them
    assert not list((tmp_path / "abl").glob("prospectivity_*"))
    r = CliRunner().invoke(cli, ["ablation", str(project), "-o", str(tmp_path / "x"), "--models", "DL9"])
    assert r.exit_code != 0 and "DL9" in r.output
