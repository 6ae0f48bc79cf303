"""Evaluation protocols: how samples are split into training and held-out windows.

Three protocols, always reported side by side (METHOD.md, Samples):

``random`` (alias ``paper``)
    The paper's 7:3 random split. **It leaks**: with stride-1 windows a test window
    usually has a training neighbour sharing 26 of its 27 voxels, so the model is
    scored on data it has almost seen and every score is inflated. Kept only to
    compare with the paper; never the only number shown.
``spatial``
    The samples' window centres are binned into cubic spatial blocks; whole blocks
    go to the test set (seeded, aiming at ``test_fraction`` of each class). Then a
    gap: every training sample whose window overlaps any test window (Chebyshev
    distance between centres < window size) is dropped, so no voxel is shared
    between a training and a test window.
``deposit``
    Leave one deposit out: each labelled deposit's positives form the test set
    once, with negatives held out by spatial blocks in the same proportion and the
    same gap rule; metrics are pooled over the folds and also given per fold.

Each split is a :class:`Split`, which unpacks as ``train, test = split``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from voxprospect.errors import NoPositivesError

from voxprospect.vocabulary import PROTOCOLS
PROTOCOL_NOTES = {
    "random": "paper's 7:3 random split of stride-1 windows; leaks (neighbouring train and test "
              "windows share voxels) and inflates scores",
    "spatial": "spatial blocks held out, training windows overlapping any test window dropped "
               "(gap >= window size); no voxel shared between train and test",
    "deposit": "leave one deposit out; negatives held out by spatial blocks; same gap rule",
}


@dataclass
class Split:
    """Indices of the training and held-out samples of one split.

    Attributes
    ----------
    train, test : ndarray of int64
        Sample indices (sorted).
    dropped : ndarray of int64
        Samples left out of training because their window overlapped a test
        window (empty for the random split).
    info : dict
        How the split was made (protocol, block size, deposit, seed...).
    """

    train: np.ndarray
    test: np.ndarray
    dropped: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    info: dict = field(default_factory=dict)

    def __iter__(self):
        return iter((self.train, self.test))


# ------------------------------------------------------------------ splits


def split_random(n: int, test_fraction: float = 0.3, seed: int | None = 42, labels=None) -> Split:
    """The paper's random split (7:3 by default). Leaks; see the module notes.

    Parameters
    ----------
    n : int
        Number of samples.
    test_fraction : float
    seed : int
    labels : array-like, optional
        When given, the split is stratified (each class split in the same ratio).

    Returns
    -------
    Split
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
                                    "leaky": True})


def default_block_size(centres: np.ndarray, window: int) -> int:
    """Default spatial block edge, in cells: a fifth of the samples' widest extent,
    at least three windows wide (so the gap does not eat most of the training set)."""
    centres = np.asarray(centres).reshape(-1, 3)
    extent = int((centres.max(axis=0) - centres.min(axis=0)).max()) + 1 if len(centres) else 1
    return int(max(3 * int(window), int(np.ceil(extent / 5))))


def _block_ids(centres: np.ndarray, block: int) -> np.ndarray:
    cells = (centres - centres.min(axis=0)) // int(block)
    _, ids = np.unique(cells, axis=0, return_inverse=True)
    return ids.reshape(-1)


def overlapping(centres: np.ndarray, candidates: np.ndarray, held_out: np.ndarray, window: int) -> np.ndarray:
    """Which of ``candidates`` have a window sharing a voxel with a ``held_out`` window.

    Two ``k``-windows share a voxel exactly when the Chebyshev distance between
    their centres is below ``k``.

    Returns
    -------
    ndarray of bool, one per candidate
    """
    from scipy.spatial import cKDTree

    candidates = np.asarray(candidates, np.int64)
    held_out = np.asarray(held_out, np.int64)
    if len(candidates) == 0 or len(held_out) == 0:
        return np.zeros(len(candidates), bool)
    tree = cKDTree(centres[held_out].astype(np.float64))
    d, _ = tree.query(centres[candidates].astype(np.float64), k=1, p=np.inf,
                      distance_upper_bound=float(window))
    return d < int(window)


def _apply_gap(centres, train, test, window):
    clash = overlapping(centres, train, test, window)
    return np.sort(train[~clash]), np.sort(train[clash])


def split_spatial(centres, labels, window: int, block_size_cells: int | None = None,
                  test_fraction: float = 0.3, seed: int | None = 42) -> Split:
    """Hold out whole spatial blocks, with a gap of at least the window size.

    Parameters
    ----------
    centres : ndarray of int, shape (N, 3)
        Window centres (grid indices).
    labels : ndarray of {0, 1}, shape (N,)
    window : int
        Window size ``k``.
    block_size_cells : int, optional
        Edge of the cubic blocks, in cells; default :func:`default_block_size`.
    test_fraction : float
        Target share of each class held out.
    seed : int

    Returns
    -------
    Split
        ``dropped`` holds the training samples removed by the gap.

    Raises
    ------
    NoPositivesError
        If the positives sit in a single block, so one side would have none.
    """
    _check_fraction(test_fraction)
    centres = np.asarray(centres, np.int64).reshape(-1, 3)
    labels = np.asarray(labels).reshape(-1)
    block = int(block_size_cells or default_block_size(centres, window))
    ids = _block_ids(centres, block)
    n_blocks = int(ids.max()) + 1 if len(ids) else 0
    pos_in = np.bincount(ids, weights=(labels == 1), minlength=n_blocks)
    neg_in = np.bincount(ids, weights=(labels == 0), minlength=n_blocks)
    positive_blocks = int((pos_in > 0).sum())
    if positive_blocks < 2:
        raise NoPositivesError(f"all positives fall in {positive_blocks} spatial block(s) of {block} cells; "
                               "use a smaller block_size_cells for a spatial split")
    target_pos, target_neg = test_fraction * pos_in.sum(), test_fraction * neg_in.sum()
    rng = np.random.default_rng(seed)
    in_test = np.zeros(n_blocks, bool)
    got_pos = got_neg = 0.0
    pos_blocks_left = positive_blocks
    for b in rng.permutation(n_blocks):
        if pos_in[b] > 0:
            # keep at least one block of positives for training
            if got_pos < target_pos and pos_blocks_left > 1:
                in_test[b] = True
                got_pos += pos_in[b]
                got_neg += neg_in[b]
                pos_blocks_left -= 1
        elif got_neg < target_neg:
            in_test[b] = True
            got_neg += neg_in[b]
    test = np.flatnonzero(in_test[ids]).astype(np.int64)
    train = np.flatnonzero(~in_test[ids]).astype(np.int64)
    train, dropped = _apply_gap(centres, train, test, window)
    return Split(train, test, dropped, info={"protocol": "spatial", "block_size_cells": block,
                                             "n_blocks": n_blocks, "n_test_blocks": int(in_test.sum()),
                                             "test_fraction": test_fraction, "gap_cells": int(window),
                                             "seed": seed, "leaky": False})


def split_deposit(centres, labels, deposit, window: int, block_size_cells: int | None = None,
                  seed: int | None = 42) -> list[Split]:
    """Leave-one-deposit-out folds.

    Fold ``d`` holds out every positive of deposit ``d`` and a share of the
    negatives (by spatial blocks, in the proportion deposit ``d`` has of all
    positives); training samples whose window overlaps a test window are dropped.

    Parameters
    ----------
    centres : ndarray of int, shape (N, 3)
    labels : ndarray of {0, 1}
    deposit : ndarray of int, shape (N,)
        Deposit id of each positive (negatives' values are ignored).
    window : int
    block_size_cells : int, optional
    seed : int

    Returns
    -------
    list of Split
        One per deposit, ``info["deposit"]`` naming it.

    Raises
    ------
    NoPositivesError
        If fewer than two deposits are labelled.
    """
    centres = np.asarray(centres, np.int64).reshape(-1, 3)
    labels = np.asarray(labels).reshape(-1)
    deposit = np.asarray(deposit).reshape(-1)
    pos = labels == 1
    ids = np.unique(deposit[pos])
    if len(ids) < 2:
        raise NoPositivesError(f"leave-one-deposit-out needs at least two labelled deposits, found {len(ids)}")
    block = int(block_size_cells or default_block_size(centres, window))
    blocks = _block_ids(centres, block)
    negatives = np.flatnonzero(~pos)
    folds = []
    for fold, d in enumerate(ids):
        rng = np.random.default_rng(None if seed is None else [int(seed), fold])
        held_pos = np.flatnonzero(pos & (deposit == d))
        target_neg = len(negatives) * len(held_pos) / pos.sum()
        held_neg_blocks, got = set(), 0
        neg_blocks, neg_counts = np.unique(blocks[negatives], return_counts=True)
        for i in rng.permutation(len(neg_blocks)):
            if got >= target_neg:
                break
            held_neg_blocks.add(int(neg_blocks[i]))
            got += int(neg_counts[i])
        held_neg = negatives[np.isin(blocks[negatives], list(held_neg_blocks))]
        test = np.sort(np.concatenate([held_pos, held_neg])).astype(np.int64)
        train = np.setdiff1d(np.arange(len(labels)), test).astype(np.int64)
        train, dropped = _apply_gap(centres, train, test, window)
        folds.append(Split(train, test, dropped, info={"protocol": "deposit", "deposit": _plain(d),
                                                       "block_size_cells": block, "gap_cells": int(window),
                                                       "seed": seed, "leaky": False}))
    return folds


# -------------------------------------------------------------- evaluation


def classification_scores(y_true, proba) -> dict:
    """Accuracy (threshold 0.5), ROC AUC and F1 of class-1 probabilities.

    AUC is None when the held-out set holds a single class.
    """
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    y_true = np.asarray(y_true).reshape(-1).astype(int)
    proba = np.asarray(proba, dtype=np.float64).reshape(-1)
    pred = (proba >= 0.5).astype(int)
    auc = float(roc_auc_score(y_true, proba)) if np.unique(y_true).size == 2 else None
    return {"accuracy": float(accuracy_score(y_true, pred)), "auc": auc,
            "f1": float(f1_score(y_true, pred, zero_division=0))}


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
                       progress=None, cell_size=None) -> dict:
    """Train and score a model under each evaluation protocol.

    Parameters
    ----------
    make_estimator : callable or estimator
        ``make_estimator()`` returns a fresh unfitted estimator (``fit``,
        ``predict_proba``); an estimator instance is cloned for every fit.
    X_windows : ndarray, shape (N, C, k, k, k)
        Windows of the samples, in the samples' order.
    samples : WindowSamples or dict
        ``centres`` (N, 3), ``labels`` (N,), ``window``, and ``deposit`` (N,) for
        the deposit protocol.
    protocols : iterable of {"random", "paper", "spatial", "deposit"}
    seed : int
    test_fraction : float
        Held-out share for ``random`` and ``spatial``.
    block_size_cells : int, optional
        Spatial block edge; default :func:`default_block_size`.
    progress : callable, optional
        ``progress(fraction, message)`` after each fit; may raise
        :class:`~voxprospect.errors.Cancelled`.
    cell_size : (dx, dy, dz), optional
        Passed to fits that take it (the CNN's rotations need square cells).

    Returns
    -------
    dict
        ``{protocol: {accuracy, auc, f1, n_train, n_test, n_dropped_gap, leaky,
        note, ...}}``; ``deposit`` adds ``folds`` (per-deposit scores; the top
        level pools all folds' held-out predictions). A protocol that cannot run
        on these samples (one deposit only, positives in one block) gives
        ``{"skipped": reason}``.
    """
    centres, labels, deposit, window = _sample_fields(samples)
    X = np.asarray(X_windows)
    if X.shape[0] != len(labels):
        raise ValueError(f"{X.shape[0]} windows for {len(labels)} samples")
    protocols = [("random" if p == "paper" else p) for p in protocols]
    unknown = sorted(set(protocols) - set(PROTOCOLS))
    if unknown:
        raise ValueError(f"unknown protocol(s) {unknown}; use {list(PROTOCOLS)} (or 'paper' for 'random')")

    plans = {}
    for name in protocols:
        try:
            if name == "random":
                plans[name] = [split_random(len(labels), test_fraction, seed, labels=labels)]
            elif name == "spatial":
                plans[name] = [split_spatial(centres, labels, window, block_size_cells, test_fraction, seed)]
            else:
                if deposit is None:
                    raise NoPositivesError("the samples carry no deposit ids")
                plans[name] = split_deposit(centres, labels, deposit, window, block_size_cells, seed)
        except NoPositivesError as exc:
            plans[name] = str(exc)
    n_fits = sum(len(p) for p in plans.values() if not isinstance(p, str)) or 1
    done = 0
    results = {}
    for name, plan in plans.items():
        if isinstance(plan, str):
            results[name] = {"skipped": plan, "note": PROTOCOL_NOTES[name]}
            continue
        fold_rows, pooled_y, pooled_p = [], [], []
        for split in plan:
            y_train, y_test = labels[split.train], labels[split.test]
            if np.unique(y_train).size < 2:
                row = {"skipped": "training side holds a single class after the gap"}
            else:
                est = _fresh(make_estimator)
                # the training side's own centres: an inner validation split sees
                # no test window
                fit_with_context(est, X[split.train], y_train, centres=centres[split.train], cell_size=cell_size)
                p = np.asarray(est.predict_proba(X[split.test]))[:, 1]
                row = classification_scores(y_test, p)
                pooled_y.append(y_test)
                pooled_p.append(p)
            row.update(n_train=int(len(split.train)), n_test=int(len(split.test)),
                       n_dropped_gap=int(len(split.dropped)), **{k: v for k, v in split.info.items()
                                                                  if k in ("deposit", "block_size_cells")})
            fold_rows.append(row)
            done += 1
            if progress is not None:
                progress(done / n_fits, f"{name} protocol: fit {done} of {n_fits}")
        if not pooled_y:
            results[name] = {"skipped": fold_rows[0].get("skipped"), "note": PROTOCOL_NOTES[name]}
            continue
        if name == "deposit":
            summary = classification_scores(np.concatenate(pooled_y), np.concatenate(pooled_p))
            summary.update(n_train=int(round(np.mean([r["n_train"] for r in fold_rows]))),
                           n_test=int(sum(r["n_test"] for r in fold_rows)),
                           n_dropped_gap=int(sum(r["n_dropped_gap"] for r in fold_rows)),
                           folds=fold_rows)
        else:
            summary = dict(fold_rows[0])
        summary.update(leaky=(name == "random"), note=PROTOCOL_NOTES[name])
        results[name] = summary
    return results


def _fresh(make_estimator):
    if hasattr(make_estimator, "fit") and hasattr(make_estimator, "get_params"):
        from sklearn.base import clone
        return clone(make_estimator)
    return make_estimator()


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
    return centres, labels, (None if deposit is None else np.asarray(deposit).reshape(-1)), int(window)


def _check_fraction(f):
    if not 0 < float(f) < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {f}")


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v
