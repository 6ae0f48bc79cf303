"""Exact fast whole-grid prediction for the RCNN-LAM: skip the zero padding's work.

The network sees one ``k x k x k`` window per voxel, and every 3x3x3 convolution
inside it pads with zeros at the *window's* boundary. Features therefore belong to
one window and cannot be shared with its neighbours, but a large part of each
convolution's multiply-adds hits those padded zeros: along one axis only ``3k - 2``
of the ``3k`` (output, kernel tap) pairs read a real cell (7 of 9 for ``k = 3``, 13
of 15 for ``k = 5``), so only ``(7/9)**3 = 343/729`` of a 3x3x3 convolution's work
is useful when ``k = 3``.

This module computes the same forward pass without that work. Features of a batch
of ``N`` windows are held position-major, ``(k**3, C, N)``. For every output
position ``p`` of a 3x3x3 convolution the valid input positions ``q`` (a box of the
window) are gathered into one ``(m * C_in, N)`` matrix and multiplied by the
matching kernel slices ``W[q - p]`` stacked into ``(C_out, m * C_in)``: one
contiguous matrix product per position, no zero multiply-add. For ``k = 3`` the
blocks' convolutions also run a 5-point algorithm along the first axis (its three
outputs are the middle coefficients of a product of two quadratics: 5 products
instead of 7, see :data:`TOOM_A`). The 1x1x1 convolutions are plain matrix
products; attention (average and max pooling, the shared reduced FC, channel
mean/max, the depthwise 3x3x3 and pointwise convolutions) is computed exactly in
the same layout. Windows are cut position by position straight from the halo'd
evidence block, so the ``(N, C, k, k, k)`` window array never exists, and worker
threads run whole batches in parallel.

Only the order of the float32 sums differs from ``torch``'s convolution, so
probabilities agree to float32 rounding (``tests/learn/test_fastpredict.py`` checks 1e-5 for every
preset and window 3 and 5). Importing this module registers the path as
``"zero-skip"`` in :mod:`voxprospect.mapping.predict`, where ``method="auto"`` picks it for
any unmodified :class:`~voxprospect.learn.network.RCNNLAM` (bare, inside a
``CNNClassifier`` or a loaded checkpoint).

On a GPU ``precision="tf32"`` or ``"bf16"`` trades exactness for speed;
:func:`window_probability` returns the probabilities so the caller can report the
difference against ``"float32"``.

The layer plan and window cutting live in :mod:`voxprospect.learn.windowplan`; the
batch size, block size and 5-point axes are measured per machine on first use
(:mod:`voxprospect.learn.fasttune`) unless given.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from voxprospect.data.blocks import block_shape, block_starts, padded_block, resolve_fill
from voxprospect.learn.fasttune import DEFAULTS, Settings, settings_for
from voxprospect.learn.windowplan import (DEFAULT_TRANSFORM_AXES, PRECISIONS, TOOM_A, TOOM_B, TOOM_G,
                                          WindowPlan, block_windows, network_of, plan_for, precision_context)

__all__ = ["METHOD_NAME", "PRECISIONS", "DEFAULT_BATCH", "DEFAULT_TRANSFORM_AXES", "TOOM_A", "TOOM_B",
           "TOOM_G", "WindowPlan", "accepts", "network_of", "networks_of", "plan_for", "predict_fast",
           "predict_fast_summary", "predict_padded_block", "resolve_settings", "trained_looking",
           "useful_flops_per_window", "window_probability"]

METHOD_NAME = "zero-skip"
#: Windows per batch when caching (and so calibration) is off: the values measured
#: on the AVX2 EPYC (docs/performance.md).
DEFAULT_BATCH = {k: v[0] for k, v in DEFAULTS.items()}


def networks_of(model):
    """The RCNN-LAM networks of an ensemble's members (``model.members``), or
    ``[network_of(model)]``; None when any of them is not an unmodified RCNN-LAM."""
    members = getattr(model, "members", None)
    if isinstance(members, (list, tuple)) and len(members) > 1:
        nets = [network_of(m) for m in members]
    else:
        nets = [network_of(model)]
    return None if any(n is None for n in nets) else nets


def accepts(model) -> bool:
    """Whether the zero-skip path can serve ``model`` (an unmodified RCNN-LAM, or an
    ensemble of them)."""
    return networks_of(model) is not None


def _members_forward(plans, summary: bool):
    """``forward(x)`` of a batch ``(P, C, N)`` through every member's plan.

    The gathered windows are the same for every member; each member runs its own
    products on them. Returns the mean ``(N,)``, or with ``summary`` the rows
    mean, std and q10 ``(3, N)`` (:func:`voxprospect.learn.members.summarise_members`).
    """
    from voxprospect.learn.members import summarise_members

    def forward(x):
        rows = [plan.forward(x).float().cpu().numpy() for plan in plans]
        if len(rows) == 1 and not summary:
            return rows[0]
        u = summarise_members(np.stack(rows))
        if not summary:
            return u["mean"].astype(np.float32)
        return np.stack([u["mean"], u["std"], u["q10"]]).astype(np.float32)
    return forward


def resolve_settings(net, window: int, device=None, batch_size=None, transform_axes=None,
                     block_voxels=None, need_block: bool = True) -> Settings:
    """The speed settings a call runs with: the ones given, the rest from the machine's tuning.

    Only settings left as None are looked up (and measured on first use, see
    :func:`voxprospect.learn.fasttune.settings_for`).
    """
    import torch

    if device is None:
        device = next(net.parameters()).device
    if batch_size is not None and transform_axes is not None and (block_voxels is not None or not need_block):
        block = int(block_voxels) if block_voxels is not None else int(batch_size)
        return Settings(int(batch_size), block, int(transform_axes), "given")
    tuned = settings_for(net, window, torch.device(device))
    given = batch_size is not None or transform_axes is not None or block_voxels is not None
    bs = int(batch_size) if batch_size is not None else tuned.batch_size
    block = int(block_voxels) if block_voxels is not None else (bs if batch_size is not None
                                                                else tuned.block_voxels)
    axes = int(transform_axes) if transform_axes is not None else tuned.transform_axes
    return Settings(bs, block, axes, "given" if given else tuned.source, tuned.seconds)


def window_probability(model, windows, batch_size: int | None = None, device=None,
                       precision: str = "float32", transform_axes: int | None = None) -> np.ndarray:
    """Class-1 probability of windows ``(N, C, k, k, k)`` by the zero-skip path.

    Parameters
    ----------
    model : RCNNLAM, CNNClassifier or LoadedModel
    windows : ndarray, shape (N, C, k, k, k)
    batch_size : int, optional
        Windows per product (default: the machine's tuned value, see
        :mod:`voxprospect.learn.fasttune`).
    device : str, optional
        Where to compute; default the network's device.
    precision : {"float32", "tf32", "bf16"}
        ``"float32"`` is exact to rounding; ``"tf32"`` (CUDA only, ignored on CPU)
        and ``"bf16"`` are faster on GPUs and less exact.
    transform_axes : int, optional
        Axes of a 3-cell window on the 5-point algorithm (default: tuned).

    Returns
    -------
    ndarray of float32, shape (N,)

    Raises
    ------
    ValueError
        If the model is not an RCNN-LAM or the windows have the wrong shape.
    """
    import torch

    net = network_of(model)
    if net is None:
        raise ValueError(f"the zero-skip path serves RCNN-LAM networks, not {type(model).__name__}")
    windows = np.asarray(windows, dtype=np.float32)
    if windows.ndim != 5 or windows.shape[1] != net.in_channels:
        raise ValueError(f"windows must be (N, {net.in_channels}, k, k, k), got {windows.shape}")
    k = windows.shape[2]
    tuned = resolve_settings(net, k, device, batch_size, transform_axes, need_block=False)
    plan = plan_for(net, k, device, precision, tuned.transform_axes)
    bs = tuned.batch_size
    out = np.empty(len(windows), dtype=np.float32)
    with torch.no_grad(), precision_context(precision, plan.device):
        for start in range(0, len(windows), bs):
            xb = windows[start:start + bs]
            x = torch.from_numpy(np.ascontiguousarray(
                xb.reshape(len(xb), xb.shape[1], -1).transpose(2, 1, 0)))
            out[start:start + len(xb)] = plan.forward(x).float().cpu().numpy()
    return out


# -- whole-grid prediction --------------------------------------------------------------

class _BatchQueue:
    """Windows gathered block by block, run as full batches on a thread pool, written into ``out``.

    Windows come position-major ``(k**3, C, n)`` with their grid indices ``(n, 3)``. A
    remainder shorter than a batch waits for the next block so every product stays
    full-sized (only the last runs short); at most two batches per worker are in
    flight, so memory stays bounded.
    """

    def __init__(self, pool, workers, run, out, batch_size, n_active, report):
        self.pool, self.workers, self.run, self.out = pool, workers, run, out
        self.bs, self.n_active, self.report = batch_size, n_active, report
        self.pending: list[np.ndarray] = []
        self.pending_index: list[np.ndarray] = []
        self.n_pending = 0
        self.done = 0
        self.inflight: deque = deque()

    def add(self, x, idx):
        """Queue windows ``x`` of the voxels ``idx``; submit whole batches once there are enough."""
        self.pending.append(x)
        self.pending_index.append(idx)
        self.n_pending += x.shape[2]
        if self.n_pending >= self.bs:
            self.submit()

    def drain_one(self):
        future, idx = self.inflight.popleft()
        self.out[..., idx[:, 0], idx[:, 1], idx[:, 2]] = future.result()
        self.done += len(idx)
        self.report(self.done / self.n_active, f"predicted {self.done:,} of {self.n_active:,} voxels")

    def submit(self, final=False):
        if not self.n_pending:
            return
        bs = self.bs
        x = np.concatenate(self.pending, axis=2) if len(self.pending) > 1 else self.pending[0]
        idx = np.concatenate(self.pending_index) if len(self.pending_index) > 1 else self.pending_index[0]
        self.pending.clear()
        self.pending_index.clear()
        self.n_pending = 0
        for start in range(0, x.shape[2], bs):
            if start + bs > x.shape[2] and not final:
                # keep the remainder for the next batch so every product stays full-sized
                self.pending.append(x[:, :, start:])
                self.pending_index.append(idx[start:])
                self.n_pending = x.shape[2] - start
                break
            self.inflight.append((self.pool.submit(self.run, np.ascontiguousarray(x[:, :, start:start + bs])),
                                  idx[start:start + bs]))
            # at most two batches per worker in flight: memory stays bounded
            while len(self.inflight) > 2 * self.workers:
                self.drain_one()

    def finish(self):
        """Run what is left (the last batch may be short) and wait for every batch."""
        self.submit(final=True)
        while self.inflight:
            self.drain_one()


def predict_fast(model, evidence, channels, window, edge, chunk_voxels, report,
                 batch_size: int | None = None, device=None, precision: str = "float32",
                 transform_axes: int | None = None, n_workers: int | None = None,
                 block_voxels: int | None = None, summary: bool = False) -> np.ndarray:
    """Class-1 probability on every active voxel by the zero-skip path.

    The registered ``predict`` of :func:`voxprospect.mapping.predict.register_fast_path`:
    same arguments, same result as the per-window path (to float32 rounding).
    Memory is bounded by the batch (a few hundred MB) whatever the grid size.

    Parameters
    ----------
    model : estimator accepted by :func:`accepts`
    evidence : Volume
    channels : list of str
    window : int
    edge : {"edge", "zero"}
    chunk_voxels : int
        Upper bound on windows per batch (``predict_volume``'s memory bound).
    report : callable
        ``report(fraction, message)``.
    batch_size, device, precision, transform_axes
        As in :func:`window_probability`.
    n_workers : int, optional
        CPU worker threads, each running whole batches single-threaded (default:
        torch's thread count).
    block_voxels : int, optional
        Cells per block cut into windows at once (default: tuned).
    summary : bool
        Return the members' mean, std and q10 as ``(3, nx, ny, nz)``; an ensemble's
        members all run on each gathered batch (the windows are cut once).

    Returns
    -------
    ndarray of float32, shape ``evidence.grid.shape`` (NaN on inactive voxels): an
    ensemble's mean; ``(3,) + shape`` with ``summary``
    """
    import torch

    nets = networks_of(model)
    grid = evidence.grid
    active = evidence.active
    out = np.full(((3,) if summary else ()) + tuple(grid.shape), np.nan, dtype=np.float32)
    n_active = int(active.sum())
    if n_active == 0:
        return out
    tuned = resolve_settings(nets[0], window, device, batch_size, transform_axes, block_voxels)
    plans = [plan_for(net, window, device, precision, tuned.transform_axes) for net in nets]
    plan = plans[0]
    forward = _members_forward(plans, summary)
    bs = max(1, min(tuned.batch_size, int(chunk_voxels)))
    r = window // 2
    layers = [evidence[c] for c in channels]
    fill = resolve_fill(model, evidence, channels)
    # Blocks of the tuned size (about a batch): small enough that the halo'd slab
    # copies stay in cache; a partly active block tops up the next batch.
    block = block_shape(grid.shape, max(1, min(tuned.block_voxels, int(chunk_voxels))))

    def run(x):
        with torch.no_grad(), precision_context(precision, plan.device):
            return forward(torch.from_numpy(x))

    report(0.0, f"predicting {n_active:,} voxels ({METHOD_NAME})")
    workers, restore = _workers(plan.device, n_workers)
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="voxprospect-predict") as pool:
            queue = _BatchQueue(pool, workers, run, out, bs, n_active, report)
            for lo in block_starts(grid.shape, block):
                hi = tuple(min(a + b, n) for a, b, n in zip(lo, block, grid.shape))
                sub_active = active[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
                if not sub_active.any():
                    continue
                padded = padded_block(layers, grid.shape, lo, hi, r, edge, fill)
                queue.add(block_windows(padded, sub_active, window), np.argwhere(sub_active) + np.asarray(lo))
            queue.finish()
    finally:
        restore()
    return out


def predict_fast_summary(model, evidence, channels, window, edge, chunk_voxels, report, **kw) -> np.ndarray:
    """:func:`predict_fast` with ``summary=True``: mean, std and q10 ``(3, nx, ny, nz)``
    (the path :mod:`voxprospect.mapping.predict` registers)."""
    return predict_fast(model, evidence, channels, window, edge, chunk_voxels, report, summary=True, **kw)


def predict_padded_block(model, padded: np.ndarray, active: np.ndarray, window: int,
                         batch_size: int | None = None, transform_axes: int | None = None,
                         summary: bool = False) -> np.ndarray:
    """Class-1 probability of the active cells of one block read with its halo.

    For chunked prediction (:mod:`voxprospect.mapping.scale`): ``padded`` is the block's
    evidence ``(C, bx + 2r, by + 2r, bz + 2r)`` with NaN already filled and the
    grid's boundary already padded; runs in the calling thread. ``batch_size`` and
    ``transform_axes`` default to the machine's tuning; a scheduler resolves them
    once (:func:`resolve_settings`) and passes them, so workers do not each measure.

    Returns
    -------
    ndarray of float32, shape ``(active.sum(),)``, in C order of the active cells
    (an ensemble's mean); ``(3, active.sum())`` mean, std, q10 with ``summary``
    """
    import torch

    nets = networks_of(model)
    tuned = resolve_settings(nets[0], window, None, batch_size, transform_axes, need_block=False)
    forward = _members_forward([plan_for(net, window, None, "float32", tuned.transform_axes) for net in nets],
                               summary)
    x = block_windows(np.asarray(padded, dtype=np.float32), np.asarray(active, dtype=bool), window)
    bs = tuned.batch_size
    out = np.empty(((3,) if summary else ()) + (x.shape[2],), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, x.shape[2], bs):
            part = np.ascontiguousarray(x[:, :, start:start + bs])
            out[..., start:start + part.shape[2]] = forward(torch.from_numpy(part))
    return out


def _workers(device, n_workers):
    """Worker threads and a function restoring torch's thread count.

    On the CPU each worker runs whole batches with one intra-op thread: batches in
    parallel scale better than one batch's products split over threads (no
    barrier per small product), and a busy shared core only slows its own
    worker. On a GPU one worker feeds the device.
    """
    import torch

    if device.type != "cpu":
        return 1, lambda: None
    old = torch.get_num_threads()
    workers = max(1, int(n_workers or old))
    if workers == 1 and old == 1:
        return 1, lambda: None
    torch.set_num_threads(1)
    return workers, lambda: torch.set_num_threads(old)


def useful_flops_per_window(model, window: int) -> int:
    """FLOPs of one window's forward pass without the padded zeros (2 x useful MACs).

    Counts the convolutions and 1x1x1 products that :class:`WindowPlan` performs;
    the attention's small products and element-wise work are left out, as
    :func:`~voxprospect.learn.network.count_flops` leaves them out.
    """
    net = network_of(model)
    if net is None:
        raise ValueError(f"not an RCNN-LAM: {type(model).__name__}")
    return 2 * plan_for(net, window, "cpu").useful_macs




def trained_looking(net, windows=None, gain: float = 2.5, logit_spread: float = 2.5, seed: int = 0):
    """Rescale a freshly initialised RCNN-LAM so it behaves like a trained one.

    For benchmarks and tests of exactness: torch's default initialisation shrinks
    activations layer by layer, so an untrained network gives nearly the same
    probability everywhere and any two computations "agree". This multiplies the
    block weights by ``gain`` (activations keep their scale through the blocks)
    and sets the head so that, on ``windows``, the logit difference has standard
    deviation ``logit_spread``: probabilities then cover most of (0, 1).

    Parameters
    ----------
    net : RCNNLAM
        Modified in place (and returned).
    windows : ndarray (N, C, k, k, k), optional
        Calibration windows; default 256 standard-normal 3x3x3 windows.
    gain, logit_spread : float
    seed : int
        Seeds the calibration windows and the sign of the head.

    Returns
    -------
    RCNNLAM
    """
    import torch

    rng = np.random.default_rng(seed)
    if windows is None:
        windows = rng.normal(size=(256, net.in_channels, 3, 3, 3)).astype(np.float32)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.startswith("blocks.") and name.endswith("weight") and p.dim() == 5 and p.shape[1] > 2:
                p.mul_(gain)
        feats = net.features(torch.from_numpy(np.asarray(windows, dtype=np.float32))).double()
        # the head reads the features' direction of largest variance (a trained head
        # follows the features' structure; a random direction would amplify rounding)
        centred = feats - feats.mean(dim=0)
        direction = torch.linalg.svd(centred, full_matrices=False).Vh[0]
        # ... made orthogonal to the mean feature vector, so the logit is not a
        # small difference of large common parts, which no trained head relies on
        mean = feats.mean(dim=0)
        direction = direction - (direction @ mean) / (mean @ mean).clamp_min(1e-30) * mean
        direction = direction / direction.norm().clamp_min(1e-30)
        if rng.random() < 0.5:
            direction = -direction
        score = feats @ direction
        scale = logit_spread / float(score.std().clamp_min(1e-12))
        shift = -float(score.mean()) * scale
        w = (direction * scale / 2).to(net.head.weight.dtype)
        net.head.weight.zero_()
        net.head.weight[1] = w
        net.head.weight[0] = -w
        net.head.bias.copy_(torch.tensor([-shift / 2, shift / 2], dtype=net.head.bias.dtype))
    return net
