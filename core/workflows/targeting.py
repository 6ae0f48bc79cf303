"""From a prospectivity volume to targets: whole-grid prediction with a fitted
estimator, the prediction-area plot and threshold, and the 3D targets above it with
their files (``pa_<name>.png``, ``targets_<name>.vti/.csv/.gpkg``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voxprospect.errors import VoxprospectError

from voxprospect.workflows.training import TrainingData


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


def predict_estimator(estimator, data: TrainingData, chunk_voxels, progress):
    from voxprospect.mapping.predict import predict_volume
    return predict_volume(estimator, data.evidence, channels=data.channels, window=data.samples.window,
                          edge=data.samples.edge, chunk_voxels=chunk_voxels, progress=progress)

