"""Evaluation protocols: how samples are split into training and held-out windows.

Three protocols, always reported side by side (METHOD.md, Samples), each a splitter
with scikit-learn's face (``split(X, y, groups)`` yielding ``(train, test)`` index
arrays, ``get_n_splits()``) plus :meth:`folds`, which gives the full
:class:`Split` records (dropped samples, how the split was made):

``random`` (alias ``paper``), :class:`RandomSplitter`
    The paper's 7:3 random split. **It leaks**: with stride-1 windows a test window
    usually has training neighbours sharing most of its voxels (for ``k``-windows a
    neighbour offset by ``(a, b, c)`` cells shares ``(k-|a|)(k-|b|)(k-|c|)`` of the
    ``k**3`` voxels: 18, 12 and 8 of 27 for a face, edge and corner neighbour of a
    3-window; :func:`neighbour_overlap`). The model is scored on data it has almost
    seen and every score is inflated. Kept only to compare with the paper; never the
    only number shown.
``spatial``, :class:`SpatialBlockSplitter`
    Window centres are binned into spatial blocks (metric edges); whole blocks go to
    the test set (seeded, aiming at ``test_fraction`` of each class). Blocks respect
    orebodies: every 26-connected body of positive centres travels with the block
    holding most of it, so no orebody is cut between train and test. Then a metric
    buffer: every training sample whose centre lies closer than ``buffer_m`` (metres,
    true anisotropic cell sizes) to any test centre is dropped.
``deposit``, :class:`DepositSplitter`
    Leave one deposit out: each deposit group's positives form the test set once,
    with negatives held out by spatial blocks in the same proportion and the same
    buffer rule. Deposits whose voxels touch (one 26-connected body) form one group
    and are held out together. Metrics are pooled over the folds and also given per
    fold.

The default buffer (:func:`default_buffer_m`) is the window's extent (its diagonal,
``k * |cell_size|``, the smallest centre distance at which two windows can share no
voxel in any direction) plus the evidence's smoothing length (``smoothing_m``,
250 m by default: the blur of a typical inversion); both are configurable and
recorded. :func:`buffer_sweep` scores a model on one fixed spatial test set with
training data removed out to each of several buffers (0, one window, 250, 500 and
1,000 m by default), which shows how skill decays with distance from training data.

Each split is a :class:`Split`, which unpacks as ``train, test = split``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from voxprospect.errors import NoPositivesError, VoxprospectError

from voxprospect.vocabulary import PROTOCOLS

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


# ------------------------------------------------------------------ geometry


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
    cs = _cell_size(cell_size)
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
    ids = [_plain(d) for d in np.unique(deposit[pos])]
    parent = {d: d for d in ids}

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for b in np.unique(bodies[pos]):
        ds = [_plain(d) for d in np.unique(deposit[pos & (bodies == b)])]
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


def _cell_size(cell_size) -> np.ndarray:
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


# ------------------------------------------------------------------ splitters


class _Splitter:
    """Common face: ``split(X, y, groups)`` as in scikit-learn, ``folds`` with details."""

    leaky = False
    protocol = ""

    def split(self, X=None, y=None, groups=None):
        """Yield ``(train, test)`` index arrays (scikit-learn's splitter face).

        ``X`` is only used for its length (and may be the windows); ``y`` are the
        labels; ``groups`` are deposit ids (deposit protocol; optional for spatial,
        where they keep whole deposits together).
        """
        if y is None:
            raise VoxprospectError(f"the {self.protocol} splitter needs the labels y")
        if X is not None and len(X) != len(np.asarray(y).reshape(-1)):
            raise VoxprospectError(f"{len(X)} samples for {len(np.asarray(y).reshape(-1))} labels")
        for s in self.folds(y, groups):
            yield s.train, s.test

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        if y is None:
            return int(getattr(self, "n_splits", None) or 1)
        return len(self.folds(y, groups))


class RandomSplitter(_Splitter):
    """The paper's random split (7:3 by default, stratified). **Leaks.**"""

    leaky = True
    protocol = "random"

    def __init__(self, test_fraction: float = 0.3, seed: int | None = 42):
        _check_fraction(test_fraction)
        self.test_fraction = float(test_fraction)
        self.seed = seed

    def folds(self, y, groups=None) -> list[Split]:
        y = np.asarray(y).reshape(-1)
        return [split_random(len(y), self.test_fraction, self.seed, labels=y)]


class SpatialBlockSplitter(_Splitter):
    """Spatial blocks held out whole, orebodies never cut, metric buffer.

    Parameters
    ----------
    centres : ndarray of int, shape (N, 3)
        Window centres (grid indices).
    cell_size : (dx, dy, dz)
        Cell sizes in metres.
    window : int
    buffer_m : float, optional
        Default :func:`default_buffer_m`.
    smoothing_m : float
        Smoothing length added to the window's extent for the default buffer.
    block_m : float, optional
        Block edge in metres (default :func:`default_block_m`); ``block_size_cells``
        instead gives it in cells per axis.
    test_fraction : float
        Share of each class held out (single split).
    n_splits : int, optional
        When given, a k-fold over the blocks (each block tested once) instead of a
        single held-out split; used for inner (tuning) folds.
    seed : int
    """

    protocol = "spatial"

    def __init__(self, centres, cell_size, window: int, buffer_m: float | None = None,
                 smoothing_m: float = DEFAULT_SMOOTHING_M, block_m: float | None = None,
                 block_size_cells: int | None = None, test_fraction: float = 0.3, n_splits: int | None = None,
                 seed: int | None = 42):
        _check_fraction(test_fraction)
        self.centres = np.asarray(centres, np.int64).reshape(-1, 3)
        self.cell_size = tuple(float(v) for v in _cell_size(cell_size))
        self.window = int(window)
        self.smoothing_m = float(smoothing_m)
        self.buffer_m = float(default_buffer_m(window, self.cell_size, smoothing_m) if buffer_m is None
                              else resolve_buffer(buffer_m, window, self.cell_size))
        self.points_m = centres_m(self.centres, self.cell_size)
        if block_size_cells is not None:
            self.block_edge = np.asarray(self.cell_size) * int(block_size_cells)
        else:
            bm = float(block_m) if block_m is not None else default_block_m(self.points_m, window, self.cell_size)
            self.block_edge = np.full(3, bm)
        self.block_size_cells = block_size_cells
        self.test_fraction = float(test_fraction)
        self.n_splits = None if n_splits is None else int(n_splits)
        if self.n_splits is not None and self.n_splits < 2:
            raise VoxprospectError(f"n_splits must be at least 2, got {n_splits}")
        self.seed = seed

    def block_ids(self) -> np.ndarray:
        cells = np.floor((self.points_m - self.points_m.min(axis=0)) / self.block_edge).astype(np.int64)
        _, ids = np.unique(cells, axis=0, return_inverse=True)
        return ids.reshape(-1)

    def unit_ids(self, y, groups=None) -> np.ndarray:
        """The units that move between train and test together: blocks, with every
        orebody (or deposit group, when ``groups`` are given) moved whole into the
        block that holds most of it."""
        y = np.asarray(y).reshape(-1)
        units = self.block_ids()
        if groups is not None:
            bodies, _ = deposit_groups(self.centres, y, groups)
        else:
            bodies = orebody_bodies(self.centres, y)
        for b in np.unique(bodies[bodies > 0]):
            members = bodies == b
            vals, counts = np.unique(units[members], return_counts=True)
            units[members] = vals[np.argmax(counts)]
        return units

    def _info(self, **extra):
        return {"protocol": "spatial", "block_m": [float(v) for v in self.block_edge],
                "block_size_cells": self.block_size_cells, "buffer_m": self.buffer_m,
                "smoothing_m": self.smoothing_m, "window_extent_m": window_extent_m(self.window, self.cell_size),
                "test_fraction": self.test_fraction, "seed": self.seed, "leaky": False, **extra}

    def folds(self, y, groups=None) -> list[Split]:
        y = np.asarray(y).reshape(-1)
        if len(y) != len(self.centres):
            raise VoxprospectError(f"{len(self.centres)} centres for {len(y)} labels")
        units = self.unit_ids(y, groups)
        n_units = int(units.max()) + 1 if len(units) else 0
        pos_in = np.bincount(units, weights=(y == 1), minlength=n_units)
        neg_in = np.bincount(units, weights=(y == 0), minlength=n_units)
        positive_units = int((pos_in > 0).sum())
        need = 2 if self.n_splits is None else self.n_splits
        if positive_units < need:
            raise NoPositivesError(
                f"all positives fall in {positive_units} spatial block(s) of {self.block_edge.max():g} m "
                f"(orebodies kept whole); a spatial split needs {need}; use smaller blocks")
        rng = np.random.default_rng(self.seed)
        if self.n_splits is None:
            fold_of = self._holdout(rng, pos_in, neg_in, positive_units)
            assignments = [fold_of]
        else:
            assignments = [self._kfold(rng, pos_in, neg_in)]
        out = []
        fold_of = assignments[0]
        n_folds = 1 if self.n_splits is None else self.n_splits
        for f in range(n_folds):
            in_test = fold_of[units] == f
            test = np.flatnonzero(in_test).astype(np.int64)
            train = np.flatnonzero(~in_test).astype(np.int64)
            train, dropped = apply_buffer(self.points_m, train, test, self.buffer_m)
            out.append(Split(train, test, dropped,
                             self._info(n_blocks=n_units, n_test_blocks=int(np.unique(units[in_test]).size),
                                        fold=f)))
        return out

    def _holdout(self, rng, pos_in, neg_in, positive_units) -> np.ndarray:
        n_units = len(pos_in)
        fold_of = np.full(n_units, -1)
        target_pos, target_neg = self.test_fraction * pos_in.sum(), self.test_fraction * neg_in.sum()
        got_pos = got_neg = 0.0
        pos_left = positive_units
        for b in rng.permutation(n_units):
            if pos_in[b] > 0:
                # keep at least one block of positives for training
                if got_pos < target_pos and pos_left > 1:
                    fold_of[b] = 0
                    got_pos += pos_in[b]
                    got_neg += neg_in[b]
                    pos_left -= 1
            elif got_neg < target_neg:
                fold_of[b] = 0
                got_neg += neg_in[b]
        return fold_of

    def _kfold(self, rng, pos_in, neg_in) -> np.ndarray:
        k = self.n_splits
        n_units = len(pos_in)
        order = rng.permutation(n_units)
        # largest first (stable after the shuffle): positives, then negatives
        order = order[np.lexsort((-neg_in[order], -pos_in[order]))]
        pos_f, neg_f = np.zeros(k), np.zeros(k)
        fold_of = np.zeros(n_units, np.int64)
        for b in order:
            if pos_in[b] > 0:
                f = int(np.lexsort((neg_f, pos_f))[0])
            else:
                f = int(np.argmin(neg_f))
            fold_of[b] = f
            pos_f[f] += pos_in[b]
            neg_f[f] += neg_in[b]
        return fold_of


class DepositSplitter(_Splitter):
    """Leave one deposit group out (touching deposits together), metric buffer.

    Parameters as :class:`SpatialBlockSplitter`; ``split(X, y, groups)`` takes the
    deposit ids as ``groups`` (or ``deposit`` at construction).
    """

    protocol = "deposit"

    def __init__(self, centres, cell_size, window: int, buffer_m: float | None = None,
                 smoothing_m: float = DEFAULT_SMOOTHING_M, block_m: float | None = None,
                 block_size_cells: int | None = None, deposit=None, seed: int | None = 42,
                 max_folds: int | None = DEFAULT_MAX_DEPOSIT_FOLDS):
        self.max_folds = max_folds
        self.blocks = SpatialBlockSplitter(centres, cell_size, window, buffer_m, smoothing_m, block_m,
                                           block_size_cells, seed=seed)
        self.deposit = None if deposit is None else np.asarray(deposit).reshape(-1)
        self.seed = seed

    @property
    def buffer_m(self) -> float:
        return self.blocks.buffer_m

    def folds(self, y, groups=None) -> list[Split]:
        sp = self.blocks
        y = np.asarray(y).reshape(-1)
        deposit = self.deposit if groups is None else np.asarray(groups).reshape(-1)
        if deposit is None:
            raise NoPositivesError("the samples carry no deposit ids")
        if len(deposit) != len(y) or len(y) != len(sp.centres):
            raise VoxprospectError(f"{len(sp.centres)} centres, {len(y)} labels and {len(deposit)} deposit ids")
        pos = y == 1
        group, members = deposit_groups(sp.centres, y, deposit)
        if len(np.unique(deposit[pos])) < 2:
            raise NoPositivesError(f"leave-one-deposit-out needs at least two labelled deposits, "
                                   f"found {len(np.unique(deposit[pos]))}")
        if len(members) < 2:
            raise NoPositivesError(f"leave-one-deposit-out needs at least two separate deposits; the "
                                   f"deposits {members[1]} touch and form one group")
        blocks = sp.block_ids()
        negatives = np.flatnonzero(~pos)
        neg_blocks, neg_counts = np.unique(blocks[negatives], return_counts=True)
        folds = []
        for fold, gs in enumerate(self._fold_groups(sorted(members))):
            rng = np.random.default_rng(None if self.seed is None else [int(self.seed), fold])
            held_pos = np.flatnonzero(np.isin(group, gs))
            target_neg = len(negatives) * len(held_pos) / pos.sum()
            held, got = [], 0
            for i in rng.permutation(len(neg_blocks)):
                if got >= target_neg:
                    break
                held.append(int(neg_blocks[i]))
                got += int(neg_counts[i])
            held_neg = negatives[np.isin(blocks[negatives], held)]
            test = np.sort(np.concatenate([held_pos, held_neg])).astype(np.int64)
            train = np.setdiff1d(np.arange(len(y)), test).astype(np.int64)
            train, dropped = apply_buffer(sp.points_m, train, test, sp.buffer_m)
            folds.append(Split(train, test, dropped, info={
                "protocol": "deposit", "deposit": members[gs[0]][0],
                "deposits": [d for g in gs for d in members[g]], "groups_in_fold": len(gs),
                "block_m": [float(v) for v in sp.block_edge], "block_size_cells": sp.block_size_cells,
                "buffer_m": sp.buffer_m, "smoothing_m": sp.smoothing_m, "seed": self.seed, "leaky": False}))
        return folds


    def _fold_groups(self, group_ids):
        """Deposit groups held out together: one a fold, or at most ``max_folds`` folds.

        With many deposits (a benchmark district has a dozen) one fold a deposit costs a
        fit each; groups are then dealt into ``max_folds`` folds in a seeded order, each
        fold holding whole groups, like scikit-learn's GroupKFold.
        """
        if not self.max_folds or len(group_ids) <= self.max_folds:
            return [[g] for g in group_ids]
        order = np.random.default_rng(self.seed).permutation(len(group_ids))
        return [sorted(group_ids[i] for i in order[f::self.max_folds]) for f in range(int(self.max_folds))]


def apply_buffer(points_m, train, test, buffer_m):
    """``(kept, dropped)``: training samples outside and inside the buffer of the test set."""
    train = np.asarray(train, np.int64)
    clash = within_buffer(points_m, train, test, buffer_m)
    return np.sort(train[~clash]), np.sort(train[clash])


# ------------------------------------------------------------------ functional forms


def split_random(n: int, test_fraction: float = 0.3, seed: int | None = 42, labels=None) -> Split:
    """The paper's random split (7:3 by default). Leaks; see the module notes.

    When ``labels`` are given the split is stratified (each class split in the same ratio).
    """
    _check_fraction(test_fraction)
    rng = np.random.default_rng(seed)
    if labels is None:
        groups = [np.arange(n)]
    else:
        labels = np.asarray(labels).reshape(-1)
        groups = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    test = []
    for members in groups:
        k = int(round(test_fraction * len(members)))
        test.append(rng.permutation(members)[:k])
    test = np.sort(np.concatenate(test)).astype(np.int64)
    train = np.setdiff1d(np.arange(n), test).astype(np.int64)
    return Split(train, test, info={"protocol": "random", "test_fraction": test_fraction, "seed": seed,
                                    "leaky": True, "buffer_m": 0.0})


def split_spatial(centres, labels, window: int, block_size_cells: int | None = None,
                  test_fraction: float = 0.3, seed: int | None = 42, *, cell_size=None,
                  buffer_m: float | None = None, smoothing_m: float = DEFAULT_SMOOTHING_M,
                  block_m: float | None = None, groups=None) -> Split:
    """One spatial-block split (see :class:`SpatialBlockSplitter`).

    Raises
    ------
    NoPositivesError
        If the positives sit in a single block, so one side would have none.
    """
    sp = SpatialBlockSplitter(centres, cell_size, window, buffer_m, smoothing_m, block_m, block_size_cells,
                              test_fraction, seed=seed)
    return sp.folds(labels, groups)[0]


def split_deposit(centres, labels, deposit, window: int, block_size_cells: int | None = None,
                  seed: int | None = 42, *, cell_size=None, buffer_m: float | None = None,
                  smoothing_m: float = DEFAULT_SMOOTHING_M, block_m: float | None = None) -> list[Split]:
    """Leave-one-deposit-out folds (see :class:`DepositSplitter`).

    Raises
    ------
    NoPositivesError
        If fewer than two separate deposit groups are labelled.
    """
    return DepositSplitter(centres, cell_size, window, buffer_m, smoothing_m, block_m, block_size_cells,
                           seed=seed).folds(labels, deposit)


def split_heldout(centres, labels, deposit, deposit_id, window: int, *, cell_size,
                  buffer_m: float | None = None, smoothing_m: float = DEFAULT_SMOOTHING_M) -> Split:
    """The held-out check: train without one deposit's group and outside its buffer.

    The deposit's group (every deposit touching it) is held out; every other window
    whose centre lies within ``buffer_m`` of one of the group's windows is dropped.

    Raises
    ------
    NoPositivesError
        If the deposit has no positive window.
    """
    centres = np.asarray(centres, np.int64).reshape(-1, 3)
    labels = np.asarray(labels).reshape(-1)
    deposit = np.asarray(deposit).reshape(-1)
    target = (labels == 1) & (deposit == deposit_id)
    if not target.any():
        raise NoPositivesError(f"deposit {deposit_id} has no positive window to hold out")
    group, members = deposit_groups(centres, labels, deposit)
    g = int(np.unique(group[target])[0])
    test = np.flatnonzero(group == g).astype(np.int64)
    cs = _cell_size(cell_size)
    b = default_buffer_m(window, cs, smoothing_m) if buffer_m is None else resolve_buffer(buffer_m, window, cs)
    train = np.setdiff1d(np.arange(len(labels)), test).astype(np.int64)
    train, dropped = apply_buffer(centres_m(centres, cs), train, test, b)
    return Split(train, test, dropped, info={"protocol": "heldout", "deposit": _plain(deposit_id),
                                             "deposits": list(members[g]), "buffer_m": float(b),
                                             "smoothing_m": float(smoothing_m), "leaky": False})


# -------------------------------------------------------------- evaluation


def classification_scores(y_true, proba) -> dict:
    """Accuracy, ROC AUC and F1; the one metric function is
    :func:`voxprospect.learn.evaluate.classification_metrics` (AUC None when undefined)."""
    from voxprospect.learn.evaluate import classification_metrics
    return classification_metrics(y_true, proba)


def make_plans(samples, protocols=PROTOCOLS, seed: int | None = 42, test_fraction: float = 0.3,
               block_size_cells: int | None = None, cell_size=None, buffer_m: float | None = None,
               smoothing_m: float = DEFAULT_SMOOTHING_M, block_m: float | None = None) -> dict:
    """The folds of every protocol, made once so that every model and baseline is
    scored on exactly the same ones.

    Returns
    -------
    dict
        ``{protocol: [Split, ...]}``, or ``{protocol: reason}`` (str) where the
        protocol cannot run on these samples.
    """
    centres, labels, deposit, window, cs = _sample_fields(samples)
    cs = cell_size if cell_size is not None else cs
    protocols = _check_protocols(protocols)
    plans = {}
    for name in protocols:
        try:
            if name == "random":
                plans[name] = RandomSplitter(test_fraction, seed).folds(labels)
            elif name == "spatial":
                plans[name] = SpatialBlockSplitter(centres, cs, window, buffer_m, smoothing_m, block_m,
                                                   block_size_cells, test_fraction, seed=seed).folds(labels)
            else:
                plans[name] = DepositSplitter(centres, cs, window, buffer_m, smoothing_m, block_m,
                                              block_size_cells, seed=seed).folds(labels, deposit)
        except NoPositivesError as exc:
            plans[name] = str(exc)
    return plans


def fit_with_context(est, X, y, centres=None, cell_size=None):
    """``est.fit(X, y)``, adding ``centres`` and ``cell_size`` when its ``fit`` takes them.

    The CNN's inner spatial validation split needs the training windows' centres,
    and its rotations the cell sizes; the random forest takes neither.
    """
    import inspect

    try:
        accepted = inspect.signature(est.fit).parameters
    except (TypeError, ValueError):
        accepted = {}
    extra = {}
    if centres is not None and "centres" in accepted:
        extra["centres"] = centres
    if cell_size is not None and "cell_size" in accepted:
        extra["cell_size"] = cell_size
    return est.fit(X, y, **extra)


def evaluate_protocols(make_estimator, X_windows, samples, protocols=PROTOCOLS, seed: int | None = 42,
                       test_fraction: float = 0.3, block_size_cells: int | None = None,
                       progress=None, *, cell_size=None, buffer_m: float | None = None,
                       smoothing_m: float = DEFAULT_SMOOTHING_M, block_m: float | None = None,
                       plans: dict | None = None, on_fold=None) -> dict:
    """Train and score a model under each evaluation protocol.

    Parameters
    ----------
    make_estimator : callable or estimator
        ``make_estimator()`` returns a fresh unfitted estimator (``fit``,
        ``predict_proba``); an estimator instance is cloned for every fit. An
        estimator with ``wants_sample_index = True`` is fitted as
        ``fit(X, y, sample_index=train)`` (nested tuning uses it to find the
        training windows' centres).
    X_windows : ndarray, shape (N, C, k, k, k)
    samples : WindowSamples or dict
        ``centres``, ``labels``, ``window``, ``cell_size`` (or ``cell_size=``), and
        ``deposit`` for the deposit protocol.
    protocols : iterable of {"random", "paper", "spatial", "deposit"}
    seed, test_fraction, block_size_cells, cell_size, buffer_m, smoothing_m, block_m
        How the folds are made (see :func:`make_plans`); ignored when ``plans`` is given.
    progress : callable, optional
        ``progress(fraction, message)`` after each fit; may raise
        :class:`~voxprospect.errors.Cancelled`.
    cell_size : (dx, dy, dz), optional
        Also passed to fits that take it (the CNN's rotations need square cells).
    plans : dict, optional
        Folds from :func:`make_plans`, shared by every model of a study.
    on_fold : callable, optional
        ``on_fold(protocol, split, p_test)`` with each scored fold's held-out
        class-1 probabilities (calibration and importance read them).

    Returns
    -------
    dict
        ``{protocol: {accuracy, auc, f1, n_train, n_test, n_dropped_gap, buffer_m,
        leaky, note, folds_id, ...}}``; ``deposit`` adds ``folds`` (per-group scores;
        the top level pools all folds' held-out predictions). A protocol that cannot
        run gives ``{"skipped": reason}``.
    """
    centres, labels, _, _, sample_cells = _sample_fields(samples)
    fit_cells = cell_size if cell_size is not None else sample_cells
    X = np.asarray(X_windows)
    if X.shape[0] != len(labels):
        raise ValueError(f"{X.shape[0]} windows for {len(labels)} samples")
    if plans is None:
        plans = make_plans(samples, protocols, seed, test_fraction, block_size_cells, cell_size, buffer_m,
                           smoothing_m, block_m)
    else:
        plans = {p: plans[p] for p in _check_protocols(protocols) if p in plans}
    n_fits = sum(len(p) for p in plans.values() if not isinstance(p, str)) or 1
    done = 0
    results = {}
    for name, plan in plans.items():
        if isinstance(plan, str):
            results[name] = {"skipped": plan, "note": PROTOCOL_NOTES[name]}
            continue
        fold_rows, pooled_y, pooled_p = [], [], []
        for split in plan:
            # the training side's own centres: the CNN's inner validation split sees no test window
            row, p = fit_and_score(make_estimator, X, labels, split, centres=centres, cell_size=fit_cells)
            if p is not None:
                pooled_y.append(labels[split.test])
                pooled_p.append(p)
                if on_fold is not None:
                    on_fold(name, split, p)
            fold_rows.append(row)
            done += 1
            if progress is not None:
                progress(done / n_fits, f"{name} protocol: fit {done} of {n_fits}")
        if not pooled_y:
            results[name] = {"skipped": fold_rows[0].get("skipped"), "note": PROTOCOL_NOTES[name],
                             "folds": fold_rows}
            continue
        if name == "deposit":
            from voxprospect.learn.evaluate import classification_metrics
            summary = classification_metrics(np.concatenate(pooled_y), np.concatenate(pooled_p))
            summary.update(n_train=int(round(np.mean([r["n_train"] for r in fold_rows]))),
                           n_test=int(sum(r["n_test"] for r in fold_rows)),
                           n_dropped_gap=int(sum(r["n_dropped_gap"] for r in fold_rows)),
                           buffer_m=fold_rows[0]["buffer_m"], folds=fold_rows)
        else:
            summary = dict(fold_rows[0])
        summary.update(leaky=(name == "random"), note=PROTOCOL_NOTES[name],
                       folds_id=_plan_id(plan))
        results[name] = summary
    return results


def fit_and_score(make_estimator, X, labels, split: Split, centres=None, cell_size=None):
    """Fit a fresh estimator on ``split.train`` and score it on ``split.test``.

    ``centres`` (all samples') and ``cell_size`` reach fits that take them
    (:func:`fit_with_context`): the CNN's inner validation is cut from the training
    side's own centres.

    Returns
    -------
    (row, proba)
        ``row`` holds the metrics and counts (or ``skipped``); ``proba`` the test
        probabilities, or None when skipped.
    """
    from voxprospect.learn.evaluate import classification_metrics

    labels = np.asarray(labels).reshape(-1)
    y_train, y_test = labels[split.train], labels[split.test]
    p = None
    if np.unique(y_train).size < 2:
        row = {"skipped": "training side holds a single class after the buffer"}
    else:
        est = _fresh(make_estimator)
        if getattr(est, "wants_sample_index", False):
            est.fit(X[split.train], y_train, sample_index=split.train)
        else:
            fit_with_context(est, X[split.train], y_train,
                             centres=None if centres is None else np.asarray(centres)[split.train],
                             cell_size=cell_size)
        p = np.asarray(est.predict_proba(X[split.test]))[:, 1]
        row = classification_metrics(y_test, p)
        if getattr(est, "fold_details_", None):
            row.update(est.fold_details_)
    row.update(n_train=int(len(split.train)), n_test=int(len(split.test)),
               n_dropped_gap=int(len(split.dropped)), buffer_m=float(split.info.get("buffer_m", 0.0)),
               fold_id=split.fingerprint(),
               **{k: v for k, v in split.info.items() if k in ("deposit", "deposits", "block_m")})
    return row, p


def _plan_id(plan) -> str:
    h = hashlib.sha256("".join(s.fingerprint() for s in plan).encode())
    return h.hexdigest()[:16]


# -------------------------------------------------------------- buffer sweep


def sweep_buffers(buffers, window: int, cell_size) -> list[tuple[str, float]]:
    """``[(label, metres)]`` of a sweep list (metres or ``"window"``), by increasing distance."""
    out = []
    for b in buffers:
        m = resolve_buffer(b, window, cell_size)
        label = "window" if isinstance(b, str) else f"{m:g} m"
        out.append((label, m))
    return sorted(out, key=lambda t: t[1])


def buffer_sweep(make_estimator, X_windows, samples, base: Split, buffers=DEFAULT_SWEEP, cell_size=None,
                 progress=None) -> list[dict]:
    """Scores on one fixed test set with training removed out to each buffer.

    Parameters
    ----------
    make_estimator : callable or estimator
    X_windows : ndarray, shape (N, C, k, k, k)
    samples : WindowSamples or dict
    base : Split
        The split whose test set is kept (normally the spatial protocol's); its
        training candidates (``train`` plus ``dropped``) are filtered anew per buffer.
    buffers : iterable of float or "window"
    cell_size : (dx, dy, dz), optional
        Default the samples'.

    Returns
    -------
    list of dict
        One row per buffer: ``label``, ``buffer_m``, ``n_train``, ``n_dropped``,
        ``n_test``, ``min_train_test_distance_m`` and the metrics (or ``skipped``).
    """
    centres, labels, _, window, cs = _sample_fields(samples)
    cs = _cell_size(cell_size if cell_size is not None else cs)
    pts = centres_m(centres, cs)
    X = np.asarray(X_windows)
    cand = base.candidates
    plan = sweep_buffers(buffers, window, cs)
    rows = []
    for i, (label, b) in enumerate(plan):
        train, dropped = apply_buffer(pts, cand, base.test, b)
        split = Split(train, base.test, dropped, info={"buffer_m": b})
        row, _ = fit_and_score(make_estimator, X, labels, split)
        gap = nearest_distance_m(pts, train, base.test)
        row = {"label": label, "buffer_m": float(b), "n_dropped": row.pop("n_dropped_gap"),
               "min_train_test_distance_m": float(gap.min()) if len(gap) else None, **row}
        rows.append(row)
        if progress is not None:
            progress((i + 1) / len(plan), f"buffer sweep: {label}")
    return rows


def sweep_table_markdown(sweeps: dict) -> str:
    """The sweep as Markdown: one row per buffer, one AUC column per model."""
    names = list(sweeps)
    if not names:
        return ""
    first = sweeps[names[0]]
    head = ["buffer", "metres", "training windows"] + [f"{n} AUC" for n in names]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, r in enumerate(first):
        row = [r["label"], f"{r['buffer_m']:.0f}", str(r["n_train"])]
        for n in names:
            s = sweeps[n][i]
            row.append("skipped" if "skipped" in s else _fmt(s.get("auc")))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def plot_buffer_sweep(sweeps: dict, path, title: str | None = None, inputs=()):
    """AUC against buffer distance, one line per model (PNG, written atomically)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from voxprospect.io.safe_write import safe_output

    fig = Figure(figsize=(6.4, 4.4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(111)
    for name, rows in sweeps.items():
        xs = [r["buffer_m"] for r in rows if r.get("auc") is not None]
        ys = [r["auc"] for r in rows if r.get("auc") is not None]
        ax.plot(xs, ys, "o-", label=name)
    ax.axhline(0.5, color="grey", lw=0.8, ls="--", label="chance")
    ax.set_xlabel("Buffer: minimum distance from test to training windows (m)")
    ax.set_ylabel("ROC AUC on the fixed spatial test set")
    ax.set_ylim(0.0, 1.0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or "Skill against distance from training data")
    fig.tight_layout()
    with safe_output(path, inputs) as tmp:
        fig.savefig(tmp, format="png", dpi=130)
    return path


# -------------------------------------------------------------- helpers


def _fresh(make_estimator):
    if hasattr(make_estimator, "fit") and hasattr(make_estimator, "get_params"):
        from sklearn.base import clone
        return clone(make_estimator)
    return make_estimator()


def _check_protocols(protocols):
    protocols = [("random" if p == "paper" else p) for p in protocols]
    unknown = sorted(set(protocols) - set(PROTOCOLS))
    if unknown:
        raise ValueError(f"unknown protocol(s) {unknown}; use {list(PROTOCOLS)} (or 'paper' for 'random')")
    return list(dict.fromkeys(protocols))


def _sample_fields(samples):
    def get(name, default=None):
        if isinstance(samples, dict):
            return samples.get(name, default)
        return getattr(samples, name, default)

    centres = np.asarray(get("centres"), np.int64).reshape(-1, 3)
    labels = np.asarray(get("labels")).reshape(-1).astype(np.int64)
    deposit = get("deposit", get("deposit_ids"))
    window = get("window")
    if window is None:
        raise ValueError("samples must give the window size ('window')")
    if len(centres) != len(labels):
        raise ValueError(f"{len(centres)} centres for {len(labels)} labels")
    return (centres, labels, (None if deposit is None else np.asarray(deposit).reshape(-1)), int(window),
            get("cell_size"))


def _check_fraction(f):
    if not 0 < float(f) < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {f}")


def _fmt(v):
    return "n/a" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{v:.3f}"


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v
