"""The paper's random-forest baseline and its Bayesian hyper-parameter search.

Split out of :mod:`voxprospect.learn.estimators` (issue 10); see there for the
shared conventions of ``X``, ``y`` and ``predict_proba``.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from voxprospect.learn.checks import CLASSES, centre_voxels, check_labels, check_windows


def forest_features(X: np.ndarray, features: str) -> np.ndarray:
    if features == "centre":
        return centre_voxels(X)
    if features == "window":
        return X.reshape(X.shape[0], -1)
    raise ValueError(f"features must be 'centre' or 'window', got {features!r}")


class RandomForestModel(ClassifierMixin, BaseEstimator):
    """The paper's random-forest baseline on centre-voxel evidence.

    Parameters
    ----------
    n_estimators, max_depth, max_features : int
        77, 7 and 3: the paper's Bayesian-optimised values. ``max_features`` is
        capped at the number of features (a 2-channel stack cannot offer 3).
    features : {"centre", "window"}
        ``"centre"`` uses the evidence at each window's centre voxel ``(N, C)``
        (the paper); ``"window"`` the flattened window ``(N, C*k^3)``.
    random_state : int
    n_jobs : int

    Attributes
    ----------
    forest_ : sklearn.ensemble.RandomForestClassifier
    classes_, n_channels_, window_, n_features_, n_params_
    """

    flops_unit = "comparisons per window (worst case: sum of tree depths), not FLOPs"

    def __init__(self, n_estimators=77, max_depth=7, max_features=3, features="centre",
                 random_state=42, n_jobs=1):
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.max_features = max_features
        self.features = features
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X, y):
        """Grow the forest on windows ``X`` (features taken as ``features`` says).

        Returns
        -------
        self

        Raises
        ------
        NoPositivesError
            If ``y`` holds only one class.
        """
        from sklearn.ensemble import RandomForestClassifier

        X = check_windows(X)
        y = check_labels(y, X.shape[0])
        F = forest_features(X, self.features)
        max_features = self.max_features
        if isinstance(max_features, (int, np.integer)):
            max_features = int(min(max_features, F.shape[1]))
        self.forest_ = RandomForestClassifier(n_estimators=int(self.n_estimators), max_depth=self.max_depth,
                                              max_features=max_features, random_state=self.random_state,
                                              n_jobs=self.n_jobs)
        self.forest_.fit(F, y)
        self.classes_ = CLASSES.copy()
        self.n_channels_ = int(X.shape[1])
        self.window_ = int(X.shape[2])
        self.n_features_ = int(F.shape[1])
        self.n_params_ = self.count_parameters()
        return self

    def _check_fitted(self):
        if not hasattr(self, "forest_"):
            from sklearn.exceptions import NotFittedError
            raise NotFittedError("this RandomForestModel is not fitted yet; call fit first")

    def predict_proba(self, X):
        """Probability of each class, ``(N, 2)``; column 1 is the orebody class."""
        self._check_fitted()
        X = check_windows(X, self.n_channels_, self.window_)
        proba = self.forest_.predict_proba(forest_features(X, self.features))
        # forest_.classes_ is [0, 1] because fit demands both classes
        return proba

    def predict(self, X):
        """Class (0 or 1) of each window: the more probable one."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def count_parameters(self) -> int:
        """Learned numbers in the forest.

        Each split node stores a feature index and a threshold (2 numbers), each
        leaf its class distribution (2 numbers for two classes). The paper's
        "NP" of 58,905 equals 77 trees x 255 nodes (a full depth-7 tree) x 3,
        i.e. a theoretical maximum, not a count of a fitted forest.
        """
        self._check_fitted()
        total = 0
        for tree in self.forest_.estimators_:
            t = tree.tree_
            leaves = int((t.children_left == -1).sum())
            total += 2 * (t.node_count - leaves) + t.n_classes[0] * leaves
        return int(total)

    def flops_per_window(self) -> int:
        """Worst-case threshold comparisons to score one window (sum of tree depths).

        These are comparisons, not floating-point arithmetic; the paper's RF
        "FLOPs" simply repeat its "NP" and are not reproduced.
        """
        self._check_fitted()
        return int(sum(tree.tree_.max_depth for tree in self.forest_.estimators_))

    @classmethod
    def tune(cls, X, y, n_trials=30, seed=42, cv=3, features="centre", n_jobs=1, search_space=None):
        """Bayesian hyper-parameter search (optuna's TPE sampler, seeded).

        See :func:`tune_random_forest`.
        """
        return tune_random_forest(X, y, n_trials=n_trials, seed=seed, cv=cv, features=features,
                                  n_jobs=n_jobs, search_space=search_space)


#: Ranges searched by :func:`tune_random_forest` (inclusive integer bounds);
#: the paper's optimum (77, 7, 3) lies inside.
RF_SEARCH_SPACE = {"n_estimators": (10, 200), "max_depth": (2, 15), "max_features": (1, 7)}


def tune_random_forest(X, y, n_trials=30, seed=42, cv=3, features="centre", n_jobs=1, search_space=None,
                       observer=None):
    """Choose the forest's hyper-parameters by Bayesian optimisation, as the paper did.

    Optuna's tree-structured Parzen estimator (seeded) maximises the mean ROC AUC
    over cross-validation folds.

    Parameters
    ----------
    X : ndarray, shape (N, C, k, k, k)
    y : ndarray of {0, 1}
    n_trials : int
    seed : int
        Seeds the sampler, the folds and the forests.
    cv : int or iterable of (train_idx, test_idx)
        An int gives stratified random folds (which leak between neighbouring
        stride-1 windows); pass spatial folds, e.g. from
        :func:`voxprospect.learn.protocols.split_spatial`, for an honest search.
    features : {"centre", "window"}
    n_jobs : int
    search_space : dict, optional
        ``{name: (low, high)}`` overriding :data:`RF_SEARCH_SPACE`.
    observer : callable, optional
        ``observer(train_rows, test_rows)`` for every fit the objective makes (rows of
        ``X``); nested tuning records with it which samples the search has seen.

    Returns
    -------
    dict
        ``best_params`` (``n_estimators``, ``max_depth``, ``max_features``),
        ``best_score`` (mean AUC), ``n_trials`` and ``trials`` (list of
        ``{number, params, score}``).
    """
    import optuna
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    X = check_windows(X)
    y = check_labels(y, X.shape[0])
    F = forest_features(X, features)
    space = dict(RF_SEARCH_SPACE)
    space.update(search_space or {})
    lo, hi = space["max_features"]
    space["max_features"] = (min(lo, F.shape[1]), min(hi, F.shape[1]))
    if isinstance(cv, (int, np.integer)):
        folds = list(StratifiedKFold(n_splits=int(cv), shuffle=True, random_state=seed).split(F, y))
    else:
        folds = [(np.asarray(a), np.asarray(b)) for a, b in cv]

    def objective(trial):
        params = {name: trial.suggest_int(name, int(a), int(b)) for name, (a, b) in space.items()}
        scores = []
        for train_idx, test_idx in folds:
            if observer is not None:
                observer(train_idx, test_idx)
            model = RandomForestModel(**params, features="centre", random_state=seed, n_jobs=n_jobs)
            # F is already the feature matrix: wrap it as 1-voxel windows
            model.fit(F[train_idx][:, :, None, None, None], y[train_idx])
            p = model.predict_proba(F[test_idx][:, :, None, None, None])[:, 1]
            if np.unique(y[test_idx]).size == 2:
                scores.append(roc_auc_score(y[test_idx], p))
        return float(np.mean(scores)) if scores else 0.0

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=int(n_trials))
    trials = [{"number": t.number, "params": dict(t.params), "score": t.value}
              for t in study.trials if t.value is not None]
    return {"best_params": dict(study.best_params), "best_score": float(study.best_value),
            "n_trials": len(trials), "trials": trials, "sampler": "optuna TPE", "seed": seed}
