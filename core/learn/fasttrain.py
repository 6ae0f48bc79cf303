"""Exact fast RCNN-LAM training on the CPU: a differentiable zero-skip forward.

Training sees one ``k x k x k`` window per sample, and every 3x3x3 convolution
inside it pads with zeros at the window's edge. :mod:`voxprospect.learn.fastpredict`
skips that padded work for prediction (only ``343 / 729`` of a 3x3x3
convolution's (output, tap) pairs read a real cell when ``k = 3``); this module
does the same for training, where torch's own ``Conv3d`` backward on such tiny
volumes is the slowest part of a step.

:class:`TrainingForward` computes the logits of :class:`RCNNLAM` from the
network's own parameters (shared, never copied: the optimiser updates the
``nn.Module``, whose ``state_dict`` stays the checkpoint), with ordinary,
differentiable torch operations, so autograd gives the gradients:

* Features are held position-major, ``(k**3, C, N)`` for ``N`` windows.
* A 3x3x3 convolution gathers, for every output cell, only its in-window input
  cells (one ``index_select``) and multiplies them by the matching kernel taps
  stacked side by side. Cells with the same number of in-window taps (corners,
  edges, faces, interior) run as one batched product (``bmm``), in an autograd
  function whose backward is two more ``bmm`` per group: a step is a handful of
  large products, never one per cell, and no zero-filled gradient per slice.
* For ``k = 3`` the blocks' convolutions handle their first two axes by the
  5-point Toom-Cook (Winograd F(3, 3)) algorithm of :mod:`voxprospect.learn.fastpredict`
  (taps evaluated at ``0, 1, -1, 2, inf``): 25 points instead of 49 in-window
  (cell, tap) pairs on those axes, so 175 instead of 343 products per channel
  pair. The transform and its interpolation are one small matrix product each;
  along the third axis every output cell reads a contiguous range of cells and
  taps, so the stacked inputs and kernels are strided views (three ``bmm`` of
  25, no gather). The kernel transform is computed in float64, rounded once.
* 1x1x1 convolutions are matrix products; the lightweight attention (pooled
  channel FC, channel mean and max, the depthwise 3x3x3 convolution as one dense
  ``(P, P)`` map built from its 27 weights, pointwise 2 -> 1) is computed in the
  same layout.
* On the CPU a batch is cut into slices of :data:`SLICE` windows (a fixed size,
  never the thread count), each run forward and backward with one torch thread on
  one of up to torch's thread count worker threads; the slices' gradients are
  summed in slice order. Every product is therefore computed the same way on 1, 2
  or 16 threads, and training is bitwise independent of the thread count
  (``tests/learn/test_fasttrain.py``). :class:`SlicedModule` gives the module path
  (windows the zero-skip forward does not serve) the same slicing.

Only the summation order differs from torch's convolutions. In float64 logits and
gradients equal the module's to 1e-10 and 1e-7 (every preset, windows 3 and 5);
in float32 logits and gradients are no further from the float64 truth than 4x
torch's own float32 module plus a few hundred float32 epsilons
(``tests/learn/test_fasttrain.py``). The 5-point algorithm rounds about ten times more
than a direct sum (still ~3e-6 of a convolution's output); ``transform_axes=0``
keeps the direct sums at some speed. ``CNNClassifier(fast="auto")`` trains through
it on the CPU for the windows in :data:`AUTO_WINDOWS`.
"""

from __future__ import annotations

import numpy as np

from voxprospect.learn.slicing import (SLICE, LazyFunction, SlicedModule, WorkerPool, single_threaded_step,
                                       sliced_logits)

__all__ = ["METHOD_NAME", "SLICE", "WINDOWS", "AUTO_WINDOWS", "DEFAULT_TRANSFORM_AXES", "ConvPlan",
           "SlicedModule", "TrainingForward", "network_of", "single_threaded_step", "sliced_logits", "supports"]

METHOD_NAME = "zero-skip-train"
# SLICE (windows per slice, fixed) lives in voxprospect.learn.slicing with the slicing itself.
#: Window sizes the fast training path serves (the paper's 3 and the common 5).
WINDOWS = (3, 5)
#: Window sizes ``CNNClassifier(fast="auto")`` trains through it on the CPU (where it
#: was measured faster, benchmarks/train.py).
AUTO_WINDOWS = (3,)
#: Axes of a 3-cell window's block convolutions handled by the 5-point algorithm.
DEFAULT_TRANSFORM_AXES = 2

#: Kernel side of the 5-point algorithm, ``G @ (W0, W1, W2)`` at ``t = 0, 1, -1, 2, inf``
#: for ``(x0 + x1 t + x2 t^2)(W2 + W1 t + W0 t^2)`` (see :mod:`voxprospect.learn.fastpredict`).
TOOM_G = ((0.0, 0.0, 1.0), (1.0, 1.0, 1.0), (1.0, -1.0, 1.0), (4.0, 2.0, 1.0), (1.0, 0.0, 0.0))


def network_of(model):
    """The unmodified :class:`RCNNLAM` behind ``model`` (bare, ``model_`` or ``module``), or None."""
    from voxprospect.learn.fastpredict import network_of as _network_of

    return _network_of(model)


def supports(model, window: int) -> bool:
    """Whether the fast training forward reproduces ``model`` on ``window``-voxel windows."""
    return int(window) in WINDOWS and network_of(model) is not None


# -- index plans ----------------------------------------------------------------------

#: The 5-point algorithm's input side, ``A @ (x0, x1, x2)`` at ``t = 0, 1, -1, 2, inf``.
TOOM_A = ((1.0, 0.0, 0.0), (1.0, 1.0, 1.0), (1.0, -1.0, 1.0), (1.0, 2.0, 4.0), (0.0, 0.0, 1.0))
#: Its interpolation back to the 3 cells of an axis.
TOOM_B = tuple(tuple(v / 6.0 for v in row) for row in
               ((-3, 6, -2, -1, 12), (-6, 3, 3, 0, -6), (3, -3, -1, 1, -12)))


class ConvPlan:
    """Which input cell meets which kernel tap, for a 3x3x3 convolution in a ``k``-cell window.

    Output cell ``o`` meets input cells ``o + d - 1`` inside the window, tap ``d``,
    along each axis; the padded zeros outside are never touched.

    Parameters
    ----------
    window : int
        Window size ``k``.

    Attributes
    ----------
    groups : list of (n_outputs, n_taps)
        Output cells with the same number of in-window taps (corners, edges,
        faces, interior), in the order their products are stacked.
    gather, taps : LongTensor
        Input cell and kernel tap of every (output, tap) pair, group by group.
    order : LongTensor or None
        Row of the stacked group outputs holding each output cell (None when
        already in order).
    """

    def __init__(self, window: int):
        import torch

        k = self.window = int(window)
        per_axis = [[(o + d - 1, d) for d in range(3) if 0 <= o + d - 1 < k] for o in range(k)]
        outputs = []  # per output cell: list of (input cell, tap)
        for ax in per_axis:
            for ay in per_axis:
                for az in per_axis:
                    outputs.append([(int(np.ravel_multi_index((ix, iy, iz), (k, k, k))),
                                     int(np.ravel_multi_index((dx, dy, dz), (3, 3, 3))))
                                    for (ix, dx) in ax for (iy, dy) in ay for (iz, dz) in az])
        self.n_taps = 27
        gather, taps, rows, self.groups = [], [], [], []
        for m in sorted({len(p) for p in outputs}):
            members = [o for o, p in enumerate(outputs) if len(p) == m]
            self.groups.append((len(members), m))
            rows.extend(members)
            for o in members:
                gather.extend(q for q, _ in outputs[o])
                taps.extend(d for _, d in outputs[o])
        self.n_out = len(rows)
        self.pairs = len(gather)
        self.gather = torch.as_tensor(gather, dtype=torch.long)
        self.taps = torch.as_tensor(taps, dtype=torch.long)
        order = np.empty(len(rows), dtype=np.int64)
        order[np.asarray(rows)] = np.arange(len(rows))
        self.order = None if np.array_equal(order, np.arange(len(rows))) else torch.from_numpy(order)


def _depthwise_index(window: int, kernel_size: int):
    """``(P, P)`` index into a depthwise kernel's taps (``kernel_size**3`` = outside)."""
    import torch

    k, kd = int(window), int(kernel_size)
    rd = kd // 2
    n_pos = k ** 3
    index = np.full((n_pos, n_pos), kd ** 3, dtype=np.int64)
    cells = np.stack(np.meshgrid(*[np.arange(k)] * 3, indexing="ij"), -1).reshape(-1, 3)
    for p, cell in enumerate(cells):
        for q, other in enumerate(cells):
            d = other - cell + rd
            if ((d >= 0) & (d < kd)).all():
                index[p, q] = np.ravel_multi_index(tuple(d), (kd,) * 3)
    return torch.from_numpy(index)


def _grouped_product_function():
    import torch

    class GroupedProduct(torch.autograd.Function):
        """``y[o] = sum over the pairs (o, d) of W[d].T @ cols[pair]``, one ``bmm`` per group.

        One autograd function, so the backward pass is two batched products per
        group and one ``index_add_`` of the kernel gradients, with no zero-filled
        gradient per slice.
        """

        @staticmethod
        def forward(ctx, cols, w, plan):
            cin, n = cols.shape[1], cols.shape[2]
            cout = w.shape[2]
            # (C_in, C_out) per tap: a group's stacked kernels are a plain view of
            # the gathered taps, used transposed by the product
            kernels = w.index_select(0, plan.taps.to(w.device))  # (pairs, C_in, C_out)
            y = cols.new_empty((plan.n_out, cout, n))
            start = row = 0
            for n_out, m in plan.groups:
                size = n_out * m
                kt = kernels[start:start + size].view(n_out, m * cin, cout)
                c = cols[start:start + size].view(n_out, m * cin, n)
                torch.bmm(kt.transpose(1, 2), c, out=y[row:row + n_out])
                start += size
                row += n_out
            ctx.plan = plan
            ctx.w_shape = w.shape
            ctx.save_for_backward(cols, kernels)
            return y

        @staticmethod
        def backward(ctx, grad_y):
            plan = ctx.plan
            cols, kernels = ctx.saved_tensors
            cin, n = cols.shape[1], cols.shape[2]
            cout = kernels.shape[2]
            grad_y = grad_y.contiguous()
            need_cols, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
            grad_cols = torch.empty_like(cols) if need_cols else None
            grad_kernels = torch.empty_like(kernels) if need_w else None
            start = row = 0
            for n_out, m in plan.groups:
                size = n_out * m
                gy = grad_y[row:row + n_out]  # (G, C_out, N)
                if need_cols:
                    kt = kernels[start:start + size].view(n_out, m * cin, cout)
                    torch.bmm(kt, gy, out=grad_cols[start:start + size].view(n_out, m * cin, n))
                if need_w:
                    c = cols[start:start + size].view(n_out, m * cin, n)
                    torch.bmm(c, gy.transpose(1, 2), out=grad_kernels[start:start + size].view(n_out, m * cin, cout))
                start += size
                row += n_out
            grad_w = None
            if need_w:
                grad_w = grad_kernels.new_zeros(ctx.w_shape).index_add_(0, plan.taps.to(grad_kernels.device),
                                                                        grad_kernels)
            return grad_cols, grad_w, None

    return GroupedProduct


def _box(t, lo: int, m: int):
    """``t`` ``(25, 3, A, B)`` (contiguous) -> view ``(25, m * A, B)`` of cells ``lo .. lo + m - 1`` on axis 1."""
    a, b = t.shape[2], t.shape[3]
    return t.as_strided((t.shape[0], m * a, b), (t.stride(0), b, 1), t.storage_offset() + lo * a * b)


def _cells(y, z: int):
    """``y`` ``(9, 3, C, N)`` (contiguous) -> view ``(9, C * N)`` of the cells at height ``z``."""
    return y.as_strided((9, y.shape[2] * y.shape[3]), (y.stride(0), 1), y.storage_offset() + z * y.stride(1))


#: For a 3-cell axis: per output cell, (first input cell, first kernel tap, number of taps).
Z_RANGES = ((0, 1, 2), (0, 0, 3), (1, 0, 2))


def _points_product_function():
    import torch

    class PointsProduct(torch.autograd.Function):
        """A 3x3x3 convolution in a 3-cell window, 5-point algorithm on the first two axes.

        ``x`` ``(27, C_in, N)`` is evaluated at the 25 points of the first two axes by
        one matrix product; along the third axis each output cell reads a contiguous
        range of input cells and taps, so its stacked kernels and inputs are strided
        views: three ``bmm`` of 25 products each, no gather. One more matrix product
        interpolates the 25 points back to the 9 cells. ``w`` holds the kernel at the
        points, ``(25, 3, C_in, C_out)``.
        """

        @staticmethod
        def forward(ctx, x, w, to_points, to_cells):
            cin, n = x.shape[1], x.shape[2]
            cout = w.shape[3]
            xt = torch.mm(to_points, x.reshape(9, 3 * cin * n)).view(25, 3, cin, n)
            y = x.new_empty((9, 3, cout, n))
            for pz, (z0, d0, m) in enumerate(Z_RANGES):
                points = torch.bmm(_box(w, d0, m).transpose(1, 2), _box(xt, z0, m))  # (25, C_out, N)
                # interpolate straight into the output cells of this z (rows strided)
                torch.mm(to_cells, points.view(25, cout * n), out=_cells(y, pz))
            ctx.save_for_backward(xt, w, to_points, to_cells)
            return y.view(27, cout, n)

        @staticmethod
        def backward(ctx, grad_y):
            xt, w, to_points, to_cells = ctx.saved_tensors
            cin, n = xt.shape[2], xt.shape[3]
            cout = w.shape[3]
            grad_y = grad_y.contiguous().view(9, 3, cout, n)
            need_x, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
            gxt = torch.empty_like(xt) if need_x else None
            gw = torch.empty_like(w) if need_w else None
            # the middle z reads all three cells and taps: it writes the gradients,
            # the two edge cells (two cells, two taps each) add to them
            for pz in (1, 0, 2):
                z0, d0, m = Z_RANGES[pz]
                g = torch.mm(to_cells.t(), _cells(grad_y, pz)).view(25, cout, n)
                if need_x:
                    part = torch.bmm(_box(w, d0, m), g)  # (25, m * C_in, N)
                    if m == 3:
                        gxt.view(25, 3 * cin, n).copy_(part)
                    else:
                        gxt[:, z0:z0 + m].add_(part.view(25, m, cin, n))
                if need_w:
                    part = torch.bmm(_box(xt, z0, m), g.transpose(1, 2))  # (25, m * C_in, C_out)
                    if m == 3:
                        gw.view(25, 3 * cin, cout).copy_(part)
                    else:
                        gw[:, d0:d0 + m].add_(part.view(25, m, cin, cout))
            gx = None
            if need_x:
                gx = torch.mm(to_points.t(), gxt.view(25, 3 * cin * n)).view(27, cin, n)
            return gx, gw, None, None

    return PointsProduct


_GroupedProduct = LazyFunction(_grouped_product_function)
_PointsProduct = LazyFunction(_points_product_function)


# -- the forward pass -----------------------------------------------------------------

class TrainingForward:
    """Differentiable logits of an :class:`RCNNLAM` computed without the padded zeros.

    Holds only index tensors; every call reads the network's current parameters,
    so gradients land in the module's own ``.grad`` and the optimiser updates it.

    On the CPU a batch is cut into slices of :data:`SLICE` windows, each run
    forward and backward by a worker thread with one torch thread: no barrier per
    (small) product, and a core busy with other work slows only its own slice.
    The slices' parameter gradients are summed in slice order, so results depend
    neither on thread timing nor on the thread count.

    Parameters
    ----------
    net : RCNNLAM
        An unmodified network (see :func:`supports`).
    window : int
        Window size ``k`` (3 or 5).
    transform_axes : {0, 2}, optional
        Axes of the blocks' convolutions handled by the 5-point algorithm when
        ``k = 3`` (default :data:`DEFAULT_TRANSFORM_AXES`); 0 gathers the
        in-window taps on all three axes (always so for ``k = 5``).
    n_workers : int, optional
        Worker threads per batch on the CPU (default: torch's thread count when
        called). Changes only how many slices run at once, never the result.

    Raises
    ------
    ValueError
        If the network is not an unmodified RCNN-LAM, the window is not served or
        ``transform_axes`` is not 0 or 2.
    """

    #: Windows per slice (kept under its old name for callers).
    MIN_SLICE = SLICE
    def step_context(self):
        """How a training loop wraps a CPU step: :func:`single_threaded_step`."""
        return single_threaded_step()

    def __init__(self, net, window: int, transform_axes: int | None = None, n_workers: int | None = None):
        found = network_of(net)
        if found is None:
            raise ValueError(f"the fast training forward serves RCNN-LAM networks, not {type(net).__name__}")
        if int(window) not in WINDOWS:
            raise ValueError(f"the fast training forward serves windows {WINDOWS}, not {window}")
        self.net = found
        self.window = k = int(window)
        self.n_pos = k ** 3
        t = DEFAULT_TRANSFORM_AXES if transform_axes is None else int(transform_axes)
        if t not in (0, 2):
            raise ValueError(f"transform_axes must be 0 or 2, got {transform_axes}")
        self.transform_axes = t if k == 3 else 0
        self.n_workers = n_workers
        self.plan = ConvPlan(k)
        self._dw_index = {}
        self._maps = {}
        self._pool = WorkerPool()

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        """Logits ``(N, n_classes)`` of windows ``x`` ``(N, C, k, k, k)``, differentiable."""
        if x.dim() != 5 or tuple(x.shape[2:]) != (self.window,) * 3:
            raise ValueError(f"expected {self.window}-voxel windows (N, C, k, k, k), got {tuple(x.shape)}")
        prepared = self.prepare(dict(self.net.named_parameters()))
        if x.device.type != "cpu":
            return self.logits(x, prepared)
        return sliced_logits(self.logits, prepared, x, self._pool, self.n_workers)

    def prepare(self, params):
        """Parameters as :meth:`logits` reads them: the blocks' 3x3x3 kernels at the 5 points.

        Done once per batch, before the batch is sliced, so the transform and its
        gradient are computed once. Returns a new dict (name -> tensor).
        """
        prepared = dict(params)
        if self.transform_axes == 2:
            for i in range(len(self.net.blocks)):
                for conv in ("conv1", "conv2"):
                    key = f"blocks.{i}.{conv}.weight"
                    prepared[key] = self._kernel_at_points(params[key])
        return prepared

    @staticmethod
    def _kernel_at_points(weight):
        """``(C_out, C_in, 3, 3, 3)`` -> taps at the 25 points of the first two axes, ``(25, 3, C_in, C_out)``.

        Computed in float64 and rounded once.
        """
        import torch

        cout, cin = weight.shape[:2]
        g = torch.tensor(TOOM_G, dtype=torch.float64, device=weight.device)
        w = weight.permute(2, 3, 4, 1, 0).double().reshape(9, 3 * cin * cout)
        return torch.mm(torch.kron(g, g), w).to(weight.dtype).view(25, 3, cin, cout)

    # -- layers, in (P, C, N) layout -------------------------------------------------

    def conv3(self, x, weight, bias, relu: bool, transform: bool = False):
        """3x3x3 convolution (zero padding at the window edge) of ``x`` ``(P, C_in, N)``.

        ``weight`` is ``(C_out, C_in, 3, 3, 3)``, or with ``transform`` (5-point
        algorithm on the first two axes, ``k = 3``) the kernel at the points
        ``(25, 3, C_in, C_out)`` from :meth:`prepare`.
        """
        import torch

        plan = self.plan
        if transform:
            to_points, to_cells = self._point_maps(x.device, x.dtype)
            y = _PointsProduct.apply(x, weight, to_points, to_cells)
        else:
            cin = x.shape[1]
            cout = weight.shape[0]
            w = weight.permute(2, 3, 4, 1, 0)  # taps first: (3, 3, 3, C_in, C_out)
            cols = x.index_select(0, plan.gather.to(x.device))
            y = _GroupedProduct.apply(cols, w.reshape(plan.n_taps, cin, cout), plan)
            if plan.order is not None:
                y = y.index_select(0, plan.order.to(x.device))
        y = y + bias[:, None]
        return torch.relu(y) if relu else y

    def _point_maps(self, device, dtype):
        """The 5-point algorithm on two axes as matrices: cells -> 25 points, 25 points -> cells."""
        import torch

        key = (str(device), dtype)
        maps = self._maps.get(key)
        if maps is None:
            a = np.asarray(TOOM_A)
            b = np.asarray(TOOM_B)
            maps = self._maps[key] = (torch.from_numpy(np.kron(a, a)).to(device, dtype),
                                      torch.from_numpy(np.kron(b, b)).to(device, dtype))
        return maps

    @staticmethod
    def conv1(x, weight, bias):
        """1x1x1 convolution of ``x`` ``(P, C_in, N)``."""
        import torch

        # one product per cell on the (C, N) slabs as they lie; torch.matmul would
        # transpose x to channels-last and back
        w = weight.reshape(weight.shape[0], weight.shape[1])
        return torch.baddbmm(bias[None, :, None], w.expand(x.shape[0], -1, -1), x)

    def attention(self, y, p, prefix):
        """Lightweight attention (eq. 7 then eq. 8) of ``y`` ``(P, C, N)``; ``p`` maps parameter names."""
        import torch

        fc1_w, fc1_b = p[prefix + "channel.fc.0.weight"], p[prefix + "channel.fc.0.bias"]
        fc2_w, fc2_b = p[prefix + "channel.fc.2.weight"], p[prefix + "channel.fc.2.bias"]

        def fc(v):  # (C, N) -> (C, N), the shared reduced stack
            return torch.addmm(fc2_b[:, None], fc2_w, torch.relu(torch.addmm(fc1_b[:, None], fc1_w, v)))

        m_c = torch.sigmoid(fc(y.mean(dim=0)) + fc(y.amax(dim=0)))  # (C, N)
        y = y * m_c[None]
        pooled = torch.stack([y.mean(dim=1), y.amax(dim=1)])  # (2, P, N)
        dw_w, dw_b = p[prefix + "spatial.depthwise.weight"], p[prefix + "spatial.depthwise.bias"]
        kd = dw_w.shape[-1]
        index = self._dw_index.get(kd)
        if index is None:
            index = self._dw_index[kd] = _depthwise_index(self.window, kd)
        # the depthwise convolution on two single-channel maps as dense (P, P) maps,
        # zero where a tap leaves the window
        taps = torch.cat([dw_w.reshape(2, kd ** 3), dw_w.new_zeros(2, 1)], dim=1)
        s = torch.bmm(taps[:, index.to(taps.device)], pooled) + dw_b[:, None, None]  # (2, P, N)
        pw = p[prefix + "spatial.pointwise.weight"].reshape(2)
        m_s = torch.sigmoid(pw[0] * s[0] + pw[1] * s[1] + p[prefix + "spatial.pointwise.bias"])  # (P, N)
        return y * m_s[:, None, :]

    def logits(self, x, p):
        """Logits of windows ``x`` ``(N, C, k, k, k)`` from parameters ``p`` (name -> tensor)."""
        import torch.nn.functional as F

        n, c = x.shape[0], x.shape[1]
        h = x.reshape(n, c, self.n_pos).permute(2, 1, 0).contiguous()  # (P, C, N)
        # the stem's few input channels make its products small: gathered taps suffice
        h = self.conv3(h, p["stem.conv.weight"], p["stem.conv.bias"], relu=True)
        transform = self.transform_axes == 2
        for i, block in enumerate(self.net.blocks):
            b = f"blocks.{i}."
            r = self.conv3(h, p[b + "conv1.weight"], p[b + "conv1.bias"], relu=True, transform=transform)
            r = self.conv3(r, p[b + "conv2.weight"], p[b + "conv2.bias"], relu=False, transform=transform)
            y = (r + self.conv1(h, p[b + "shortcut.weight"], p[b + "shortcut.bias"])).relu()
            if block.attention is not None:
                y = self.attention(y, p, b + "attention.")
            h = self.conv1(y, p[b + "project.weight"], p[b + "project.bias"])
        feats = h.mean(dim=0).t()  # (N, 64)
        return F.linear(feats, p["head.weight"], p["head.bias"])
