"""Integrated Gradients: how much each evidence channel of a window pushes a CNN's prediction.

Integrated Gradients (Sundararajan et al. 2017; captum's implementation) attributes
the difference between the model's output on a window ``x`` and on a baseline window
``b`` to the inputs: the gradient is integrated along the straight path from ``b`` to
``x`` and multiplied by ``x - b``. By construction the attributions add up to
``f(x) - f(b)`` (completeness); captum's *convergence delta* is how far the numerical
integral misses that sum.

Choices made here (docs/uncertainty.md, "Evidence importance"):

- **Output attributed:** the log-odds of the orebody class, ``logit_1 - logit_0`` (the
  softmax's own argument). It orders windows exactly as the prospectivity does, and
  unlike the probability it does not flatten where the probability saturates near 0
  or 1, where the gradient of the probability vanishes.
- **Baseline:** a window holding every channel's *neutral value*, the channel's mean
  over the study volume recorded at training (``fill_values``, the same value that
  fills evidence gaps; 0 for a z-scored channel). An attribution therefore says how
  much this window's evidence, compared with average evidence, raises (positive) or
  lowers (negative) the log-odds.
- **Per channel:** the attributions of a channel's ``k**3`` window voxels are summed,
  so a voxel gets one number per channel, and the channels of a voxel add up to
  ``f(x) - f(b)``.

captum is an optional dependency (``pip install 'voxprospect[explain]'``).
"""

from __future__ import annotations

import numpy as np

from voxprospect.errors import VoxprospectError

DEFAULT_STEPS = 32
#: captum's quadrature; Gauss-Legendre converges fastest for smooth paths
DEFAULT_METHOD = "gausslegendre"
OUTPUT_NAME = "log-odds of class 1 (logit_1 - logit_0)"
BASELINE_NAME = "every channel at its neutral value (training mean over the study volume, the gap fill)"


class MissingCaptumError(VoxprospectError):
    """Attributions need captum, which is not installed."""

    def __init__(self):
        super().__init__("Integrated-Gradients attributions need the Python package 'captum', which is not "
                         "installed; install it with: pip install 'voxprospect[explain]' (or: pip install captum)")


def require_captum():
    """Import captum's IntegratedGradients, or raise :class:`MissingCaptumError`."""
    try:
        from captum.attr import IntegratedGradients
    except ImportError:
        raise MissingCaptumError() from None
    return IntegratedGradients


def network_of(model):
    """The ``torch.nn.Module`` of a CNN estimator or loaded checkpoint, or None (a forest).

    A deep ensemble (``model.members``: fitted CNNs or loaded networks) gives one module
    whose logits are the members' mean logits, so its log-odds are the members' mean
    log-odds and, Integrated Gradients being linear in the function attributed, its
    attributions are the mean of the members' attributions.
    """
    members = getattr(model, "members", None)
    if isinstance(members, (list, tuple)) and len(members) > 1:
        nets = [_one_network(m) for m in members]
        return None if any(n is None for n in nets) else _member_mean(nets)
    return _one_network(model)


def _one_network(model):
    import torch

    for attr in ("model_", "module", "net"):
        net = getattr(model, attr, None)
        if isinstance(net, torch.nn.Module):
            return net
    if isinstance(model, torch.nn.Module):
        return model
    return None


def _member_mean(nets):
    """A module returning the mean of ``nets``' logits (their parameters stay theirs)."""
    import torch

    class MemberMean(torch.nn.Module):
        def __init__(self, members):
            super().__init__()
            self.members = torch.nn.ModuleList(members)

        def forward(self, x):
            return torch.stack([m(x) for m in self.members]).mean(dim=0)

    return MemberMean(nets)


def log_odds_forward(net):
    """``f(x) = logit_1(x) - logit_0(x)`` of a two-class network, one value per window."""
    def forward(x):
        logits = net(x)
        return logits[:, 1] - logits[:, 0]
    return forward


def integrated_gradients(net, X, baseline, n_steps: int = DEFAULT_STEPS, method: str = DEFAULT_METHOD,
                         internal_batch_size: int | None = 4096, per_channel: bool = True):
    """Integrated-Gradients attributions of the log-odds for windows ``X``.

    Parameters
    ----------
    net : torch.nn.Module
        Two-class network; its parameters' dtype and device are used.
    X : ndarray, shape (N, C, k, k, k)
    baseline : array_like, shape (C,) or (C, k, k, k)
        The baseline window: one value per channel (the neutral fill), or a window.
    n_steps : int
        Quadrature points along the path.
    method : str
        captum's integration method.
    internal_batch_size : int or None
        Windows x steps evaluated together (bounds memory).
    per_channel : bool
        Sum each channel's window voxels (``(N, C)``); else the full ``(N, C, k, k, k)``.

    Returns
    -------
    (attributions, delta, f_x, f_b) : ndarrays
        Attributions (float64), captum's convergence delta ``sum(attr) - (f(x) - f(b))``
        per window, and the log-odds on the windows and on the baseline.
    """
    import torch

    IntegratedGradients = require_captum()
    X = np.asarray(X)
    if X.ndim != 5:
        raise VoxprospectError(f"windows must be (N, C, k, k, k), got shape {X.shape}")
    param = next(net.parameters())
    dtype, device = param.dtype, param.device
    b = np.asarray(baseline, dtype=np.float64)
    if b.shape == (X.shape[1],):
        b = np.broadcast_to(b[:, None, None, None], X.shape[1:])
    if b.shape != X.shape[1:]:
        raise VoxprospectError(f"the baseline has shape {b.shape}; the windows are {X.shape[1:]}")
    was_training = net.training
    net.eval()
    try:
        xt = torch.as_tensor(np.ascontiguousarray(X), dtype=dtype, device=device)
        bt = torch.as_tensor(np.ascontiguousarray(b), dtype=dtype, device=device).unsqueeze(0).expand_as(xt)
        forward = log_odds_forward(net)
        ig = IntegratedGradients(forward)
        attr, delta = ig.attribute(xt, baselines=bt, n_steps=int(n_steps), method=method,
                                   internal_batch_size=internal_batch_size, return_convergence_delta=True)
        with torch.no_grad():
            f_x = forward(xt).double().cpu().numpy()
            f_b = forward(bt[:1]).double().cpu().numpy()
    finally:
        net.train(was_training)
    a = attr.detach().double().cpu().numpy()
    if per_channel:
        a = a.reshape(a.shape[0], a.shape[1], -1).sum(axis=2)
    return a, delta.detach().double().cpu().numpy(), f_x, f_b


def window_attributions(model, X, baseline, n_steps: int = DEFAULT_STEPS, batch_size: int = 256):
    """Per-channel attributions of a CNN estimator or checkpoint on windows, in batches.

    Returns
    -------
    (attributions, delta, f_x) : ndarrays
        ``(N, C)`` float32 attributions, ``(N,)`` convergence deltas and log-odds.

    Raises
    ------
    VoxprospectError
        If the model is not a network (a forest has no gradients).
    """
    net = network_of(model)
    if net is None:
        raise VoxprospectError(f"Integrated Gradients needs a CNN; {type(model).__name__} has no network "
                               "(use permutation importance for a forest)")
    X = np.asarray(X)
    n = X.shape[0]
    attr = np.zeros((n, X.shape[1]), np.float32)
    delta = np.zeros(n, np.float64)
    f_x = np.zeros(n, np.float64)
    bs = max(1, int(batch_size))
    for start in range(0, n, bs):
        sl = slice(start, min(start + bs, n))
        a, d, fx, _ = integrated_gradients(net, X[sl], baseline, n_steps=n_steps,
                                           internal_batch_size=bs * int(n_steps))
        attr[sl], delta[sl], f_x[sl] = a, d, fx
    return attr, delta, f_x
