"""Uncertainty of a prospectivity model: a deep ensemble of CNNs, the forest's per-tree spread.

A single network gives one probability per voxel and nothing about how sure it is.
A **deep ensemble** (Lakshminarayanan et al. 2017) trains ``n_members`` copies of
the same network from different seeds (weights, shuffles, validation blocks and
augmentation draws all follow the seed); where the training data pin the answer
down the members agree, and away from them they disagree. The random forest is
already an ensemble: its trees' spread is read the same way.

Every model therefore gives, per window, a set of *member* probabilities of class 1
(``(M, N)``: ``M`` networks, or the forest's trees, or ``M = 1`` for any other
model), and three numbers summarise them (:func:`summarise_members`):

* ``mean``: the ensemble's probability (the forest's own ``predict_proba``, summed
  tree by tree in the order scikit-learn sums them, so it is the same number);
* ``std``: the members' standard deviation (population, ``ddof = 0``); 0 for a
  single model, which measures no spread at all;
* ``q10``: the 10th percentile over members (:data:`QUANTILE`, linear
  interpolation between order statistics): a cautious reading of the prospectivity
  that only a voxel most members agree on keeps high.

Seeds: member 0 uses the ensemble's ``seed`` itself, so ``n_members = 1`` is the
single model trained today, bit for bit; member ``i > 0`` uses a seed derived from
``(seed, i)`` by numpy's ``SeedSequence`` (:func:`member_seeds`), recorded in
``member_seeds_`` and in the checkpoint.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone

from voxprospect.learn.estimators import CLASSES, check_labels, check_windows
from voxprospect.learn.members import QUANTILE, summarise_members

__all__ = ["QUANTILE", "DEFAULT_MEMBERS", "MAX_MEMBERS", "DeepEnsemble", "member_seeds", "member_probabilities",
           "summarise_members", "predict_uncertainty", "uncertainty_record", "n_members_of"]
#: Default number of ensemble members for the CNNs (project key ``training.ensemble``).
DEFAULT_MEMBERS = 5
#: Most members an ensemble (and its checkpoint) may hold.
MAX_MEMBERS = 64
#: Windows scored at once when a model's members are summarised (bounds the
#: ``(M, N)`` member array: 77 trees x 65,536 windows x 8 bytes = 40 MB).
SUMMARY_BATCH = 65_536


def member_seeds(seed: int, n_members: int) -> list[int]:
    """Seeds of the ``n_members`` members of an ensemble seeded with ``seed``.

    Member 0 keeps ``seed`` (one member is the single model); member ``i`` gets
    the first 32-bit word of ``numpy.random.SeedSequence([seed, i])``, so the
    seeds are reproducible, distinct and unrelated to each other's streams.
    """
    n = check_members(n_members)
    seed = int(seed)
    out = [seed]
    for i in range(1, n):
        out.append(int(np.random.SeedSequence([seed, i]).generate_state(1, np.uint32)[0]))
    return out


def check_members(n_members) -> int:
    """``n_members`` as an int from 1 to :data:`MAX_MEMBERS`, or ValueError."""
    if isinstance(n_members, bool) or not isinstance(n_members, (int, np.integer)):
        raise ValueError(f"the ensemble size must be a whole number, got {n_members!r}")
    if not 1 <= int(n_members) <= MAX_MEMBERS:
        raise ValueError(f"the ensemble size must be from 1 to {MAX_MEMBERS}, got {n_members}")
    return int(n_members)


class DeepEnsemble(ClassifierMixin, BaseEstimator):
    """``n_members`` CNNs trained from different seeds; their mean is the prediction.

    Parameters
    ----------
    estimator : CNNClassifier, optional
        The member template (unfitted; default ``CNNClassifier()``); each member is a
        clone with ``seed`` replaced by its own (:func:`member_seeds`).
    n_members : int
        1 to :data:`MAX_MEMBERS`; 1 is the template trained once with ``seed``.
    seed : int
        The ensemble's seed.

    Attributes
    ----------
    estimators_ : list of CNNClassifier
        The fitted members, in seed order.
    member_seeds_ : list of int
    classes_ : ndarray ``[0, 1]``
    n_channels_, window_ : int
    n_params_ : int
        Parameters of all members together.
    history_ : list of dict
        Member 0's training curves (``member_histories_`` holds every member's).
    """

    flops_unit = "FLOPs per window, all members (2 x multiply-accumulates, torch.utils.flop_counter)"

    def __init__(self, estimator=None, n_members=DEFAULT_MEMBERS, seed=42):
        self.estimator = estimator
        self.n_members = n_members
        self.seed = seed

    def _template(self):
        if self.estimator is not None:
            return self.estimator
        from voxprospect.learn.estimators import CNNClassifier
        return CNNClassifier()

    @property
    def preset(self) -> str:
        return str(getattr(self._template(), "preset", "DL4"))

    def fit(self, X, y, validation_data=None, centres=None, cell_size=None):
        """Fit every member on the same windows, each from its own seed.

        Parameters are those of :meth:`CNNClassifier.fit`. The template's
        ``progress`` callback, when set, sees each member's epochs scaled into the
        member's share of the whole fit.

        Returns
        -------
        self
        """
        X = check_windows(X)
        y = check_labels(y, X.shape[0])
        template = self._template()
        seeds = member_seeds(42 if self.seed is None else self.seed, self.n_members)
        progress = template.get_params().get("progress")
        members = []
        for i, s in enumerate(seeds):
            est = clone(template).set_params(seed=s)
            if progress is not None:
                est.set_params(progress=_member_progress(progress, i, len(seeds)))
            kw = {"validation_data": validation_data} if validation_data is not None else {}
            members.append(est.fit(X, y, centres=centres, cell_size=cell_size, **kw))
        self.estimators_ = members
        self.member_seeds_ = seeds
        self.classes_ = CLASSES.copy()
        self.n_channels_ = members[0].n_channels_
        self.window_ = members[0].window_
        self.n_params_ = int(sum(m.n_params_ for m in members))
        self.member_histories_ = [m.history_ for m in members]
        self.history_ = members[0].history_
        self.best_epoch_ = [int(m.best_epoch_) for m in members]
        self.validation_ = members[0].validation_
        self.augmentation_ = members[0].augmentation_
        self.training_path_ = members[0].training_path_
        return self

    @property
    def fold_details_(self) -> dict:
        """What a protocol fold records of this fit: each member's epochs run and epoch kept."""
        if not hasattr(self, "member_histories_"):
            return {}
        return {"epochs_run": [len(h) for h in self.member_histories_], "best_epoch": list(self.best_epoch_)}

    # -- the members ------------------------------------------------------

    @property
    def members(self) -> list:
        """The fitted member estimators (what :func:`member_probabilities` and the
        zero-skip path iterate over)."""
        self._check_fitted()
        return list(self.estimators_)

    def _check_fitted(self):
        if not hasattr(self, "estimators_"):
            from sklearn.exceptions import NotFittedError
            raise NotFittedError("this DeepEnsemble is not fitted yet; call fit first")

    def predict_members(self, X) -> np.ndarray:
        """Class-1 probability of each window by each member, ``(M, N)`` float64."""
        self._check_fitted()
        X = check_windows(X, self.n_channels_, self.window_)
        return np.stack([m.predict_proba(X)[:, 1] for m in self.estimators_])

    def predict_proba(self, X) -> np.ndarray:
        """The members' mean probability of each class, ``(N, 2)`` (one member: its own)."""
        self._check_fitted()
        if len(self.estimators_) == 1:
            return self.estimators_[0].predict_proba(check_windows(X, self.n_channels_, self.window_))
        mean = summarise_members(self.predict_members(X))["mean"]
        return np.column_stack([1.0 - mean, mean])

    def predict(self, X):
        """Class (0 or 1) of each window: the more probable one under the mean."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def predict_uncertainty(self, X) -> dict:
        """``{"mean", "std", "q10"}`` of the members' class-1 probabilities, each ``(N,)``."""
        return summarise_members(self.predict_members(X))

    # -- costs and plots --------------------------------------------------

    def count_parameters(self) -> int:
        """Parameters of all members together."""
        self._check_fitted()
        return int(sum(m.count_parameters() for m in self.estimators_))

    def flops_per_window(self) -> int:
        """FLOPs to score one window with every member."""
        self._check_fitted()
        return int(sum(m.flops_per_window() for m in self.estimators_))

    def plot_history(self, path, title=None):
        """Training curves of member 0 (:meth:`CNNClassifier.plot_history`), titled with the ensemble size."""
        self._check_fitted()
        n = len(self.estimators_)
        return self.estimators_[0].plot_history(
            path, title=title and f"{title} (member 1 of {n})" or f"{self.preset} member 1 of {n}")


def _member_progress(progress, i: int, n: int):
    def report(fraction, message):
        progress((i + float(fraction)) / n, f"member {i + 1}/{n}: {message}")
    return report


# -- member probabilities of any model ------------------------------------------------

def n_members_of(model) -> int:
    """How many members' probabilities :func:`member_probabilities` gives for ``model``."""
    members = getattr(model, "members", None)
    if isinstance(members, (list, tuple)) and members:
        return len(members)
    forest = _forest_of(model)
    if forest is not None:
        return int(len(forest.estimators_) if hasattr(forest, "estimators_") else forest.n_trees)
    return 1


def _forest_of(model):
    """The forest behind a model (sklearn forest or checkpoint tree-walker), or None."""
    forest = getattr(model, "forest_", None)
    if forest is not None and hasattr(forest, "estimators_"):
        return forest
    forest = getattr(model, "forest", None)
    if forest is not None and hasattr(forest, "tree_probabilities"):
        return forest
    return None


def member_probabilities(model, X) -> np.ndarray:
    """Class-1 probability of windows ``X`` by every member of ``model``, ``(M, N)`` float64.

    * a :class:`DeepEnsemble` (or any model with ``predict_members``): its members;
    * a loaded ensemble checkpoint (``members``, a list of networks): each network;
    * a random forest (:class:`~voxprospect.learn.estimators.RandomForestModel` or a
      loaded forest checkpoint): each tree;
    * anything else with ``predict_proba``: one row, the model's own probability.
    """
    if hasattr(model, "predict_members"):
        return np.asarray(model.predict_members(X), dtype=np.float64)
    X = np.asarray(X, dtype=np.float32)
    forest = _forest_of(model)
    if forest is not None:
        from voxprospect.learn.estimators import forest_features

        features = getattr(model, "features", None) or model.metadata["architecture"]["features"]
        F = np.ascontiguousarray(forest_features(check_windows(X), features), dtype=np.float32)
        if hasattr(forest, "estimators_"):
            rows = [np.asarray(t.predict_proba(F), dtype=np.float64)[:, 1] for t in forest.estimators_]
        else:
            rows = [p[:, 1] for p in forest.tree_probabilities(F)]
        return np.stack(rows) if rows else np.zeros((0, len(X)))
    members = getattr(model, "members", None)
    if isinstance(members, (list, tuple)) and len(members) > 1:
        from voxprospect.learn.trainloop import module_probability
        return np.stack([module_probability(m, X, 4096) for m in members])
    proba = np.asarray(model.predict_proba(X), dtype=np.float64)
    classes = getattr(model, "classes_", None)
    col = 1 if classes is None else int(np.flatnonzero(np.asarray(classes) == 1)[0])
    return proba[:, col][None, :]


def predict_uncertainty(model, X, batch_size: int = SUMMARY_BATCH) -> dict:
    """:func:`summarise_members` of :func:`member_probabilities`, in batches of windows.

    Returns
    -------
    dict
        ``mean``, ``std``, ``q10``: float64 arrays ``(N,)``.
    """
    X = np.asarray(X)
    parts = [summarise_members(member_probabilities(model, X[s:s + int(batch_size)]))
             for s in range(0, len(X), int(batch_size))]
    if not parts:
        return {k: np.zeros(0) for k in ("mean", "std", "q10")}
    return {k: np.concatenate([p[k] for p in parts]) for k in ("mean", "std", "q10")}


def uncertainty_record(model) -> dict:
    """What ``report.json``'s ``uncertainty`` says about a model's spread."""
    n = n_members_of(model)
    if _forest_of(model) is not None:
        source = "random forest: spread of its trees' probabilities"
    elif n > 1:
        source = "deep ensemble: spread of independently seeded networks"
    else:
        source = "single model: no spread is measured (prospectivity_std is 0, prospectivity_q10 the value)"
    rec = {"members": n, "source": source, "std": "population standard deviation over members (ddof 0)",
           "quantile": QUANTILE, "layers": {"prospectivity": "mean over members",
                                            "prospectivity_std": "standard deviation over members",
                                            "prospectivity_q10": f"{QUANTILE:.0%} quantile over members"}}
    seeds = getattr(model, "member_seeds_", None) or (getattr(model, "metadata", None) or {}).get("member_seeds")
    if seeds:
        rec["member_seeds"] = [int(s) for s in seeds]
    return rec
