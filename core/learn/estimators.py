"""Estimators with the scikit-learn face: the RCNN-LAM classifier and the random forest.

Both take the same input, the window array ``X`` of shape ``(N, C, k, k, k)``
(float32) cut by :func:`voxprospect.learn.samples.extract_windows`, and labels ``y`` in
``{0, 1}`` (1 = orebody voxel). ``predict_proba`` returns ``(N, 2)`` with columns
following ``classes_ == [0, 1]``, so evaluation, whole-grid prediction and
targeting take either model.

``__init__`` only stores hyper-parameters; ``fit`` returns ``self``; everything
learned ends in ``_`` (scikit-learn's convention, so ``clone`` and
``get_params`` work).
"""

from __future__ import annotations

import contextlib
import random

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from voxprospect.errors import NoPositivesError

CLASSES = np.array([0, 1])


def check_windows(X, n_channels=None, window=None) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 5 or X.shape[2] != X.shape[3] or X.shape[3] != X.shape[4] or X.shape[2] % 2 == 0:
        raise ValueError(f"X must be windows of shape (N, C, k, k, k) with k odd, got {X.shape}")
    if n_channels is not None and X.shape[1] != n_channels:
        raise ValueError(f"model was fitted on {n_channels} evidence channels, X has {X.shape[1]}")
    if window is not None and X.shape[2] != window:
        raise ValueError(f"model was fitted on {window}-voxel windows, X has {X.shape[2]}")
    return X


def check_labels(y, n: int) -> np.ndarray:
    y = np.asarray(y).reshape(-1)
    if y.shape[0] != n:
        raise ValueError(f"y has {y.shape[0]} labels for {n} windows")
    if not np.isin(y, CLASSES).all():
        raise ValueError("labels must be 0 (barren) or 1 (orebody)")
    present = np.unique(y)
    if present.size < 2:
        raise NoPositivesError(f"training labels hold only class {int(present[0]) if present.size else 'none'}; "
                               "a classifier needs both orebody (1) and barren (0) samples")
    return y.astype(np.int64)


def centre_voxels(X: np.ndarray) -> np.ndarray:
    """Evidence at the centre voxel of each window, ``(N, C)``."""
    r = X.shape[2] // 2
    return X[:, :, r, r, r]


# --------------------------------------------------------------------- CNN


@contextlib.contextmanager
def _torch_session(seed: int, num_threads, deterministic: bool):
    """Seed every generator and ask for deterministic kernels, restoring global state after."""
    import torch

    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    old_det_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    old_cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    try:
        if num_threads:
            torch.set_num_threads(int(num_threads))
        random.seed(seed)
        np.random.seed(seed % (2 ** 32))
        torch.manual_seed(seed)
        if deterministic:
            # warn_only: a few CUDA kernels have no deterministic variant; better
            # a warning than a refusal to train.
            torch.use_deterministic_algorithms(True, warn_only=True)
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
        yield
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_det, warn_only=old_det_warn)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = old_cudnn


def resolve_device(device: str = "auto") -> str:
    """``"auto"`` -> ``"cuda"`` when a GPU is visible, else ``"cpu"``."""
    import torch

    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(device)


class CNNClassifier(ClassifierMixin, BaseEstimator):
    """The RCNN-LAM network trained with Adam on cross-entropy.

    Parameters
    ----------
    preset : {"DL1", "DL2", "DL3", "DL4"}
        Architecture (Table 1's ablation); DL4 is the paper's model.
    epochs : int
        Passes over the training windows (200 in the paper).
    batch_size : int
    learning_rate : float
        Adam's step size (0.001 in the paper).
    validation_fraction : float
        Share of the training windows held out (stratified, at random) to report
        ``val_loss`` and drive early stopping. 0 disables it. A random hold-out
        of stride-1 windows leaks; pass ``validation_data`` to :meth:`fit` for a
        spatially separated one.
    early_stopping_patience : int or None
        Stop after this many epochs without a lower validation loss and keep the
        best weights. Needs validation windows.
    device : str
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``...
    seed : int
        Seeds python, numpy and torch; deterministic kernels are requested.
    num_threads : int or None
        CPU threads torch may use while fitting/predicting (None: torch's default).
    verbose : bool
        Print one line per epoch.
    progress : callable or None
        ``progress(fraction, message)`` after each epoch; may raise
        :class:`voxprospect.errors.Cancelled` to stop training.
    fast : {"auto", True, False}
        Train through :class:`voxprospect.learn.fasttrain.TrainingForward`, the same
        network's logits computed without the window's padded zeros (same
        mathematics, float32 rounding; gradients reach the module's own
        parameters, so weights and checkpoints are unchanged). ``"auto"`` uses it
        on the CPU for windows it serves (:data:`voxprospect.learn.fasttrain.AUTO_WINDOWS`);
        ``True`` wherever it can serve the window; ``False`` never.

    Attributes
    ----------
    model_ : RCNNLAM
        The trained network (CPU or ``device_``), in eval mode after fit.
    history_ : list of dict
        Per epoch: ``epoch, loss, accuracy, val_loss, val_accuracy`` (None when
        there is no validation set).
    classes_ : ndarray ``[0, 1]``
    n_channels_, window_ : int
    n_params_ : int
    device_ : str
    best_epoch_ : int
    training_path_ : str
        ``"zero-skip-train"`` when fit used the fast forward, ``"module"`` otherwise.
    """

    flops_unit = "FLOPs per window (2 x multiply-accumulates, torch.utils.flop_counter)"

    def __init__(self, preset="DL4", epochs=200, batch_size=256, learning_rate=1e-3,
                 validation_fraction=0.0, early_stopping_patience=None, device="auto", seed=42,
                 num_threads=None, verbose=False, progress=None, fast="auto"):
        self.preset = preset
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.early_stopping_patience = early_stopping_patience
        self.device = device
        self.seed = seed
        self.num_threads = num_threads
        self.verbose = verbose
        self.progress = progress
        self.fast = fast

    # -- fitting ---------------------------------------------------------

    def fit(self, X, y, validation_data=None):
        """Train on windows ``X`` and labels ``y``.

        Parameters
        ----------
        X : ndarray, shape (N, C, k, k, k)
        y : ndarray of {0, 1}, shape (N,)
        validation_data : tuple (X_val, y_val), optional
            Held-out windows for ``val_loss`` / early stopping; overrides
            ``validation_fraction``.

        Returns
        -------
        self

        Raises
        ------
        NoPositivesError
            If ``y`` holds only one class.
        voxprospect.errors.Cancelled
            If the ``progress`` callback cancels.
        """
        import torch
        from torch import nn

        from voxprospect.learn.network import build_model, count_parameters

        X = check_windows(X)
        y = check_labels(y, X.shape[0])
        seed = int(self.seed) if self.seed is not None else 0
        rng = np.random.default_rng(seed)

        X_val = y_val = None
        if validation_data is not None:
            X_val = check_windows(validation_data[0], X.shape[1], X.shape[2])
            y_val = np.asarray(validation_data[1]).reshape(-1).astype(np.int64)
        elif self.validation_fraction and self.validation_fraction > 0:
            val_idx = _stratified_holdout(y, float(self.validation_fraction), rng)
            keep = np.ones(len(y), bool)
            keep[val_idx] = False
            X_val, y_val = X[val_idx], y[val_idx]
            X, y = X[keep], y[keep]
            check_labels(y, X.shape[0])
        if self.early_stopping_patience is not None and X_val is None:
            raise ValueError("early_stopping_patience needs validation windows "
                             "(validation_fraction > 0 or validation_data)")

        self.device_ = resolve_device(self.device)
        self.classes_ = CLASSES.copy()
        self.n_channels_ = int(X.shape[1])
        self.window_ = int(X.shape[2])
        self.history_ = []

        with _torch_session(seed, self.num_threads, deterministic=True):
            model = build_model(self.preset, self.n_channels_).to(self.device_)
            self.n_params_ = count_parameters(model)
            forward = self._training_forward(model)
            optimiser = torch.optim.Adam(model.parameters(), lr=float(self.learning_rate))
            loss_fn = nn.CrossEntropyLoss()
            Xt = torch.from_numpy(X)
            yt = torch.from_numpy(y)
            shuffler = torch.Generator().manual_seed(seed)
            best = (np.inf, None, 0)
            waited = 0
            n_epochs = int(self.epochs)
            bs = max(1, int(self.batch_size))
            for epoch in range(1, n_epochs + 1):
                model.train()
                order = torch.randperm(len(yt), generator=shuffler)
                total_loss, correct = 0.0, 0
                for start in range(0, len(order), bs):
                    idx = order[start:start + bs]
                    xb = Xt[idx].to(self.device_)
                    yb = yt[idx].to(self.device_)
                    optimiser.zero_grad(set_to_none=True)
                    logits = forward(xb)
                    loss = loss_fn(logits, yb)
                    loss.backward()
                    optimiser.step()
                    total_loss += float(loss.detach()) * len(idx)
                    correct += int((logits.detach().argmax(1) == yb).sum())
                row = {"epoch": epoch, "loss": total_loss / len(yt), "accuracy": correct / len(yt),
                       "val_loss": None, "val_accuracy": None}
                if X_val is not None:
                    vl, va = self._score(model, X_val, y_val, loss_fn)
                    row["val_loss"], row["val_accuracy"] = vl, va
                self.history_.append(row)
                if self.verbose:
                    print(_format_epoch(row, n_epochs))
                if self.progress is not None:
                    self.progress(epoch / n_epochs, _format_epoch(row, n_epochs))
                if self.early_stopping_patience is not None:
                    if row["val_loss"] < best[0]:
                        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                        best = (row["val_loss"], state, epoch)
                        waited = 0
                    else:
                        waited += 1
                        if waited >= int(self.early_stopping_patience):
                            break
            if best[1] is not None:
                model.load_state_dict(best[1])
                self.best_epoch_ = best[2]
            else:
                self.best_epoch_ = len(self.history_)
        model.eval()
        self.model_ = model
        return self

    def _training_forward(self, model):
        """The callable giving training logits: the fast forward or the module itself."""
        from voxprospect.learn.fasttrain import AUTO_WINDOWS, METHOD_NAME, TrainingForward, supports

        fast = self.fast
        if fast not in ("auto", True, False):
            raise ValueError(f"fast must be 'auto', True or False, got {fast!r}")
        use = False
        if fast is True:
            use = supports(model, self.window_)
        elif fast == "auto":
            on_cpu = next(model.parameters()).device.type == "cpu"
            use = on_cpu and self.window_ in AUTO_WINDOWS and supports(model, self.window_)
        self.training_path_ = METHOD_NAME if use else "module"
        return TrainingForward(model, self.window_) if use else model

    def _score(self, model, X, y, loss_fn):
        import torch

        logits = self._logits(model, X)
        yt = torch.from_numpy(y)
        return float(loss_fn(logits, yt)), float((logits.argmax(1) == yt).float().mean())

    def _logits(self, model, X, batch_size=None):
        import torch

        was_training = model.training
        model.eval()
        bs = int(batch_size or max(self.batch_size, 1024))
        out = []
        try:
            with torch.no_grad():
                for start in range(0, X.shape[0], bs):
                    xb = torch.from_numpy(np.ascontiguousarray(X[start:start + bs])).to(self.device_)
                    out.append(model(xb).float().cpu())
        finally:
            model.train(was_training)
        if not out:
            return torch.zeros((0, 2))
        return torch.cat(out)

    # -- prediction ------------------------------------------------------

    def _check_fitted(self):
        if not hasattr(self, "model_"):
            from sklearn.exceptions import NotFittedError
            raise NotFittedError("this CNNClassifier is not fitted yet; call fit first")

    def predict_proba(self, X, batch_size=None):
        """Probability of each class, ``(N, 2)``; column 1 is the orebody class."""
        import torch

        self._check_fitted()
        X = check_windows(X, self.n_channels_, self.window_)
        old_threads = torch.get_num_threads()
        try:
            if self.num_threads:
                torch.set_num_threads(int(self.num_threads))
            logits = self._logits(self.model_, X, batch_size)
        finally:
            torch.set_num_threads(old_threads)
        return torch.softmax(logits, dim=1).numpy().astype(np.float64)

    def predict(self, X):
        """Class (0 or 1) of each window: the more probable one."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    # -- costs and plots -------------------------------------------------

    def count_parameters(self) -> int:
        """Parameters of the network (weights and biases)."""
        from voxprospect.learn.network import count_parameters

        if hasattr(self, "model_"):
            return count_parameters(self.model_)
        raise ValueError("parameter count needs the evidence channel count; fit first "
                         "or use voxprospect.learn.build_model")

    def flops_per_window(self) -> int:
        """FLOPs of one forward pass on one window (2 x MACs, torch's counter)."""
        from voxprospect.learn.network import count_flops

        self._check_fitted()
        return count_flops(self.model_, self.n_channels_, self.window_)

    def plot_history(self, path, title=None):
        """Write the training curves (loss and accuracy per epoch, the paper's Fig. 9) as PNG.

        Parameters
        ----------
        path : path-like
            Output ``.png``; written atomically.
        title : str, optional

        Returns
        -------
        pathlib.Path
        """
        from pathlib import Path

        import matplotlib
        matplotlib.use("Agg", force=False)
        from matplotlib.figure import Figure

        from voxprospect.report import atomic_path

        self._check_fitted()
        epochs = [r["epoch"] for r in self.history_]
        fig = Figure(figsize=(9, 3.6), dpi=120)
        ax_loss, ax_acc = fig.subplots(1, 2)
        ax_loss.plot(epochs, [r["loss"] for r in self.history_], label="training")
        ax_acc.plot(epochs, [r["accuracy"] for r in self.history_], label="training")
        if any(r["val_loss"] is not None for r in self.history_):
            ax_loss.plot(epochs, [r["val_loss"] for r in self.history_], label="validation")
            ax_acc.plot(epochs, [r["val_accuracy"] for r in self.history_], label="validation")
        ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss")
        ax_acc.set(xlabel="epoch", ylabel="accuracy", title="Accuracy", ylim=(0, 1.02))
        from matplotlib.ticker import MaxNLocator
        for ax in (ax_loss, ax_acc):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no epoch 1.5
            ax.grid(alpha=0.3)
            ax.legend()
        fig.suptitle(title or f"{self.preset} training ({len(epochs)} epochs)")
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png")
        return Path(path)


def _format_epoch(row, n_epochs) -> str:
    text = f"epoch {row['epoch']}/{n_epochs} loss {row['loss']:.4f} accuracy {row['accuracy']:.3f}"
    if row["val_loss"] is not None:
        text += f" val_loss {row['val_loss']:.4f} val_accuracy {row['val_accuracy']:.3f}"
    return text


def _stratified_holdout(y: np.ndarray, fraction: float, rng) -> np.ndarray:
    idx = []
    for c in CLASSES:
        members = np.flatnonzero(y == c)
        n = int(round(fraction * len(members)))
        n = min(max(n, 1), len(members) - 1)
        idx.append(rng.permutation(members)[:n])
    return np.sort(np.concatenate(idx))


# ----------------------------------------------------------- random forest


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


def tune_random_forest(X, y, n_trials=30, seed=42, cv=3, features="centre", n_jobs=1, search_space=None):
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


def make_estimator(name: str, **params):
    """Build an estimator by name: ``"DL1"``...``"DL4"`` (CNN) or ``"RF"`` (random forest).

    Extra keyword arguments go to the estimator's constructor.
    """
    key = str(name).upper()
    if key in ("RF", "RANDOM_FOREST", "RANDOMFOREST"):
        return RandomForestModel(**params)
    from voxprospect.learn.network import PRESETS

    if key in PRESETS:
        return CNNClassifier(preset=key, **params)
    raise ValueError(f"unknown model {name!r}; use one of {sorted(PRESETS) + ['RF']}")
