"""Training windows around known orebodies.

A sample is the ``k x k x k`` window of the evidence stack centred on one voxel
(``k`` odd; 3 in the paper). Positives are every orebody voxel; negatives are drawn
at random, with a seed, from active voxels at least ``min_distance_m`` from every
orebody voxel (METHOD.md, Samples).

Edge rule (recorded in every report): windows are cut from the evidence stack padded
by ``k // 2`` cells on every side with ``edge="edge"`` (the nearest cell's value is
repeated, so a window at the grid's edge sees the evidence continue unchanged) or
``edge="zero"`` (zeros, the standardised mean). Inactive cells inside the grid carry
the evidence's fill value (0 after standardisation). Training and prediction use the
same rule, so a model never sees a padding it was not trained on.
"""

from __future__ import annotations

import numpy as np

EDGE_RULES = ("edge", "zero")


def pad_stack(stack: np.ndarray, window: int, edge: str = "edge") -> np.ndarray:
    """Pad a ``(C, nx, ny, nz)`` evidence stack by ``window // 2`` cells per side.

    Raises
    ------
    ValueError
        If ``window`` is not a positive odd integer or ``edge`` is unknown.
    """
    _check_window(window)
    if edge not in EDGE_RULES:
        raise ValueError(f"unknown edge rule {edge!r}; use one of {EDGE_RULES}")
    r = window // 2
    if r == 0:
        return stack
    pad = ((0, 0), (r, r), (r, r), (r, r))
    if edge == "edge":
        return np.pad(stack, pad, mode="edge")
    return np.pad(stack, pad, mode="constant", constant_values=0)


def extract_windows(padded: np.ndarray, centres: np.ndarray, window: int) -> np.ndarray:
    """Cut windows from a padded stack.

    Parameters
    ----------
    padded : ndarray, shape (C, nx + 2r, ny + 2r, nz + 2r)
        Output of :func:`pad_stack` with the same ``window``.
    centres : ndarray of int, shape (N, 3)
        Window centres as *unpadded* grid indices.
    window : int

    Returns
    -------
    ndarray, shape (N, C, k, k, k), float32
    """
    _check_window(window)
    centres = np.asarray(centres, dtype=np.int64).reshape(-1, 3)
    offs = np.arange(window)
    # padded index of window cell o for centre c is c + o (the pad shifts by r)
    ii = centres[:, 0, None] + offs
    jj = centres[:, 1, None] + offs
    kk = centres[:, 2, None] + offs
    win = padded[:, ii[:, :, None, None], jj[:, None, :, None], kk[:, None, None, :]]
    # -> (C, N, k, k, k); models want (N, C, k, k, k)
    return np.ascontiguousarray(np.moveaxis(win, 0, 1), dtype=np.float32)


def _check_window(window: int) -> None:
    if int(window) != window or window < 1 or window % 2 == 0:
        raise ValueError(f"window size must be a positive odd integer, got {window}")
