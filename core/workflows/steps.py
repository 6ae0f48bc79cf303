"""The single steps: synth, evidence, train, predict and targets.

Each ``run_*`` checks its arguments and its output folder before any work, writes its
outputs atomically together with ``report.json`` (inputs with hashes, parameters,
seed, versions, metrics, timings, outputs by role) and returns a
:class:`~voxprospect.workflows.result.StepResult`: the report's content plus the
outputs by role. A step that fails removes what it created.
"""

from __future__ import annotations

import logging
from pathlib import Path


from voxprospect.errors import LayerError, VoxprospectError
from voxprospect.io.outputs import step_outputs
from voxprospect.report import RunReport
from voxprospect.vocabulary import DEFAULT_CHUNK_VOXELS
from voxprospect.workflows.explaining import importance_settings, make_recorder, record_importance
from voxprospect.workflows.summary import largest_targets, record_outputs

from voxprospect.workflows.common import (add_project_inputs, check_device, check_models, check_outdir, check_threshold,
                                          read_orebodies, report_beside, settings_dict)
from voxprospect.workflows.drilling import record_drilling_bias, record_drillholes
from voxprospect.workflows.evaluation import evaluate_baselines, record_baselines
from voxprospect.workflows.result import StepResult
from voxprospect.workflows.progress import say, scaled
from voxprospect.workflows.targeting import map_targets
from voxprospect.workflows.training import evaluation_settings, fit_and_evaluate, prepare_training, study_plans

log = logging.getLogger(__name__)


def run_synth(outdir, preset: str = "small", seed: int = 42, progress=None) -> StepResult:
    """Build the synthetic district into ``outdir`` (see :mod:`voxprospect.synth.district`)."""
    from voxprospect.synth.district import run_synth as _run
    return StepResult(_run(outdir, preset=preset, seed=seed, progress=progress), Path(outdir) / "report.json")


def run_evidence(project_path, out_path, progress=None, cap_at_length: bool | None = None) -> StepResult:
    """Build a project's evidence stack into ``out_path`` (see :mod:`voxprospect.workflows.project`)."""
    from voxprospect.workflows.project import run_evidence as _run
    return StepResult(_run(project_path, out_path, progress=progress, cap_at_length=cap_at_length))


def run_train(project_path, outdir, model: str = "DL4", seed: int | None = None, epochs: int | None = None,
              tune: bool = False, device: str | None = None, progress=None,
              buffer_m: float | None = None, ensemble: int | None = None,
              calibration: str | None = None) -> StepResult:
    """Train one model on a project's windows, score it under every protocol, save it.

    The baselines are scored on the same folds. ``tune`` (random forest) tunes
    inside every training fold with spatial inner folds (nested), never on a test
    window; ``buffer_m`` overrides the project's metric buffer, ``ensemble`` the CNN's
    member count and ``calibration`` the held-out calibration (``training.ensemble``,
    ``training.calibration``).

    Writes ``<model>.vxp.safetensors``, ``training_<model>.png`` (CNN), ``evidence.vti``
    and ``report.json`` into ``outdir``.
    """
    from voxprospect.limits import check_seed
    from voxprospect.workflows.project import load_project

    project = load_project(project_path)
    seed = project.seed if seed is None else check_seed(seed, "--seed")
    model = check_models([model])[0]
    if tune and model != "RF":
        raise VoxprospectError("--tune searches the random forest's hyper-parameters; use it with --model RF")
    device = check_device(device if device is not None else project.training.device)
    from voxprospect.workflows.uncertainty import training_overrides

    overrides = training_overrides(ensemble, calibration)
    outdir = check_outdir(outdir, project)
    with step_outputs(folders=[outdir]):
        return StepResult(_train(project, project_path, outdir, model, seed, epochs, tune, device, progress, buffer_m,
                                 overrides), outdir / "report.json")


def _train(project, project_path, outdir, model, seed, epochs, tune, device, progress, buffer_m=None,
           overrides=None) -> dict:
    from voxprospect.io import write_volume

    report = RunReport("train", {"project": str(project_path), "model": model, "epochs": epochs,
                                 "tune": tune, "device": device, "buffer_m": buffer_m, **(overrides or {})}, seed=seed)
    add_project_inputs(report, project)
    with report.timer("prepare"):
        data = prepare_training(project, scaled(progress, 0.0, 0.15))
    write_volume(data.evidence, outdir / "evidence.vti", inputs=project.input_paths())
    record_drillholes(data, outdir, report, project.input_paths())
    training = (settings_dict(project.training) | ({} if buffer_m is None else {"buffer_m": float(buffer_m)})
                | dict(overrides or {}))
    if tune and model.upper() != "RF":
        raise VoxprospectError("--tune searches the random forest's hyper-parameters; use it with --model RF")
    report["evaluation"] = evaluation_settings(training, data.samples)
    plans = study_plans(data, training, seed)
    explain = importance_settings(training)
    recorders = {model: make_recorder(data.channels, explain, seed)}
    res = fit_and_evaluate(model, data, training, seed, outdir, epochs=epochs, device=device,
                           progress=scaled(progress, 0.15, 0.9), report=report, plans=plans, tune=tune,
                           on_fitted=recorders[model])
    res.pop("estimator")
    if tune:
        report["tuning"] = res["tuning"] | {"nested": True, "definition": (
            "each outer fold's forest was tuned inside its own training windows with spatial inner folds; "
            "the checkpoint's forest was tuned on all windows the same way")}
    with report.timer("baselines"):
        baselines = evaluate_baselines(data, plans, seed, progress=scaled(progress, 0.9, 1.0),
                                       recorders=recorders if recorders[model] is not None else None)
    record_importance(report, recorders, explain, outdir, project.input_paths())
    report["samples"] = data.samples.to_dict()
    report["models"] = {model: res}
    report["checkpoint"] = res["checkpoint"]
    report["metrics"] = res["metrics"]
    report["calibration"] = {model: res["calibration"]}
    report["uncertainty"] = {model: res.get("ensemble") or {"members": 1}}
    record_baselines(report, {model: res}, baselines)
    record_drilling_bias(report, data, {model: res}, {})
    record_outputs(report, outdir)
    report.write(outdir)
    return report.data | {"checkpoint": str(outdir / res["checkpoint"])}


def run_predict(model_path, evidence_path, out_path, geotiff=None, chunk_voxels: int = DEFAULT_CHUNK_VOXELS,
                progress=None) -> StepResult:
    """Predict a prospectivity volume with a checkpoint over an evidence volume.

    The evidence must carry the model's channels, in any order (they are selected by
    name). Channels standardised with other statistics than the checkpoint's (the
    evidence of a new area, fitted on its own data) are re-standardised with the
    checkpoint's (:mod:`voxprospect.evidence.transfer`); the share of active voxels outside
    the training range is logged as a warning per channel and reported under
    ``transfer``.
    """
    from voxprospect.io.outputs import GEOTIFF_SUFFIXES, check_output_file, volume_suffixes

    out_path = Path(out_path)
    inputs = (model_path, evidence_path)
    check_output_file(out_path, volume_suffixes(), what="prospectivity volume", inputs=inputs)
    if geotiff:
        check_output_file(geotiff, GEOTIFF_SUFFIXES, what="GeoTIFF (--geotiff)", inputs=inputs)
    # beside the file and named after all of it, as every single-file step: p.vti and
    # p.v2.vti (or p.vti and p.tif) never share one report
    report_path = report_beside(out_path)
    with step_outputs(files=[out_path, report_path] + ([Path(geotiff)] if geotiff else [])):
        return StepResult(_predict_step(model_path, evidence_path, out_path, geotiff, chunk_voxels, progress,
                                        report_path), report_path)


def _predict_step(model_path, evidence_path, out_path, geotiff, chunk_voxels, progress, report_path) -> dict:
    from voxprospect.io import read_volume, write_volume
    from voxprospect.io.outputs import GEOTIFF_SUFFIXES
    from voxprospect.learn import check_channels, load
    from voxprospect.io.outputs import volume_bytes, check_folder

    report = RunReport("predict", {"model": str(model_path), "evidence": str(evidence_path),
                                   "chunk_voxels": chunk_voxels})
    report.add_input(model_path)
    report.add_input(evidence_path)
    model = load(model_path)
    evidence = read_volume(evidence_path)
    # a GeoTIFF holds one layer: the mean (the spread layers travel in the other formats)
    one = "prospectivity" if out_path.name.lower().endswith(GEOTIFF_SUFFIXES) else None
    if (geotiff or one) and evidence.grid.crs is None:
        raise VoxprospectError(f"{evidence_path}: the evidence has no CRS, so a GeoTIFF of its prediction would "
                               "lie nowhere in a GIS; label it first (voxprospect convert --crs EPSG:n, or "
                               "[grid] crs in the project) or predict to .vti only")
    # the channels are selected by name, in the model's order: a file that lists them in
    # another order (a UBC or OMF round trip sorts them) predicts the same
    if any(c not in evidence.layers for c in model.channels):
        try:
            check_channels(model, evidence.names)  # raises with the full comparison
        except LayerError as e:
            raise LayerError(f"{evidence_path}: {e}") from None
    for c in model.channels:
        evidence.require_finite(c, evidence_path)
    check_folder(out_path.parent, what=f"folder of {out_path.name}",
                 need_bytes=volume_bytes(evidence.grid.n_cells, 4))
    # the model's inputs on the training scale, and how far the new data reach beyond it
    from voxprospect.evidence.transfer import apply_training_standardisation, range_shift, shift_warnings
    evidence, actions = apply_training_standardisation(evidence, model.standardisation_stats, model.channels,
                                                       where=str(evidence_path))
    shift = range_shift(evidence, model.metadata.get("input_range"), model.channels)
    report["transfer"] = {"standardisation": actions, "outside_training_range": shift,
                          "warnings": shift_warnings(shift)}
    for c, action in actions.items():
        if action == "restandardised":
            log.info("%s: channel %r re-standardised with the checkpoint's statistics", evidence_path, c)
        elif action == "unchecked":
            log.warning("%s: channel %r carries no standardisation record; assumed to be on the training "
                        "scale", evidence_path, c)
    with report.timer("predict"):
        prosp = _predict(model, evidence.select(model.channels), chunk_voxels, progress)
    from voxprospect.workflows.uncertainty import with_calibrated_layer
    prosp = with_calibrated_layer(prosp, model.calibration)
    inputs = (model_path, evidence_path)
    write_volume(prosp, out_path, inputs=inputs, **({"layer": one} if one else {}))
    report.add_output(out_path, role="prospectivity")
    if geotiff:
        write_volume(prosp, geotiff, layer="prospectivity", inputs=inputs)
        report.add_output(geotiff, role="prospectivity_geotiff")
    report["active_voxels"] = int(prosp.active.sum())
    report["metrics"] = {"prospectivity": prosp.layer_stats("prospectivity")}
    from voxprospect.workflows.uncertainty import saturation, uncertainty_entry
    report["uncertainty"] = uncertainty_entry(model, prosp) | {"saturation": saturation(prosp)}
    report.write(report_path.parent, report_path.name)
    return report.data | {"output": str(out_path)}


def _predict(model, evidence, chunk_voxels, progress):
    from voxprospect.mapping.predict import predict_volume
    return predict_volume(model, evidence, chunk_voxels=chunk_voxels, progress=progress)


def run_targets(prospectivity_path, outdir, orebody_path=None, threshold=None, min_voxels: int = 1,
                layer: str = "orebody", progress=None, pa_layer: str = "mean") -> StepResult:
    """P-A threshold (from known orebodies) and 3D targets of a prospectivity volume.

    ``pa_layer`` (``"mean"``, ``"q10"``, ``"rank"``) is the layer the P-A plot, its
    threshold and the voxel selection use (docs/uncertainty.md).
    """
    from voxprospect.workflows.project_schema import PA_LAYERS

    if pa_layer not in PA_LAYERS:
        raise VoxprospectError(f"pa_layer must be one of {', '.join(PA_LAYERS)}, got {pa_layer!r}")
    check_threshold(threshold)
    if threshold is None and orebody_path is None:
        raise VoxprospectError(f"{prospectivity_path}: no threshold to map targets at: give a threshold "
                               "(--threshold), or the known orebodies (--orebodies) for the prediction-area plot")
    outdir = check_outdir(outdir)
    with step_outputs(folders=[outdir]):
        return StepResult(_targets(prospectivity_path, outdir, orebody_path, threshold, min_voxels, layer, progress,
                                   pa_layer), outdir / "report.json")


def _targets(prospectivity_path, outdir, orebody_path, threshold, min_voxels, layer, progress,
             pa_layer="mean") -> dict:
    from voxprospect.io import read_volume

    report = RunReport("targets", {"prospectivity": str(prospectivity_path), "orebodies": orebody_path,
                                   "threshold": threshold, "min_voxels": min_voxels})
    report.add_input(prospectivity_path)
    prosp = read_volume(prospectivity_path)
    if "prospectivity" not in prosp:
        raise LayerError(f"{prospectivity_path}: no 'prospectivity' layer; layers are {', '.join(prosp.names)}")
    prosp.require_finite("prospectivity", prospectivity_path)
    orebody = names = None
    inputs = [prospectivity_path]
    if orebody_path:
        report.add_input(orebody_path)
        inputs.append(orebody_path)
        orebody, names, _ = read_orebodies(orebody_path, prosp.grid, prospectivity_path, layer)
    say(progress, 0.1, "prediction-area plot and targets")
    with report.timer("targets"):
        res = map_targets(prosp, outdir, "prospectivity", orebody, names, threshold, min_voxels, inputs,
                          pa_layer=pa_layer)
    table = res.pop("target_table")
    res.pop("_targets_volume")
    report.data.update(res)
    report["metrics"] = {"targets": len(table)}
    report["largest_targets"] = largest_targets(table)
    record_outputs(report, outdir)
    report.write(outdir)
    say(progress, 1.0, "targets done")
    return report.data

