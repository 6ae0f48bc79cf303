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

The parts: :mod:`~voxprospect.learn.folds` (the :class:`Split` record and the geometry),
:mod:`~voxprospect.learn.splitters` (the splitters), :mod:`~voxprospect.learn.scoring`
(one fit on one split), :mod:`~voxprospect.learn.buffer_sweep`; this module makes every
protocol's folds once (:func:`make_plans`) and scores a model under each
(:func:`evaluate_protocols`), and keeps the names callers import from here.
"""

from __future__ import annotations

import hashlib

import numpy as np

from voxprospect.errors import NoPositivesError
from voxprospect.learn.buffer_sweep import buffer_sweep, plot_buffer_sweep, sweep_buffers, sweep_table_markdown
from voxprospect.learn.folds import (DEFAULT_MAX_DEPOSIT_FOLDS, DEFAULT_SMOOTHING_M, DEFAULT_SWEEP, PROTOCOL_NOTES,
                                     Split, centres_m, default_block_m, default_block_size, default_buffer_m,
                                     deposit_groups, nearest_distance_m, neighbour_overlap, orebody_bodies,
                                     overlapping, resolve_buffer, shared_voxels, window_extent_m, within_buffer)
from voxprospect.learn.scoring import check_protocols, fit_and_score, fit_with_context, sample_fields
from voxprospect.learn.splitters import (DepositSplitter, RandomSplitter, SpatialBlockSplitter, apply_buffer,
                                         split_deposit, split_heldout, split_random, split_spatial)
from voxprospect.vocabulary import PROTOCOLS

__all__ = ["DEFAULT_MAX_DEPOSIT_FOLDS", "DEFAULT_SMOOTHING_M", "DEFAULT_SWEEP", "PROTOCOLS", "PROTOCOL_NOTES",
           "DepositSplitter", "RandomSplitter", "SpatialBlockSplitter", "Split", "apply_buffer", "buffer_sweep",
           "centres_m", "classification_scores", "default_block_m", "default_block_size", "default_buffer_m",
           "deposit_groups", "evaluate_protocols", "fit_and_score", "fit_with_context", "make_plans",
           "nearest_distance_m", "neighbour_overlap", "orebody_bodies", "overlapping", "plot_buffer_sweep",
           "resolve_buffer", "shared_voxels", "split_deposit", "split_heldout", "split_random", "split_spatial",
           "sweep_buffers", "sweep_table_markdown", "window_extent_m", "within_buffer"]


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
    centres, labels, deposit, window, cs = sample_fields(samples)
    cs = cell_size if cell_size is not None else cs
    protocols = check_protocols(protocols)
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


def evaluate_protocols(make_estimator, X_windows, samples, protocols=PROTOCOLS, seed: int | None = 42,
                       test_fraction: float = 0.3, block_size_cells: int | None = None,
                       progress=None, *, cell_size=None, buffer_m: float | None = None,
                       smoothing_m: float = DEFAULT_SMOOTHING_M, block_m: float | None = None,
                       plans: dict | None = None, on_fitted=None, audit=None, on_fold=None) -> dict:
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
    on_fitted : callable, optional
        ``on_fitted(protocol, split, estimator, X_windows, labels)`` after each fold's
        model is fitted and scored, so that more can be measured on the same fitted
        model and held-out windows without refitting (permutation importance,
        :class:`voxprospect.learn.importance.ImportanceRecorder`).
    audit : voxprospect.learn.audit.AuditSet, optional
        Drilled ore and waste cells scored after each non-leaky fit where they lie at
        least the fold's buffer from its training windows; the pooled held-out ore
        versus drilled-waste AUC is the protocol's ``ore_vs_drilled_waste``.
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
    centres, labels, _, _, sample_cells = sample_fields(samples)
    fit_cells = cell_size if cell_size is not None else sample_cells
    X = np.asarray(X_windows)
    if X.shape[0] != len(labels):
        raise ValueError(f"{X.shape[0]} windows for {len(labels)} samples")
    if plans is None:
        plans = make_plans(samples, protocols, seed, test_fraction, block_size_cells, cell_size, buffer_m,
                           smoothing_m, block_m)
    else:
        plans = {p: plans[p] for p in check_protocols(protocols) if p in plans}
    n_fits = sum(len(p) for p in plans.values() if not isinstance(p, str)) or 1
    done = 0
    results = {}
    for name, plan in plans.items():
        if isinstance(plan, str):
            results[name] = {"skipped": plan, "note": PROTOCOL_NOTES[name]}
            continue
        fold_rows, pooled_y, pooled_p, audits = [], [], [], []
        for split in plan:
            # the training side's own centres: the CNN's inner validation split sees no test window
            hook = None if on_fitted is None else (lambda est, s, name=name: on_fitted(name, s, est, X, labels))
            row, p = fit_and_score(make_estimator, X, labels, split, centres=centres, cell_size=fit_cells,
                                   on_fitted=hook, audit=None if name == "random" else audit)
            audits.append(row.pop("_audit", None))
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
        results[name] = _protocol_summary(name, plan, fold_rows, pooled_y, pooled_p,
                                          audits if audit is not None else None)
    return results


def _protocol_summary(name, plan, fold_rows, pooled_y, pooled_p, audits) -> dict:
    """One protocol's result from its folds' rows (the deposit protocol pools its folds).

    ``audits`` is None when no audit set was given.
    """
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
    if audits is not None and name != "random":
        from voxprospect.learn.audit import audit_summary
        summary["ore_vs_drilled_waste"] = audit_summary(audits)
    return summary


def _plan_id(plan) -> str:
    h = hashlib.sha256("".join(s.fingerprint() for s in plan).encode())
    return h.hexdigest()[:16]
