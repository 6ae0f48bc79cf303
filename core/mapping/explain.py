"""Why a voxel or a target is prospective: attribution volumes and each target's top channels.

- :func:`attribution_volume`: Integrated-Gradients attributions
  (:mod:`voxprospect.learn.attribution`) of a CNN on the windows of chosen voxels (the
  whole study volume, or the targets' voxels only), written as one float32 layer
  ``attribution_<channel>`` per evidence channel (NaN where not computed). The grid is
  walked in the same blocks as whole-grid prediction, so memory stays bounded.
- :func:`top_channels_from_attributions`: per target, the channels whose mean
  attribution inside the target is positive, strongest first (CNNs).
- :func:`top_channels_from_importance`: per target, the channels ranked by the model's
  permutation importance (AUC fall, negatives as 0) times how far the target's mean
  evidence departs from the channel's neutral value, in units of the channel's
  standard deviation over the study volume (random forest, baselines).
- :func:`set_top_channels`: writes them into a target table as ``top_channels``
  (``;``-separated, strongest first).
"""

from __future__ import annotations

import time

import numpy as np

from voxprospect.data.blocks import block_shape, block_starts, padded_block, resolve_fill
from voxprospect.data.volume import Volume
from voxprospect.errors import LayerError, VoxprospectError
from voxprospect.learn.samples import extract_windows
from voxprospect.vocabulary import DEFAULT_CHUNK_VOXELS

ATTRIBUTION_PREFIX = "attribution_"
#: most channels listed per target
DEFAULT_TOP = 3


def attribution_layer(channel: str) -> str:
    """The layer name of a channel's attribution (the shared name ``attribution_<channel>``)."""
    return f"{ATTRIBUTION_PREFIX}{channel}"


def attribution_volume(model, evidence: Volume, where=None, channels=None, window: int | None = None,
                       edge: str | None = None, chunk_voxels: int = DEFAULT_CHUNK_VOXELS,
                       n_steps: int | None = None, batch_size: int = 256, progress=None) -> Volume:
    """Integrated-Gradients attribution of every channel on the chosen voxels.

    Parameters
    ----------
    model : CNN estimator or loaded checkpoint
        Its network's log-odds are attributed; ``channels``, ``window``, ``edge`` and
        ``fill_values`` come from it where it records them.
    evidence : Volume
        The standardised evidence the model predicts from.
    where : ndarray of bool, optional
        Voxels to attribute (intersected with the study volume); default every
        active voxel (the whole grid).
    chunk_voxels : int
        Largest block of cells read at once.
    n_steps : int, optional
        Integrated-Gradients quadrature points (default
        :data:`voxprospect.learn.attribution.DEFAULT_STEPS`).
    progress : callable, optional
        ``progress(fraction, message)``.

    Returns
    -------
    Volume
        Layers ``attribution_<channel>`` (float32, NaN off ``where``), the evidence's
        active mask, and ``meta["attribution"]``: method, output, baseline values,
        steps, voxel count, seconds, voxels per second, and the convergence delta
        (max and median ``|delta|``, and the max relative to ``|f(x) - f(b)|``).

    Raises
    ------
    LayerError
        If a channel is missing from the evidence.
    VoxprospectError
        If the model has no network, or the window is unknown.
    """
    from voxprospect.learn.attribution import (BASELINE_NAME, DEFAULT_STEPS, OUTPUT_NAME, network_of,
                                               window_attributions)
    from voxprospect.mapping.predict import resolve_window

    if network_of(model) is None:
        raise VoxprospectError(f"attribution volumes need a CNN; {type(model).__name__} has no network")
    channels = _channels(model, evidence, channels)
    window = resolve_window(model, window)
    edge = edge or getattr(model, "edge", None) or "edge"
    n_steps = int(n_steps or DEFAULT_STEPS)
    chosen = evidence.active.copy() if where is None else (np.asarray(where, bool) & evidence.active)
    fill = resolve_fill(model, evidence, channels)
    out = {c: np.full(evidence.grid.shape, np.nan, np.float32) for c in channels}
    layers = [evidence[c] for c in channels]
    n_total = int(chosen.sum())
    deltas, gaps = [], []
    done = 0
    t0 = time.perf_counter()
    r = window // 2
    block = block_shape(evidence.grid.shape, int(chunk_voxels))
    for lo in block_starts(evidence.grid.shape, block):
        hi = tuple(min(a + b, n) for a, b, n in zip(lo, block, evidence.grid.shape))
        local = np.argwhere(chosen[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]])
        if not len(local):
            continue
        X = extract_windows(padded_block(layers, evidence.grid.shape, lo, hi, r, edge, fill), local, window)
        attr, delta, f_x = window_attributions(model, X, fill, n_steps=n_steps, batch_size=batch_size)
        idx = local + np.asarray(lo)
        for c, name in enumerate(channels):
            out[name][idx[:, 0], idx[:, 1], idx[:, 2]] = attr[:, c]
        deltas.append(np.abs(delta))
        gaps.append(np.abs(attr.astype(np.float64).sum(axis=1) - delta))  # |f(x) - f(b)|
        done += len(idx)
        if progress is not None:
            progress(done / max(n_total, 1), f"attributions: {done:,} of {n_total:,} voxels")
    seconds = time.perf_counter() - t0
    d = np.concatenate(deltas) if deltas else np.zeros(0)
    g = np.concatenate(gaps) if gaps else np.zeros(0)
    meta = {"attribution": {
        "method": "integrated gradients (captum)", "output": OUTPUT_NAME, "baseline": BASELINE_NAME,
        "baseline_values": dict(zip(channels, fill.astype(float).tolist())), "n_steps": n_steps,
        "channels": list(channels), "where": "study volume" if where is None else "selected voxels",
        "n_voxels": int(done), "seconds": float(seconds),
        "voxels_per_second": float(done / seconds) if seconds > 0 and done else None,
        "convergence_delta": {"max_abs": float(d.max()) if d.size else None,
                              "median_abs": float(np.median(d)) if d.size else None,
                              "max_relative": float(np.max(d / np.maximum(g, 1e-12))) if d.size else None}}}
    return Volume(evidence.grid, {attribution_layer(c): v for c, v in out.items()}, evidence.active, {}, meta)


def target_sample_mask(target_labels, per_target: int, seed: int = 0) -> np.ndarray:
    """The voxels to attribute in each target: all of a small one, else ``per_target`` drawn at random.

    The draw is seeded by ``seed`` and the target id, so a target's voxels do not
    depend on the other targets. A uniform draw keeps the mean attribution over the
    drawn voxels an unbiased estimate of the target's mean.
    """
    labels = np.asarray(target_labels)
    mask = np.zeros(labels.shape, bool)
    flat = labels.reshape(-1)
    order = np.argsort(flat, kind="stable")
    ids, starts, counts = np.unique(flat[order], return_index=True, return_counts=True)
    for tid, s, c in zip(ids, starts, counts):
        if tid <= 0:
            continue
        members = order[s:s + c]
        if c > per_target:
            members = np.sort(np.random.default_rng([int(seed), int(tid)]).choice(members, int(per_target),
                                                                                   replace=False))
        mask.reshape(-1)[members] = True
    return mask


def top_channels_from_attributions(attributions: Volume, target_labels, channels, n: int = DEFAULT_TOP) -> dict:
    """Per target, the channels that push it up most: mean attribution inside it, positive only.

    Parameters
    ----------
    attributions : Volume
        Holds ``attribution_<channel>`` for every channel.
    target_labels : ndarray of int
        Target id per voxel (0 = none).
    channels : list of str
    n : int
        Most channels listed.

    Returns
    -------
    dict
        ``{target_id: [channel, ...]}``, strongest first.
    """
    labels, ids = _target_ids(target_labels)
    means = np.zeros((len(ids), len(channels)))
    for c, name in enumerate(channels):
        key = attribution_layer(name)
        if key not in attributions:
            raise LayerError(f"the attribution volume has no layer {key!r}")
        a = np.asarray(attributions[key], dtype=np.float64)
        # mean over the target's voxels that carry an attribution
        means[:, c] = _mean_where(a, np.isfinite(a), labels, ids)
    return {tid: _ranked(channels, means[i], n) for i, tid in enumerate(ids)}


def top_channels_from_importance(evidence: Volume, target_labels, channels, importance_summary: dict,
                                 n: int = DEFAULT_TOP, fill=None) -> dict:
    """Per target, channels ranked by permutation importance times the target's evidence departure.

    weight = max(AUC fall, 0) x |mean evidence inside the target - neutral value| / std over the
    study volume. A channel the model relies on but on which the target is ordinary
    does not explain it; nor does a channel on which the target is unusual but that
    the model ignores.

    Parameters
    ----------
    evidence : Volume
    target_labels : ndarray of int
    channels : list of str
    importance_summary : dict
        One protocol's permutation importance (``channels`` rows with ``mean``).
    fill : sequence of float, optional
        Neutral values (default the evidence's recorded fill values, else the mean).

    Returns
    -------
    dict
        ``{target_id: [channel, ...]}``, strongest first.
    """

    labels, ids = _target_ids(target_labels)
    fall = {r["channel"]: max(float(r["mean"]), 0.0) for r in importance_summary.get("channels", [])}
    if fill is None:
        fill = resolve_fill(None, evidence, channels)
    weights = np.zeros((len(ids), len(channels)))
    for c, name in enumerate(channels):
        v = np.asarray(evidence[name], dtype=np.float64)
        ok = np.isfinite(v) & evidence.active
        sd = float(v[ok].std()) if ok.any() else 0.0
        mean_in = _mean_where(v, ok, labels, ids)
        dep = np.abs(mean_in - float(fill[c])) / sd if sd > 0 else np.zeros(len(ids))
        weights[:, c] = fall.get(name, 0.0) * np.nan_to_num(dep)
    return {tid: _ranked(channels, weights[i], n) for i, tid in enumerate(ids)}


def set_top_channels(table: list, top: dict) -> list:
    """Add ``top_channels`` (``;``-joined, strongest first; empty when none) to each target row."""
    for row in table:
        row["top_channels"] = ";".join(top.get(int(row["target_id"]), []))
    return table


def _target_ids(target_labels):
    """The label array and its target ids (ascending, 0 left out)."""
    labels = np.asarray(target_labels)
    return labels, [int(i) for i in np.unique(labels[labels > 0])]


def _mean_where(values, ok, labels, ids) -> np.ndarray:
    """Per target id, the mean of ``values`` over its voxels where ``ok`` (NaN where none is)."""
    from scipy import ndimage

    where = np.where(ok, labels, 0)
    s = np.asarray(ndimage.sum(np.where(ok, values, 0.0), labels=where, index=ids), dtype=np.float64)
    k = np.asarray(ndimage.sum(ok.astype(float), labels=where, index=ids), dtype=np.float64)
    return np.where(k > 0, s / np.maximum(k, 1), np.nan)


def _ranked(channels, values, n):
    order = np.argsort(-np.nan_to_num(values, nan=-np.inf), kind="stable")
    return [channels[i] for i in order if np.isfinite(values[i]) and values[i] > 0][:int(n)]


def _channels(model, evidence, channels):
    trained = getattr(model, "channels", None)
    if channels is None:
        channels = list(trained) if trained is not None else evidence.names
    channels = [str(c) for c in channels]
    if trained is not None and list(trained) != channels:
        raise LayerError(f"the model was trained on channels {list(trained)}; asked for {channels}")
    missing = [c for c in channels if c not in evidence]
    if missing:
        raise LayerError(f"the evidence has no channel {', '.join(map(repr, missing))} that the model needs")
    return channels
