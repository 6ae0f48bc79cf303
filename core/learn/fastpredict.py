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
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from voxprospect.data.blocks import block_shape, block_starts, padded_block, resolve_fill

METHOD_NAME = "zero-skip"
PRECISIONS = ("float32", "tf32", "bf16")
#: Windows per batch. Measured (docs/performance.md): 512 three-cell windows keep a
#: product's operands in the core's cache and run faster than larger batches; a
#: batch's features stay a few tens of MB.
DEFAULT_BATCH = {3: 512, 5: 256}
#: Axes of a 3-cell window handled by the 5-point algorithm in the blocks'
#: convolutions (0 to 3; measured in docs/performance.md).
DEFAULT_TRANSFORM_AXES = 1


#: The 5-point (Toom-Cook / Winograd F(3,3)) algorithm for one axis of a 3-cell
#: window: a 3x3x3 convolution with zero padding computes, along each axis,
#: ``o0 = W1 x0 + W2 x1``, ``o1 = W0 x0 + W1 x1 + W2 x2``, ``o2 = W0 x1 + W1 x2``
#: -- the middle coefficients of ``(x0 + x1 t + x2 t^2)(W2 + W1 t + W0 t^2)``.
#: Evaluating both factors at ``t = 0, 1, -1, 2, inf`` (``A`` for the input,
#: ``G`` for the kernel taps ``W0, W1, W2``), multiplying point by point and
#: interpolating (``B``) needs 5 products instead of the 7 in-window ones.
TOOM_A = ((1, 0, 0), (1, 1, 1), (1, -1, 1), (1, 2, 4), (0, 0, 1))
TOOM_G = np.array(((0, 0, 1), (1, 1, 1), (1, -1, 1), (4, 2, 1), (1, 0, 0)), dtype=float)
TOOM_B = tuple(tuple(v / 6 for v in row) for row in
               ((-3, 6, -2, -1, 12), (-6, 3, 3, 0, -6), (3, -3, -1, 1, -12)))


def _toom_in(x, axis: int):
    """Evaluate the input along ``axis`` (size 3) at the 5 points: ``TOOM_A @ x``.

    Written as element-wise adds: a (5 x 3) matrix product over a leading axis is
    memory-bound, and torch's batched product for it is several times slower.
    """
    import torch

    x0, x1, x2 = x.unbind(axis)
    out = torch.empty(x.shape[:axis] + (5,) + x.shape[axis + 1:], dtype=x.dtype, device=x.device)
    t0, t1, tm, t2, ti = out.unbind(axis)
    t0.copy_(x0)
    ti.copy_(x2)
    torch.add(x0, x2, out=t1)
    torch.sub(t1, x1, out=tm)
    t1.add_(x1)
    torch.add(x0, x1, alpha=2, out=t2)
    t2.add_(x2, alpha=4)
    return out


def _toom_out(p, axis: int):
    """Interpolate the 5 point products along ``axis`` back to 3 cells: ``TOOM_B @ p``."""
    import torch

    p0, p1, pm, p2, pi = p.unbind(axis)
    out = torch.empty(p.shape[:axis] + (3,) + p.shape[axis + 1:], dtype=p.dtype, device=p.device)
    o0, o1, o2 = out.unbind(axis)
    # o1 = (p1 + pm) / 2 - p0 - pi
    torch.add(p1, pm, out=o1).mul_(0.5).sub_(p0).sub_(pi)
    # o2 = (p2 - pm) / 6 + (p0 - p1) / 2 - 2 pi
    torch.sub(p2, pm, out=o2).mul_(1.0 / 6.0)
    o2.add_(p0, alpha=0.5).sub_(p1, alpha=0.5).sub_(pi, alpha=2.0)
    # o0 = (p1 - pm) / 2 - o2
    torch.sub(p1, pm, out=o0).mul_(0.5).sub_(o2)
    return out


# -- finding the network inside an estimator ------------------------------------------

def network_of(model):
    """The :class:`RCNNLAM` module behind an estimator, or None.

    Accepts a bare ``RCNNLAM``, a fitted ``CNNClassifier`` (``model_``) or a loaded
    checkpoint (``module``). Anything else, including subclasses or networks whose
    blocks were swapped for other modules, gives None: the fast path reproduces only
    the forward pass it was written for.
    """
    for candidate in (model, getattr(model, "model_", None), getattr(model, "module", None)):
        if candidate is None or type(candidate).__name__ != "RCNNLAM":
            continue
        from voxprospect.learn.network import (ChannelAttention, LightweightAttention, RCNNLAM, ResBlock,
                                               SpatialAttention, Stem)
        if type(candidate) is not RCNNLAM or type(candidate.stem) is not Stem:
            return None
        for block in candidate.blocks:
            if type(block) is not ResBlock:
                return None
            att = block.attention
            if att is not None and (type(att) is not LightweightAttention
                                    or type(att.channel) is not ChannelAttention
                                    or type(att.spatial) is not SpatialAttention):
                return None
        return candidate
    return None


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
    mean, std and q10 ``(3, N)`` (:func:`voxprospect.learn.ensemble.summarise_members`).
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


# -- the layer plan -------------------------------------------------------------------

def _axis_taps(k: int):
    """Per axis: for each output position, the kernel taps ``d`` (0..2) that stay in the window."""
    return [tuple(d for d in range(3) if 0 <= o + d - 1 < k) for o in range(k)]


class WindowPlan:
    """Gather indices and stacked kernels of one network for one window size.

    Built once per (network, window, device, dtype); holds the kernels of every
    3x3x3 convolution re-arranged by tap class, so a batch only gathers and
    multiplies.

    Parameters
    ----------
    net : RCNNLAM
    window : int
        Odd window size ``k >= 3``... or 1 (then every convolution is its centre tap).
    device : torch.device or str
    dtype : torch.dtype
        float32, or bfloat16 for the ``"bf16"`` precision.
    """

    def __init__(self, net, window: int, device, dtype, transform_axes: int = 0):
        import torch

        self.window = k = int(window)
        self.n_pos = k ** 3
        self.device = torch.device(device)
        self.dtype = dtype
        self.useful_macs = 0  # in-window multiply-adds of the network (what it must compute)
        self.performed_macs = 0  # multiply-adds this plan performs (fewer with the 5-point axes)
        self.stem = self._conv3(net.stem.conv)
        self.blocks = []
        for block in net.blocks:
            entry = {
                "conv1": self._conv3(block.conv1, transform_axes),
                "conv2": self._conv3(block.conv2, transform_axes),
                "shortcut": self._conv1(block.shortcut), "project": self._conv1(block.project),
                "attention": None,
            }
            if block.attention is not None:
                entry["attention"] = self._attention(block.attention)
            self.blocks.append(entry)
        self.head_w = net.head.weight.detach().to(self.device, torch.float32)
        self.head_b = net.head.bias.detach().to(self.device, torch.float32)

    def _conv3(self, conv, transform_axes: int = 0):
        """Kernels of a 3x3x3 convolution re-arranged for :meth:`conv3`.

        The first ``transform_axes`` axes are handled by the 5-point algorithm
        (:data:`TOOM_A`, :data:`TOOM_G`, :data:`TOOM_B`; window 3 only): there the
        kernel is transformed to 5 points; along the other axes every output
        position keeps only its in-window taps. Per output "position" (point or
        cell) the kernels are stacked into ``(C_out, m * C_in)``, K ordered (input
        cell of the box, channel), matching the gathered input.
        """
        import torch

        k = self.window
        n_t = int(transform_axes) if k == 3 else 0
        w = conv.weight.detach().to("cpu", torch.float64).numpy()  # (Cout, Cin, 3, 3, 3)
        cout, cin = w.shape[:2]
        for axis in range(n_t):
            # kernel transform in float64, rounded once to float32
            w = np.moveaxis(np.tensordot(TOOM_G, w, axes=([1], [2 + axis])), 0, 2 + axis)
        taps = _axis_taps(k)
        per_axis = []  # per axis: list of (input slice, kernel index list) per output position
        for axis in range(3):
            if axis < n_t:
                per_axis.append([(slice(t, t + 1), [t]) for t in range(len(TOOM_A))])
            else:
                per_axis.append([(slice(o + t[0] - 1, o + t[-1]), list(t)) for o, t in enumerate(taps)])
        positions, kernels, cache = [], [], {}
        for bx, kx in per_axis[0]:
            for by, ky in per_axis[1]:
                for bz, kz in per_axis[2]:
                    key = (tuple(kx), tuple(ky), tuple(kz))
                    if key not in cache:
                        sl = w[:, :, kx][:, :, :, ky][:, :, :, :, kz]
                        stacked = sl.reshape(cout, cin, -1).transpose(0, 2, 1).reshape(cout, -1)
                        cache[key] = len(kernels)
                        kernels.append(torch.from_numpy(np.ascontiguousarray(stacked))
                                       .to(self.device, self.dtype))
                    positions.append((cache[key], (bx, by, bz)))
                    self.performed_macs += cout * cin * len(kx) * len(ky) * len(kz)
        self.useful_macs += cout * cin * (3 * k - 2) ** 3
        bias = conv.bias.detach().to(self.device, torch.float32)[:, None].to(self.dtype)
        return {"kernels": kernels, "positions": positions, "bias": bias, "cout": cout,
                "transform_axes": n_t}

    def _conv1(self, conv):
        import torch

        w = conv.weight.detach().to(self.device, torch.float32)
        cout, cin = w.shape[:2]
        self.useful_macs += cout * cin * self.n_pos
        self.performed_macs += cout * cin * self.n_pos
        return (w.reshape(cout, cin).contiguous().to(self.dtype),
                conv.bias.detach().to(self.device, torch.float32)[:, None].to(self.dtype))

    def _attention(self, att):
        """Channel-attention FC weights and the depthwise kernels as dense ``(P, P)`` maps."""
        import torch

        fc1, fc2 = att.channel.fc[0], att.channel.fc[2]
        f32 = dict(device=self.device, dtype=torch.float32)
        dw = att.spatial.depthwise
        k = self.window
        kd = dw.kernel_size[0]
        rd = kd // 2
        w = dw.weight.detach().to(**f32)  # (2, 1, kd, kd, kd)
        # The depthwise convolution acts on two single-channel maps of k**3 values;
        # as dense (P, P) matrices (zeros where a tap leaves the window) it is one
        # small exact product per map.
        dense = torch.zeros((2, self.n_pos, self.n_pos), **f32)
        r = torch.arange(k, device=self.device)
        for c in range(2):
            for dx in range(kd):
                for dy in range(kd):
                    for dz in range(kd):
                        ox, oy, oz = dx - rd, dy - rd, dz - rd
                        for px in range(k):
                            qx = px + ox
                            if not 0 <= qx < k:
                                continue
                            for py in range(k):
                                qy = py + oy
                                if not 0 <= qy < k:
                                    continue
                                pz = r[(r + oz >= 0) & (r + oz < k)]
                                p = px * k * k + py * k + pz
                                q = qx * k * k + qy * k + pz + oz
                                dense[c, p, q] = w[c, 0, dx, dy, dz]
        return {
            "fc1_w": fc1.weight.detach().to(**f32), "fc1_b": fc1.bias.detach().to(**f32)[:, None],
            "fc2_w": fc2.weight.detach().to(**f32), "fc2_b": fc2.bias.detach().to(**f32)[:, None],
            "dw": dense, "dw_b": dw.bias.detach().to(**f32)[:, None, None],
            "pw_w": att.spatial.pointwise.weight.detach().to(**f32).reshape(2),
            "pw_b": att.spatial.pointwise.bias.detach().to(**f32).reshape(()),
        }

    # -- forward in (P, C, N) layout ------------------------------------------------

    def conv3(self, x, layer, relu: bool):
        """3x3x3 convolution (zero padding at the window edge) of ``x`` ``(P, C_in, N)``."""
        import torch

        k = self.window
        n_t = layer["transform_axes"]
        cin, n = x.shape[1], x.shape[2]
        xv = x.view(k, k, k, cin, n)
        for axis in range(n_t):
            xv = _toom_in(xv, axis)
        shape = tuple(len(TOOM_A) if a < n_t else k for a in range(3))
        cout = layer["cout"]
        y = torch.empty(shape + (cout, n), device=x.device, dtype=x.dtype)
        yf = y.view(-1, cout, n)
        bias = layer["bias"] if n_t == 0 else None
        for p, (kernel, box) in enumerate(layer["positions"]):
            gathered = xv[box].reshape(-1, n)  # (m * C_in, N)
            if bias is None:
                torch.mm(layer["kernels"][kernel], gathered, out=yf[p])
            else:
                torch.addmm(bias, layer["kernels"][kernel], gathered, out=yf[p])
        for axis in range(n_t):
            y = _toom_out(y, axis)
        y = y.reshape(self.n_pos, cout, n)
        if n_t:
            y.add_(layer["bias"])
        if relu:
            y.relu_()
        return y

    @staticmethod
    def conv1(x, layer):
        import torch

        w, b = layer
        return torch.matmul(w, x).add_(b)

    @staticmethod
    def attention(y, att):
        import torch

        y = y.float()
        # channel attention, eq. 7: one shared FC on average- and max-pooled features
        avg = y.mean(dim=0)
        mx = y.amax(dim=0)

        def fc(v):
            return torch.addmm(att["fc2_b"], att["fc2_w"], torch.addmm(att["fc1_b"], att["fc1_w"], v).relu_())

        m_c = torch.sigmoid(fc(avg) + fc(mx))  # (C, N)
        y = y * m_c[None]
        # spatial attention, eq. 8: channel mean/max, depthwise 3x3x3, pointwise 2 -> 1
        pooled = torch.stack([y.mean(dim=1), y.amax(dim=1)])  # (2, P, N)
        s = torch.matmul(att["dw"], pooled) + att["dw_b"]  # (2, P, N)
        m_s = torch.sigmoid(att["pw_w"][0] * s[0] + att["pw_w"][1] * s[1] + att["pw_b"])  # (P, N)
        return y * m_s[:, None, :]

    def forward(self, x):
        """Class-1 probability of a batch of windows given as ``(P, C, N)``; returns ``(N,)``."""
        import torch

        x = x.to(self.device, self.dtype)
        h = self.conv3(x, self.stem, relu=True)
        for block in self.blocks:
            r = self.conv3(h, block["conv1"], relu=True)
            r = self.conv3(r, block["conv2"], relu=False)
            y = r.add_(self.conv1(h, block["shortcut"])).relu_()
            if block["attention"] is not None:
                y = self.attention(y, block["attention"]).to(self.dtype)
            h = self.conv1(y, block["project"])
        feats = h.float().mean(dim=0)  # (64, N)
        logits = torch.addmm(self.head_b[:, None], self.head_w, feats)  # (2, N)
        return torch.softmax(logits, dim=0)[1]


_PLANS: dict = {}


def plan_for(net, window: int, device=None, precision: str = "float32",
             transform_axes: int | None = None) -> WindowPlan:
    """The (cached) :class:`WindowPlan` of ``net`` for ``window``.

    The cache is keyed on the module's identity and a fingerprint of its weights'
    versions, so a network trained further gets a fresh plan.
    """
    import torch

    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; use one of {PRECISIONS}")
    if device is None:
        device = next(net.parameters()).device
    device = torch.device(device)
    if transform_axes is None:
        transform_axes = DEFAULT_TRANSFORM_AXES
    versions = tuple(p._version for p in net.parameters())
    key = (id(net), int(window), str(device), precision, int(transform_axes))
    hit = _PLANS.get(key)
    if hit is not None and hit[0] is net and hit[1] == versions:
        return hit[2]
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    with torch.no_grad():
        plan = WindowPlan(net, window, device, dtype, int(transform_axes))
    if len(_PLANS) > 8:
        _PLANS.clear()
    _PLANS[key] = (net, versions, plan)
    return plan


def _precision_context(precision: str, device):
    import contextlib

    import torch

    if precision == "tf32" and torch.device(device).type == "cuda":
        @contextlib.contextmanager
        def tf32():
            old = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
            torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
            try:
                yield
            finally:
                torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old
        return tf32()
    return contextlib.nullcontext()


def window_probability(model, windows, batch_size: int | None = None, device=None,
                       precision: str = "float32", transform_axes: int | None = None) -> np.ndarray:
    """Class-1 probability of windows ``(N, C, k, k, k)`` by the zero-skip path.

    Parameters
    ----------
    model : RCNNLAM, CNNClassifier or LoadedModel
    windows : ndarray, shape (N, C, k, k, k)
    batch_size : int, optional
        Windows per product (default 4096 for k = 3, 1024 for k >= 5).
    device : str, optional
        Where to compute; default the network's device.
    precision : {"float32", "tf32", "bf16"}
        ``"float32"`` is exact to rounding; ``"tf32"`` (CUDA only, ignored on CPU)
        and ``"bf16"`` are faster on GPUs and less exact.

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
    plan = plan_for(net, k, device, precision, transform_axes)
    bs = int(batch_size or DEFAULT_BATCH.get(k, 512))
    out = np.empty(len(windows), dtype=np.float32)
    with torch.no_grad(), _precision_context(precision, plan.device):
        for start in range(0, len(windows), bs):
            xb = windows[start:start + bs]
            x = torch.from_numpy(np.ascontiguousarray(
                xb.reshape(len(xb), xb.shape[1], -1).transpose(2, 1, 0)))
            out[start:start + len(xb)] = plan.forward(x).float().cpu().numpy()
    return out


# -- whole-grid prediction --------------------------------------------------------------

def _block_windows(padded: np.ndarray, sub_active: np.ndarray, window: int) -> np.ndarray:
    """Windows of a block's active voxels as ``(P, C, N)``, cut one position at a time.

    ``padded`` is the block's evidence with its ``k // 2`` halo; the window cell at
    offset ``o`` of the voxel at block index ``b`` is ``padded[:, b + o]``, so each
    position is one shifted slab of the block -- no per-window gather.
    """
    c = padded.shape[0]
    shape = sub_active.shape
    flat = np.flatnonzero(sub_active.ravel())
    dense = flat.size == sub_active.size
    out = np.empty((window ** 3, c, flat.size), dtype=np.float32)
    p = 0
    for ox in range(window):
        for oy in range(window):
            for oz in range(window):
                slab = padded[:, ox:ox + shape[0], oy:oy + shape[1], oz:oz + shape[2]].reshape(c, -1)
                out[p] = slab if dense else slab[:, flat]
                p += 1
    return out


def predict_fast(model, evidence, channels, window, edge, chunk_voxels, report,
                 batch_size: int | None = None, device=None, precision: str = "float32",
                 transform_axes: int | None = None, n_workers: int | None = None,
                 summary: bool = False) -> np.ndarray:
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
    plans = [plan_for(net, window, device, precision, transform_axes) for net in nets]
    plan = plans[0]
    forward = _members_forward(plans, summary)
    bs = max(1, min(int(batch_size or DEFAULT_BATCH.get(window, 512)), int(chunk_voxels)))
    r = window // 2
    layers = [evidence[c] for c in channels]
    fill = resolve_fill(model, evidence, channels)
    # Blocks of about one batch: small enough that the halo'd slab copies stay in
    # cache, and a partly active block tops up the next batch instead of running alone.
    block = block_shape(grid.shape, bs)

    pending: list[np.ndarray] = []
    pending_index: list[np.ndarray] = []
    n_pending = 0
    done = 0
    inflight: deque = deque()

    def run(x):
        with torch.no_grad(), _precision_context(precision, plan.device):
            return forward(torch.from_numpy(x))

    def drain_one():
        nonlocal done
        future, idx = inflight.popleft()
        out[..., idx[:, 0], idx[:, 1], idx[:, 2]] = future.result()
        done += len(idx)
        report(done / n_active, f"predicted {done:,} of {n_active:,} voxels")

    def submit(final=False):
        nonlocal n_pending
        if not n_pending:
            return
        x = np.concatenate(pending, axis=2) if len(pending) > 1 else pending[0]
        idx = np.concatenate(pending_index) if len(pending_index) > 1 else pending_index[0]
        pending.clear()
        pending_index.clear()
        n_pending = 0
        for start in range(0, x.shape[2], bs):
            if start + bs > x.shape[2] and not final:
                # keep the remainder for the next batch so every product stays full-sized
                pending.append(x[:, :, start:])
                pending_index.append(idx[start:])
                n_pending = x.shape[2] - start
                break
            inflight.append((pool.submit(run, np.ascontiguousarray(x[:, :, start:start + bs])),
                             idx[start:start + bs]))
            # at most two batches per worker in flight: memory stays bounded
            while len(inflight) > 2 * workers:
                drain_one()

    report(0.0, f"predicting {n_active:,} voxels ({METHOD_NAME})")
    workers, restore = _workers(plan.device, n_workers)
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="voxprospect-predict") as pool:
            for lo in block_starts(grid.shape, block):
                hi = tuple(min(a + b, n) for a, b, n in zip(lo, block, grid.shape))
                sub_active = active[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
                if not sub_active.any():
                    continue
                padded = padded_block(layers, grid.shape, lo, hi, r, edge, fill)
                pending.append(_block_windows(padded, sub_active, window))
                pending_index.append(np.argwhere(sub_active) + np.asarray(lo))
                n_pending += pending[-1].shape[2]
                if n_pending >= bs:
                    submit()
            submit(final=True)
            while inflight:
                drain_one()
    finally:
        restore()
    return out


def predict_fast_summary(model, evidence, channels, window, edge, chunk_voxels, report, **kw) -> np.ndarray:
    """:func:`predict_fast` with ``summary=True``: mean, std and q10 ``(3, nx, ny, nz)``
    (the path :mod:`voxprospect.mapping.predict` registers)."""
    return predict_fast(model, evidence, channels, window, edge, chunk_voxels, report, summary=True, **kw)


def predict_padded_block(model, padded: np.ndarray, active: np.ndarray, window: int,
                         batch_size: int | None = None, summary: bool = False) -> np.ndarray:
    """Class-1 probability of the active cells of one block read with its halo.

    For chunked prediction (:mod:`voxprospect.mapping.scale`): ``padded`` is the block's
    evidence ``(C, bx + 2r, by + 2r, bz + 2r)`` with NaN already filled and the
    grid's boundary already padded; runs in the calling thread.

    Returns
    -------
    ndarray of float32, shape ``(active.sum(),)``, in C order of the active cells
    (an ensemble's mean); ``(3, active.sum())`` mean, std, q10 with ``summary``
    """
    import torch

    forward = _members_forward([plan_for(net, window) for net in networks_of(model)], summary)
    x = _block_windows(np.asarray(padded, dtype=np.float32), np.asarray(active, dtype=bool), window)
    bs = int(batch_size or DEFAULT_BATCH.get(window, 512))
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
