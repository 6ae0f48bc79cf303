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


def test_a_single_threaded_step_trains_bitwise_like_the_two_threaded_one():
    """The sliced CPU step's own work on one intra-op thread (fasttrain.single_threaded_step)
    changes no value, and torch's thread count comes back."""
    import contextlib

    from voxprospect.learn.fasttrain import TrainingForward, single_threaded_step

    old = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        torch.manual_seed(1)
        rng = np.random.default_rng(1)
        X = torch.from_numpy(rng.normal(size=(128, 3, 3, 3, 3)).astype(np.float32))
        y = torch.from_numpy((rng.random(128) < 0.5).astype(np.int64))
        start = build_model("DL3", 3)
        nets = []
        for ctx in (contextlib.nullcontext, single_threaded_step):
            net = copy.deepcopy(start)
            fwd, opt = TrainingForward(net, 3), make_optimiser(net.parameters(), 1e-3)
            assert fwd.step_context is not None
            for step in range(3):
                idx = slice(64 * (step % 2), 64 * (step % 2) + 64)
                opt.zero_grad()
                with ctx():
                    torch.nn.functional.cross_entropy(fwd(X[idx]), y[idx]).backward()
                    opt.step()
                assert torch.get_num_threads() == 2
            nets.append(net)
        assert any(not torch.equal(p, q) for p, q in zip(nets[0].parameters(), start.parameters()))
        for p, q in zip(*(n.parameters() for n in nets)):
            assert torch.equal(p, q)
    finally:
        torch.set_num_threads(old)
