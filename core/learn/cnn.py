"""The RCNN-LAM classifier with the scikit-learn face.

Split out of :mod:`voxprospect.learn.estimators` (issue 10); see there for the
shared conventions of ``X``, ``y`` and ``predict_proba``.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from voxprospect.errors import NoPositivesError
from voxprospect.learn.augmentation import augmentation_ops
from voxprospect.learn.checks import CLASSES, check_labels, check_windows
from voxprospect.learn.trainloop import (format_epoch, make_optimiser, module_logits, resolve_device, spatial_holdout,
                                         torch_session, train_loop)


class CNNClassifier(ClassifierMixin, BaseEstimator):
    """The RCNN-LAM network trained with Adam (AdamW with weight decay) on cross-entropy.

    Parameters
    ----------
    preset : {"DL1", "DL2", "DL3", "DL4"}
        Architecture (Table 1's ablation); DL4 is the paper's model.
    epochs : int
        Most passes over the training windows (200 in the paper).
    batch_size : int
    learning_rate : float
        Adam's step size (0.001 in the paper).
    weight_decay : float
        Decoupled weight decay (AdamW); 0 trains with plain Adam, as the paper.
    validation_fraction : float
        Share of the training windows held out as an inner **spatial** validation
        set (whole blocks of window centres, training windows sharing a voxel with
        them dropped; :func:`spatial_holdout`): fit needs the windows' ``centres``.
        The epoch with the lowest validation loss is kept. 0 disables it.
    early_stopping_patience : int or None
        Stop after this many epochs without a lower validation loss (the best
        epoch is kept either way). Needs validation windows.
    augment : str
        Symmetry augmentation (:data:`AUGMENTS`): ``"none"``, ``"flips"`` (x, y),
        ``"flips+z"``, ``"symmetry"`` (x, y flips and 90-degree rotations about z)
        or ``"symmetry+z"``. Rotations need square cells: pass ``cell_size`` to
        fit, and they are dropped (``augmentation_`` says so) when dx != dy.
    device : str
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``...
    seed : int
        Seeds python, numpy and torch (weights, shuffles, validation blocks,
        augmentation draws); deterministic kernels are requested. On the CPU the
        result does not depend on ``num_threads``.
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
        The trained network (CPU or ``device_``), in eval mode after fit: the
        weights of ``best_epoch_``.
    history_ : list of dict
        Per epoch: ``epoch, loss, accuracy, val_loss, val_accuracy`` (None when
        there is no validation set): the training and validation curves.
    best_epoch_ : int
        The epoch whose weights ``model_`` holds (lowest validation loss; the last
        epoch without validation).
    validation_ : dict or None
        How the inner validation set was made (``kind``, counts, blocks).
    augmentation_ : dict
        The augmentation applied (``flips``, ``rot90``, ``dropped``).
    classes_ : ndarray ``[0, 1]``
    n_channels_, window_ : int
    n_params_ : int
    device_ : str
    training_path_ : str
        ``"zero-skip-train"`` when fit used the fast forward, ``"module"`` otherwise.
    """

    flops_unit = "FLOPs per window (2 x multiply-accumulates, torch.utils.flop_counter)"

    def __init__(self, preset="DL4", epochs=200, batch_size=256, learning_rate=1e-3, weight_decay=0.0,
                 validation_fraction=0.0, early_stopping_patience=None, augment="none", device="auto", seed=42,
                 num_threads=None, verbose=False, progress=None, fast="auto"):
        self.preset = preset
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.early_stopping_patience = early_stopping_patience
        self.augment = augment
        self.device = device
        self.seed = seed
        self.num_threads = num_threads
        self.verbose = verbose
        self.progress = progress
        self.fast = fast

    # -- fitting ---------------------------------------------------------

    def fit(self, X, y, validation_data=None, centres=None, cell_size=None):
        """Train on windows ``X`` and labels ``y``.

        Parameters
        ----------
        X : ndarray, shape (N, C, k, k, k)
        y : ndarray of {0, 1}, shape (N,)
        validation_data : tuple (X_val, y_val), optional
            Held-out windows for ``val_loss`` / the best epoch; overrides
            ``validation_fraction``.
        centres : ndarray of int, shape (N, 3), optional
            Grid indices of the window centres: the inner spatial validation split
            (``validation_fraction``) needs them.
        cell_size : (dx, dy, dz), optional
            Cell sizes in metres: rotations about z are applied only when dx == dy.

        Returns
        -------
        self

        Raises
        ------
        NoPositivesError
            If ``y`` holds only one class, or no spatial validation split keeps both.
        ValueError
            ``validation_fraction`` without ``centres``, patience without validation,
            an unknown ``augment``.
        voxprospect.errors.Cancelled
            If the ``progress`` callback cancels.
        """
        import torch

        from voxprospect.learn.network import build_model, count_parameters

        X = check_windows(X)
        y = check_labels(y, X.shape[0])
        seed = int(self.seed) if self.seed is not None else 0
        self.augmentation_ = augmentation_ops(self.augment, cell_size)
        if self.augmentation_["dropped"]:
            import warnings
            warnings.warn(self.augmentation_["dropped"], RuntimeWarning, stacklevel=2)

        X, y, X_val, y_val, patience = self._validation_split(X, y, validation_data, centres, cell_size, seed)

        self.device_ = resolve_device(self.device)
        self.classes_ = CLASSES.copy()
        self.n_channels_ = int(X.shape[1])
        self.window_ = int(X.shape[2])

        with torch_session(seed, self.num_threads, deterministic=True):
            model = build_model(self.preset, self.n_channels_).to(self.device_)
            self.n_params_ = count_parameters(model)
            forward = self._training_forward(model)
            optimiser = make_optimiser(model.parameters(), self.learning_rate, self.weight_decay)
            Xt = torch.from_numpy(X)
            yt = torch.from_numpy(y)
            shuffler = torch.Generator().manual_seed(seed)
            augmenter = torch.Generator().manual_seed(seed + 1)
            n_epochs = int(self.epochs)
            bs = max(1, int(self.batch_size))

            def batches(epoch):
                order = torch.randperm(len(yt), generator=shuffler)
                return [order[start:start + bs] for start in range(0, len(order), bs)]

            validate = None
            if X_val is not None:
                def validate(m):
                    return self._score(m, X_val, y_val)

            def on_epoch(row):
                if self.verbose:
                    print(format_epoch(row, n_epochs))
                if self.progress is not None:
                    self.progress(row["epoch"] / n_epochs, format_epoch(row, n_epochs))

            self.history_, self.best_epoch_ = train_loop(
                model, forward, optimiser, Xt, yt, epochs=n_epochs, batches=batches, device=self.device_,
                augment=self.augmentation_, generator=augmenter, validate=validate,
                patience=patience, on_epoch=on_epoch)
        model.eval()
        self.model_ = model
        return self

    def _validation_split(self, X, y, validation_data, centres, cell_size, seed):
        """The training and validation windows ``(X, y, X_val, y_val, patience)``; sets ``validation_``.

        Given ``validation_data`` is used as it is; otherwise ``validation_fraction``
        holds out spatial blocks (:func:`spatial_holdout`), or, when no split keeps
        both classes, trains on everything without validation (and says so).
        """
        X_val = y_val = None
        self.validation_ = None
        if validation_data is not None:
            X_val = check_windows(validation_data[0], X.shape[1], X.shape[2])
            y_val = np.asarray(validation_data[1]).reshape(-1).astype(np.int64)
            self.validation_ = {"kind": "given", "n_validation": int(len(y_val))}
        elif self.validation_fraction and self.validation_fraction > 0:
            if centres is None:
                raise ValueError("validation_fraction needs the windows' centres (fit(X, y, centres=...)) for a "
                                 "spatial validation split; a random hold-out of stride-1 windows leaks")
            centres = np.asarray(centres, np.int64).reshape(-1, 3)
            if len(centres) != len(y):
                raise ValueError(f"{len(centres)} centres for {len(y)} windows")
            try:
                train_idx, val_idx, info = spatial_holdout(centres, y, X.shape[2],
                                                           float(self.validation_fraction), seed, cell_size)
            except NoPositivesError as exc:
                # too few, too clustered positives (a small fold): train on all of
                # them for the full schedule and say so, rather than fail the study
                import warnings
                warnings.warn(f"no inner validation: {exc}", RuntimeWarning, stacklevel=3)
                self.validation_ = {"kind": "none", "reason": str(exc)}
            else:
                X_val, y_val = X[val_idx], y[val_idx]
                self.validation_ = {"kind": "spatial blocks", "n_validation": int(len(val_idx)),
                                    "n_train": int(len(train_idx)),
                                    "n_dropped_gap": int(len(y) - len(train_idx) - len(val_idx)),
                                    "block_size_cells": info.get("block_size_cells"),
                                    "fraction": float(self.validation_fraction)}
                X, y = X[train_idx], y[train_idx]
        patience = self.early_stopping_patience
        if self.validation_ is not None and self.validation_["kind"] == "none":
            patience = None
        elif patience is not None and X_val is None:
            raise ValueError("early_stopping_patience needs validation windows "
                             "(validation_fraction > 0 with centres, or validation_data)")
        return X, y, X_val, y_val, patience

    def _training_forward(self, model):
        """The callable giving training logits: the fast forward or the module itself."""
        from voxprospect.learn.fasttrain import (AUTO_WINDOWS, METHOD_NAME, SlicedModule, TrainingForward, supports)

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
        if use:
            return TrainingForward(model, self.window_)
        # the module itself, batch cut into fixed slices on the CPU so the result
        # does not depend on the thread count
        return SlicedModule(model)

    def _score(self, model, X, y):
        import torch
        import torch.nn.functional as F

        logits = self._logits(model, X)
        yt = torch.from_numpy(y)
        return float(F.cross_entropy(logits, yt)), float((logits.argmax(1) == yt).float().mean())

    def _logits(self, model, X, batch_size=None):
        return module_logits(model, X, int(batch_size or max(self.batch_size, 1024)), self.device_)

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

    @property
    def fold_details_(self) -> dict:
        """What a protocol fold records of this fit: the epochs run and the epoch kept."""
        if not hasattr(self, "history_"):
            return {}
        return {"epochs_run": len(self.history_), "best_epoch": int(self.best_epoch_)}

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
        from voxprospect.plotting import figure_class
        Figure = figure_class()

        from voxprospect.io.safe_write import safe_output, verify_png

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

        best = getattr(self, "best_epoch_", None)
        for ax in (ax_loss, ax_acc):
            # epochs are whole numbers: no 2.5 on the axis
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if best and len(epochs) > 1 and best != epochs[-1]:
                ax.axvline(best, color="0.4", linestyle="--", linewidth=1, label=f"kept: epoch {best}")
            ax.grid(alpha=0.3)
            ax.legend()
        fig.suptitle(title or f"{self.preset} training ({len(epochs)} epochs)")
        fig.tight_layout()
        with safe_output(path, verify=verify_png) as tmp:
            fig.savefig(tmp, format="png")
        return Path(path)
