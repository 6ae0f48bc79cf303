"""Fitting one estimator on one split and scoring it: the step every protocol, baseline
and buffer sweep repeats, so each is scored the same way.
"""

from __future__ import annotations

import numpy as np

from voxprospect.learn.folds import Split
from voxprospect.vocabulary import PROTOCOLS

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


def fit_and_score(make_estimator, X, labels, split: Split, centres=None, cell_size=None, on_fitted=None,
                  audit=None):
    """Fit a fresh estimator on ``split.train`` and score it on ``split.test``.

    ``centres`` (all samples') and ``cell_size`` reach fits that take them
    (:func:`fit_with_context`): the CNN's inner validation is cut from the training
    side's own centres. ``on_fitted(estimator, split)``, when given, is called with the
    fitted model after scoring. ``audit`` (a :class:`voxprospect.learn.audit.AuditSet`):
    drilled ore and waste cells at least the fold's buffer from its training windows
    are scored by the same fitted model (``row["_audit"]``, for the caller to pool).

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
        est = fresh_estimator(make_estimator)
        if getattr(est, "wants_sample_index", False):
            est.fit(X[split.train], y_train, sample_index=split.train)
        else:
            fit_with_context(est, X[split.train], y_train,
                             centres=None if centres is None else np.asarray(centres)[split.train],
                             cell_size=cell_size)
        p = np.asarray(est.predict_proba(X[split.test]))[:, 1]
        row = classification_metrics(y_test, p)
        if audit is not None and centres is not None:
            from voxprospect.learn.audit import score_audit
            row["_audit"] = score_audit(est, audit, np.asarray(centres)[split.train],
                                        float(split.info.get("buffer_m", 0.0)))
        if getattr(est, "fold_details_", None):
            row.update(est.fold_details_)
        if on_fitted is not None:
            on_fitted(est, split)
    row.update(n_train=int(len(split.train)), n_test=int(len(split.test)),
               n_dropped_gap=int(len(split.dropped)), buffer_m=float(split.info.get("buffer_m", 0.0)),
               fold_id=split.fingerprint(),
               **{k: v for k, v in split.info.items() if k in ("deposit", "deposits", "block_m")})
    return row, p


def fresh_estimator(make_estimator):
    if hasattr(make_estimator, "fit") and hasattr(make_estimator, "get_params"):
        from sklearn.base import clone
        return clone(make_estimator)
    return make_estimator()


def check_protocols(protocols):
    protocols = [("random" if p == "paper" else p) for p in protocols]
    unknown = sorted(set(protocols) - set(PROTOCOLS))
    if unknown:
        raise ValueError(f"unknown protocol(s) {unknown}; use {list(PROTOCOLS)} (or 'paper' for 'random')")
    return list(dict.fromkeys(protocols))


def sample_fields(samples):
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
