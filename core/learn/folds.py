"""Folds and their geometry: the :class:`Split` record, window overlap, metric buffers,
orebody bodies and deposit groups, block sizes.

The data every protocol shares (:mod:`voxprospect.learn.protocols` explains the three):
a split's train, test and dropped indices with how it was made, and the distances the
splitters and the buffer rule are measured in (metres, true anisotropic cell sizes).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from voxprospect.errors import VoxprospectError

DEFAULT_SMOOTHING_M = 250.0
#: Leave-one-deposit-out holds one deposit group out a fold up to this many groups;
#: beyond it whole groups are dealt into this many folds (a fit each).
DEFAULT_MAX_DEPOSIT_FOLDS = 5
#: Buffers of the sweep; ``"window"`` stands for the window's extent.
DEFAULT_SWEEP = (0.0, "window", 250.0, 500.0, 1000.0)
PROTOCOL_NOTES = {
    "random": "paper's 7:3 random split of stride-1 windows; leaks (neighbouring train and test "
              "windows share voxels) and inflates scores",
    "spatial": "spatial blocks held out whole (orebodies never cut), training windows within the metric "
               "buffer of any test window dropped",
    "deposit": "leave one deposit group (touching deposits together) out, or whole groups in at most 5 folds "
               "when there are more; negatives held out by spatial "
               "blocks; same metric buffer",
}


@dataclass
class Split:
    """Indices of the training and held-out samples of one split.

    Attributes
    ----------
    train, test : ndarray of int64
        Sample indices (sorted).
    dropped : ndarray of int64
        Samples left out of training because their centre lies within the buffer
        of a test centre (empty for the random split).
    info : dict
        How the split was made (protocol, block size, buffer, deposit, seed...).
    """

    train: np.ndarray
    test: np.ndarray
    dropped: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    info: dict = field(default_factory=dict)

    def __iter__(self):
        return iter((self.train, self.test))

    @property
    def candidates(self) -> np.ndarray:
        """The training side before the buffer (``train`` plus ``dropped``)."""
        return np.union1d(self.train, self.dropped).astype(np.int64)

    def fingerprint(self) -> str:
        """A short hash of the train and test indices: equal folds give equal prints."""
        h = hashlib.sha256()
        h.update(np.asarray(self.train, np.int64).tobytes())
        h.update(b"|")
        h.update(np.asarray(self.test, np.int64).tobytes())
        return h.hexdigest()[:16]


def neighbour_overlap(window: int = 3) -> dict:
    """Voxels a ``k``-window shares with its face, edge and corner neighbours.

    Computed, not tabulated: an offset of ``(a, b, c)`` cells leaves
    ``(k-|a|)(k-|b|)(k-|c|)`` shared voxels.
    """
    k = int(window)
    return {"window_voxels": k ** 3, "face": shared_voxels(k, (1, 0, 0)), "edge": shared_voxels(k, (1, 1, 0)),
            "corner": shared_voxels(k, (1, 1, 1))}


def shared_voxels(window: int, offset) -> int:
    """Voxels two ``k``-windows share when their centres are ``offset`` cells apart."""
    k = int(window)
    return int(np.prod([max(k - abs(int(o)), 0) for o in offset]))


def window_extent_m(window: int, cell_size) -> float:
    """The window's diagonal in metres, ``k * |cell_size|``.

    Two windows whose centres are at least this far apart share no voxel, whatever
    the direction and the cell anisotropy.
    """
    return float(int(window) * np.linalg.norm(np.asarray(cell_size, dtype=np.float64)))


def default_buffer_m(window: int, cell_size, smoothing_m: float = DEFAULT_SMOOTHING_M) -> float:
    """Default buffer: the window's extent plus the evidence's smoothing length."""
    return window_extent_m(window, cell_size) + float(smoothing_m)


def resolve_buffer(buffer, window: int, cell_size) -> float:
    """A buffer given as metres or as ``"window"`` (the window's extent), in metres."""
    if isinstance(buffer, str):
        if buffer.strip().lower() != "window":
            raise VoxprospectError(f"a buffer is metres or \"window\", got {buffer!r}")
        return window_extent_m(window, cell_size)
    b = float(buffer)
    if not b >= 0 or not np.isfinite(b):
        raise VoxprospectError(f"a buffer must be a distance >= 0 m, got {buffer!r}")
    return b


def centres_m(centres, cell_size) -> np.ndarray:
    """Window centres (grid indices) as metric coordinates relative to the grid origin."""
    cs = as_cell_size(cell_size)
    return np.asarray(centres, np.float64).reshape(-1, 3) * cs


def within_buffer(points_m, candidates, held_out, buffer_m: float) -> np.ndarray:
    """Which of ``candidates`` have a centre closer than ``buffer_m`` to a ``held_out`` centre.

    Parameters
    ----------
    points_m : ndarray, shape (N, 3)
        Metric centres (:func:`centres_m`).
    candidates, held_out : ndarray of int
        Sample indices.
    buffer_m : float
        A buffer of 0 drops nothing.

    Returns
    -------
    ndarray of bool, one per candidate
    """
    from scipy.spatial import cKDTree

    candidates = np.asarray(candidates, np.int64)
    held_out = np.asarray(held_out, np.int64)
    if len(candidates) == 0 or len(held_out) == 0 or not buffer_m > 0:
        return np.zeros(len(candidates), bool)
    tree = cKDTree(points_m[held_out])
    d, _ = tree.query(points_m[candidates], k=1, distance_upper_bound=float(buffer_m))
    return d < float(buffer_m)


def nearest_distance_m(points_m, from_idx, to_idx) -> np.ndarray:
    """Metric distance from each ``from_idx`` centre to the nearest ``to_idx`` centre."""
    from scipy.spatial import cKDTree

    from_idx = np.asarray(from_idx, np.int64)
    to_idx = np.asarray(to_idx, np.int64)
    if len(to_idx) == 0:
        return np.full(len(from_idx), np.inf)
    return cKDTree(points_m[to_idx]).query(points_m[from_idx], k=1)[0]


def overlapping(centres: np.ndarray, candidates: np.ndarray, held_out: np.ndarray, window: int) -> np.ndarray:
    """Which of ``candidates`` have a window sharing a voxel with a ``held_out`` window.

    Two ``k``-windows share a voxel exactly when the Chebyshev distance between
    their centres is below ``k``.
    """
    from scipy.spatial import cKDTree

    candidates = np.asarray(candidates, np.int64)
    held_out = np.asarray(held_out, np.int64)
    if len(candidates) == 0 or len(held_out) == 0:
        return np.zeros(len(candidates), bool)
    tree = cKDTree(np.asarray(centres, np.float64)[held_out])
    d, _ = tree.query(np.asarray(centres, np.float64)[candidates], k=1, p=np.inf,
                      distance_upper_bound=float(window))
    return d < int(window)


def orebody_bodies(centres, labels) -> np.ndarray:
    """26-connected bodies of positive window centres.

    Returns
    -------
    ndarray of int64, shape (N,)
        Body id (1, 2, ...) of each positive, 0 for negatives.
    """
    from scipy import ndimage

    centres = np.asarray(centres, np.int64).reshape(-1, 3)
    pos = np.asarray(labels).reshape(-1) == 1
    out = np.zeros(len(centres), np.int64)
    if not pos.any():
        return out
    p = centres[pos]
    lo = p.min(axis=0)
    box = np.zeros(tuple(p.max(axis=0) - lo + 1), bool)
    box[tuple((p - lo).T)] = True
    lab, _ = ndimage.label(box, structure=np.ones((3, 3, 3), bool))
    out[pos] = lab[tuple((p - lo).T)]
    return out


def deposit_groups(centres, labels, deposit) -> tuple[np.ndarray, dict]:
    """Deposits grouped so that touching deposits (one 26-connected body) are one group.

    Returns
    -------
    groups : ndarray of int64, shape (N,)
        Group id (1, 2, ...) of each positive, 0 for negatives.
    members : dict
        ``{group id: [deposit ids]}``, groups numbered by their smallest deposit id.
    """
    labels = np.asarray(labels).reshape(-1)
    deposit = np.asarray(deposit).reshape(-1)
    pos = labels == 1
    bodies = orebody_bodies(centres, labels)
    ids = [python_scalar(d) for d in np.unique(deposit[pos])]
    parent = {d: d for d in ids}

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for b in np.unique(bodies[pos]):
        ds = [python_scalar(d) for d in np.unique(deposit[pos & (bodies == b)])]
        for d in ds[1:]:
            ra, rb = find(ds[0]), find(d)
            if ra != rb:
                parent[max(ra, rb, key=_sort_key)] = min(ra, rb, key=_sort_key)
    roots = sorted({find(d) for d in ids}, key=_sort_key)
    number = {r: g + 1 for g, r in enumerate(roots)}
    members = {number[r]: sorted([d for d in ids if find(d) == r], key=_sort_key) for r in roots}
    groups = np.zeros(len(labels), np.int64)
    for d in ids:
        groups[pos & (deposit == d)] = number[find(d)]
    return groups, members


def _sort_key(v):
    return (0, v) if isinstance(v, (int, float)) else (1, str(v))


def as_cell_size(cell_size) -> np.ndarray:
    if cell_size is None:
        raise VoxprospectError("metric buffers need the grid's cell size (samples.cell_size or cell_size=...)")
    cs = np.asarray(cell_size, np.float64).reshape(-1)
    if cs.size != 3 or not np.all(cs > 0):
        raise VoxprospectError(f"cell sizes must be three positive numbers, got {cell_size}")
    return cs


def default_block_m(points_m: np.ndarray, window: int, cell_size) -> float:
    """Default spatial block edge in metres: a fifth of the samples' widest extent, at
    least three window extents (so the buffer does not eat most of the training set)."""
    ext = float((points_m.max(axis=0) - points_m.min(axis=0)).max()) if len(points_m) else 1.0
    return max(3.0 * window_extent_m(window, cell_size), ext / 5.0)


def default_block_size(centres: np.ndarray, window: int) -> int:
    """Default block edge in cells for isotropic use (kept for callers in cells)."""
    centres = np.asarray(centres).reshape(-1, 3)
    extent = int((centres.max(axis=0) - centres.min(axis=0)).max()) + 1 if len(centres) else 1
    return int(max(3 * int(window), int(np.ceil(extent / 5))))


def python_scalar(v):
    return v.item() if isinstance(v, np.generic) else v
