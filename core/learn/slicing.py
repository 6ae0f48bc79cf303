"""Batches cut into fixed slices, each run forward and backward on its own worker thread.

The CPU training paths of :mod:`voxprospect.learn.fasttrain` (the zero-skip forward and
:class:`SlicedModule` for any module) cut a batch into slices of :data:`SLICE` windows
-- a fixed size, never the thread count -- run each slice forward and backward with
one torch thread on one of up to torch's thread count worker threads, and sum the
slices' gradients in slice order. Every product is therefore computed the same way on
1, 2 or 16 threads, and training is bitwise independent of the thread count.
:func:`single_threaded_step` keeps a step's own work (outside the slices) on one
intra-op thread as well.
"""

from __future__ import annotations

import contextlib
import threading

__all__ = ["SLICE", "LazyFunction", "SlicedModule", "single_threaded_step", "sliced_logits", "WorkerPool"]

#: Windows per slice of a training batch on the CPU. Fixed, so the arithmetic of a
#: step (which windows share a product, the order gradients are summed in) never
#: depends on the thread count; only how many slices run at once does.
SLICE = 32


class LazyFunction:
    """Builds the autograd function on first use, so importing this module needs no torch."""

    def __init__(self, build):
        self._build, self._fn = build, None

    def apply(self, *args):
        if self._fn is None:
            self._fn = self._build()
        return self._fn.apply(*args)


class WorkerPool:
    """Worker threads for the slices, rebuilt when the wanted count changes."""

    def __init__(self):
        self._executor = None

    def get(self, n: int):
        from concurrent.futures import ThreadPoolExecutor

        if self._executor is None or self._executor._max_workers != n:
            self.close()
            self._executor = ThreadPoolExecutor(max_workers=n, thread_name_prefix="voxprospect-train")
        return self._executor

    def close(self):
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    def __del__(self):
        self.close()


_STEP = threading.local()


@contextlib.contextmanager
def single_threaded_step():
    """One intra-op thread for a CPU training step's own work; the slices keep the outer count.

    Outside the sliced forward and backward, a step runs the 5-point kernel
    transform and its backward, the slices' gradient sums and the optimiser on
    the calling thread: small operations that torch would split over its
    intra-op threads, each parallel region then waiting for a core that another
    process may hold (the demo's profile on a loaded machine spent about 40 % of
    DL4 training there). On one thread they do not wait. Exact: these are
    element-wise operations and products too small for their sums to be split,
    so the values do not change. :func:`sliced_logits` still runs as many slices
    at once as torch had threads when the step began.
    """
    import torch

    old = torch.get_num_threads()
    outer = getattr(_STEP, "threads", None)
    _STEP.threads = outer or old
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)
        _STEP.threads = outer


def sliced_logits(logits_fn, params: dict, x, pool: WorkerPool, n_workers: int | None = None):
    """``logits_fn(x, params)`` computed over slices of :data:`SLICE` windows, differentiable.

    Each slice runs forward and backward with one torch thread on a worker thread;
    the slices' parameter gradients are summed in slice order. The slicing and the
    summation order depend only on ``len(x)``, so the result is the same, bit for
    bit, whatever the thread count (``n_workers``, default torch's, only sets how
    many slices run at once).
    """
    import torch

    n_slices = max(1, -(-x.shape[0] // SLICE))
    workers = max(1, min(int(n_workers or getattr(_STEP, "threads", None) or torch.get_num_threads()), n_slices))
    names, tensors = zip(*params.items())
    return _SlicedLogits.apply(logits_fn, pool.get(workers), names, x, *tensors)


class SlicedModule:
    """Training logits of any ``nn.Module`` through :func:`sliced_logits` (CPU).

    The module's own forward (``torch.func.functional_call`` on the slice, with
    the module's parameters), so weights, checkpoints and the mathematics are the
    module's; only the batch is cut into fixed slices so that the result does not
    depend on the thread count. Not for modules whose output for one window
    depends on the rest of the batch (batch normalisation): RCNN-LAM has none.
    """

    def step_context(self):
        """How a training loop wraps a CPU step: :func:`single_threaded_step`."""
        return single_threaded_step()

    def __init__(self, module, n_workers: int | None = None):
        self.module = module
        self.n_workers = n_workers
        self._pool = WorkerPool()
        self._local = threading.local()

    def _replica(self):
        """This worker thread's own copy of the module's structure.

        ``functional_call`` swaps the parameters into the module it is given for
        the call, which is not safe with several threads on one module; each
        worker gets its own copy, always called with the real parameters.
        """
        import copy

        replica = getattr(self._local, "module", None)
        if replica is None:
            replica = self._local.module = copy.deepcopy(self.module)
        replica.train(self.module.training)
        return replica

    def _logits(self, xs, params):
        from torch.func import functional_call

        return functional_call(self._replica(), params, (xs,))

    def __call__(self, x):
        if x.device.type != "cpu":
            return self.module(x)
        return sliced_logits(self._logits, dict(self.module.named_parameters()), x, self._pool, self.n_workers)


def _sliced_logits_function():
    import torch

    def single_threaded(fn):
        old = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return fn()
        finally:
            torch.set_num_threads(old)

    class SlicedLogits(torch.autograd.Function):
        """Logits of a batch computed slice by slice on worker threads.

        Each slice builds its own graph on detached views of the parameters (same
        storage, no copy); backward runs each slice's graph on its worker and
        returns the sum of the slices' parameter gradients, slice 0 first.
        """

        @staticmethod
        def forward(ctx, logits_fn, pool, names, x, *params):
            slices = x.split(SLICE)

            def run(xs):
                with torch.enable_grad():
                    leaves = {n: p.detach().requires_grad_(p.requires_grad) for n, p in zip(names, params)}
                    return logits_fn(xs, leaves), leaves

            results = single_threaded(lambda: [f.result() for f in [pool.submit(run, xs) for xs in slices]])
            ctx.pool, ctx.names = pool, names
            ctx.slices = results
            ctx.sizes = [len(xs) for xs in slices]
            return torch.cat([logits.detach() for logits, _ in results])

        @staticmethod
        def backward(ctx, grad_logits):
            pool = ctx.pool
            grads = grad_logits.split(ctx.sizes)

            def run(i):
                logits, leaves = ctx.slices[i]
                wanted = [leaves[n] for n in ctx.names]
                needs = [t.requires_grad for t in wanted]
                got = torch.autograd.grad(logits, [t for t, need in zip(wanted, needs) if need], grads[i])
                it = iter(got)
                return [next(it) if need else None for need in needs]

            per_slice = single_threaded(lambda: [f.result() for f in [pool.submit(run, i)
                                                                       for i in range(len(ctx.slices))]])
            ctx.slices = None  # free the graphs
            total = []
            for j in range(len(ctx.names)):
                parts = [g[j] for g in per_slice if g[j] is not None]
                acc = None
                for part in parts:
                    acc = part if acc is None else acc + part
                total.append(acc)
            return (None, None, None, None, *total)

    return SlicedLogits


_SlicedLogits = LazyFunction(_sliced_logits_function)
