"""A project's training data and the fit of one model under every protocol.

:func:`prepare_training` builds the evidence and the windows around every orebody
voxel plus the negatives (:class:`TrainingData`); :func:`estimator_factory` turns the
project's ``[training]`` section into fresh estimators; :func:`fit_and_evaluate` scores
one model on the study's folds (:func:`study_plans`, shared with every other model and
the baselines), fits it on all windows and saves its checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voxprospect.errors import NoPositivesError
from voxprospect.vocabulary import CHECKPOINT_SUFFIX, PROTOCOLS
from voxprospect.workflows.progress import Progress

from voxprospect.workflows.uncertainty import (CALIBRATION_PROTOCOLS, HeldOut, calibrated_factory,
                                               calibration_entry)
from voxprospect.workflows.common import null_timer, settings_dict
from voxprospect.workflows.progress import say, scaled


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
    # drillhole studies: hole_distance, waste (drilled below cut-off), qa (voxprospect.workflows.drilling)
    drill: dict = field(default_factory=dict)

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
    _warn_if_not_orebodies(ids, vol.active, ob.layer, where)
    return ids, names


#: Share of the study volume above which an "orebody" layer is more likely a geology
#: (lithology, domains) than known deposits: orebodies are a small part of any volume.
OREBODY_SHARE_WARNING = 0.25


def _warn_if_not_orebodies(ids, active, layer, where) -> None:
    share = float((ids > 0)[active].mean()) if active.any() else 0.0
    if share > OREBODY_SHARE_WARNING:
        import logging
        logging.getLogger("voxprospect").warning(
            "%s: the orebody layer %r marks %.0f%% of the study volume as ore (%d classes); known orebodies are "
            "usually a few percent. Is it a lithology or domain layer? Positives are every marked voxel, and "
            "negatives must lie away from all of them", where, layer, 100 * share, len(np.unique(ids[ids > 0])))


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
        say(progress, 0.0, "building evidence")
        evidence = build_evidence(project.evidence, inputs, progress=scaled(progress, 0.0, 0.8),
                                  source_files=project.source_files())
    channels = evidence.names
    orebody, names = _orebody_labels(project, evidence.grid)
    s = settings_dict(project.samples)
    from voxprospect.workflows.drilling import drill_context, negative_mask
    try:
        samples = make_samples(orebody, evidence.active, evidence.grid, window=s["window"],
                               min_distance_m=s["min_distance_m"], seed=project.seed, edge=s["edge"],
                               negatives_per_positive=s["negatives_per_positive"],
                               negative_mask=negative_mask(project, inputs))
    except NoPositivesError as e:
        where = project.orebodies.path or project.inputs[project.orebodies.source].path
        raise NoPositivesError(f"{where}: {e}") from None
    n_windows = len(samples.labels)
    n_values = n_windows * len(channels) * s["window"] ** 3
    check_memory(n_values, 4, f"{n_windows:,} training windows of {s['window']}^3 voxels x {len(channels)} "
                              "channels", project.path)
    say(progress, 0.9, f"{samples.n_positive} positive and {samples.n_negative} negative windows")
    from voxprospect.evidence.layers import fill_values
    windows = samples_windows(evidence.stack(channels), samples,
                              fill=list(fill_values(evidence, channels).values()))
    return TrainingData(evidence, channels, orebody, names, samples, windows, dict(s),
                        drill_context(project, inputs))


def estimator_factory(name: str, training: dict, seed: int, epochs: int | None = None, device=None,
                       progress=None):
    """A zero-argument callable building a fresh estimator of ``name``.

    A CNN becomes a deep ensemble of ``training["ensemble"]`` members (seeds derived
    from ``seed``; :mod:`voxprospect.learn.ensemble`) when that is above 1.
    """
    from voxprospect.workflows.uncertainty import ensemble_factory
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
    return ensemble_factory(lambda: make_estimator(key, progress=progress, **params), training, seed)


def fit_context(data: TrainingData) -> dict:
    """What a CNN's fit uses beyond the windows: centres (spatial validation) and cell sizes (rotations)."""
    return {"centres": np.asarray(data.samples.centres), "cell_size": tuple(data.evidence.grid.cell_size)}


def fit_estimator(est, X, y, centres=None, cell_size=None):
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


def _calibration(name, data, training, seed, plans, factory, held, outdir, progress) -> dict:
    """Held-out reliability and Brier (and the nested calibration the project asks for)."""
    from voxprospect.learn.protocols import evaluate_protocols

    method = str(training.get("calibration", "none") or "none")
    calibrated, skipped = None, {}
    if method != "none":
        calibrated = HeldOut(data.samples.labels)
        buffer_m = evaluation_settings(training, data.samples)["buffer_m"]
        for protocol in [p for p in CALIBRATION_PROTOCOLS if p in plans and not isinstance(plans[p], str)]:
            try:
                evaluate_protocols(calibrated_factory(factory, data, training, seed, buffer_m), data.windows,
                                   data.samples, protocols=[protocol], plans=plans, on_fold=calibrated,
                                   cell_size=tuple(data.evidence.grid.cell_size))
            except NoPositivesError as exc:
                # an outer fold's training side too small or too clustered for inner spatial folds
                calibrated.folds.pop(protocol, None)
                skipped[protocol] = str(exc)
    entry = calibration_entry(name, held, method, calibrated, outdir)
    if skipped:
        entry["calibration_skipped"] = skipped
    return entry


def _final_calibration(data, training, seed, factory, entry: dict):
    """The calibrator of the mapped model: fitted on inner spatial folds of all the windows (or None)."""
    method = str(training.get("calibration", "none") or "none")
    if method == "none":
        return None
    buffer_m = evaluation_settings(training, data.samples)["buffer_m"]
    model = calibrated_factory(factory, data, training, seed, buffer_m)()
    try:
        model.fit_calibrator(data.windows, data.samples.labels)
    except NoPositivesError as exc:
        entry["final_skipped"] = str(exc)
        return None
    entry["final"] = dict(model.inner_) | {"layer": "prospectivity_calibrated",
                                           "definition": "the calibrator of the mapped model, fitted on inner "
                                                         "spatial folds of all training windows"}
    return model.calibrator_


def fit_and_evaluate(name: str, data: TrainingData, training: dict, seed: int, outdir: Path,
                     protocols=None, epochs=None, device=None, progress=None, report=None, plans=None,
                     tune: bool = False, on_fitted=None) -> dict:
    """Score one model under every protocol, then fit it on all windows and save it.

    ``plans`` are the study's folds (:func:`study_plans`), shared with the other
    models and the baselines. With ``tune`` (random forest) every fit, the outer
    folds' and the final one, tunes its hyper-parameters inside its own training
    windows with spatial inner folds (:mod:`voxprospect.learn.tuning`). ``on_fitted`` is
    handed to :func:`~voxprospect.learn.protocols.evaluate_protocols` (permutation importance
    on each fold's fitted model).

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
        factory = estimator_factory(name, training, seed, epochs, device,
                                     progress=evaluating.messages(f"{name} fold fit: "))
    y = data.samples.labels.astype(np.int64)
    timer = report.timer if report is not None else null_timer
    from voxprospect.workflows.drilling import audit_set
    held = HeldOut(y)
    with timer(f"{name}.evaluate"):
        metrics = evaluate_protocols(factory, data.windows, data.samples, protocols=protocols, plans=plans,
                                     progress=evaluating, on_fold=held,
                                     cell_size=tuple(data.evidence.grid.cell_size), on_fitted=on_fitted,
                                     audit=audit_set(data))
    with timer(f"{name}.calibration"):
        calibration = _calibration(name, data, training, seed, plans, factory, held, outdir, evaluating)
    say(progress, 0.75, f"{name}: final fit on all {len(y)} windows")
    tuning = None
    with timer(f"{name}.fit"):
        if tune:
            tuner = factory().fit(data.windows, y)
            est, tuning = tuner.best_estimator_, tuner.tuning_
        else:
            final = estimator_factory(name, training, seed, epochs, device, progress=scaled(progress, 0.75, 1.0))
            est = fit_estimator(final(), data.windows, y, **fit_context(data))
    with timer(f"{name}.calibration_map"):
        calibration_map = _final_calibration(data, training, seed, factory, calibration)
    if calibration_map is not None:
        est.calibration_map_ = calibration_map
    ckpt = Path(outdir) / f"{name}{CHECKPOINT_SUFFIX}"
    summary = {"model": name, "metrics": metrics, **model_size(est, len(data.channels), data.samples.window),
               "calibration": calibration}
    if getattr(est, "member_seeds_", None):
        summary["ensemble"] = {"members": len(est.member_seeds_), "member_seeds": est.member_seeds_}
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
                       "fill_values": data.fill_values},
                    calibration=None if calibration_map is None else calibration_map.to_dict())
    summary["checkpoint"] = ckpt.name
    summary["estimator"] = est
    return summary

