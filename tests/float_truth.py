"""Float32 tolerances stated from a float64 reference (issue 9.1).

Two float32 computations of one network (different kernels, batch sizes, summation
orders, the 5-point algorithm) both round, by amounts that depend on the CPU's kernels
(AVX2 and AVX-512 differ). No fixed number bounds their difference on every CPU. What
holds everywhere: ours is no further from the float64 truth than ``k`` times torch's own
float32 module is, plus a floor of a few hundred float32 epsilons of the value's scale
for the cases where torch happens to round almost exactly.
"""

from __future__ import annotations

import copy

import numpy as np

EPS32 = float(np.finfo(np.float32).eps)


class Float64Network:
    """The same network in float64, with the model face ``predict_volume`` takes."""

    def __init__(self, net, channels, window, edge="edge"):
        import torch

        self.net = copy.deepcopy(net).double().eval()
        self.channels, self.window, self.edge = list(channels), int(window), edge
        self.classes_ = np.array([0, 1])
        self._torch = torch

    def predict_proba(self, windows, *args, **kwargs):
        torch = self._torch
        with torch.no_grad():
            logits = self.net(torch.from_numpy(np.asarray(windows, dtype=np.float64)))
        return torch.softmax(logits, dim=1).numpy()


def truth_probability(net, windows):
    """Float64 probability of class 1 of ``net`` on float32 ``windows``."""
    return Float64Network(net, [], windows.shape[2]).predict_proba(windows)[:, 1]


def assert_near_truth(ours, torch32, truth, k=4.0, floor_eps=2**7, scale=1.0, what="result"):
    """``max |ours - truth| <= k * max |torch32 - truth| + floor_eps * eps32 * scale``."""
    ours, torch32, truth = (np.asarray(a, dtype=np.float64) for a in (ours, torch32, truth))
    own = float(np.max(np.abs(ours - truth)))
    torch_own = float(np.max(np.abs(torch32 - truth)))
    bound = k * torch_own + floor_eps * EPS32 * scale
    assert own <= bound, f"{what}: {own:.3g} from the float64 truth, bound {bound:.3g} (torch's own {torch_own:.3g})"
    return own, torch_own
