"""The scores a model is read against: the baselines on the same folds, the buffer
sweep, and on a benchmark district the undiscovered deposits (never training labels)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from voxprospect.errors import NoPositivesError
from voxprospect.report import write_text_atomic

from voxprospect.workflows.progress import say, scaled
from voxprospect.workflows.targeting import predict_estimator
from voxprospect.workflows.training import (TrainingData, estimator_factory, evaluation_settings, fit_context,
                                            fit_estimator)


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
        say(progress, (i + 1) / len(BASELINES), f"baseline {name} scored")
    return out


def record_baselines(report, results: dict, baselines: dict) -> None:
    from voxprospect.learn.baselines import skill_over_baselines
    report["baselines"] = baselines
    report["skill_over_baselines"] = {
        "definition": "model ROC AUC minus baseline ROC AUC on the same folds (positive: the model adds skill)",
        **skill_over_baselines({k: v["metrics"] for k, v in results.items()},
                               {k: v["metrics"] for k, v in baselines.items()})}


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
                                  progress=scaled(progress, i / len(factories), (i + 1) / len(factories)))
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


def sweep_factories(data: TrainingData, training: dict, seed: int, models, epochs, device) -> dict:
    from voxprospect.learn.baselines import BASELINES, make_baseline

    chosen = training.get("sweep_models")
    if chosen is None:
        chosen = [m for m in models if m.upper() == "RF"]
    out = {m: estimator_factory(m, training, seed, epochs, device) for m in chosen}
    for b in BASELINES:
        out[f"baseline {b}"] = (lambda b=b: make_baseline(b, data.channels, seed))
    return out


#: training windows within this distance (m) of an undiscovered deposit are dropped
#: before a model is scored on the undiscovered deposits (see voxprospect.synth.benchmark)
BENCHMARK_BUFFER_M = 600.0


def undiscovered_study(name, data, training, seed, epochs, device, chunk, benchmark, buffer_m, prospectivity,
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
        est = estimator_factory(name, training, seed, epochs, device, progress=scaled(progress, 0, 0.5))()
        ctx = fit_context(data)
        fit_estimator(est, data.windows[keep], data.samples.labels[keep].astype(np.int64), centres=ctx["centres"][keep],
             cell_size=ctx["cell_size"])
        prospectivity = predict_estimator(est, data, chunk, scaled(progress, 0.5, 1.0))
    out = score_volume(prospectivity, benchmark)
    return {**out, "n_train": int((~near).sum()), "n_dropped_near_undiscovered": int(near.sum()),
            "n_positive_dropped": int((near & pos).sum()), "refitted": bool(near.any())}


def benchmark_baselines(data, benchmark) -> dict:
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

