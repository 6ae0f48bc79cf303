"""The CNN's training machinery: seeded torch sessions, device, optimiser, inner split, the loop.

Shared by :class:`voxprospect.learn.cnn.CNNClassifier` and
:mod:`voxprospect.learn.distributed`. Split out of :mod:`voxprospect.learn.estimators`
(issue 10).
"""

from __future__ import annotations

import contextlib
import random

import numpy as np

from voxprospect.errors import NoPositivesError
from voxprospect.learn.augmentation import augment_windows


@contextlib.contextmanager
def torch_session(seed: int, num_threads, deterministic: bool):
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


def format_epoch(row, n_epochs) -> str:
    text = f"epoch {row['epoch']}/{n_epochs} loss {row['loss']:.4f} accuracy {row['accuracy']:.3f}"
    if row["val_loss"] is not None:
        text += f" val_loss {row['val_loss']:.4f} val_accuracy {row['val_accuracy']:.3f}"
    return text


def module_logits(module, X, batch_size: int, device=None):
    """A network's logits on windows ``X`` ``(N, C, k, k, k)``, batch by batch: the one
    batched inference loop of the CNNs (estimator, loaded checkpoint, ensemble members).

    The module runs in eval mode (its mode is restored afterwards) without gradients,
    on ``device`` (default: where its parameters are). Returns a float32 CPU tensor
    ``(N, n_classes)``; ``(0, 2)`` for no window.
    """
    import torch

    if device is None:
        device = next(module.parameters()).device
    was_training = module.training
    module.eval()
    out = []
    bs = max(1, int(batch_size))
    try:
        with torch.no_grad():
            for start in range(0, X.shape[0], bs):
                xb = torch.from_numpy(np.ascontiguousarray(X[start:start + bs])).to(device)
                out.append(module(xb).float().cpu())
    finally:
        module.train(was_training)
    return torch.cat(out) if out else torch.zeros((0, 2))


def module_probability(module, X, batch_size: int, device=None) -> np.ndarray:
    """Class-1 probability (float64) of a network on windows, through :func:`module_logits`."""
    import torch

    return torch.softmax(module_logits(module, X, batch_size, device), dim=1)[:, 1].numpy().astype(np.float64)
