"""Every step returns a StepResult: the report's content plus its outputs by role."""

from __future__ import annotations

import json

import pytest


def test_train_predict_targets_hand_outputs_by_role(tiny_project, tmp_path):
    from voxprospect.errors import VoxprospectError
    from voxprospect.workflows import StepResult
    from voxprospect.workflows.pipeline import (describe_file, run_convert, run_predict, run_slices, run_targets,
                                                run_train)

    trained = run_train(tiny_project, tmp_path / "m", model="RF")
    assert isinstance(trained, StepResult) and trained.step == "train"
    ckpt = trained.output("checkpoint")
    assert ckpt.name == "RF.vxp.safetensors" and ckpt.is_file()
    assert trained.output("evidence").name == "evidence.vti"
    # the typed outputs are exactly those the report on disk lists
    on_disk = json.loads(trained.report_path.read_text())
    assert {(r["role"], r["path"]) for r in on_disk["outputs"]} == {
        (role, str(p)) for role, paths in trained.outputs.items() for p in paths}
    assert trained["metrics"] == on_disk["metrics"]  # still the report's mapping
    with pytest.raises(VoxprospectError, match="0 outputs of role 'prospectivity'"):
        trained.output("prospectivity")

    predicted = run_predict(ckpt, trained.output("evidence"), tmp_path / "p" / "prosp.vti")
    assert predicted.output("prospectivity") == tmp_path / "p" / "prosp.vti"
    assert predicted.report_path.is_file() and predicted.report_path.name == "prosp.vti.report.json"

    targets = run_targets(predicted.output("prospectivity"), tmp_path / "t", threshold=0.5)
    assert targets.output("targets_gpkg").suffix == ".gpkg"
    assert [p.suffix for p in targets.outputs_of("targets_table")] == [".csv"]
    assert targets.outputs_of("targets_table", contains="nope") == []

    slices = run_slices(predicted.output("prospectivity"), tmp_path / "s" / "prosp.tif", layer="prospectivity")
    assert slices.output("depth_slices") == tmp_path / "s" / "prosp.tif"
    assert slices.report_path == tmp_path / "s" / "prosp.tif.report.json" and slices.report_path.is_file()
    converted = run_convert(trained.output("evidence"), tmp_path / "c" / "ev.vo")
    assert converted.output("converted_volume").suffix == ".vo"
    assert set(converted["layers"]) == set(describe_file(trained.output("evidence"))["layers"])
