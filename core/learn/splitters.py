"""The three protocols' splitters, with scikit-learn's face, and their functional forms.

:class:`RandomSplitter` (the paper's leaky 7:3 split), :class:`SpatialBlockSplitter`
(whole spatial blocks held out, orebodies never cut, a metric buffer) and
:class:`DepositSplitter` (leave one deposit group out); ``split(X, y, groups)`` yields
``(train, test)`` index arrays and ``folds`` the full :class:`~voxprospect.learn.folds.Split`
records. :func:`split_random`, :func:`split_spatial`, :func:`split_deposit` and
:func:`split_heldout` are the same splits as functions.
"""

from __future__ import annotations

import numpy as np

from voxprospect.errors import NoPositivesError, VoxprospectError
from voxprospect.learn.folds import (DEFAULT_MAX_DEPOSIT_FOLDS, DEFAULT_SMOOTHING_M, Split, as_cell_size,
                                     centres_m, default_block_m, default_buffer_m,
                                     deposit_groups, orebody_bodies, python_scalar, resolve_buffer,
                                     window_extent_m, within_buffer)

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
        self.cell_size = tuple(float(v) for v in as_cell_size(cell_size))
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
    cs = as_cell_size(cell_size)
    b = default_buffer_m(window, cs, smoothing_m) if buffer_m is None else resolve_buffer(buffer_m, window, cs)
    train = np.setdiff1d(np.arange(len(labels)), test).astype(np.int64)
    train, dropped = apply_buffer(centres_m(centres, cs), train, test, b)
    return Split(train, test, dropped, info={"protocol": "heldout", "deposit": python_scalar(deposit_id),
                                             "deposits": list(members[g]), "buffer_m": float(b),
                                             "smoothing_m": float(smoothing_m), "leaky": False})


def _check_fraction(f):
    if not 0 < float(f) < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {f}")
