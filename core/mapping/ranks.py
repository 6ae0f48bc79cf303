"""Percentile rank of a prospectivity volume: the P-A option for saturated probabilities.

When a model's probabilities pile up near 1 (thresholds of 0.99 and more), a
prediction-area plot drawn on them crowds every curve into the right edge. The
percentile rank spreads the same order evenly over 0..1: a voxel's rank is the
share of the study volume's values below it plus half of those tied with it
(the mid-rank, so a constant volume ranks 0.5 everywhere and a tie is never read
as a win). A second layer (the members' 10 % quantile) may break the ties of the
first: among voxels the mean puts at exactly 1, the ones most members agree on rank
higher. Inactive and NaN voxels stay NaN.
"""

from __future__ import annotations

import numpy as np


def percentile_rank(values, active, tiebreak=None) -> np.ndarray:
    """Mid-rank of each active finite voxel among them, divided by their count; float32, NaN elsewhere.

    Parameters
    ----------
    values : ndarray (nx, ny, nz)
    active : ndarray of bool
    tiebreak : ndarray, optional
        Orders voxels whose ``values`` tie (ties in both pairs stay tied).
    """
    values = np.asarray(values, dtype=float)
    on = np.asarray(active, bool) & np.isfinite(values)
    out = np.full(values.shape, np.nan, dtype=np.float32)
    v = values[on]
    n = v.size
    if n == 0:
        return out
    t = np.zeros(n) if tiebreak is None else np.nan_to_num(np.asarray(tiebreak, dtype=float)[on], nan=-np.inf)
    order = np.lexsort((t, v))
    sv, st = v[order], t[order]
    # runs of equal (value, tiebreak) pairs share their mid-rank
    new = np.ones(n, bool)
    new[1:] = (sv[1:] != sv[:-1]) | (st[1:] != st[:-1])
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], n)
    mid = (starts + ends) / 2.0  # values below the run + half the run
    rank = np.empty(n)
    rank[order] = np.repeat(mid, ends - starts) / n
    out[on] = rank
    return out
