"""Training windows around known orebodies.

A sample is the ``k x k x k`` window of the evidence stack centred on one voxel
(``k`` odd; 3 in the paper). Positives are every orebody voxel; negatives are drawn
at random, with a seed, either from active voxels at least ``min_distance_m`` from every
orebody voxel (``negatives="distal"``, the paper's rule; METHOD.md, Samples) or, for
drillhole studies, from drilled voxels whose assays are all below the cut-off
(``negatives="drilled"``, a ``negative_mask``): proven waste, on the same holes as the
ore, so that a model cannot win by telling drilled ground from undrilled periphery.

Edge rule (recorded in every report): windows are cut from the evidence stack padded
by ``k // 2`` cells on every side with ``edge="edge"`` (the nearest cell's value is
repeated, so a window at the grid's edge sees the evidence continue unchanged) or
``edge="zero"`` (zeros, the standardised mean). Inactive cells inside the grid carry
the evidence's per-channel neutral fill value (``voxprospect.evidence.layers.neutral_fill``,
the channel's mean over the active cells). Training and prediction use the same rule, so a model
never sees a padding it was not trained on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voxprospect.data.blocks import pad_edges
from voxprospect.vocabulary import EDGE_RULES



def pad_stack(stack: np.ndarray, window: int, edge: str = "edge") -> np.ndarray:
    """Pad a ``(C, nx, ny, nz)`` evidence stack by ``window // 2`` cells per side.

    Raises
    ------
    ValueError
        If ``window`` is not a positive odd integer or ``edge`` is unknown.
    """
    check_window(window)
    if edge not in EDGE_RULES:
        raise ValueError(f"unknown edge rule {edge!r}; use one of {EDGE_RULES}")
    r = window // 2
    return pad_edges(stack, ((0, 0), (r, r), (r, r), (r, r)), edge)


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
    check_window(window)
    centres = np.asarray(centres, dtype=np.int64).reshape(-1, 3)
    offs = np.arange(window)
    # padded index of window cell o for centre c is c + o (the pad shifts by r)
    ii = centres[:, 0, None] + offs
    jj = centres[:, 1, None] + offs
    kk = centres[:, 2, None] + offs
    win = padded[:, ii[:, :, None, None], jj[:, None, :, None], kk[:, None, None, :]]
    # -> (C, N, k, k, k); models want (N, C, k, k, k)
    return np.ascontiguousarray(np.moveaxis(win, 0, 1), dtype=np.float32)


def check_window(window: int) -> None:
    if int(window) != window or window < 1 or window % 2 == 0:
        raise ValueError(f"window size must be a positive odd integer, got {window}")


# -- training samples -----------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class WindowSamples:
    """Window centres and labels of a training set.

    Attributes
    ----------
    centres : ndarray of int64, shape (N, 3)
        Grid indices ``(i, j, k)`` of the window centres: positives first, then
        negatives, each in grid (C) order.
    labels : ndarray of int8, shape (N,)
        1 = orebody voxel, 0 = barren.
    deposit : ndarray of int32, shape (N,)
        Deposit id of each positive (the orebody layer's value), 0 for negatives;
        used by leave-one-deposit-out evaluation.
    window, edge, min_distance_m, seed, n_positive, n_negative
        How the set was drawn (recorded in reports).
    negatives : {"distal", "drilled"}
        Where the negatives came from (``min_distance_m`` applies to ``distal`` only).
    cell_size : (dx, dy, dz) or None
        The grid's cell sizes in metres: the evaluation protocols' buffers are metric.
    """

    centres: np.ndarray
    labels: np.ndarray
    deposit: np.ndarray
    window: int
    edge: str
    min_distance_m: float
    seed: int | None
    n_positive: int
    n_negative: int
    cell_size: tuple | None = None
    negatives: str = "distal"

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def to_dict(self) -> dict:
        """JSON summary for reports (counts and drawing rules, not the centres)."""
        ids, counts = np.unique(self.deposit[self.labels == 1], return_counts=True)
        return {"n_samples": len(self), "n_positive": self.n_positive, "n_negative": self.n_negative,
                "window": self.window, "edge": self.edge, "negatives": self.negatives,
                "min_distance_m": self.min_distance_m if self.negatives == "distal" else None,
                "seed": self.seed, "cell_size": None if self.cell_size is None else list(self.cell_size),
                "positives_per_deposit": {str(int(i)): int(c) for i, c in zip(ids, counts)}}


def make_samples(orebody, active, grid, window: int = 3, min_distance_m: float = 800.0,
                 seed: int | None = 0, edge: str = "edge",
                 negatives_per_positive: float = 1.0, negative_mask=None) -> WindowSamples:
    """Draw the training windows: every orebody voxel and random barren voxels.

    Without ``negative_mask`` the negatives are distant barren voxels (``distal``);
    with it they are drawn from the mask's active, non-orebody voxels (``drilled``:
    drilled cells whose assays are all below the cut-off), as many as asked for or
    every one of them when fewer exist.

    Parameters
    ----------
    orebody : array_like of int or bool, shape ``grid.shape``
        0 / False = barren; > 0 = deposit id (True counts as deposit 1).
    active : array_like of bool, shape ``grid.shape``
        Study volume; samples are only centred on active voxels.
    grid : VoxelGrid
        Gives the (anisotropic) cell sizes for the distance rule.
    window : int
        Odd window size ``k`` (3 in the paper).
    min_distance_m : float
        Negatives lie at least this far (centre to centre, metres) from every
        orebody voxel (800 m in the paper).
    seed : int, optional
        Seed of ``numpy.random.default_rng`` for the negatives.
    edge : {"edge", "zero"}
        Edge rule for cutting windows (recorded, used by :func:`samples_windows`).
    negatives_per_positive : float
        Number of negatives as a multiple of the positives (1 in the paper).
    negative_mask : array_like of bool, shape ``grid.shape``, optional
        Voxels known to be barren (drilled below the cut-off); ``min_distance_m`` is
        then not used: proven waste next to ore is the contrast to learn.

    Returns
    -------
    WindowSamples

    Raises
    ------
    NoPositivesError
        If no orebody voxel lies inside the study volume.
    VoxprospectError
        On a bad window, edge rule or shape, or when fewer active voxels than
        needed lie ``min_distance_m`` away from the orebodies.
    """
    from voxprospect.errors import NoPositivesError, VoxprospectError
    from voxprospect.evidence.layers import capped_edt

    if int(window) != window or window < 1 or window % 2 == 0:
        raise VoxprospectError(f"window size must be a positive odd integer, got {window}")
    if edge not in EDGE_RULES:
        raise VoxprospectError(f"unknown edge rule {edge!r}; use one of: {', '.join(EDGE_RULES)}")
    if not min_distance_m >= 0:
        raise VoxprospectError(f"min_distance_m must be >= 0, got {min_distance_m}")
    if not negatives_per_positive > 0:
        raise VoxprospectError(f"negatives_per_positive must be positive, got {negatives_per_positive}")
    orebody = np.asarray(orebody)
    active = np.asarray(active, dtype=bool)
    for what, arr in (("orebody", orebody), ("active mask", active)):
        if arr.shape != tuple(grid.shape):
            raise VoxprospectError(f"the {what} has shape {arr.shape}, the grid has {tuple(grid.shape)}")
    deposit_id = orebody.astype(np.int32) if orebody.dtype == bool else orebody
    ore = deposit_id > 0
    if not ore.any():
        raise NoPositivesError("the orebody model selects no voxel; there is nothing to learn from")
    positives = np.argwhere(ore & active)
    if positives.shape[0] == 0:
        raise NoPositivesError(f"none of the {int(ore.sum())} orebody voxels lies inside the study volume")
    n_pos = positives.shape[0]
    n_neg = int(round(n_pos * float(negatives_per_positive)))

    if negative_mask is not None:
        return _drilled_samples(positives, deposit_id, ore, active, negative_mask, grid, window, edge, seed, n_neg)
    # float64 comparison: a float32 distance just under the limit could round up to it
    dist = capped_edt(ore, grid.cell_size, float(min_distance_m))
    eligible = active & ~ore & (dist >= float(min_distance_m))
    del dist
    candidates = np.flatnonzero(eligible)
    if candidates.size < n_neg:
        from scipy.ndimage import distance_transform_edt
        # the largest distance that still leaves enough candidates, to say what would work
        full = distance_transform_edt(~ore, sampling=grid.cell_size)[active & ~ore]
        feasible = float(np.sort(full)[::-1][n_neg - 1]) if full.size >= n_neg else None
        hint = (f"min_distance_m = {np.floor(feasible):g} would leave enough; " if feasible is not None and
                feasible >= 1 else "")
        raise VoxprospectError(
            f"only {candidates.size} active voxels lie at least {min_distance_m:g} m from the orebodies, "
            f"but {n_neg} negatives are needed ({n_pos} positives x {negatives_per_positive:g}); "
            f"{hint}lower min_distance_m or negatives_per_positive, or enlarge the study volume")
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(candidates, size=n_neg, replace=False))
    negatives = np.column_stack(np.unravel_index(chosen, grid.shape))

    centres = np.concatenate([positives, negatives]).astype(np.int64)
    labels = np.concatenate([np.ones(n_pos, np.int8), np.zeros(n_neg, np.int8)])
    deposit = np.concatenate([deposit_id[tuple(positives.T)].astype(np.int32), np.zeros(n_neg, np.int32)])
    return WindowSamples(centres, labels, deposit, int(window), edge, float(min_distance_m),
                         None if seed is None else int(seed), n_pos, n_neg,
                         tuple(float(v) for v in grid.cell_size))


def _drilled_samples(positives, deposit_id, ore, active, negative_mask, grid, window, edge, seed, n_neg):
    """:func:`make_samples` with negatives drawn from a mask of proven waste."""
    from voxprospect.errors import VoxprospectError

    mask = np.asarray(negative_mask, dtype=bool)
    if mask.shape != tuple(grid.shape):
        raise VoxprospectError(f"the negative mask has shape {mask.shape}, the grid has {tuple(grid.shape)}")
    candidates = np.flatnonzero(mask & active & ~ore)
    if candidates.size == 0:
        raise VoxprospectError("no drilled voxel below the cut-off lies in the study volume, so there are no "
                               "drilled negatives; use negatives = \"distal\" (random voxels min_distance_m "
                               "from the ore)")
    rng = np.random.default_rng(seed)
    n_neg = min(n_neg, candidates.size)
    chosen = np.sort(rng.choice(candidates, size=n_neg, replace=False))
    negatives = np.column_stack(np.unravel_index(chosen, grid.shape))
    n_pos = positives.shape[0]
    centres = np.concatenate([positives, negatives]).astype(np.int64)
    labels = np.concatenate([np.ones(n_pos, np.int8), np.zeros(n_neg, np.int8)])
    deposit = np.concatenate([deposit_id[tuple(positives.T)].astype(np.int32), np.zeros(n_neg, np.int32)])
    return WindowSamples(centres, labels, deposit, int(window), edge, 0.0, None if seed is None else int(seed),
                         n_pos, n_neg, tuple(float(v) for v in grid.cell_size), "drilled")


def samples_windows(stack, samples: WindowSamples, fill: float = 0.0) -> np.ndarray:
    """Cut the samples' windows from an evidence stack.

    Parameters
    ----------
    stack : ndarray, shape (C, nx, ny, nz), or Volume
        Evidence (a Volume is stacked in its layer order).
    samples : WindowSamples
    fill : float or sequence of float
        Value for NaN (inactive) evidence, one or one per channel (the evidence's
        ``fill_values``); filling after cutting gives the same windows as filling
        the stack first, for either edge rule, and touches far fewer values.

    Returns
    -------
    ndarray of float32, shape (N, C, k, k, k)
    """
    if hasattr(stack, "stack") and hasattr(stack, "grid"):
        stack = stack.stack()
    windows = extract_windows(pad_stack(np.asarray(stack), samples.window, samples.edge),
                              samples.centres, samples.window)
    f = np.asarray(fill, dtype=np.float32)
    if f.ndim == 0:
        windows[~np.isfinite(windows)] = f
    else:
        if f.shape[0] != windows.shape[1]:
            raise ValueError(f"{f.shape[0]} fill values for {windows.shape[1]} channels")
        bad = ~np.isfinite(windows)
        windows[bad] = np.broadcast_to(f[None, :, None, None, None], windows.shape)[bad]
    return windows
