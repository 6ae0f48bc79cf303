"""The pipeline steps, as the CLI and the QGIS plugin call them.

Each ``run_*`` function reads its inputs, writes its outputs atomically into one
folder together with ``report.json`` (inputs with hashes, parameters, seed, versions,
metrics, timings), and returns the report's content as a dict. ``progress`` is an
optional ``progress(fraction, message)`` callable that may raise
:class:`~voxprospect.errors.Cancelled`.

The modelling study (:func:`run_project`, :func:`run_demo`, :func:`run_ablation`) is:

1. evidence from the project's inputs (:mod:`voxprospect.evidence.layers`);
2. windows around every orebody voxel plus as many distant negatives
   (:mod:`voxprospect.learn.samples`);
3. for every model: its scores under every evaluation protocol
   (:func:`voxprospect.learn.protocols.evaluate_protocols`: the paper's leaky random split
   beside spatial blocks and leave-one-deposit-out), then a final fit on all windows,
   a checkpoint, the training curves;
4. whole-grid prediction, prediction-area threshold, 3D targets (for the models the
   project asks to map).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voxprospect.errors import LayerError, NoPositivesError, VoxprospectError
from voxprospect.io.outputs import step_outputs
from voxprospect.report import RunReport, write_text_atomic
from voxprospect.workflows.progress import Progress
from voxprospect.workflows.summary import append_outputs, draw_model_figures, largest_targets, record_outputs
from voxprospect.vocabulary import CHECKPOINT_SUFFIX, DEFAULT_CHUNK_VOXELS, MODELS, PROTOCOLS

log = logging.getLogger(__name__)

# The small demo must finish in minutes on two CPU cores, where one DL4 epoch over its
# ~1,400 windows costs about 0.3 TFLOP; the paper trains 200 epochs. Smaller batches
# give the short run more optimiser steps for the same arithmetic. Both are recorded
# in report.json.
DEMO_TRAINING = {"small": {"epochs": 10, "batch_size": 64},
                 "paper": {"epochs": 200, "batch_size": 256},
                 "tiny": {"epochs": 3, "batch_size": 64}}


# -- progress helpers ------------------------------------------------------------------

def _scaled(progress, start: float, end: float):
    """A progress callable mapping a sub-step's 0..1 onto ``start..end``."""
    if progress is None:
        return None

    def sub(fraction, message):
        progress(start + (end - start) * min(max(float(fraction), 0.0), 1.0), message)
    return sub


def _say(progress, fraction, message):
    log.info(message)
    if progress is not None:
        progress(fraction, message)


# -- training data -----------------------------------------------------------------------

@dataclass
class TrainingData:
    """Evidence, orebodies and windows of a project, ready for the models."""

    evidence: object               # Volume of standardised channels
    channels: list
    orebody: np.ndarray            # int deposit ids, 0 = barren
    deposit_names: dict            # id -> name
    samples: object                # WindowSamples
    windows: np.ndarray            # (N, C, k, k, k)
    settings: dict = field(default_factory=dict)

    @property
    def stats(self) -> dict:
        return dict(self.evidence.meta.get("evidence", {}).get("stats", {}))

    @property
    def fill_values(self) -> dict:
        """Per-channel value of cells outside the study volume (see :func:`voxprospect.evidence.layers.fill_values`)."""
        from voxprospect.evidence.layers import fill_values
        return fill_values(self.evidence, self.channels)


def _orebody_labels(project, grid):
    """The project's orebody layer as int deposit ids (0 = barren) plus deposit names."""
    ob = project.orebodies
    if ob is None:
        raise NoPositivesError(f"{project.path}: the project has no [orebodies] section; "
                               "training needs known orebodies")
    vol = project.load_orebodies()
    where = ob.path or project.inputs[ob.source].path
    grid.require_same(vol.grid, f"the evidence and the orebodies ({where})")
    arr = np.asarray(vol[ob.layer])
    if arr.dtype == bool:
        ids, names = arr.astype(np.int32), {1: "orebody"}
    else:
        if np.issubdtype(arr.dtype, np.floating):
            arr = np.nan_to_num(arr, nan=0.0)
        ids = arr.astype(np.int32)
        names = {int(i): n for i, n in vol.classes.get(ob.layer, {}).items() if int(i) > 0}
    for i in np.unique(ids[ids > 0]):
        names.setdefault(int(i), f"deposit {int(i)}")
    if not (ids > 0).any():
        raise NoPositivesError(f"{where}: the orebody layer {ob.layer!r} selects no voxel")
    return ids, names


def _settings(obj) -> dict:
    """A project settings section as a plain dict (dataclass or mapping)."""
    from dataclasses import asdict, is_dataclass
    d = asdict(obj) if is_dataclass(obj) else dict(obj)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def prepare_training(project, progress=None, evidence=None) -> TrainingData:
    """Build the evidence and the training windows of a project.

    Parameters
    ----------
    project : Project
    evidence : Volume, optional
        Evidence already built (skips rebuilding it).

    Raises
    ------
    NoPositivesError, LayerError, GridMismatchError, InputFileError
    """
    from voxprospect.evidence.layers import build_evidence
    from voxprospect.limits import check_memory
    from voxprospect.learn.samples import make_samples, samples_windows

    inputs = project.load_inputs()
    if evidence is None:
        _say(progress, 0.0, "building evidence")
        evidence = build_evidence(project.evidence, inputs, progress=_scaled(progress, 0.0, 0.8),
                                  source_files=project.source_files())
    channels = evidence.names
    orebody, names = _orebody_labels(project, evidence.grid)
    s = _settings(project.samples)
    try:
        samples = make_samples(orebody, evidence.active, evidence.grid, window=s["window"],
                               min_distance_m=s["min_distance_m"], seed=project.seed, edge=s["edge"],
                               negatives_per_positive=s["negatives_per_positive"])
    except NoPositivesError as e:
        where = project.orebodies.path or project.inputs[project.orebodies.source].path
        raise NoPositivesError(f"{where}: {e}") from None
    n_windows = len(samples.labels)
    n_values = n_windows * len(channels) * s["window"] ** 3
    check_memory(n_values, 4, f"{n_windows:,} training windows of {s['window']}^3 voxels x {len(channels)} "
                              "channels", project.path)
    _say(progress, 0.9, f"{samples.n_positive} positive and {samples.n_negative} negative windows")
    from voxprospect.evidence.layers import fill_values
    windows = samples_windows(evidence.stack(channels), samples,
                              fill=list(fill_values(evidence, channels).values()))
    return TrainingData(evidence, channels, orebody, names, samples, windows, dict(s))


# -- models ------------------------------------------------------------------------------

def _estimator_factory(name: str, training: dict, seed: int, epochs: int | None = None, device=None,
                       progress=None):
    """A zero-argument callable building a fresh estimator of ``name``."""
    from voxprospect.learn import make_estimator

    key = name.upper()
    if key == "RF":
        rf = dict(training.get("random_forest", {}))
        return lambda: make_estimator("RF", random_state=seed, **rf)
    params = dict(epochs=int(epochs or training.get("epochs", 200)),
                  batch_size=int(training.get("batch_size", 256)),
                  learning_rate=float(training.get("learning_rate", 1e-3)),
                  device=device or training.get("device", "auto"), seed=seed)
    params.update(weight_decay=float(training.get("weight_decay", 0.0) or 0.0),
                  augment=str(training.get("augment", "none") or "none"))
    fraction = float(training.get("validation_fraction", 0.0) or 0.0)
    if fraction > 0:
        params["validation_fraction"] = fraction
        if training.get("early_stopping_patience"):
            params["early_stopping_patience"] = int(training["early_stopping_patience"])
    return lambda: make_estimator(key, progress=progress, **params)


def _fit_context(data: TrainingData) -> dict:
    """What a CNN's fit uses beyond the windows: centres (spatial validation) and cell sizes (rotations)."""
    return {"centres": np.asarray(data.samples.centres), "cell_size": tuple(data.evidence.grid.cell_size)}


def _fit(est, X, y, centres=None, cell_size=None):
    """``est.fit`` with the centres and cell sizes when the estimator takes them (the CNN)."""
    from voxprospect.learn.protocols import fit_with_context
    return fit_with_context(est, X, y, centres=centres, cell_size=cell_size)


def model_size(estimator, n_channels: int, window: int) -> dict:
    """Parameters and per-window cost, measured from the fitted model."""
    out = {"n_params": int(estimator.count_parameters()), "flops": int(estimator.flops_per_window())}
    unit = getattr(estimator, "flops_unit", None)
    if unit:
        out["flops_unit"] = unit
    return out


def evaluation_settings(training: dict, samples) -> dict:
    """The metric buffer and sweep of a study, resolved and ready to record.

    ``buffer_m`` is the project's (or the CLI's) when set, else the window's extent
    plus ``smoothing_m`` (:func:`voxprospect.learn.protocols.default_buffer_m`).
    """
    from voxprospect.learn.protocols import (DEFAULT_SMOOTHING_M, DEFAULT_SWEEP, default_buffer_m,
                                             neighbour_overlap, resolve_buffer, sweep_buffers, window_extent_m)

    cs = samples.cell_size
    window = samples.window
    smoothing = float(training.get("smoothing_m", DEFAULT_SMOOTHING_M))
    given = training.get("buffer_m")
    buffer = default_buffer_m(window, cs, smoothing) if given is None else resolve_buffer(given, window, cs)
    sweep = sweep_buffers(training.get("buffer_sweep_m") or DEFAULT_SWEEP, window, cs)
    return {"buffer_m": float(buffer),
            "buffer_rule": ("configured (buffer_m)" if given is not None
                            else "default: window extent (k x |cell size|) + smoothing_m"),
            "smoothing_m": smoothing, "window_extent_m": window_extent_m(window, cs),
            "cell_size": list(cs), "window": int(window), "neighbour_overlap": neighbour_overlap(window),
            "sweep_buffers_m": [{"label": lab, "buffer_m": m} for lab, m in sweep],
            "buffer_definition": "training windows whose centre lies closer than buffer_m (metric, true cell "
                                 "sizes) to any test window's centre are dropped"}


def study_plans(data: TrainingData, training: dict, seed: int, protocols=None) -> dict:
    """The folds of every protocol, made once for all models and baselines of a study."""
    from voxprospect.learn.protocols import make_plans

    ev = evaluation_settings(training, data.samples)
    protocols = list(protocols or training.get("protocols", ["random", "spatial", "deposit"]))
    return make_plans(data.samples, protocols, seed=seed, buffer_m=ev["buffer_m"],
                      smoothing_m=ev["smoothing_m"])


def _tuned_factory(data: TrainingData, training: dict, seed: int):
    """Nested tuning: a forest tuned with spatial inner folds inside every training set."""
    from voxprospect.learn.tuning import NestedTunedForest

    ev = evaluation_settings(training, data.samples)
    rf = {k: v for k, v in dict(training.get("random_forest", {})).items()
          if k not in ("n_estimators", "max_depth", "max_features")}
    return lambda: NestedTunedForest(data.samples.centres, data.samples.cell_size, data.samples.window,
                                     buffer_m=ev["buffer_m"], smoothing_m=ev["smoothing_m"],
                                     n_trials=int(training.get("tune_trials", 30)),
                                     inner_folds=int(training.get("inner_folds", 3)), seed=seed, rf_params=rf)


def fit_and_evaluate(name: str, data: TrainingData, training: dict, seed: int, outdir: Path,
                     protocols=None, epochs=None, device=None, progress=None, report=None, plans=None,
                     tune: bool = False) -> dict:
    """Score one model under every protocol, then fit it on all windows and save it.

    ``plans`` are the study's folds (:func:`study_plans`), shared with the other
    models and the baselines. With ``tune`` (random forest) every fit, the outer
    folds' and the final one, tunes its hyper-parameters inside its own training
    windows with spatial inner folds (:mod:`voxprospect.learn.tuning`).

    Returns
    -------
    dict
        ``{"estimator", "checkpoint", "n_params", "flops", "metrics": {protocol: ...},
        "history"}`` (and ``tuning`` with ``tune``).
    """
    from voxprospect.learn import save_checkpoint
    from voxprospect.learn.protocols import evaluate_protocols

    protocols = list(protocols or training.get("protocols", PROTOCOLS))
    if plans is None:
        plans = study_plans(data, training, seed, protocols)
    evaluating = Progress(progress, 0.0, 0.75)  # each fold's epochs reported inside it
    if tune:
        factory = _tuned_factory(data, training, seed)
    else:
        factory = _estimator_factory(name, training, seed, epochs, device,
                                     progress=evaluating.messages(f"{name} fold fit: "))
    y = data.samples.labels.astype(np.int64)
    timer = report.timer if report is not None else _null_timer
    with timer(f"{name}.evaluate"):
        metrics = evaluate_protocols(factory, data.windows, data.samples, protocols=protocols, plans=plans,
                                     progress=evaluating,
                                     cell_size=tuple(data.evidence.grid.cell_size))
    _say(progress, 0.75, f"{name}: final fit on all {len(y)} windows")
    tuning = None
    with timer(f"{name}.fit"):
        if tune:
            tuner = factory().fit(data.windows, y)
            est, tuning = tuner.best_estimator_, tuner.tuning_
        else:
            final = _estimator_factory(name, training, seed, epochs, device, progress=_scaled(progress, 0.75, 1.0))
            est = _fit(final(), data.windows, y, **_fit_context(data))
    ckpt = Path(outdir) / f"{name}{CHECKPOINT_SUFFIX}"
    summary = {"model": name, "metrics": metrics, **model_size(est, len(data.channels), data.samples.window)}
    if tuning is not None:
        summary["tuning"] = tuning
    if getattr(est, "training_path_", None):
        summary["training_path"] = est.training_path_
    for attr in ("best_epoch_", "validation_", "augmentation_"):
        if getattr(est, attr, None) is not None:
            summary[attr.rstrip("_")] = getattr(est, attr)
    history = getattr(est, "history_", None)
    if history:
        summary["history"] = history
        est.plot_history(Path(outdir) / f"training_{name}.png", title=f"{name} training")
        summary["training_curves"] = f"training_{name}.png"
    from voxprospect.evidence.transfer import input_ranges
    save_checkpoint(est, ckpt, channels=data.channels, window=data.samples.window, edge=data.samples.edge,
                    standardisation_stats=data.stats, input_range=input_ranges(data.evidence, data.channels),
                    training_report={k: v for k, v in summary.items() if k != "history"}
                    | {"samples": data.samples.to_dict(), "seed": seed,
                       "evidence_channels": data.evidence.meta.get("evidence", {}).get("channels"),
                       "fill_values": data.fill_values})
    summary["checkpoint"] = ckpt.name
    summary["estimator"] = est
    return summary


def evaluate_baselines(data: TrainingData, plans: dict, seed: int, protocols=None, progress=None) -> dict:
    """The baselines (:mod:`voxprospect.learn.baselines`) on the study's folds.

    Returns
    -------
    dict
        ``{baseline: {"metrics": {protocol: ...}, "note": ...}}``; the best-channel
        baseline's folds record the channel and sign chosen on their training side.
    """
    from voxprospect.learn.baselines import BASELINE_NOTES, BASELINES, make_baseline
    from voxprospect.learn.protocols import evaluate_protocols

    out = {}
    for i, name in enumerate(BASELINES):
        metrics = evaluate_protocols(lambda name=name: make_baseline(name, data.channels, seed), data.windows,
                                     data.samples, protocols=protocols or list(plans), plans=plans)
        out[name] = {"metrics": metrics, "note": BASELINE_NOTES[name]}
        _say(progress, (i + 1) / len(BASELINES), f"baseline {name} scored")
    return out


def run_buffer_sweep(data: TrainingData, plans: dict, training: dict, seed: int, factories: dict, outdir,
                     progress=None) -> dict:
    """The buffer sweep on the spatial protocol's test set (table, JSON rows and a PNG).

    ``factories`` maps a name (model or baseline) to a zero-argument estimator factory.
    """
    from voxprospect.learn.protocols import buffer_sweep, plot_buffer_sweep, sweep_table_markdown

    base = plans.get("spatial")
    if not base or isinstance(base, str):
        return {"skipped": base if isinstance(base, str) else "the spatial protocol was not run"}
    ev = evaluation_settings(training, data.samples)
    buffers = [b["buffer_m"] for b in ev["sweep_buffers_m"]]
    labels = [b["label"] for b in ev["sweep_buffers_m"]]
    rows = {}
    for i, (name, factory) in enumerate(factories.items()):
        rows[name] = buffer_sweep(factory, data.windows, data.samples, base[0], buffers,
                                  progress=_scaled(progress, i / len(factories), (i + 1) / len(factories)))
        for r, lab in zip(rows[name], labels):
            r["label"] = lab
    md = sweep_table_markdown(rows)
    plot_buffer_sweep(rows, Path(outdir) / "buffer_sweep.png")
    write_text_atomic(Path(outdir) / "buffer_sweep.md", md)
    write_text_atomic(Path(outdir) / "buffer_sweep.json", json.dumps(rows, indent=2, default=float))
    return {"protocol": "spatial", "test_fold_id": base[0].fingerprint(), "buffers_m": buffers,
            "labels": labels, "rows": rows, "table_markdown": md, "plot": "buffer_sweep.png",
            "files": ["buffer_sweep.md", "buffer_sweep.json", "buffer_sweep.png"],
            "definition": "one fixed spatial test set; training windows closer than each buffer to any test "
                          "window removed, the model refitted and scored"}


def _sweep_factories(data: TrainingData, training: dict, seed: int, models, epochs, device) -> dict:
    from voxprospect.learn.baselines import BASELINES, make_baseline

    chosen = training.get("sweep_models")
    if chosen is None:
        chosen = [m for m in models if m.upper() == "RF"]
    out = {m: _estimator_factory(m, training, seed, epochs, device) for m in chosen}
    for b in BASELINES:
        out[f"baseline {b}"] = (lambda b=b: make_baseline(b, data.channels, seed))
    return out


class _null_timer:
    def __init__(self, *_):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# -- prediction, P-A, targets ----------------------------------------------------------

def map_targets(prospectivity, outdir: Path, name: str, orebody=None, deposit_names=None, threshold=None,
                min_voxels: int = 1, inputs=()) -> dict:
    """P-A plot and threshold (when orebodies are known) and the targets above it.

    Writes ``pa_<name>.png``, ``targets_<name>.vti``, ``targets_<name>.csv`` and
    ``targets_<name>.gpkg`` into ``outdir``. The returned dict's ``_targets_volume``
    (the targets as a volume, for further writers) is for the caller to pop.
    """
    from voxprospect.learn.evaluate import plot_prediction_area, prediction_area
    from voxprospect.io import write_volume
    from voxprospect.mapping.targets import (find_targets, targets_volume, write_targets_csv, write_targets_gpkg)

    out = {}
    if orebody is not None:
        pa = prediction_area(prospectivity, prospectivity.active, orebody_mask=np.asarray(orebody) > 0)
        plot_prediction_area(pa, outdir / f"pa_{name}.png", title=f"Prediction-area plot, {name}")
        out["pa"] = pa.to_dict()
        out["pa"]["plot"] = f"pa_{name}.png"
        if threshold is None:
            threshold = pa.target_threshold
    if threshold is None:
        raise VoxprospectError("no threshold: give one, or known orebodies for the prediction-area plot")
    if orebody is not None:
        # the rates the chosen threshold really gives (the crossing's are interpolated)
        vals = np.asarray(prospectivity["prospectivity"])
        scored = prospectivity.active & np.isfinite(vals)
        above = scored & (vals >= threshold)
        ore = scored & (np.asarray(orebody) > 0)
        out["pa"]["at_threshold"] = {"threshold": float(threshold),
                                     "prediction_rate": float(above[ore].mean()) if ore.any() else None,
                                     "volume_share": float(above.sum() / scored.sum())}
    deposits = None
    if orebody is not None:
        deposits = np.asarray(orebody).astype(np.int32)
    targets = find_targets(prospectivity, float(threshold), deposits=deposits, deposit_names=deposit_names,
                           min_voxels=min_voxels)
    tvol = targets_volume(targets, prospectivity.grid)
    write_volume(tvol, outdir / f"targets_{name}.vti", inputs=inputs)
    write_targets_csv(targets, outdir / f"targets_{name}.csv", inputs=inputs)
    write_targets_gpkg(targets, prospectivity.grid, outdir / f"targets_{name}.gpkg",
                       prospectivity=prospectivity, inputs=inputs)
    out["threshold"] = float(threshold)
    out["targets"] = targets.summary()
    out["targets"]["files"] = [f"targets_{name}.{ext}" for ext in ("vti", "csv", "gpkg")]
    if targets.count == 0:
        out["targets"]["warning"] = "no voxel reaches the threshold; the target files are empty"
    out["target_table"] = targets.table
    out["_targets_volume"] = tvol
    return out


def _predict(model, evidence, chunk_voxels, progress):
    from voxprospect.mapping.predict import predict_volume
    return predict_volume(model, evidence, chunk_voxels=chunk_voxels, progress=progress)


# -- steps ---------------------------------------------------------------------------------

def run_synth(outdir, preset: str = "small", seed: int = 42, progress=None) -> dict:
    """Build the synthetic district into ``outdir`` (see :mod:`voxprospect.synth.district`)."""
    from voxprospect.synth.district import run_synth as _run
    return _run(outdir, preset=preset, seed=seed, progress=progress)


def run_evidence(project_path, out_path, progress=None) -> dict:
    """Build a project's evidence stack into ``out_path`` (see :mod:`voxprospect.workflows.project`)."""
    from voxprospect.workflows.project import run_evidence as _run
    return _run(project_path, out_path, progress=progress)


def run_train(project_path, outdir, model: str = "DL4", seed: int | None = None, epochs: int | None = None,
              tune: bool = False, device: str | None = None, progress=None, buffer_m: float | None = None) -> dict:
    """Train one model on a project's windows, score it under every protocol, save it.

    The baselines are scored on the same folds. ``tune`` (random forest) tunes
    inside every training fold with spatial inner folds (nested), never on a test
    window; ``buffer_m`` overrides the project's metric buffer.

    Writes ``<model>.vxp.safetensors``, ``training_<model>.png`` (CNN), ``evidence.vti``
    and ``report.json`` into ``outdir``.
    """
    from voxprospect.limits import check_seed
    from voxprospect.workflows.project import load_project

    project = load_project(project_path)
    seed = project.seed if seed is None else check_seed(seed, "--seed")
    model = _check_models([model])[0]
    if tune and model != "RF":
        raise VoxprospectError("--tune searches the random forest's hyper-parameters; use it with --model RF")
    device = check_device(device if device is not None else project.training.device)
    outdir = _check_outdir(outdir, project)
    with step_outputs(folders=[outdir]):
        return _train(project, project_path, outdir, model, seed, epochs, tune, device, progress, buffer_m)


def _train(project, project_path, outdir, model, seed, epochs, tune, device, progress, buffer_m=None) -> dict:
    from voxprospect.io import write_volume

    report = RunReport("train", {"project": str(project_path), "model": model, "epochs": epochs,
                                 "tune": tune, "device": device, "buffer_m": buffer_m}, seed=seed)
    _add_project_inputs(report, project)
    with report.timer("prepare"):
        data = prepare_training(project, _scaled(progress, 0.0, 0.15))
    write_volume(data.evidence, outdir / "evidence.vti", inputs=project.input_paths())
    training = _settings(project.training) | ({} if buffer_m is None else {"buffer_m": float(buffer_m)})
    if tune and model.upper() != "RF":
        raise VoxprospectError("--tune searches the random forest's hyper-parameters; use it with --model RF")
    report["evaluation"] = evaluation_settings(training, data.samples)
    plans = study_plans(data, training, seed)
    res = fit_and_evaluate(model, data, training, seed, outdir, epochs=epochs, device=device,
                           progress=_scaled(progress, 0.15, 0.9), report=report, plans=plans, tune=tune)
    res.pop("estimator")
    if tune:
        report["tuning"] = res["tuning"] | {"nested": True, "definition": (
            "each outer fold's forest was tuned inside its own training windows with spatial inner folds; "
            "the checkpoint's forest was tuned on all windows the same way")}
    with report.timer("baselines"):
        baselines = evaluate_baselines(data, plans, seed, progress=_scaled(progress, 0.9, 1.0))
    report["samples"] = data.samples.to_dict()
    report["models"] = {model: res}
    report["checkpoint"] = res["checkpoint"]
    report["metrics"] = res["metrics"]
    _record_baselines(report, {model: res}, baselines)
    record_outputs(report, outdir)
    report.write(outdir)
    return report.data | {"checkpoint": str(outdir / res["checkpoint"])}


def _record_baselines(report, results: dict, baselines: dict) -> None:
    from voxprospect.learn.baselines import skill_over_baselines
    report["baselines"] = baselines
    report["skill_over_baselines"] = {
        "definition": "model ROC AUC minus baseline ROC AUC on the same folds (positive: the model adds skill)",
        **skill_over_baselines({k: v["metrics"] for k, v in results.items()},
                               {k: v["metrics"] for k, v in baselines.items()})}


def run_predict(model_path, evidence_path, out_path, geotiff=None, chunk_voxels: int = DEFAULT_CHUNK_VOXELS,
                progress=None) -> dict:
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
    report_path = out_path.parent / f"{out_path.name.split('.')[0]}.report.json"
    with step_outputs(files=[out_path, report_path] + ([Path(geotiff)] if geotiff else [])):
        return _predict_step(model_path, evidence_path, out_path, geotiff, chunk_voxels, progress, report_path)


def _predict_step(model_path, evidence_path, out_path, geotiff, chunk_voxels, progress, report_path) -> dict:
    from voxprospect.io import read_volume, write_volume
    from voxprospect.learn import check_channels, load
    from voxprospect.io.outputs import volume_bytes, check_folder

    report = RunReport("predict", {"model": str(model_path), "evidence": str(evidence_path),
                                   "chunk_voxels": chunk_voxels})
    report.add_input(model_path)
    report.add_input(evidence_path)
    model = load(model_path)
    evidence = read_volume(evidence_path)
    missing = [c for c in model.channels if c not in evidence.layers]
    if missing:
        check_channels(model, evidence.names)  # raises with the full comparison
    check_channels(model, [c for c in evidence.names if c in model.channels])
    for c in model.channels:
        evidence.require_finite(c, evidence_path)
    check_folder(out_path.parent, what=f"folder of {out_path.name}",
                 need_bytes=volume_bytes(evidence.grid.n_cells, 1))
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
    inputs = (model_path, evidence_path)
    write_volume(prosp, out_path, inputs=inputs)
    report.add_output(out_path, role="prospectivity")
    if geotiff:
        write_volume(prosp, geotiff, layer="prospectivity", inputs=inputs)
        report.add_output(geotiff, role="prospectivity_geotiff")
    report["active_voxels"] = int(prosp.active.sum())
    report["metrics"] = {"prospectivity": prosp.layer_stats("prospectivity")}
    report.write(report_path.parent, report_path.name)
    return report.data | {"output": str(out_path)}


def run_targets(prospectivity_path, outdir, orebody_path=None, threshold=None, min_voxels: int = 1,
                layer: str = "orebody", progress=None) -> dict:
    """P-A threshold (from known orebodies) and 3D targets of a prospectivity volume."""
    if threshold is not None and not (isinstance(threshold, (int, float)) and 0.0 <= float(threshold) <= 1.0):
        raise VoxprospectError(f"threshold must be a probability between 0 and 1, got {threshold!r}")
    if threshold is None and orebody_path is None:
        raise VoxprospectError(f"{prospectivity_path}: no threshold to map targets at: give a threshold "
                               "(--threshold), or the known orebodies (--orebodies) for the prediction-area plot")
    outdir = _check_outdir(outdir)
    with step_outputs(folders=[outdir]):
        return _targets(prospectivity_path, outdir, orebody_path, threshold, min_voxels, layer, progress)


def _targets(prospectivity_path, outdir, orebody_path, threshold, min_voxels, layer, progress) -> dict:
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
        ob = read_volume(orebody_path)
        prosp.grid.require_same(ob.grid, f"{prospectivity_path} and {orebody_path}")
        if layer not in ob:
            raise LayerError(f"{orebody_path}: no {layer!r} layer (the known orebodies, deposit ids > 0); "
                             f"layers are: {', '.join(ob.names) or '(none)'}")
        orebody = np.asarray(ob[layer])
        names = {int(i): n for i, n in ob.classes.get(layer, {}).items() if int(i) > 0}
        if not (orebody > 0).any():
            raise NoPositivesError(f"{orebody_path}: the layer {layer!r} selects no orebody voxel")
    _say(progress, 0.1, "prediction-area plot and targets")
    with report.timer("targets"):
        res = map_targets(prosp, outdir, "prospectivity", orebody, names, threshold, min_voxels, inputs)
    table = res.pop("target_table")
    res.pop("_targets_volume")
    report.data.update(res)
    report["metrics"] = {"targets": len(table)}
    report["largest_targets"] = largest_targets(table)
    record_outputs(report, outdir)
    report.write(outdir)
    _say(progress, 1.0, "targets done")
    return report.data


# -- the modelling study ------------------------------------------------------------------

def _check_outdir(outdir, project=None) -> Path:
    """The output folder, checked (creatable, writable, room for the volumes) but not created."""
    from voxprospect.io.outputs import check_folder, volume_bytes

    outdir = Path(outdir if outdir is not None else project.output_dir)
    need = 0
    if project is not None and project.grid is not None:
        need = volume_bytes(project.grid.n_cells, max(len(project.evidence), 1))
    return check_folder(outdir, need_bytes=need)


def check_device(device) -> str:
    """``auto``, ``cpu`` or ``cuda``; ``cuda`` only where torch sees a CUDA device.

    Raises
    ------
    VoxprospectError
    """
    device = "auto" if device is None else str(device)
    if device not in ("auto", "cpu", "cuda"):
        raise VoxprospectError(f"unknown device {device!r}; use auto, cpu or cuda")
    if device == "cuda":
        import torch
        if not torch.cuda.is_available():
            raise VoxprospectError("device cuda was asked for but torch sees no CUDA device "
                                   f"(torch {torch.__version__}); use --device cpu or auto")
    return device


def _add_project_inputs(report, project):
    report.add_input(project.path)
    for p in project.input_paths():
        report.add_input(p)


def run_study(project, outdir, models=None, map_models=None, epochs=None, device=None, truth=None,
              benchmark=None, command="run", progress=None, extra_parameters=None,
              training_overrides=None) -> dict:
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
    outdir = _check_outdir(outdir, project)
    training = _settings(project.training) | dict(training_overrides or {})
    models = _check_models(models or training.get("models", ["DL4", "RF"]))
    map_models = list(models if map_models is None else (_check_models(map_models) if map_models else []))
    device = check_device(device if device is not None else training.get("device"))
    with step_outputs(folders=[outdir]):
        return _study(project, outdir, models, map_models, epochs, device, truth, benchmark, command,
                      progress, extra_parameters, training)


def _study(project, outdir, models, map_models, epochs, device, truth, benchmark, command, progress,
           extra_parameters, training) -> dict:
    from voxprospect.learn.evaluate import truth_auc
    from voxprospect.io import write_volume

    seed = project.seed
    params = {"project": str(project.path), "models": models, "map_models": map_models,
              "epochs": epochs or training.get("epochs"), "training": training,
              "samples": _settings(project.samples), **(extra_parameters or {})}
    report = RunReport(command, params, seed=seed)
    _add_project_inputs(report, project)
    inputs = [project.path, *project.input_paths()]

    with report.timer("evidence_and_samples"):
        data = prepare_training(project, _scaled(progress, 0.0, 0.08))
    write_volume(data.evidence, outdir / "evidence.vti", inputs=inputs)
    report["samples"] = data.samples.to_dict()
    report["deposits"] = {str(k): v for k, v in data.deposit_names.items()}

    report["evaluation"] = evaluation_settings(training, data.samples)
    plans = study_plans(data, training, seed)
    report["evaluation"]["folds"] = {p: (plan if isinstance(plan, str) else
                                         [{"fold_id": f.fingerprint(), "n_train": int(len(f.train)),
                                           "n_test": int(len(f.test)), "n_dropped": int(len(f.dropped)),
                                           **{k: v for k, v in f.info.items() if k in ("deposit", "deposits")}}
                                          for f in plan])
                                     for p, plan in plans.items()}
    n = len(models)
    results = {}
    for m, name in enumerate(models):
        lo, hi = 0.08 + 0.5 * m / n, 0.08 + 0.5 * (m + 1) / n
        _say(progress, lo, f"training and evaluating {name}")
        results[name] = fit_and_evaluate(name, data, training, seed, outdir, epochs=epochs, device=device,
                                         progress=_scaled(progress, lo, hi), report=report, plans=plans)
    _say(progress, 0.58, "baselines on the same folds")
    with report.timer("baselines"):
        baselines = evaluate_baselines(data, plans, seed, progress=_scaled(progress, 0.58, 0.6))
    _record_baselines(report, results, baselines)
    with report.timer("buffer_sweep"):
        report["buffer_sweep"] = run_buffer_sweep(
            data, plans, training, seed, _sweep_factories(data, training, seed, models, epochs, device), outdir,
            progress=_scaled(progress, 0.6, 0.68))

    chunk = int(_settings(project.prediction).get("chunk_voxels", DEFAULT_CHUNK_VOXELS))
    tcfg = _settings(project.targets)
    threshold = tcfg.get("threshold", "pa")
    threshold = None if threshold in (None, "pa") else float(threshold)
    truth_scores, scored = {}, {}
    for m, name in enumerate(map_models):
        lo, hi = 0.68 + 0.3 * m / len(map_models), 0.68 + 0.3 * (m + 1) / len(map_models)
        est = results[name]["estimator"]
        _say(progress, lo, f"predicting the whole grid with {name}")
        with report.timer(f"{name}.predict"):
            prosp = _predict_estimator(est, data, chunk, _scaled(progress, lo, lo + 0.5 * (hi - lo)))
        write_volume(prosp, outdir / f"prospectivity_{name}.vti", inputs=inputs)
        write_volume(prosp, outdir / f"prospectivity_{name}.tif", layer="prospectivity", inputs=inputs)
        results[name]["prospectivity"] = [f"prospectivity_{name}.vti", f"prospectivity_{name}.tif"]
        _say(progress, lo + 0.5 * (hi - lo), f"targets of {name}")
        with report.timer(f"{name}.targets"):
            mapped = map_targets(prosp, outdir, name, data.orebody, data.deposit_names, threshold,
                                 int(tcfg.get("min_voxels", 1)), inputs)
        results[name]["target_table"] = mapped.pop("target_table")
        tvol = mapped.pop("_targets_volume")
        _say(progress, lo + 0.6 * (hi - lo), f"figures of {name}")
        with report.timer(f"{name}.figures"):
            results[name]["figures"] = draw_model_figures(prosp, outdir, name, data.orebody, tvol, inputs)
        for fmt in getattr(project, "outputs", ()):
            from voxprospect.io.results import RESULT_FORMATS, write_results
            fname = f"results_{name}{RESULT_FORMATS[fmt]}"
            with report.timer(f"{name}.write_{fmt}"):
                write_results(prosp, outdir / fname, targets=tvol, inputs=inputs, fmt=fmt)
            results[name].setdefault("results_files", []).append(fname)
        results[name].update(mapped)
        if truth is not None:
            truth_scores[name] = truth_auc(prosp, truth, prosp.active, top_share=0.05)
        if benchmark is not None:
            with report.timer(f"{name}.undiscovered"):
                scored[name] = _undiscovered_study(name, data, training, seed, epochs, device, chunk, benchmark,
                                                   BENCHMARK_BUFFER_M, prosp,
                                                   _scaled(progress, lo + 0.5 * (hi - lo), hi))

    primary = map_models[0] if map_models else None
    report["models"] = {k: {kk: vv for kk, vv in v.items() if kk not in ("estimator", "target_table")}
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
                               "baselines": _benchmark_baselines(data, benchmark)}
    table_md = ablation_table(report["models"], report.data.get("baselines"), report.data.get("evaluation"))
    sweep_md = "\n".join(sweep_section(report.data))
    write_text_atomic(outdir / "models.md", table_md + ("\n" + sweep_md if sweep_md else ""))
    report["table_markdown"] = table_md
    report["metrics"] = {k: v["metrics"] for k, v in report["models"].items()}
    report["target_tables"] = {k: v["target_table"] for k, v in results.items() if "target_table" in v}
    record_outputs(report, outdir)
    report.write(outdir)
    _say(progress, 1.0, "done")
    return report.data | {"outdir": str(outdir)}


MODEL_NAMES = MODELS


def _check_models(models) -> list:
    """Model names, upper-cased; an unknown one stops the run before any work."""
    out = [str(m).strip().upper() for m in models]
    unknown = [m for m in out if m not in MODEL_NAMES]
    if unknown:
        raise VoxprospectError(f"unknown model(s) {', '.join(unknown)}; use any of {', '.join(MODEL_NAMES)}")
    if not out:
        raise VoxprospectError("no model to train; name at least one of " + ", ".join(MODEL_NAMES))
    return out


def _predict_estimator(estimator, data: TrainingData, chunk_voxels, progress):
    from voxprospect.mapping.predict import predict_volume
    return predict_volume(estimator, data.evidence, channels=data.channels, window=data.samples.window,
                          edge=data.samples.edge, chunk_voxels=chunk_voxels, progress=progress)


#: training windows within this distance (m) of an undiscovered deposit are dropped
#: before a model is scored on the undiscovered deposits (see voxprospect.synth.benchmark)
BENCHMARK_BUFFER_M = 600.0


def _undiscovered_study(name, data, training, seed, epochs, device, chunk, benchmark, buffer_m, prospectivity,
                        progress) -> dict:
    """Score ``name`` on the undiscovered deposits of a benchmark district.

    The undiscovered deposits are never training labels; the training windows that
    come within ``buffer_m`` of one (:func:`voxprospect.synth.benchmark.windows_near`: random
    negatives that fell on or near them, and on coarse grids edge windows of a known
    deposit) are dropped and the model refitted. When none
    is near, the model fitted on all windows is scored (its ``prospectivity``).
    """
    from voxprospect.synth.benchmark import score_volume, windows_near

    near = windows_near(data.samples.centres, data.samples.window, data.evidence.grid,
                        benchmark.mask("undiscovered"), buffer_m)
    pos = data.samples.labels == 1
    if not (pos & ~near).any() or not (~pos & ~near).any():
        raise NoPositivesError(f"every training window of one class lies within {buffer_m:g} m of an undiscovered "
                               "deposit; nothing is left to fit")
    if near.any():
        keep = ~near
        est = _estimator_factory(name, training, seed, epochs, device, progress=_scaled(progress, 0, 0.5))()
        ctx = _fit_context(data)
        _fit(est, data.windows[keep], data.samples.labels[keep].astype(np.int64), centres=ctx["centres"][keep],
             cell_size=ctx["cell_size"])
        prospectivity = _predict_estimator(est, data, chunk, _scaled(progress, 0.5, 1.0))
    out = score_volume(prospectivity, benchmark)
    return {**out, "n_train": int((~near).sum()), "n_dropped_near_undiscovered": int(near.sum()),
            "n_positive_dropped": int((near & pos).sum()), "refitted": bool(near.any())}


def _benchmark_baselines(data, benchmark) -> dict:
    """Benchmark scores of the best single evidence channel, its sign and the channel
    chosen by ROC AUC on the training windows' centre voxels (never on the truth)."""
    from sklearn.metrics import roc_auc_score

    from voxprospect.synth.benchmark import score_volume

    y = data.samples.labels.astype(int)
    k = data.samples.window // 2
    centre = data.windows[:, :, k, k, k]
    best = None
    for c, name in enumerate(data.channels):
        auc = float(roc_auc_score(y, centre[:, c]))
        sign = 1.0 if auc >= 0.5 else -1.0
        if best is None or max(auc, 1 - auc) > best[2]:
            best = (name, sign, max(auc, 1 - auc))
    name, sign, auc = best
    values = sign * np.asarray(data.evidence[name], dtype=float)
    return {"best_single_channel": {"channel": name, "sign": "+" if sign > 0 else "-",
                                    "training_auc": auc, **score_volume(values, benchmark)}}


def _fmt(v):
    return "n/a" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{v:.3f}"


def ablation_table(models: dict, baselines: dict | None = None, evaluation: dict | None = None) -> str:
    """Table 1 as Markdown: our measured NP and FLOPs, every protocol's scores, the
    baselines on the same folds, and what each model adds over them (AUC difference)."""
    from voxprospect.learn.baselines import skill_over_baselines
    from voxprospect.learn.protocols import neighbour_overlap

    baselines = baselines or {}
    protocols = []
    for m in list(models.values()) + list(baselines.values()):
        for p in m.get("metrics", {}):
            if p not in protocols:
                protocols.append(p)
    head = ["model", "NP (ours)", "FLOPs/window (ours)"]
    for p in protocols:
        label = f"{p} (leaky)" if p == "random" else p
        head += [f"{label} acc", f"{label} AUC", f"{label} F1"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def scores(metrics):
        row = []
        for p in protocols:
            s = metrics.get(p, {})
            if "skipped" in s:
                row += ["skipped", "", ""]
            else:
                row += [_fmt(s.get("accuracy")), _fmt(s.get("auc")), _fmt(s.get("f1"))]
        return row

    for name, m in models.items():
        flops = f"{m['flops']:,}" + (" comparisons" if name.upper() == "RF" else "")
        lines.append("| " + " | ".join([name, f"{m['n_params']:,}", flops] + scores(m.get("metrics", {}))) + " |")
    for name, b in baselines.items():
        lines.append("| " + " | ".join([f"baseline: {name}", "", ""] + scores(b.get("metrics", {}))) + " |")
    lines.append("")
    if baselines:
        skill = skill_over_baselines({k: v.get("metrics", {}) for k, v in models.items()},
                                     {k: v.get("metrics", {}) for k, v in baselines.items()})
        honest = [p for p in protocols if p != "random"]
        head2 = ["model"] + [f"{p} AUC - {b}" for p in honest for b in baselines]
        lines += ["What each model adds over the baselines (ROC AUC difference on the same folds; "
                  "positive = the model adds skill):", "",
                  "| " + " | ".join(head2) + " |", "|" + "---|" * len(head2)]
        for name in models:
            row = [name]
            for p in honest:
                for b in baselines:
                    v = skill[name].get(p, {}).get(b)
                    row.append("n/a" if v is None else f"{v:+.3f}")
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    k = int((evaluation or {}).get("window", 3))
    ov = neighbour_overlap(k)
    buf = ""
    if evaluation:
        buf = (f" with a metric buffer of {evaluation['buffer_m']:.0f} m (window extent "
               f"{evaluation['window_extent_m']:.0f} m + smoothing {evaluation['smoothing_m']:.0f} m) between "
               "training and test window centres")
    lines.append(f"`random` is the paper's 7:3 split of stride-1 windows: a test window's face, edge and corner "
                 f"neighbours in training share {ov['face']}, {ov['edge']} and {ov['corner']} of its "
                 f"{ov['window_voxels']} voxels, so it leaks and flatters every model. `spatial` (blocks held out "
                 f"whole, orebodies never cut) and `deposit` (leave one deposit group out) are the honest "
                 f"numbers{buf}. Baselines see only the centre voxels and are fitted on each training fold. "
                 "NP and FLOPs are measured from our modules (FLOPs by torch's counter, 2 x multiply-adds per "
                 "window); for the random forest the cost column counts node comparisons, not FLOPs.")
    return "\n".join(lines) + "\n"


def _buffer_override(buffer_m) -> dict:
    return {} if buffer_m is None else {"buffer_m": float(buffer_m)}


def run_project(project_path, outdir=None, progress=None, buffer_m: float | None = None) -> dict:
    """The whole pipeline from a project file (evidence to targets).

    ``buffer_m`` overrides the project's metric buffer between train and test windows.
    """
    from voxprospect.workflows.project import load_project

    project = load_project(project_path)
    return run_study(project, outdir if outdir is not None else project.output_dir, command="run",
                     progress=progress, training_overrides=_buffer_override(buffer_m))


def run_ablation(project_path, outdir, epochs=None, models=MODELS,
                 progress=None, buffer_m: float | None = None) -> dict:
    """Table 1: every preset and the random forest under every protocol, beside the baselines.

    Writes ``ablation.md`` and ``ablation.json`` (``models``, ``baselines``,
    ``skill_over_baselines``, ``evaluation``) besides the models' checkpoints.
    """
    from voxprospect.workflows.project import load_project

    project = load_project(project_path)
    outdir = _check_outdir(outdir, project)
    with step_outputs(folders=[outdir]):
        return _ablation(project, outdir, epochs, models, progress, buffer_m)


def _ablation(project, outdir, epochs, models, progress, buffer_m=None) -> dict:
    rep = run_study(project, outdir, models=list(models), map_models=[], epochs=epochs, command="ablation",
                    progress=progress, training_overrides=_buffer_override(buffer_m))
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


def run_demo(outdir, preset: str = "small", seed: int = 42, epochs: int | None = None, progress=None,
             buffer_m: float | None = None) -> dict:
    """The synthetic district, end to end: the main job of ``voxprospect demo``.

    district (gempy) -> evidence -> DL4 and RF under every protocol -> whole-grid
    prediction -> P-A threshold -> targets -> ``summary.md`` with the figures; the
    district's undiscovered deposits (never training labels) score every model and
    the best single channel (truth AUC, undiscovered capture in the top 5 and 10%).
    """
    from voxprospect.limits import check_seed

    seed = check_seed(seed, "--seed")
    outdir = _check_outdir(outdir)
    with step_outputs(folders=[outdir]):
        return _demo(outdir, preset, seed, epochs, progress, buffer_m)


def _demo(outdir, preset, seed, epochs, progress, buffer_m=None) -> dict:
    from voxprospect.synth.benchmark import BenchmarkTruth
    from voxprospect.workflows.project import load_project

    schedule = dict(DEMO_TRAINING.get(preset, DEMO_TRAINING["paper"]))
    if epochs:
        schedule["epochs"] = int(epochs)
    epochs = schedule["epochs"]
    overrides = schedule | _buffer_override(buffer_m)
    _say(progress, 0.0, f"building the synthetic district ({preset}, seed {seed})")
    district_dir = outdir / "district"
    run_synth(district_dir, preset=preset, seed=seed, progress=_scaled(progress, 0.0, 0.15))
    project = load_project(district_dir / "project.toml")
    bench = BenchmarkTruth.from_folder(district_dir)
    rep = run_study(project, outdir, epochs=epochs, truth=bench.potential, benchmark=bench, command="demo",
                    progress=_scaled(progress, 0.15, 1.0), training_overrides=overrides,
                    extra_parameters={"preset": preset, "demo_training": schedule, "seed": seed})
    summary = write_summary(outdir, rep, preset, seed)
    rep = append_outputs(rep, outdir, [(summary, "summary")])
    return rep | {"summary": str(summary)}


def sweep_section(rep: dict) -> list:
    """Markdown lines of the buffer sweep (empty when it did not run)."""
    sw = rep.get("buffer_sweep") or {}
    if "rows" not in sw:
        return ["## Buffer sweep", "", f"Not run: {sw.get('skipped', 'no spatial protocol')}.", ""] if sw else []
    return ["## Buffer sweep: skill against distance from training data", "",
            "One fixed spatial test set; training windows closer than each buffer to any test window are "
            "removed and the model refitted.", "", sw["table_markdown"], f"![buffer sweep]({sw['plot']})", ""]


def write_summary(outdir, rep: dict, preset: str, seed: int) -> Path:
    """A short Markdown summary of a demo run with its figures."""
    outdir = Path(outdir)
    lines = [f"# voxprospect demo: synthetic district ({preset}, seed {seed})", ""]
    s = rep["samples"]
    lines += [f"Training windows: {s['n_positive']} positive (every orebody voxel) and {s['n_negative']} "
              f"negative (at least {s['min_distance_m']:g} m from any orebody), window {s['window']}, "
              f"edge rule `{s['edge']}`.", "", "## Models (Table 1 style)", "", rep["table_markdown"]]
    lines += sweep_section(rep)
    prim = rep.get("primary_model")
    if rep.get("pa"):
        pa = rep["pa"]
        lines += ["## Prediction-area plot", "",
                  f"{prim}: threshold {pa['threshold']:.3f}; at the crossing {100 * pa['prediction_rate']:.1f}% of "
                  f"the known orebody voxels lie in {100 * pa['volume_share']:.1f}% of the study volume "
                  f"(normalised density {pa['normalized_density']:.2f}).", "",
                  f"![P-A plot]({pa.get('plot', '')})", ""]
    lines += ["## Targets", ""]
    for name, m in rep["models"].items():
        if "targets" in m:
            t = m["targets"]
            found = ", ".join(t.get("deposits_found", [])) or "none"
            noun = "target" if t["count"] == 1 else "targets"
            lines.append(f"- {name}: {t['count']} {noun} above {m['threshold']:.3f}, "
                         f"{t['total_volume_m3'] / 1e6:.1f} million m3; known deposits inside: {found}. "
                         f"Files: {', '.join(t['files'])}")
    lines.append("")
    if "truth" in rep:
        lines += ["## Against the hidden truth", "",
                  "ROC AUC of each prospectivity volume at picking the true-potential field's top 5%: "
                  + ", ".join(f"{k} {_fmt(v)}" for k, v in rep["truth"]["auc_by_model"].items()) + ".", ""]
    if "benchmark" in rep:
        b = rep["benchmark"]
        rows = [(k, v) for k, v in b["models"].items()]
        base = b["baselines"]["best_single_channel"]
        rows.append((f"best single channel ({base['sign']}{base['channel']}, chosen on training windows)", base))
        lines += ["## Undiscovered deposits", "",
                  f"{len(b['undiscovered'])} deposits were never training labels; models are refitted without the "
                  f"training windows within {b['buffer_m']:g} m of them. A deposit is captured in the top share "
                  "when its best voxel ranks inside it.", "",
                  "| score | truth AUC | deposit AUC | undiscovered AUC | captured, top 5% | captured, top 10% |",
                  "|---|---|---|---|---|---|"]
        for k, v in rows:
            c = v.get("undiscovered_capture", {})
            lines.append(f"| {k} | {_fmt(v.get('truth_auc'))} | {_fmt(v.get('deposit_auc'))} | "
                         f"{_fmt(v.get('undiscovered_auc'))} | {_fmt(c.get('top5'))} | {_fmt(c.get('top10'))} |")
        lines.append("")
    for name, m in rep["models"].items():
        if m.get("training_curves"):
            lines += [f"![{name} training curves]({m['training_curves']})", ""]
        figs = m.get("figures") or {}
        for role, fname in (figs.get("files") or {}).items():
            lines += [f"![{name} {role.replace('_', ' ')}]({fname})", ""]
    lines += ["Everything the run used and measured is in `report.json`."]
    return write_text_atomic(outdir / "summary.md", "\n".join(lines) + "\n")
