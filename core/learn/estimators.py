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


#: Symmetry augmentations of the windows ``(N, C, k, k, k)`` with axes (x, y, z):
#: flips of x and y, optionally z, and rotations by 90 degrees about the vertical
#: (z) axis, which mix x and y and so are valid only on square (dx == dy) cells.
AUGMENTS = {
    "none": {"flips": (), "rot90": False},
    "flips": {"flips": ("x", "y"), "rot90": False},
    "flips+z": {"flips": ("x", "y", "z"), "rot90": False},
    "symmetry": {"flips": ("x", "y"), "rot90": True},
    "symmetry+z": {"flips": ("x", "y", "z"), "rot90": True},
}
_AXIS_DIM = {"x": 2, "y": 3, "z": 4}


def augmentation_ops(augment, cell_size=None) -> dict:
    """The transforms ``augment`` asks for, with rotations dropped on non-square cells.

    Parameters
    ----------
    augment : str or None
        A key of :data:`AUGMENTS` (None = ``"none"``).
    cell_size : (dx, dy, dz), optional
        Cell sizes; a 90-degree rotation about z maps x onto y, so it is kept only
        when ``dx == dy``. Unknown cell sizes keep it (the caller vouches).

    Returns
    -------
    dict
        ``flips`` (axes), ``rot90`` (bool), ``dropped`` (reason or None).
    """
    key = "none" if augment in (None, False) else str(augment)
    if key not in AUGMENTS:
        raise ValueError(f"augment must be one of {sorted(AUGMENTS)}, got {augment!r}")
    ops = dict(AUGMENTS[key], dropped=None)
    if ops["rot90"] and cell_size is not None:
        dx, dy = float(cell_size[0]), float(cell_size[1])
        if not np.isclose(dx, dy, rtol=1e-9, atol=0.0):
            ops["rot90"] = False
            ops["dropped"] = (f"90-degree rotations about z dropped: cells are {dx:g} x {dy:g} m, "
                              "not square, so a rotation would not be a symmetry of the grid")
    return ops


def augment_windows(xb, ops: dict, generator):
    """A random symmetry of each window of ``xb`` ``(N, C, k, k, k)`` (torch), drawn from ``generator``.

    Each window gets an independent flip of every axis in ``ops["flips"]`` and,
    with ``ops["rot90"]``, a rotation by 0, 90, 180 or 270 degrees about z; all
    draws come from ``generator`` (CPU), so they are seeded and independent of
    the thread count.
    """
    import torch

    flips = list(ops.get("flips", ()))
    rot = bool(ops.get("rot90"))
    if not flips and not rot:
        return xb
    n = xb.shape[0]
    draws = torch.randint(0, 2, (n, max(len(flips), 1)), generator=generator)
    turns = torch.randint(0, 4, (n,), generator=generator) if rot else torch.zeros(n, dtype=torch.long)
    code = turns.clone()
    for j in range(len(flips)):
        code = code * 2 + draws[:, j]
    out = xb.clone()
    for c in torch.unique(code).tolist():
        members = torch.nonzero(code == c).reshape(-1)
        part = xb.index_select(0, members)
        rest = c
        bits = []
        for _ in flips:
            bits.append(rest % 2)
            rest //= 2
        bits = bits[::-1]
        dims = [_AXIS_DIM[a] for a, b in zip(flips, bits) if b]
        if dims:
            part = torch.flip(part, dims)
        if rest % 4:
            part = torch.rot90(part, int(rest % 4), dims=(2, 3))
        out[members] = part
    return out


def spatial_holdout(centres, y, window: int, fraction: float, seed: int, cell_size=None):
    """Indices ``(train, validation)`` of an inner spatial split of training windows.

    Whole spatial blocks of window centres are held out (about ``fraction`` of
    each class), and training windows that share a voxel with a validation
    window are dropped (:func:`voxprospect.learn.protocols.split_spatial`); blocks shrink
    from the default size, down to three windows, until the positives span two
    blocks.

    Raises
    ------
    NoPositivesError
        If the positives fit in one block at every size tried.

    The buffer is the window's extent (no shared voxel) with no smoothing allowance:
    the split only picks the best epoch, it scores nothing that is reported.
    """
    from voxprospect.learn.protocols import default_block_size, split_spatial

    centres = np.asarray(centres, np.int64).reshape(-1, 3)
    block = default_block_size(centres, window)
    last = None
    while True:
        try:
            split = split_spatial(centres, y, window, block_size_cells=block, test_fraction=fraction, seed=seed,
                                  cell_size=(1.0, 1.0, 1.0) if cell_size is None else cell_size, smoothing_m=0.0)
        except NoPositivesError as exc:
            last = exc
        else:
            if np.unique(y[split.train]).size == 2 and np.unique(y[split.test]).size == 2:
                return split.train, split.test, split.info
            last = NoPositivesError("the inner validation split left one side with a single class")
        if block <= 3 * int(window):
            raise NoPositivesError(f"no spatial validation split of {len(y)} training windows: {last}")
        block = max(3 * int(window), block // 2)


def train_loop(model, forward, optimiser, X, y, *, epochs: int, batches, device, augment=None,
               generator=None, validate=None, patience=None, reduce=None, on_epoch=None):
    """The one training loop of the CNN, for :class:`CNNClassifier` and :mod:`voxprospect.learn.distributed`.

    Parameters
    ----------
    model : nn.Module
        The network (its ``state_dict`` is what is kept).
    forward : callable
        Training logits of a batch (the module, :class:`~voxprospect.learn.fasttrain.SlicedModule`,
        the fast forward or a DDP wrapper).
    optimiser : torch.optim.Optimizer
    X, y : torch tensors (CPU)
        Windows and labels.
    epochs : int
    batches : callable
        ``batches(epoch)`` -> iterable of index tensors into ``X``.
    device : str or torch.device
    augment : dict, optional
        From :func:`augmentation_ops`; drawn per window from ``generator``.
    validate : callable, optional
        ``validate(model)`` -> ``(val_loss, val_accuracy)``; the epoch with the
        lowest validation loss is kept.
    patience : int, optional
        Stop after this many epochs without a lower validation loss.
    reduce : callable, optional
        ``reduce(totals)`` on the float64 ``(loss sum, correct, count)`` of an
        epoch (``all_reduce`` across processes); identity by default.
    on_epoch : callable, optional
        ``on_epoch(row)`` after each epoch (progress, printing; may raise).

    Returns
    -------
    (history, best_epoch)
        ``history`` a list of ``{epoch, loss, accuracy, val_loss, val_accuracy}``;
        ``best_epoch`` the epoch whose weights ``model`` holds on return (the last
        one without validation).
    """
    import torch
    import torch.nn.functional as F

    history = []
    best_loss, best_state, best_epoch = np.inf, None, 0
    waited = 0
    # the sliced CPU paths run a step's own small operations on one thread (exact;
    # voxprospect.learn.fasttrain.single_threaded_step)
    import contextlib
    step_context = getattr(forward, "step_context", None)
    if step_context is None or torch.device(device).type != "cpu":
        step_context = contextlib.nullcontext
    for epoch in range(1, int(epochs) + 1):
        model.train()
        totals = torch.zeros(3, dtype=torch.float64)
        for idx in batches(epoch):
            xb = X[idx]
            if augment:
                xb = augment_windows(xb, augment, generator)
            xb, yb = xb.to(device), y[idx].to(device)
            optimiser.zero_grad(set_to_none=True)
            with step_context():
                logits = forward(xb)
                loss = F.cross_entropy(logits, yb)
                loss.backward()
                optimiser.step()
            totals += torch.tensor([float(loss.detach()) * len(yb), float((logits.detach().argmax(1) == yb).sum()),
                                    float(len(yb))], dtype=torch.float64)
        if reduce is not None:
            totals = reduce(totals)
        count = max(float(totals[2]), 1.0)
        row = {"epoch": epoch, "loss": float(totals[0]) / count, "accuracy": float(totals[1]) / count,
               "val_loss": None, "val_accuracy": None}
        if validate is not None:
            row["val_loss"], row["val_accuracy"] = validate(model)
        history.append(row)
        if on_epoch is not None:
            on_epoch(row)
        if validate is not None:
            if row["val_loss"] < best_loss:
                best_loss, best_epoch, waited = row["val_loss"], epoch, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                waited += 1
                if patience is not None and waited >= int(patience):
                    break
    if best_state is not None:
        model.load_state_dict(best_state)
    else:
        best_epoch = len(history)
    return history, best_epoch


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
                warnings.warn(f"no inner validation: {exc}", RuntimeWarning, stacklevel=2)
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

        self.device_ = resolve_device(self.device)
        self.classes_ = CLASSES.copy()
        self.n_channels_ = int(X.shape[1])
        self.window_ = int(X.shape[2])

        with _torch_session(seed, self.num_threads, deterministic=True):
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
                    print(_format_epoch(row, n_epochs))
                if self.progress is not None:
                    self.progress(row["epoch"] / n_epochs, _format_epoch(row, n_epochs))

            self.history_, self.best_epoch_ = train_loop(
                model, forward, optimiser, Xt, yt, epochs=n_epochs, batches=batches, device=self.device_,
                augment=self.augmentation_, generator=augmenter, validate=validate,
                patience=patience, on_epoch=on_epoch)
        model.eval()
        self.model_ = model
        return self

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


def make_optimiser(parameters, learning_rate, weight_decay=0.0):
    """Adam (the paper's), or AdamW with decoupled ``weight_decay`` when it is positive.

    ``foreach=True`` on every device: torch's CPU default updates the parameters one
    Python-level op at a time, about a tenth of a DL4 training step on the demo
    (profiled, issue 17); the multi-tensor path does the same element-wise
    operations in the same order, so the weights are bitwise the same
    (``tests/learn/test_optimiser.py``) at half the optimiser's cost.
    """
    import torch

    wd = float(weight_decay or 0.0)
    if wd < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
    if wd > 0:
        return torch.optim.AdamW(parameters, lr=float(learning_rate), weight_decay=wd, foreach=True)
    return torch.optim.Adam(parameters, lr=float(learning_rate), foreach=True)


def _format_epoch(row, n_epochs) -> str:
    text = f"epoch {row['epoch']}/{n_epochs} loss {row['loss']:.4f} accuracy {row['accuracy']:.3f}"
    if row["val_loss"] is not None:
        text += f" val_loss {row['val_loss']:.4f} val_accuracy {row['val_accuracy']:.3f}"
    return text


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
