"""The zero-skip forward pass of an RCNN-LAM: its layer plan, the 5-point algorithm, window cutting.

The algorithm is described in :mod:`voxprospect.learn.fastpredict`, which runs it over a
whole grid; this module holds what the prediction path and its per-machine tuning
(:mod:`voxprospect.learn.fasttune`) share: :class:`WindowPlan` (gather indices and
stacked kernels of one network for one window size), :func:`plan_for` (its cache),
:func:`block_windows` (a block's windows cut position by position) and the
precision switch.
"""

from __future__ import annotations

import numpy as np

PRECISIONS = ("float32", "tf32", "bf16")
#: Axes of a 3-cell window handled by the 5-point algorithm in the blocks'
#: convolutions when nothing else is asked (0 to 3; the per-machine tuning of
#: :mod:`voxprospect.learn.fasttune` picks its own).
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


def accepts(model) -> bool:
    """Whether the zero-skip path can serve ``model`` (an unmodified RCNN-LAM)."""
    return network_of(model) is not None


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


def precision_context(precision: str, device):
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


def block_windows(padded: np.ndarray, sub_active: np.ndarray, window: int) -> np.ndarray:
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
