"""The multi-tensor Adam/AdamW (issue 17's training speed-up) gives bitwise the weights of torch's
one-tensor-at-a-time loop: the same element-wise operations in the same order."""

from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from voxprospect.learn.estimators import make_optimiser
from voxprospect.learn.network import build_model


@pytest.mark.parametrize("weight_decay", [0.0, 1e-2])
def test_make_optimiser_trains_bitwise_like_the_plain_loop(weight_decay):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    X = torch.from_numpy(rng.normal(size=(96, 3, 3, 3, 3)).astype(np.float32))
    y = torch.from_numpy((rng.random(96) < 0.4).astype(np.int64))
    start = build_model("DL3", 3)
    nets = [copy.deepcopy(start), copy.deepcopy(start)]
    plain_cls = torch.optim.AdamW if weight_decay else torch.optim.Adam
    extra = {"weight_decay": weight_decay} if weight_decay else {}
    opts = [make_optimiser(nets[0].parameters(), 1e-3, weight_decay),
            plain_cls(nets[1].parameters(), lr=1e-3, foreach=False, **extra)]
    assert opts[0].defaults["foreach"] is True
    loss_fn = torch.nn.CrossEntropyLoss()
    for step in range(4):
        idx = slice(24 * step, 24 * step + 24)
        for net, opt in zip(nets, opts):
            opt.zero_grad()
            loss_fn(net(X[idx]), y[idx]).backward()
            opt.step()
    moved = any(not torch.equal(p, q) for p, q in zip(nets[0].parameters(), start.parameters()))
    assert moved
    for p, q in zip(nets[0].parameters(), nets[1].parameters()):
        assert torch.equal(p, q)
