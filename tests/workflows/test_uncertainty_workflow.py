"""The ensemble and calibration through the steps: project keys and CLI flags, the
report's ``uncertainty`` and ``calibration`` keys, the spread layers in every
prediction, the targets' std columns and the P-A on ranks."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner

from voxprospect.errors import ProjectFileError
from voxprospect.io import read_volume
from voxprospect_cli.main import cli

from tests_shared import make_tiny_project


def _configure(project, **keys):
    text = project.read_text()
    # the tiny district's two deposits share one spatial block: leave-one-deposit-out is its held-out protocol
    text = text.replace('protocols = ["random", "spatial", "deposit"]', 'protocols = ["deposit"]')
    # and its default buffer (700 m) leaves a single class in training: a 100 m buffer keeps both
    keys = {"buffer_m": 100} | keys
    text = text.replace("ensemble = 1", "\n".join(f"{k} = {json.dumps(v)}" for k, v in keys.items()))
    project.write_text(text)
    return project


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    import torch
    torch.set_num_threads(1)
    from voxprospect.workflows.pipeline import run_project
    folder = tmp_path_factory.mktemp("ens")
    project = _configure(make_tiny_project(folder), ensemble=2, calibration="temperature")
    project.write_text(project.read_text() + '\n[targets]\npa_layer = "rank"\n')
    report = run_project(project, folder / "out")
    return folder, report


def test_report_carries_uncertainty_and_calibration(study):
    folder, _ = study
    rep = json.loads((folder / "out" / "report.json").read_text())
    u = rep["uncertainty"]["DL1"]
    assert u["members"] == 2 and len(set(u["member_seeds"])) == 2 and u["member_seeds"][0] == 3
    assert u["std_over_volume"]["max"] > 0
    assert rep["uncertainty"]["RF"]["members"] == 77
    assert rep["models"]["DL1"]["ensemble"]["member_seeds"] == u["member_seeds"]
    for name in ("DL1", "RF"):
        c = rep["calibration"][name]
        assert c["verdict_protocol"] == "deposit" and c["deposit"]["n_folds"] == 2
        raw = c["deposit"]["raw"]
        assert c["method"] == "temperature" and c["read_as"] in ("chances", "chances after calibration", "ranks")
        # the base rate is each fold's training share of orebody windows (about half: 1:1 sampling)
        assert 0 <= raw["brier"] <= 1 and 0.2 < raw["base_rate"] < 0.8 and 0.1 < raw["base_rate_brier"] < 0.5
        assert raw["n"] == rep["models"][name]["metrics"]["deposit"]["n_test"]
        # each training side holds one deposit: no inner spatial fold can hold positives on both sides,
        # so the nested calibration is skipped, and says why, rather than calibrating on a test window
        assert c["deposit"]["calibrated"] is None and "deposit" in c["calibration_skipped"]
        assert (folder / "out" / c["plot"]).stat().st_size > 1000
    assert rep["pa"]["layer"] == "prospectivity_rank"
    from voxprospect.workflows.uncertainty import uncertainty_section
    text = "\n".join(uncertainty_section(rep))
    assert "- DL1: 2 members" in text and "Read the probabilities as" in text


def test_prediction_and_targets_carry_the_spread(study):
    folder, rep = study
    vol = read_volume(folder / "out" / "prospectivity_DL1.vti")
    assert {"prospectivity", "prospectivity_std", "prospectivity_q10"} <= set(vol.names)
    on = vol.active
    assert (vol["prospectivity_q10"][on] <= vol["prospectivity"][on] + 1e-6).all()
    with open(folder / "out" / "targets_DL1.csv") as f:
        rows = list(csv.DictReader(f))
    assert rows and {"std_mean", "std_max"} <= set(rows[0])
    labels = read_volume(folder / "out" / "targets_DL1.vti")["target_id"]
    t1 = labels == int(rows[0]["target_id"])
    std = vol["prospectivity_std"]
    assert float(rows[0]["std_max"]) == pytest.approx(float(std[t1].max()), rel=1e-6)
    assert float(rows[0]["std_mean"]) == pytest.approx(float(std[t1].astype(float).mean()), rel=1e-5)


def test_checkpoint_holds_both_members_and_predict_writes_the_spread(study, tmp_path):
    from voxprospect.learn import load
    from voxprospect.workflows.pipeline import run_predict

    folder, _ = study
    model = load(folder / "out" / "DL1.vxp.safetensors")
    assert len(model.members) == 2
    out = run_predict(folder / "out" / "DL1.vxp.safetensors", folder / "out" / "evidence.vti",
                      tmp_path / "p.vti")
    vol = read_volume(tmp_path / "p.vti")
    again = read_volume(folder / "out" / "prospectivity_DL1.vti")
    for name in ("prospectivity", "prospectivity_std", "prospectivity_q10"):
        assert np.allclose(vol[name], again[name], rtol=0, atol=1e-5, equal_nan=True)
    assert out["uncertainty"]["members"] == 2


def test_project_keys_are_checked(tmp_path):
    from voxprospect.workflows.project import load_project

    for keys, words in (({"ensemble": 0}, "training.ensemble"), ({"ensemble": 65}, "training.ensemble"),
                        ({"calibration": "platt"}, "training.calibration")):
        project = _configure(make_tiny_project(tmp_path / str(len(words)) / str(list(keys.values())[0])), **keys)
        with pytest.raises(ProjectFileError) as err:
            load_project(project)
        assert words in str(err.value)
    ok = _configure(make_tiny_project(tmp_path / "ok"), ensemble=3, calibration="isotonic")
    training = load_project(ok).training
    assert training.ensemble == 3 and training.calibration == "isotonic"


def test_cli_flags_reach_the_report(tmp_path):
    project = _configure(make_tiny_project(tmp_path / "d", models='["RF"]'))
    res = CliRunner().invoke(cli, ["train", str(project), "-o", str(tmp_path / "o"), "--model", "RF",
                                   "--ensemble", "3", "--calibration", "isotonic"])
    assert res.exit_code == 0, res.output
    rep = json.loads((tmp_path / "o" / "report.json").read_text())
    assert rep["parameters"]["ensemble"] == 3 and rep["calibration"]["RF"]["method"] == "isotonic"
    assert rep["calibration"]["RF"]["deposit"]["raw"]["n"] > 0
    bad = CliRunner().invoke(cli, ["train", str(project), "-o", str(tmp_path / "o2"), "--ensemble", "0"])
    assert bad.exit_code != 0 and "--ensemble" in bad.output


def test_predict_adds_the_calibrated_mean_from_the_checkpoint(study, tmp_path):
    from voxprospect.learn.calibration import TemperatureCalibrator
    from voxprospect.learn.checkpoint import save_checkpoint
    from voxprospect.learn.estimators import RandomForestModel
    from voxprospect.workflows.pipeline import run_predict

    folder, _ = study
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 2, 3, 3, 3)).astype(np.float32)
    y = np.tile([0, 1], 40)
    X[y == 1, 1] += 1.0
    rf = RandomForestModel(n_estimators=9, random_state=0).fit(X, y)
    cal = TemperatureCalibrator()
    cal.temperature_ = 2.5
    from voxprospect.learn import load
    trained = load(folder / "out" / "DL1.vxp.safetensors")
    ckpt = save_checkpoint(rf, tmp_path / "rf.vxp.safetensors", channels=trained.channels,
                           standardisation_stats=trained.standardisation_stats, calibration=cal.to_dict())
    run_predict(ckpt, folder / "out" / "evidence.vti", tmp_path / "p.vti")
    vol = read_volume(tmp_path / "p.vti")
    on = vol.active
    expected = np.clip(cal.transform(vol["prospectivity"][on].astype(float)), 0, 1)
    assert np.allclose(vol["prospectivity_calibrated"][on], expected, rtol=0, atol=1e-6)
    assert (np.abs(vol["prospectivity_calibrated"][on] - 0.5) <= np.abs(vol["prospectivity"][on] - 0.5) + 1e-6).all()


def test_targets_command_draws_the_pa_on_the_lower_quantile(study, tmp_path):
    folder, _ = study
    res = CliRunner().invoke(cli, ["targets", str(folder / "out" / "prospectivity_DL1.vti"), "-o", str(tmp_path / "t"),
                                   "--orebodies", str(folder / "geology.vti"), "--pa-layer", "q10"])
    assert res.exit_code == 0, res.output
    rep = json.loads((tmp_path / "t" / "report.json").read_text())
    assert rep["pa"]["layer"] == "prospectivity_q10"
    vol = read_volume(folder / "out" / "prospectivity_DL1.vti")
    labels = read_volume(tmp_path / "t" / "targets_prospectivity.vti")["target_id"]
    # the voxels selected are those whose 10 % quantile reaches the threshold, 26-connected
    chosen = vol.active & (vol["prospectivity_q10"] >= rep["threshold"])
    assert np.array_equal(labels > 0, chosen)


def test_held_out_records_the_same_from_probabilities_or_a_fitted_model():
    from voxprospect.learn.estimators import RandomForestModel
    from voxprospect.learn.protocols import split_random
    from voxprospect.workflows.uncertainty import HeldOut

    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 2, 3, 3, 3)).astype(np.float32)
    y = np.tile([0, 1], 30)
    split = split_random(60, 0.3, seed=0, labels=y)
    rf = RandomForestModel(n_estimators=5, random_state=0).fit(X[split.train], y[split.train])
    a, b = HeldOut(y), HeldOut(y)
    a("spatial", split, rf.predict_proba(X[split.test])[:, 1])
    b.on_fitted("spatial", split, rf, X, y)
    for (ya, ta, pa), (yb, tb, pb) in zip(a.folds["spatial"], b.folds["spatial"]):
        assert np.array_equal(ya, yb) and np.array_equal(ta, tb) and np.array_equal(pa, pb)
    assert len(a.folds["spatial"][0][1]) == len(split.test)
