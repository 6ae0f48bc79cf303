"""``qgis_process run`` of every voxprospect algorithm, as a script or a server runs them.

qgis_process (the ``qgis`` package) loads the plugin from a throw-away profile
(``QGIS_CUSTOM_CONFIG_PATH``) where it is installed from the zip and enabled, and
imports voxprospect from this environment. The chain uses the ``tiny`` district; the whole
pipeline (runproject) runs on its project cut to one epoch of DL1 under one protocol.
"""

from __future__ import annotations

import json
import subprocess
import time
import zipfile
from pathlib import Path

import pytest
from external_qgis import qgis_binary, qgis_env

QGIS_PROCESS = qgis_binary("qgis_process")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(QGIS_PROCESS is None, reason="qgis_process not installed (apt-get install qgis)")]


@pytest.fixture(scope="module")
def qp(tmp_path_factory):
    """``qp(alg, **params)`` -> the run's JSON results (fails on a non-zero exit)."""
    from voxprospect_cli.plugin_zip import build_plugin_zip

    root = tmp_path_factory.mktemp("qgis_process")
    config = root / "config"
    plugins = config / "profiles" / "default" / "python" / "plugins"
    plugins.mkdir(parents=True)
    build_plugin_zip(None, root / "p.zip")
    with zipfile.ZipFile(root / "p.zip") as zf:
        zf.extractall(plugins)
    ini = config / "profiles" / "default" / "QGIS" / "QGIS3.ini"
    ini.parent.mkdir(parents=True)
    ini.write_text("[PythonPlugins]\nvoxprospect_plugin=true\n")
    env = qgis_env(root, QGIS_CUSTOM_CONFIG_PATH=config, QT_QPA_PLATFORM="offscreen")

    def run(alg, **params):
        args = [QGIS_PROCESS, "--json", "run", alg, "--"] + [f"{k}={v}" for k, v in params.items()]
        r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f"{alg}: {r.stdout[-3000:]}\n{r.stderr[-3000:]}"
        out = r.stdout[r.stdout.index("{"):]
        return json.loads(out)["results"]

    run.env = env
    return run


def quick_project(text: str) -> str:
    """The synthetic district's project with one epoch of DL1 under the random protocol."""
    import re
    for key, value in (("models", '["DL1"]'), ("epochs", "1"), ("protocols", '["random"]')):
        text, n = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
        assert n == 1, key
    return text


def test_every_algorithm_runs_in_qgis_process(qp, tmp_path):
    r = subprocess.run([QGIS_PROCESS, "--json", "list"], env=qp.env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    providers = json.loads(r.stdout[r.stdout.index("{"):])["providers"]
    assert "voxprospect" in providers, sorted(providers)
    listed = list(providers["voxprospect"]["algorithms"])
    expected = {"synth", "evidence", "train", "predict", "targets", "exporttargets", "exportresults", "slices",
                "runproject", "installpackages"}
    assert {a.split(":")[1] for a in listed} == expected
    ran = set()

    d = tmp_path / "district"
    synth = qp("voxprospect:synth", PRESET=2, SEED=42, OUTPUT=d)
    ran.add("synth")
    project = synth["PROJECT"]
    assert Path(project).is_file()
    ev = qp("voxprospect:evidence", PROJECT=project, OUTPUT=tmp_path / "evidence.vti")
    ran.add("evidence")
    train = qp("voxprospect:train", PROJECT=project, MODEL=4, OUTPUT=tmp_path / "train")  # random forest
    ran.add("train")
    pred = qp("voxprospect:predict", MODEL=train["CHECKPOINT"], EVIDENCE=ev["OUTPUT"],
              OUTPUT=tmp_path / "p.vti", SLICES=tmp_path / "p.tif")
    ran.add("predict")
    assert Path(pred["OUTPUT"]).is_file() and Path(pred["SLICES"]).is_file()
    t = qp("voxprospect:targets", PROSPECTIVITY=pred["OUTPUT"], OREBODIES=d / "orebodies.vti",
           OUTPUT=tmp_path / "targets")
    ran.add("targets")
    assert t["TARGET_COUNT"] >= 1 and Path(t["RESULTS"]).is_file()
    e = qp("voxprospect:exporttargets", PROSPECTIVITY=pred["OUTPUT"], THRESHOLD=t["THRESHOLD_USED"],
           OUTPUT=tmp_path / "t.gpkg")
    ran.add("exporttargets")
    assert e["TARGET_COUNT"] == t["TARGET_COUNT"]
    s = qp("voxprospect:slices", VOLUME=pred["OUTPUT"], LAYER="prospectivity", OUTPUT=tmp_path / "s.tif")
    ran.add("slices")
    assert Path(s["OUTPUT"]).is_file()
    tvol = sorted((tmp_path / "targets").glob("targets*.vti"))
    assert tvol, sorted(p.name for p in (tmp_path / "targets").iterdir())
    x = qp("voxprospect:exportresults", PROSPECTIVITY=pred["OUTPUT"], FORMAT=1, TARGETS=tvol[0],
           OUTPUT=tmp_path / "results.omf")
    ran.add("exportresults")
    assert Path(x["OUTPUT"]).is_file() and x["TARGET_COUNT"] == t["TARGET_COUNT"]
    # the whole pipeline on the tiny district, its project cut to one epoch of the smallest
    # CNN under one protocol (the project file's own keys), so it fits in CI
    quick = d / "quick.toml"
    quick.write_text(quick_project(Path(project).read_text()))
    started = time.time()
    rp = qp("voxprospect:runproject", PROJECT=quick, OUTPUT=tmp_path / "run")
    ran.add("runproject")
    seconds = time.time() - started
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["command"] == "run" and list(report["models"]) == ["DL1"]
    assert Path(rp["SLICES"]).is_file() and Path(rp["RESULTS"]).is_file()
    assert "|layername=target_outlines" in rp["OUTLINES"]
    print(f"runproject in qgis_process: {seconds:.1f} s")
    i = qp("voxprospect:installpackages", TARGET=tmp_path / "pk")
    ran.add("installpackages")
    assert i["INSTALLED"] == ""  # nothing is missing here: it says so and installs nothing
    assert ran == expected
