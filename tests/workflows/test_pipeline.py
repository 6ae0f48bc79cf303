"""The pipeline end to end on a tiny hand-made district: every step writes what it
promises, the report carries the keys issue 3 names, and bad inputs stop with one
clear error and no output."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from voxprospect import LayerError, OutputError, Volume
from voxprospect.io import read_volume, write_volume
from voxprospect_cli.main import cli

from tests_shared import GRID, make_tiny_project

@pytest.fixture(scope="module")
def study(tmp_path_factory):
    import torch
    torch.set_num_threads(1)
    from voxprospect.workflows.pipeline import run_project
    folder = tmp_path_factory.mktemp("tiny")
    project = make_tiny_project(folder)
    report = run_project(project, folder / "out")
    return folder, report


def test_study_report_has_the_issue_keys(study):
    folder, rep = study
    saved = json.loads((folder / "out" / "report.json").read_text())
    from voxprospect.learn import build_model, count_parameters
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


def test_study_reports_baselines_buffer_and_sweep(study):
    folder, rep = study
    saved = json.loads((folder / "out" / "report.json").read_text())
    ev = saved["evaluation"]
    cs = np.asarray(GRID.cell_size)
    assert ev["window_extent_m"] == pytest.approx(3 * np.linalg.norm(cs))
    assert ev["buffer_m"] == pytest.approx(ev["window_extent_m"] + ev["smoothing_m"])
    assert ev["neighbour_overlap"] == {"window_voxels": 27, "face": 18, "edge": 12, "corner": 8}
    for name in ("best_channel", "logistic"):
        for p, m in saved["baselines"][name]["metrics"].items():
            model = saved["models"]["RF"]["metrics"][p]
            assert ("skipped" in m) == ("skipped" in model)
            if "folds_id" in m:
                assert m["folds_id"] == model["folds_id"]
    for name in ("DL1", "RF"):
        for p, diff in saved["skill_over_baselines"][name].items():
            m, b = saved["models"][name]["metrics"][p], saved["baselines"]["logistic"]["metrics"][p]
            if diff["logistic"] is not None:
                assert diff["logistic"] == pytest.approx(m["auc"] - b["auc"])
    sweep = saved["buffer_sweep"]
    if "rows" in sweep:
        want = sorted([0.0, ev["window_extent_m"], 250.0, 500.0, 1000.0])
        for rows in sweep["rows"].values():
            assert [r["buffer_m"] for r in rows] == pytest.approx(want)
        for f in sweep["files"]:
            assert (folder / "out" / f).stat().st_size > 50
    else:
        assert sweep["skipped"]
    # the evidence's neutral fill travels with the checkpoint
    from voxprospect.learn import load
    fills = load(folder / "out" / "RF.vxp.safetensors").training_report["fill_values"]
    ev_vol = read_volume(folder / "out" / "evidence.vti")
    for c in ev_vol.names:
        vals = np.asarray(ev_vol[c], float)[ev_vol.active]
        assert fills[c] == pytest.approx(float(np.nanmean(vals)), rel=1e-6, abs=1e-9)


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
    from voxprospect.workflows.pipeline import run_predict, run_targets
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


def test_predict_takes_the_channels_by_name_in_any_order(study, tmp_path):
    """A UBC or OMF round trip lists the layers sorted: predict selects the model's
    channels by name, so the reordered file predicts exactly the same."""
    from voxprospect.workflows.pipeline import run_predict
    folder, _ = study
    out = folder / "out"
    ev = read_volume(out / "evidence.vti")
    flipped = ev.select(list(reversed(ev.names)))
    assert flipped.names != ev.names
    write_volume(flipped, tmp_path / "reordered.vti")
    run_predict(out / "DL1.vxp.safetensors", tmp_path / "reordered.vti", tmp_path / "p.vti")
    again = read_volume(tmp_path / "p.vti")["prospectivity"]
    before = read_volume(out / "prospectivity_DL1.vti")["prospectivity"]
    assert np.nanmax(np.abs(again - before)) == 0.0
    # a missing channel is still refused, naming the evidence file
    write_volume(ev.select(ev.names[1:]), tmp_path / "short.vti")
    with pytest.raises(LayerError, match=r"short\.vti: .*missing"):
        run_predict(out / "DL1.vxp.safetensors", tmp_path / "short.vti", tmp_path / "q.vti")
    assert not (tmp_path / "q.vti").exists()


def test_cli_train_predict_targets(tmp_path):
    folder = tmp_path / "d"
    project = make_tiny_project(folder, models='["RF"]')
    r = CliRunner().invoke(cli, ["train", str(project), "-o", str(tmp_path / "m"), "--model", "RF"])
    assert r.exit_code == 0, r.output
    assert "spatial" in r.output
    ckpt = tmp_path / "m" / "RF.vxp.safetensors"
    r = CliRunner().invoke(cli, ["predict", str(ckpt), str(tmp_path / "m" / "evidence.vti"),
                                 "-o", str(tmp_path / "p.vti"), "--geotiff", str(tmp_path / "p.tif")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "p.tif").exists() and (tmp_path / "p.vti.report.json").exists()
    r = CliRunner().invoke(cli, ["targets", str(tmp_path / "p.vti"), "-o", str(tmp_path / "t"),
                                 "--orebodies", str(folder / "geology.vti")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "t" / "targets_prospectivity.gpkg").exists()
    rep = json.loads((tmp_path / "t" / "report.json").read_text())
    assert rep["targets"]["count"] >= 1


def test_no_positives_is_one_clear_error_and_no_output(tmp_path):
    project = make_tiny_project(tmp_path / "d", with_ore=False)
    r = CliRunner().invoke(cli, ["run", str(project), "-o", str(tmp_path / "out")])
    assert r.exit_code == 1
    assert "Error:" in r.output and "selects no voxel" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "out" / "report.json").exists()


def test_predict_refuses_missing_channels_and_overwriting_input(study, tmp_path):
    from voxprospect.workflows.pipeline import run_predict
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
    folder, _ = study
    bad = tmp_path / "model.vxp.safetensors"
    bad.write_bytes(b"not a checkpoint at all")
    r = CliRunner().invoke(cli, ["predict", str(bad), str(folder / "out" / "evidence.vti"), "-o",
                                 str(tmp_path / "p.vti")])
    assert r.exit_code == 1 and "model.vxp.safetensors" in r.output and "Traceback" not in r.output


def test_ablation_table_lists_every_model_and_protocol(study):
    from voxprospect.workflows.pipeline import ablation_table
    _, rep = study
    md = ablation_table(rep["models"])
    assert md.count("\n| DL1 |") == 1 and md.count("\n| RF |") == 1
    assert "random (leaky) AUC" in md and "spatial AUC" in md and "deposit AUC" in md


@pytest.mark.slow
def test_demo_tiny_end_to_end(tmp_path):
    import torch
    torch.set_num_threads(1)
    from voxprospect.workflows.pipeline import run_demo
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
    assert "baseline: best_channel" in summary and "Buffer sweep" in summary
    assert "## Undiscovered deposits" in summary and "best single channel" in summary
    assert "## Where the time went" in summary and "synthetic district (gempy" in summary
    # each DL4 fit says how many epochs it ran (early stopping), in the report and the summary
    dl4 = saved["models"]["DL4"]["metrics"]
    runs = [r["epochs_run"] for p in ("random", "spatial") for r in [dl4[p]]]
    runs += [r["epochs_run"] for r in dl4["deposit"]["folds"]]
    assert runs and all(e == [1, 1] for e in runs)  # 1 epoch asked, each of the 2 members
    assert "DL4: up to 1 epoch in batches of 64" in summary
    assert f"the {len(runs)} protocol fits (2 networks each) ran 1 epoch each" in summary
    assert saved["parameters"]["district_build"]["gempy_cache"] in ("hit", "computed")
    for f in ("pa_DL4.png", "training_DL4.png", "targets_DL4.gpkg", "prospectivity_DL4.vti"):
        assert (out / f).exists()
    assert rep["summary"].endswith("summary.md")
    # evidence importance: every model and baseline on the spatial folds, the demo's CNN attributed
    imp = saved["importance"]["models"]
    assert set(imp) == {"DL4", "RF", "baseline best_channel", "baseline logistic"}
    assert imp["RF"]["spatial"]["base_auc"] == pytest.approx(saved["models"]["RF"]["metrics"]["spatial"]["auc"])
    assert [r["channel"] for r in imp["DL4"]["spatial"]["channels"]] == base_channels(saved)
    assert "## Evidence importance" in summary and (out / "importance_DL4.png").exists()
    import pyvista as pv
    layers = pv.read(out / "prospectivity_DL4.vti").array_names
    assert {f"attribution_{c}" for c in base_channels(saved)} <= set(layers)
    with open(out / "targets_RF.csv") as f:
        assert "top_channels" in f.readline()


def base_channels(saved):
    return list(saved["models"]["DL4"]["explain"]["attribution"]["channels"])


def test_cli_ablation_writes_table_one(tmp_path):
    project = make_tiny_project(tmp_path / "d")
    r = CliRunner().invoke(cli, ["ablation", str(project), "-o", str(tmp_path / "abl"), "--epochs", "1",
                                 "--models", "DL1,DL3,RF"])
    assert r.exit_code == 0, r.output
    saved = json.loads((tmp_path / "abl" / "ablation.json").read_text())
    table = saved["models"]
    assert list(table) == ["DL1", "DL3", "RF"]
    from voxprospect.learn import build_model, count_parameters
    assert table["DL3"]["n_params"] == count_parameters(build_model("DL3", 2)) > table["DL1"]["n_params"]
    for name in table:
        assert set(table[name]["metrics"]) == {"random", "spatial", "deposit"}
    # the baselines beside them, on the same folds, and what each model adds
    assert set(saved["baselines"]) == {"best_channel", "logistic"}
    for b in saved["baselines"].values():
        for p, m in b["metrics"].items():
            if "folds_id" in m:
                assert m["folds_id"] == table["RF"]["metrics"][p]["folds_id"]
    assert set(saved["skill_over_baselines"]["DL1"]["spatial"]) == {"best_channel", "logistic"}
    assert saved["evaluation"]["buffer_m"] > saved["evaluation"]["window_extent_m"]
    md = (tmp_path / "abl" / "ablation.md").read_text()
    assert "| DL3 |" in md and "leaky" in md and "baseline: best_channel" in md
    assert "share 18, 12 and 8 of its 27 voxels" in md
    # the ablation scores models; it does not map them
    assert not list((tmp_path / "abl").glob("prospectivity_*"))
    r = CliRunner().invoke(cli, ["ablation", str(project), "-o", str(tmp_path / "x"), "--models", "DL9"])
    assert r.exit_code != 0 and "DL9" in r.output


def _refit_copy(evidence, channel, shift_in_scales):
    """The evidence as a new area's own refit would store it: the same raw values,
    standardised with a centre moved by ``shift_in_scales`` training scales."""
    ev = evidence.meta["evidence"]
    st = dict(ev["stats"][channel])
    moved = dict(st, center=st["center"] + shift_in_scales * st["scale"])
    layers = dict(evidence.layers)
    raw = np.asarray(evidence[channel], np.float64) * st["scale"] + st["center"]
    layers[channel] = ((raw - moved["center"]) / moved["scale"]).astype(np.float32)
    meta = dict(evidence.meta, evidence=dict(ev, stats=dict(ev["stats"], **{channel: moved})))
    return Volume(evidence.grid, layers, evidence.active, dict(evidence.classes), meta)


def test_predict_applies_the_checkpoints_standardisation_to_refit_evidence(study, tmp_path):
    from voxprospect.learn import load
    from voxprospect.workflows.pipeline import run_predict
    from voxprospect.evidence.transfer import apply_training_standardisation
    folder, _ = study
    out = folder / "out"
    evidence = read_volume(out / "evidence.vti")
    model = load(out / "RF.vxp.safetensors")
    channel = next(iter(model.standardisation_stats))
    refit = _refit_copy(evidence, channel, 3.0)
    assert np.nanmax(np.abs(refit[channel] - evidence[channel])) > 2.9  # the refit moved the inputs
    back, actions = apply_training_standardisation(refit, model.standardisation_stats, model.channels)
    assert actions[channel] == "restandardised"
    assert all(a in ("same", "not standardised") for c, a in actions.items() if c != channel)
    # back on the training scale up to float32 rounding of the stored values (|z| + 3 scales)
    z = np.asarray(evidence[channel], np.float64)
    eps32 = float(np.finfo(np.float32).eps)
    assert np.nanmax(np.abs(back[channel] - z) / (np.abs(z) + 3.0)) <= 4 * eps32
    write_volume(refit, tmp_path / "refit.vti")
    rep = run_predict(out / "RF.vxp.safetensors", tmp_path / "refit.vti", tmp_path / "p.vti")
    assert rep["transfer"]["standardisation"][channel] == "restandardised"
    assert rep["transfer"]["outside_training_range"][channel]["share_outside"] == 0.0
    assert rep["transfer"]["warnings"] == []
    again = read_volume(tmp_path / "p.vti")["prospectivity"]
    before = read_volume(out / "prospectivity_RF.vti")["prospectivity"]
    assert np.nanmax(np.abs(again - before)) == 0.0


def test_predict_warns_per_channel_when_new_evidence_leaves_the_training_range(study, tmp_path, caplog):
    from voxprospect.learn import load
    from voxprospect.workflows.pipeline import run_predict
    folder, _ = study
    out = folder / "out"
    evidence = read_volume(out / "evidence.vti")
    model = load(out / "DL1.vxp.safetensors")
    rng = model.metadata["input_range"]
    assert set(rng) == set(model.channels)
    channel = next(iter(model.standardisation_stats))
    # a new area whose raw values sit higher, standardised with the training statistics
    layers = dict(evidence.layers)
    top = rng[channel]["max"]
    layers[channel] = np.asarray(evidence[channel]) + np.float32(top)
    shifted = Volume(evidence.grid, layers, evidence.active, dict(evidence.classes), evidence.meta)
    expected = float((np.asarray(layers[channel], np.float64)[evidence.active] > top).mean())
    assert 0 < expected < 1
    write_volume(shifted, tmp_path / "shifted.vti")
    with caplog.at_level("WARNING"):
        rep = run_predict(out / "DL1.vxp.safetensors", tmp_path / "shifted.vti", tmp_path / "p.vti")
    shift = rep["transfer"]["outside_training_range"]
    assert shift[channel]["share_outside"] == pytest.approx(expected, rel=0, abs=0)
    assert all(shift[c]["share_outside"] == 0.0 for c in model.channels if c != channel)
    assert len(rep["transfer"]["warnings"]) == 1 and channel in rep["transfer"]["warnings"][0]
    assert any(channel in r.getMessage() and "outside the training range" in r.getMessage() for r in caplog.records)
    saved = json.loads((tmp_path / "p.vti.report.json").read_text())
    assert saved["transfer"]["warnings"] == rep["transfer"]["warnings"]
