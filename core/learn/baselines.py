"""Baselines scored beside every model, on the same folds.

A reviewer's first question of a prospectivity model is what it adds over simple
rules. Two baselines answer it; both see only the windows' centre voxels and are
fitted on the training fold alone, exactly like the models:

``best_channel`` (:class:`BestChannelBaseline`)
    The single evidence channel, with its sign, that best separates the training
    fold's classes (ROC AUC on the training fold's centre voxels). Its score on the
    test fold is that channel's signed centre value. Probabilities come from a
    logistic squashing centred between the two training classes' medians, so the
    ranking (and the AUC) is the channel's own.
``logistic`` (:class:`CentreLogisticBaseline`)
    A logistic regression (scikit-learn, L2, standardised features) on the centre
    voxel of every channel.

Both expose the estimator face the protocols use (``fit``, ``predict_proba``,
``get_params``), so :func:`voxprospect.learn.protocols.evaluate_protocols` scores them like
any model.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

BASELINES = ("best_channel", "logistic")
BASELINE_NOTES = {
    "best_channel": "best single evidence channel (centre voxel), channel and sign chosen on the training fold",
    "logistic": "logistic regression (scikit-learn, L2, standardised) on every channel's centre voxel",
}


def centre_features(X) -> np.ndarray:
    """The centre voxel of every channel, ``(N, C)`` float64, from windows ``(N, C, k, k, k)``."""
    X = np.asarray(X)
    if X.ndim == 2:
        return X.astype(np.float64)
    if X.ndim != 5:
        raise ValueError(f"windows must be (N, C, k, k, k), got shape {X.shape}")
    r = X.shape[2] // 2
    return X[:, :, r, r, r].astype(np.float64)


class BestChannelBaseline(ClassifierMixin, BaseEstimator):
    """The best single channel, with its sign, chosen on the training data only.

    Parameters
    ----------
    channels : list of str, optional
        Channel names, for the record (``chosen_``).
    """

    def __init__(self, channels=None):
        self.channels = channels

    def fit(self, X, y):
        from sklearn.metrics import roc_auc_score

        F = centre_features(X)
        y = np.asarray(y).reshape(-1).astype(int)
        if np.unique(y).size < 2:
            raise ValueError("the best-channel baseline needs both classes to choose a channel")
        best = None
        for c in range(F.shape[1]):
            auc = float(roc_auc_score(y, F[:, c]))
            for sign, a in ((1.0, auc), (-1.0, 1.0 - auc)):
                if best is None or a > best[0] + 1e-12:
                    best = (a, c, sign)
        self.train_auc_, self.channel_, self.sign_ = best
        s = self.sign_ * F[:, self.channel_]
        self.centre_ = 0.5 * (np.median(s[y == 1]) + np.median(s[y == 0]))
        spread = float(np.std(s))
        self.scale_ = spread if spread > 0 else 1.0
        self.classes_ = np.array([0, 1])
        self.n_channels_ = F.shape[1]
        names = list(self.channels) if self.channels is not None else None
        self.chosen_ = {"channel": names[self.channel_] if names and len(names) == F.shape[1] else int(self.channel_),
                        "sign": "+" if self.sign_ > 0 else "-", "train_auc": self.train_auc_}
        self.fold_details_ = {"chosen": dict(self.chosen_)}
        return self

    def decision_function(self, X):
        return self.sign_ * centre_features(X)[:, self.channel_]

    def predict_proba(self, X):
        z = (self.decision_function(X) - self.centre_) / self.scale_
        p1 = 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))
        return np.column_stack([1.0 - p1, p1])

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


class CentreLogisticBaseline(ClassifierMixin, BaseEstimator):
    """Logistic regression on the centre voxels (scikit-learn), features standardised on the training fold.

    Parameters
    ----------
    C : float
        Inverse L2 strength (scikit-learn's default 1.0).
    seed : int
    """

    def __init__(self, C: float = 1.0, seed: int | None = 0):
        self.C = C
        self.seed = seed

    def fit(self, X, y):
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        F = centre_features(X)
        y = np.asarray(y).reshape(-1).astype(int)
        self.model_ = make_pipeline(StandardScaler(),
                                    LogisticRegression(C=float(self.C), max_iter=1000, random_state=self.seed))
        self.model_.fit(F, y)
        self.classes_ = np.array([0, 1])
        self.n_channels_ = F.shape[1]
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(centre_features(X))

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def make_baseline(name: str, channels=None, seed: int | None = 0):
    """A fresh baseline estimator by name (``"best_channel"`` or ``"logistic"``)."""
    if name == "best_channel":
        return BestChannelBaseline(channels=list(channels) if channels is not None else None)
    if name == "logistic":
        return CentreLogisticBaseline(seed=seed)
    raise ValueError(f"unknown baseline {name!r}; use one of {BASELINES}")


def skill_over_baselines(models: dict, baselines: dict) -> dict:
    """What each model adds over each baseline: the AUC difference per protocol.

    Parameters
    ----------
    models, baselines : dict
        ``{name: {protocol: metrics}}``.

    Returns
    -------
    dict
        ``{model: {protocol: {baseline: auc_model - auc_baseline or None}}}``.
    """
    out = {}
    for m, mp in models.items():
        out[m] = {}
        for p, ms in mp.items():
            row = {}
            for b, bp in baselines.items():
                bs = bp.get(p, {})
                a, c = ms.get("auc"), bs.get("auc")
                row[b] = None if a is None or c is None else float(a - c)
            out[m][p] = row
    return out
