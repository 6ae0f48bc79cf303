"""Blocks of a grid: the one tiling and the one padding rule every chunked step uses.

Whole-grid prediction (per-window and zero-skip paths), the chunked/Dask paths and
training-window extraction cut the grid into near-cubic blocks and read each with a
halo of ``r`` cells, padded with the edge rule only where it leaves the grid, so a
block's windows equal those cut from the padded whole grid.
"""

from __future__ import annotations

import numpy as np

__all__ = ["block_shape", "block_starts", "pad_edges", "padded_block", "resolve_fill"]


def block_shape(shape, chunk_voxels: int) -> tuple[int, int, int]:
    """Block size with at most ``chunk_voxels`` cells: halve the longest side until it fits.

    Halving the longest side keeps blocks near-cubic, so the ``k // 2`` halo read
    around each block stays a small fraction of it.
    """
    b = [int(s) for s in shape]
    while b[0] * b[1] * b[2] > chunk_voxels:
        axis = int(np.argmax(b))  # ties go to x
        b[axis] = (b[axis] + 1) // 2
    return tuple(b)


def block_starts(shape, block):
    """Lower corners of the blocks of size ``block`` tiling a grid of ``shape``, x slowest."""
    for i in range(0, shape[0], block[0]):
        for j in range(0, shape[1], block[1]):
            for k in range(0, shape[2], block[2]):
                yield (i, j, k)


def padded_block(layers, shape, lo, hi, r, edge, fill=0.0) -> np.ndarray:
    """Evidence of block ``[lo, hi)`` plus an ``r``-cell halo, padded like ``pad_stack``.

    NaN become ``fill`` (one value, or one per channel) before padding.

    The halo comes from the neighbouring cells where the grid has them; only the
    part that falls outside the grid is padded with the edge rule, which is exactly
    what padding the whole stack would have put there.
    """
    rlo = [max(a - r, 0) for a in lo]
    rhi = [min(b + r, n) for b, n in zip(hi, shape)]
    sl = tuple(slice(a, b) for a, b in zip(rlo, rhi))
    data = np.empty((len(layers),) + tuple(b - a for a, b in zip(rlo, rhi)), dtype=np.float32)
    fills = np.broadcast_to(np.asarray(fill, dtype=np.float32), (len(layers),))
    for c, layer in enumerate(layers):
        data[c] = layer[sl]
        bad = ~np.isfinite(data[c])
        if bad.any():
            data[c][bad] = fills[c]
    pad = [(0, 0)] + [(r - (a - ra), r - (rb - b)) for a, b, ra, rb in zip(lo, hi, rlo, rhi)]
    return pad_edges(data, pad, edge)


def pad_edges(data: np.ndarray, pad, edge: str) -> np.ndarray:
    """``np.pad`` by the edge rule: ``"edge"`` repeats the border cells, ``"zero"`` pads
    with 0. The one padding of windows and blocks; ``data`` itself when ``pad`` is all zero."""
    if not any(p for pair in pad for p in pair):
        return data
    if edge == "edge":
        return np.pad(data, pad, mode="edge")
    return np.pad(data, pad, mode="constant", constant_values=0)


def resolve_fill(model, evidence, channels) -> np.ndarray:
    """Per-channel value for NaN evidence: the training's neutral fill values.

    In order: the model's recorded ``fill_values`` (a checkpoint's training report,
    or a ``fill_values`` attribute), then the evidence's recorded ones, then 0.
    """
    rec = getattr(model, "fill_values", None)
    if rec is None:
        rec = (getattr(model, "training_report", None) or {}).get("fill_values")
    if rec is None:
        rec = evidence.meta.get("evidence", {}).get("fill_values") or {}
    return np.asarray([float(rec.get(c, 0.0)) for c in channels], dtype=np.float32)
