"""The modelling study of a project (``voxprospect run`` and ``ablation``).

1. evidence from the project's inputs and windows around every orebody voxel plus the
   negatives (:mod:`voxprospect.workflows.training`);
2. for every model: its scores under every evaluation protocol (the paper's leaky
   random split beside spatial blocks and leave-one-deposit-out), the baselines on the
   same folds, the buffer sweep; then a final fit on all windows and a checkpoint;
3. whole-grid prediction, prediction-area threshold, 3D targets and figures for the
   models the project asks to map (:mod:`voxprospect.workflows.targeting`).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path


from voxprospect.io import write_volume
from voxprospect.io.outputs import step_outputs
from voxprospect.learn.evaluate import truth_auc
from voxprospect.report import RunReport, write_text_atomic
from voxprospect.vocabulary import DEFAULT_CHUNK_VOXELS, MODELS
from voxprospect.workflows.summary import append_outputs, draw_model_figures, record_outputs

from voxprospect.workflows.drilling import record_drilling_bias, record_drillholes, set_cap_at_length
from voxprospect.workflows.common import (add_project_inputs, buffer_override, check_device, check_models,
                                          check_outdir, settings_dict)
from voxprospect.workflows.explaining import (explain_overrides, explain_targets, importance_settings,
                                              make_recorder, record_importance)
from voxprospect.workflows.evaluation import (BENCHMARK_BUFFER_M, benchmark_baselines, evaluate_baselines,
                                              record_baselines, run_buffer_sweep, sweep_factories, undiscovered_study)
from voxprospect.workflows.result import StepResult
from voxprospect.workflows.progress import say, scaled
from voxprospect.workflows.tables import ablation_table, sweep_section
from voxprospect.workflows.targeting import map_targets, predict_estimator
from voxprospect.workflows.training import evaluation_settings, fit_and_evaluate, prepare_training, study_plans


def run_study(project, outdir, models=None, map_models=None, epochs=None, device=None, truth=None,
              benchmark=None, command="run", progress=None, extra_parameters=None,
              training_overrides=None) -> StepResult:
    """The modelling study of a project: evaluate, fit, predict, P-A, targets.

    Parameters
    ----------
    project : Project
    outdir : path-like
    models : list of str, optional
        Models to train and score (default: the project's ``training.models``).
    map_models : list of str, optional
        Models whose whole-grid prediction, P-A plot and targets are made (default: all).
    truth : ndarray, optional
        Hidden true-potential field (synthetic district) for ``truth.auc``.
    benchmark : voxprospect.synth.benchmark.BenchmarkTruth, optional
        A benchmark district's truth: every mapped model (and the best single
        channel) is scored on the undiscovered deposits, fitted without the training
        windows within ``BENCHMARK_BUFFER_M`` of them (``benchmark`` in the report).
    training_overrides : dict, optional
        Replace keys of the project's ``[training]`` (the demo's short schedule).

    Returns
    -------
    dict (the report)
    """
    outdir = check_outdir(outdir, project)
    training = settings_dict(project.training) | dict(training_overrides or {})
    models = check_models(models or training.get("models", ["DL4", "RF"]))
    map_models = list(models if map_models is None else (check_models(map_models) if map_models else []))
    device = check_device(device if device is not None else training.get("device"))
    with step_outputs(folders=[outdir]):
        return StepResult(_study(project, outdir, models, map_models, epochs, device, truth, benchmark, command,
                                 progress, extra_parameters, training), outdir / "report.json")


def _study(project, outdir, models, map_models, epochs, device, truth, benchmark, command, progress,
           extra_parameters, training) -> dict:
    seed = project.seed
    params = {"project": str(project.path), "models": models, "map_models": map_models,
              "epochs": epochs or training.get("epochs"), "training": training,
              "samples": settings_dict(project.samples), **(extra_parameters or {})}
    report = RunReport(command, params, seed=seed)
    add_project_inputs(report, project)
    inputs = [project.path, *project.input_paths()]
    data, plans = _prepare(project, outdir, training, report, inputs, progress)
    explain = importance_settings(training)
    if explain["attributions"] != "off" and any(m != "RF" for m in map_models):
        from voxprospect.learn.attribution import require_captum
        require_captum()  # before any fit: a missing captum is one clear error, not a late one
    recorders = {name: make_recorder(data.channels, explain, seed) for name in models}
    results = _evaluate_models(data, plans, training, models, epochs, device, outdir, report, progress, recorders)
    importance = record_importance(report, recorders, explain, outdir, inputs)
    chunk = int(settings_dict(project.prediction).get("chunk_voxels", DEFAULT_CHUNK_VOXELS))
    tcfg = settings_dict(project.targets)
    threshold = tcfg.get("threshold", "pa")
    mapping = {"chunk": chunk, "threshold": None if threshold in (None, "pa") else float(threshold),
               "min_voxels": int(tcfg.get("min_voxels", 1)), "inputs": inputs,
               "pa_layer": str(tcfg.get("pa_layer", "mean") or "mean"),
               "outputs": tuple(getattr(project, "outputs", ())), "training": training, "seed": seed,
               "epochs": epochs, "device": device, "importance": importance, "explain": explain}
    truth_scores, scored, maps = {}, {}, {}
    for m, name in enumerate(map_models):
        lo, hi = 0.68 + 0.3 * m / len(map_models), 0.68 + 0.3 * (m + 1) / len(map_models)
        prosp = _map_model(name, results[name], data, outdir, report, mapping, scaled(progress, lo, hi))
        maps[name] = prosp
        if truth is not None:
            truth_scores[name] = truth_auc(prosp, truth, prosp.active, top_share=0.05)
        if benchmark is not None:
            from voxprospect.synth.spread import spread_check
            results[name]["uncertainty"]["benchmark"] = spread_check(prosp, data.samples, benchmark)
            with report.timer(f"{name}.undiscovered"):
                scored[name] = undiscovered_study(name, data, training, seed, epochs, device, chunk, benchmark,
                                                  BENCHMARK_BUFFER_M, prosp,
                                                  scaled(progress, lo + 0.5 * (hi - lo), hi))
    _record_study(report, results, map_models, truth, truth_scores, benchmark, scored, data)
    record_drilling_bias(report, data, results, maps)
    write_text_atomic(outdir / "models.md", _models_markdown(report))
    record_outputs(report, outdir)
    report.write(outdir)
    say(progress, 1.0, "done")
    return report.data | {"outdir": str(outdir)}


def _prepare(project, outdir, training, report, inputs, progress):
    """Evidence, windows and the folds of every protocol, recorded in the report."""
    with report.timer("evidence_and_samples"):
        data = prepare_training(project, scaled(progress, 0.0, 0.08))
    write_volume(data.evidence, outdir / "evidence.vti", inputs=inputs)
    record_drillholes(data, outdir, report, inputs)
    report["samples"] = data.samples.to_dict()
    report["deposits"] = {str(k): v for k, v in data.deposit_names.items()}
    report["evaluation"] = evaluation_settings(training, data.samples)
    plans = study_plans(data, training, project.seed)
    report["evaluation"]["folds"] = {p: (plan if isinstance(plan, str) else [_fold_record(f) for f in plan])
                                     for p, plan in plans.items()}
    return data, plans


def _fold_record(fold) -> dict:
    return {"fold_id": fold.fingerprint(), "n_train": int(len(fold.train)), "n_test": int(len(fold.test)),
            "n_dropped": int(len(fold.dropped)),
            **{k: v for k, v in fold.info.items() if k in ("deposit", "deposits")}}


def _evaluate_models(data, plans, training, models, epochs, device, outdir, report, progress,
                     recorders=None) -> dict:
    """Every model on the study's folds and fitted on all windows, the baselines and the buffer sweep.

    ``recorders`` (``{model: ImportanceRecorder or None}``) see every fold's fitted model;
    recorders for the baselines are added to it as ``"baseline <name>"``.
    """
    recorders = recorders if recorders is not None else {}
    seed = report["seed"]
    n = len(models)
    results = {}
    for m, name in enumerate(models):
        lo, hi = 0.08 + 0.5 * m / n, 0.08 + 0.5 * (m + 1) / n
        say(progress, lo, f"training and evaluating {name}")
        results[name] = fit_and_evaluate(name, data, training, seed, outdir, epochs=epochs, device=device,
                                         progress=scaled(progress, lo, hi), report=report, plans=plans,
                                         on_fitted=recorders.get(name))
    say(progress, 0.58, "baselines on the same folds")
    with report.timer("baselines"):
        baselines = evaluate_baselines(data, plans, seed, progress=scaled(progress, 0.58, 0.6),
                                       recorders=recorders if any(recorders.values()) else None)
    record_baselines(report, results, baselines)
    with report.timer("buffer_sweep"):
        report["buffer_sweep"] = run_buffer_sweep(
            data, plans, training, seed, sweep_factories(data, training, seed, models, epochs, device), outdir,
            progress=scaled(progress, 0.6, 0.68))
    return results


def _map_model(name, result, data, outdir, report, mapping, progress):
    """Whole-grid prediction, P-A, targets, figures and result files of one model; returns its volume."""
    inputs = mapping["inputs"]
    say(progress, 0.0, f"predicting the whole grid with {name}")
    with report.timer(f"{name}.predict"):
        prosp = predict_estimator(result["estimator"], data, mapping["chunk"], scaled(progress, 0.0, 0.5))
    result["prospectivity"] = [f"prospectivity_{name}.vti"]
    if prosp.grid.crs is not None:
        write_volume(prosp, outdir / f"prospectivity_{name}.tif", layer="prospectivity", inputs=inputs)
        result["prospectivity"].append(f"prospectivity_{name}.tif")
    else:  # a GeoTIFF that lies nowhere in a GIS helps no one; the study's other results stand
        result["geotiff"] = "not written: the grid has no CRS (set [grid] crs in the project file)"
        logging.getLogger("voxprospect").warning("%s: prospectivity_%s.tif %s", outdir, name, result["geotiff"])
    say(progress, 0.5, f"targets of {name}")
    with report.timer(f"{name}.targets"):
        mapped = map_targets(prosp, outdir, name, data.orebody, data.deposit_names, mapping["threshold"],
                             mapping["min_voxels"], inputs, pa_layer=mapping["pa_layer"],
                             annotate=_explainer(name, result, data, mapping, report, scaled(progress, 0.5, 0.6)))
    attributions, result["explain"] = mapped.pop("_annotation")
    if attributions is not None:  # the attribution_<channel> layers travel in the prediction volume
        prosp = prosp.merge(attributions)
    from voxprospect.workflows.uncertainty import with_calibrated_layer
    prosp = with_calibrated_layer(prosp, getattr(result["estimator"], "calibration_map_", None))
    write_volume(prosp, outdir / f"prospectivity_{name}.vti", inputs=inputs)
    result["target_table"] = mapped.pop("target_table")
    from voxprospect.workflows.uncertainty import saturation, uncertainty_entry
    result["uncertainty"] = uncertainty_entry(result["estimator"], prosp, result["target_table"])
    result["uncertainty"]["saturation"] = saturation(prosp)
    tvol = mapped.pop("_targets_volume")
    result["_target_ids"] = tvol["target_id"]
    say(progress, 0.6, f"figures of {name}")
    with report.timer(f"{name}.figures"):
        result["figures"] = draw_model_figures(prosp, outdir, name, data.orebody, tvol, inputs)
    for fmt in mapping["outputs"]:
        from voxprospect.io.results import RESULT_FORMATS, write_results
        fname = f"results_{name}{RESULT_FORMATS[fmt]}"
        with report.timer(f"{name}.write_{fmt}"):
            write_results(prosp, outdir / fname, targets=tvol, inputs=inputs, fmt=fmt)
        result.setdefault("results_files", []).append(fname)
    result.update(mapped)
    return prosp


def _explainer(name, result, data, mapping, report, progress):
    """``annotate(targets)`` for :func:`map_targets`: attributions and ``top_channels`` (:mod:`explaining`)."""
    def annotate(targets):
        with report.timer(f"{name}.explain"):
            return explain_targets(name, result["estimator"], data.evidence, data.channels, data.samples.window,
                                   data.samples.edge, targets, mapping["importance"].get(name),
                                   mapping["explain"], mapping["chunk"], mapping["seed"], progress)
    return annotate


def _record_study(report, results, map_models, truth, truth_scores, benchmark, scored, data) -> None:
    """The models, the primary model's P-A and targets, and the truth and benchmark scores."""
    primary = map_models[0] if map_models else None
    report["models"] = {k: {kk: vv for kk, vv in v.items()
                            if kk not in ("estimator", "target_table") and not kk.startswith("_")}
                        for k, v in results.items()}
    if primary:
        report["primary_model"] = primary
        report["pa"] = results[primary].get("pa")
        report["targets"] = results[primary]["targets"]
    if truth is not None:
        report["truth"] = {"auc": truth_scores.get(primary), "auc_by_model": truth_scores,
                           "definition": "ROC AUC of the prospectivity at separating the true-potential "
                                         "field's top 5% of active voxels from the rest"}
    if benchmark is not None:
        from voxprospect.synth.benchmark import DEFINITIONS
        report["benchmark"] = {"buffer_m": BENCHMARK_BUFFER_M, "definitions": DEFINITIONS,
                               "known": [benchmark.names[i] for i in benchmark.known],
                               "undiscovered": [benchmark.names[i] for i in benchmark.undiscovered],
                               "models": scored,
                               "baselines": benchmark_baselines(data, benchmark)}
    report["table_markdown"] = ablation_table(report["models"], report.data.get("baselines"),
                                              report.data.get("evaluation"))
    report["metrics"] = {k: v["metrics"] for k, v in report["models"].items()}
    report["uncertainty"] = {k: v["uncertainty"] for k, v in results.items() if "uncertainty" in v}
    report["calibration"] = {k: v["calibration"] for k, v in results.items() if "calibration" in v}
    report["target_tables"] = {k: v["target_table"] for k, v in results.items() if "target_table" in v}


def _models_markdown(report) -> str:
    sweep_md = "\n".join(sweep_section(report.data))
    return report["table_markdown"] + ("\n" + sweep_md if sweep_md else "")


def run_project(project_path, outdir=None, progress=None, buffer_m: float | None = None,
                importance: bool | None = None, attributions: str | None = None,
                cap_at_length: bool | None = None, ensemble: int | None = None,
                calibration: str | None = None) -> StepResult:
    """The whole pipeline from a project file (evidence to targets).

    ``buffer_m`` overrides the project's metric buffer between train and test windows;
    ``importance`` and ``attributions`` its ``[training]`` keys of the same names;
    ``cap_at_length`` (when not None) the drillholes inputs' ``cap_at_length``;
    ``ensemble`` its CNN member count, ``calibration`` its held-out calibration.
    """
    from voxprospect.workflows.project import load_project
    from voxprospect.workflows.uncertainty import training_overrides

    overrides = (buffer_override(buffer_m) | explain_overrides(importance, attributions)
                 | training_overrides(ensemble, calibration))
    project = set_cap_at_length(load_project(project_path), cap_at_length)
    return run_study(project, outdir if outdir is not None else project.output_dir, command="run",
                     progress=progress, training_overrides=overrides)


def run_ablation(project_path, outdir, epochs=None, models=MODELS,
                 progress=None, buffer_m: float | None = None) -> StepResult:
    """Table 1: every preset and the random forest under every protocol, beside the baselines.

    Writes ``ablation.md`` and ``ablation.json`` (``models``, ``baselines``,
    ``skill_over_baselines``, ``evaluation``) besides the models' checkpoints.
    """
    from voxprospect.workflows.project import load_project

    project = load_project(project_path)
    models = check_models(models)  # an empty list would fall back to the project's models
    outdir = check_outdir(outdir, project)
    with step_outputs(folders=[outdir]):
        return StepResult(_ablation(project, outdir, epochs, models, progress, buffer_m), outdir / "report.json")


def _ablation(project, outdir, epochs, models, progress, buffer_m=None) -> dict:
    rep = run_study(project, outdir, models=list(models), map_models=[], epochs=epochs, command="ablation",
                    progress=progress, training_overrides=buffer_override(buffer_m))
    outdir = Path(outdir)
    write_text_atomic(outdir / "ablation.md", rep["table_markdown"])
    ev = {k: v for k, v in rep["evaluation"].items() if k != "folds"}
    write_text_atomic(outdir / "ablation.json", json.dumps(
        {"models": {k: {kk: vv for kk, vv in v.items() if kk in ("n_params", "flops", "flops_unit", "metrics")}
                    for k, v in rep["models"].items()},
         "baselines": rep["baselines"], "skill_over_baselines": rep["skill_over_baselines"],
         "evaluation": ev}, indent=2, default=float))
    rep = append_outputs(rep, outdir, [(outdir / "ablation.md", "ablation_table"),
                                       (outdir / "ablation.json", "ablation_json")])
    return rep

