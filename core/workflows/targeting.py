"""From a prospectivity volume to targets: whole-grid prediction with a fitted
estimator, the prediction-area plot and threshold, and the 3D targets above it with
their files (``pa_<name>.png``, ``targets_<name>.vti/.csv/.gpkg``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voxprospect.errors import VoxprospectError

from voxprospect.workflows.training import TrainingData


def map_targets(prospectivity, outdir: Path, name: str, orebody=None, deposit_names=None, threshold=None,
                min_voxels: int = 1, inputs=(), annotate=None, pa_layer: str = "mean") -> dict:
    """P-A plot and threshold (when orebodies are known) and the targets above it.

    Writes ``pa_<name>.png``, ``targets_<name>.vti``, ``targets_<name>.csv`` and
    ``targets_<name>.gpkg`` into ``outdir``. The returned dict's ``_targets_volume``
    (the targets as a volume, for further writers) is for the caller to pop.
    ``annotate(targets)``, when given, may add columns to the target table before the
    files are written (``top_channels``); what it returns is kept as ``_annotation``
    for the caller to pop.
    ``pa_layer`` (``"mean"``, ``"q10"``, ``"rank"``) is the layer the P-A plot, its
    threshold and the voxel selection use; the targets' statistics are the mean's.
    """
    from voxprospect.workflows.uncertainty import pa_volume
    from voxprospect.learn.evaluate import plot_prediction_area, prediction_area
    from voxprospect.io import write_volume
    from voxprospect.mapping.targets import (find_targets, targets_volume, write_targets_csv, write_targets_gpkg)

    from voxprospect.io.safe_write import check_outputs_not_inputs

    plot = Path(outdir) / f"pa_{name}.png"
    files = {ext: Path(outdir) / f"targets_{name}.{ext}" for ext in ("vti", "csv", "gpkg")}
    # the P-A plot too (a PNG writer checks nothing): no output may replace an input
    for f in (plot, *files.values()):
        check_outputs_not_inputs(f, [i for i in inputs if i is not None])
    out = {}
    prospectivity, select = pa_volume(prospectivity, pa_layer)
    if orebody is not None:
        pa = prediction_area(prospectivity, prospectivity.active, orebody_mask=np.asarray(orebody) > 0, layer=select)
        what = {"prospectivity": "", "prospectivity_q10": " (members' 10% quantile)",
                "prospectivity_rank": " (percentile rank)"}.get(select, f" ({select})")
        plot_prediction_area(pa, plot, title=f"Prediction-area plot, {name}{what}")
        out["pa"] = pa.to_dict()
        out["pa"]["layer"] = select
        out["pa"]["plot"] = plot.name
        if threshold is None:
            threshold = pa.target_threshold
    if threshold is None:
        raise VoxprospectError("no threshold: give one, or known orebodies for the prediction-area plot")
    if orebody is not None:
        # the rates the chosen threshold really gives (the crossing's are interpolated)
        vals = np.asarray(prospectivity[select])
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
                           min_voxels=min_voxels, select_layer=select)
    from voxprospect.mapping.target_spread import spread_columns
    spread_columns(targets, prospectivity, "prospectivity")
    if annotate is not None:
        out["_annotation"] = annotate(targets)
    tvol = targets_volume(targets, prospectivity.grid)
    write_volume(tvol, files["vti"], inputs=inputs)
    write_targets_csv(targets, files["csv"], inputs=inputs)
    write_targets_gpkg(targets, prospectivity.grid, files["gpkg"],
                       prospectivity=prospectivity, inputs=inputs)
    out["threshold"] = float(threshold)
    out["targets"] = targets.summary()
    out["targets"]["files"] = [f.name for f in files.values()]
    if targets.count == 0:
        vals = np.asarray(prospectivity[select])[prospectivity.active]
        top = float(np.nanmax(vals)) if np.isfinite(vals).any() else float("nan")
        out["targets"]["warning"] = (f"no voxel reaches the threshold {float(threshold):g} (the layer's largest "
                                     f"value is {top:.4g}); the target files are empty")
    out["target_table"] = targets.table
    out["_targets_volume"] = tvol
    return out


def predict_estimator(estimator, data: TrainingData, chunk_voxels, progress):
    from voxprospect.mapping.predict import predict_volume
    return predict_volume(estimator, data.evidence, channels=data.channels, window=data.samples.window,
                          edge=data.samples.edge, chunk_voxels=chunk_voxels, progress=progress)

