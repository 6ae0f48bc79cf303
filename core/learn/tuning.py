"""Nested hyper-parameter tuning: the search never sees an outer test sample.

:class:`NestedTunedForest` is an estimator whose ``fit`` first tunes the random
forest (optuna TPE, :func:`voxprospect.learn.tune_random_forest`) on the data it is
given, with *spatial* inner folds (:class:`voxprospect.learn.protocols.SpatialBlockSplitter`
k-fold over blocks, orebodies kept whole, the same metric buffer as the outer
protocols), and then fits the forest with the best parameters on all of that data.
The evaluation protocols hand it only an outer fold's training windows (with their
sample indices, so it can find their centres), so the outer test windows are scored
by a model tuned without them. The samples the objective saw are recorded in
``seen_indices_`` (indices into the study's samples), which the tests check.
"""

from __future__ import annotations

import numpy as np

from voxprospect.errors import NoPositivesError


class NestedTunedForest:
    """Random forest tuned inside whatever training set it is fitted on.

    Parameters
    ----------
    centres : ndarray of int, shape (N, 3)
        Centres of *all* the study's samples; ``fit(..., sample_index=...)`` picks the
        training fold's.
    cell_size : (dx, dy, dz)
    window : int
    buffer_m : float, optional
        Inner folds' buffer (default: the protocols' default).
    n_trials : int
    inner_folds : int
        Spatial inner folds (fewer when the positives sit in fewer blocks).
    seed : int
    n_jobs : int
    rf_params : dict, optional
        Fixed forest parameters not searched (e.g. ``features``).
    """

    wants_sample_index = True

    def __init__(self, centres, cell_size, window: int, buffer_m: float | None = None, n_trials: int = 30,
                 inner_folds: int = 3, seed: int = 42, n_jobs: int = 1, rf_params: dict | None = None,
                 smoothing_m: float | None = None):
        self.centres = np.asarray(centres, np.int64).reshape(-1, 3)
        self.cell_size = tuple(float(v) for v in cell_size)
        self.window = int(window)
        self.buffer_m = buffer_m
        self.smoothing_m = smoothing_m
        self.n_trials = int(n_trials)
        self.inner_folds = int(inner_folds)
        self.seed = seed
        self.n_jobs = n_jobs
        self.rf_params = dict(rf_params or {})

    def get_params(self, deep=False):
        return {"n_trials": self.n_trials, "inner_folds": self.inner_folds, "seed": self.seed,
                "buffer_m": self.buffer_m}

    def inner_splits(self, y, sample_index):
        """Spatial inner folds over the given samples, as rows of the fitted data."""
        from voxprospect.learn.protocols import DEFAULT_SMOOTHING_M, SpatialBlockSplitter

        centres = self.centres[sample_index]
        smoothing = DEFAULT_SMOOTHING_M if self.smoothing_m is None else self.smoothing_m
        last = None
        for k in range(max(self.inner_folds, 2), 1, -1):
            try:
                sp = SpatialBlockSplitter(centres, self.cell_size, self.window, self.buffer_m, smoothing,
                                          n_splits=k, seed=self.seed)
                folds = [(tr, te) for tr, te in sp.split(None, y)
                         if np.unique(y[tr]).size == 2 and np.unique(y[te]).size == 2]
                if folds:
                    return folds, sp
            except NoPositivesError as exc:
                last = exc
        raise NoPositivesError(f"no spatial inner fold with both classes on each side ({last}); cannot tune")

    def fit(self, X, y, sample_index=None):
        from voxprospect.learn import RandomForestModel, tune_random_forest

        X = np.asarray(X)
        y = np.asarray(y).reshape(-1).astype(np.int64)
        sample_index = np.arange(len(y)) if sample_index is None else np.asarray(sample_index, np.int64)
        if len(sample_index) != len(y):
            raise ValueError(f"{len(sample_index)} sample indices for {len(y)} windows")
        seen: set = set()

        def observe(train_rows, test_rows):
            seen.update(sample_index[train_rows].tolist())
            seen.update(sample_index[test_rows].tolist())

        try:
            folds, sp = self.inner_splits(y, sample_index)
            found = tune_random_forest(X, y, n_trials=self.n_trials, seed=self.seed, cv=folds,
                                       n_jobs=self.n_jobs, observer=observe)
            params = dict(found["best_params"])
            self.tuning_ = {"best_params": params, "best_score": found["best_score"],
                            "n_trials": found["n_trials"], "sampler": found["sampler"], "seed": self.seed,
                            "inner_folds": len(folds), "inner_buffer_m": sp.buffer_m,
                            "inner": "spatial blocks k-fold inside the training fold"}
        except NoPositivesError as exc:
            params = {}
            self.tuning_ = {"skipped": str(exc), "best_params": {}}
        self.seen_indices_ = np.array(sorted(seen), np.int64)
        self.best_estimator_ = RandomForestModel(**(self.rf_params | params), random_state=self.seed,
                                                 n_jobs=self.n_jobs).fit(X, y)
        self.fold_details_ = {"tuned_params": params}
        self.classes_ = self.best_estimator_.classes_
        self.n_channels_ = self.best_estimator_.n_channels_
        self.window_ = self.best_estimator_.window_
        return self

    def predict_proba(self, X):
        return self.best_estimator_.predict_proba(X)

    def predict(self, X):
        return self.best_estimator_.predict(X)

    def count_parameters(self) -> int:
        return self.best_estimator_.count_parameters()

    def flops_per_window(self) -> int:
        return self.best_estimator_.flops_per_window()
