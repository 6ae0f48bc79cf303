"""Fast training forward: same logits and gradients as the module, same training, same checkpoints."""

import copy

import numpy as np
import pytest
import torch
from sklearn.base import clone

from voxprospect.learn.fasttrain import AUTO_WINDOWS, METHOD_NAME, TrainingForward, supports
from voxprospect.learn import CNNClassifier, load, save_checkpoint
from voxprospect.learn.network import PRESETS, RCNNLAM, build_model

from float_truth import assert_near_truth, truth_probability

torch.set_num_threads(1)


def lively(preset, channels, window, n, seed=0):
    """A network whose outputs spread like a trained one's, and windows for it.

    Fresh initialisation shrinks activations block by block, so any two
    computations of an untrained network "agree"; doubling the block weights keeps
    their scale, and a head along a random feature direction spreads the logits
    over a few units across the windows.
    """
    torch.manual_seed(seed)
    net = build_model(preset, channels)
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.normal(size=(n, channels, window, window, window)).astype(np.float32))
    y = torch.from_numpy(np.tile([0, 1], n // 2))
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.startswith("blocks.") and p.dim() == 5 and p.shape[1] > 2:
                p.mul_(2.0)
        feats = net.features(x)
        direction = torch.from_numpy(rng.normal(size=feats.shape[1]).astype(np.float32))
        score = feats @ direction
        w = direction * (1.5 / score.std())
        net.head.weight.copy_(torch.stack([-w, w]))
        shift = float((feats @ w).mean())
        net.head.bias.copy_(torch.tensor([shift, -shift]))
    return net, x, y


def logits_and_grads(net, forward, x, y):
    net.zero_grad(set_to_none=True)
    logits = forward(x)
    torch.nn.functional.cross_entropy(logits, y).backward()
    return logits.detach().double(), {n: p.grad.double().clone() for n, p in net.named_parameters()}


CASES = [(3, 2), (3, 0), (5, 0)]  # (window, transform_axes)


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("window,axes", CASES)
def test_same_mathematics_as_the_module_in_float64(preset, window, axes):
    # in float64 rounding vanishes: any difference would be a different function
    net, x, y = lively(preset, 2, window, 4 if window == 3 else 2)
    net = net.double()
    x = x.double()
    ref_logits, ref_grads = logits_and_grads(net, net, x, y)
    logits, grads = logits_and_grads(net, TrainingForward(net, window, axes), x, y)
    assert (ref_logits[:, 1] - ref_logits[:, 0]).std() > 0.5  # outputs differ between windows
    assert torch.allclose(logits, ref_logits, rtol=0, atol=1e-10)
    for name, ref in ref_grads.items():
        assert ref.abs().max() > 0, name
        # a float32 step anywhere would show as ~1e-6; float64 sums cancel to ~1e-9
        assert (grads[name] - ref).norm() <= 1e-7 * ref.norm(), name


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("window,axes", [(3, 2), (3, 0)])
def test_float32_logits_and_gradients_match_the_module(preset, window, axes):
    net, x, y = lively(preset, 7, window, 16)
    truth_net = copy.deepcopy(net).double()
    true_logits, true_grads = logits_and_grads(truth_net, truth_net, x.double(), y)
    ref_logits, ref_grads = logits_and_grads(net, net, x, y)
    logits, grads = logits_and_grads(net, TrainingForward(net, window, axes), x, y)
    # Both float32 computations round; the bound is how far ours may stray from the
    # float64 truth, stated against torch's own float32 error on the same CPU (its
    # kernels differ between AVX2 and AVX-512, so no fixed number holds on both).
    # The floor covers sums that cancel: a gradient whose norm is small against its
    # terms (head.bias) carries the float32 rounding of the terms themselves.
    eps32 = torch.finfo(torch.float32).eps
    scale = max(1.0, float(true_logits.abs().max()))
    own_logits = float((logits - true_logits).abs().max())
    torch_logits = float((ref_logits - true_logits).abs().max())
    assert own_logits <= 4 * torch_logits + 2**7 * eps32 * scale
    for name, truth in true_grads.items():
        own = float((grads[name] - truth).norm() / truth.norm())
        torch_own = float((ref_grads[name] - truth).norm() / truth.norm())
        assert own <= 4 * torch_own + 2**9 * eps32, (name, own, torch_own)


def test_parameters_are_shared_and_worker_count_does_not_change_a_bit():
    # 96 windows = 3 fixed slices; one worker runs them in turn, three at once:
    # the same products summed in the same order, so the same bits
    net, x, y = lively("DL4", 4, 3, 96, seed=2)
    one = TrainingForward(net, 3, n_workers=1)
    three = TrainingForward(net, 3, n_workers=3)
    logits1, grads1 = logits_and_grads(net, one, x, y)
    logits3, grads3 = logits_and_grads(net, three, x, y)
    assert torch.equal(logits3, logits1)
    for name, g in grads1.items():
        assert torch.equal(grads3[name], g), name
    # the optimiser steps the module itself: its state_dict moves
    before = {k: v.clone() for k, v in net.state_dict().items()}
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    torch.nn.functional.cross_entropy(three(x), y).backward()
    opt.step()
    assert all(not torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_refuses_what_it_does_not_reproduce():
    class Tweaked(RCNNLAM):
        pass

    assert supports(build_model("DL1", 2), 3) and supports(build_model("DL1", 2), 5)
    assert not supports(Tweaked(2), 3)
    assert not supports(build_model("DL1", 2), 7)
    with pytest.raises(ValueError, match="RCNN-LAM"):
        TrainingForward(Tweaked(2), 3)
    with pytest.raises(ValueError, match="windows"):
        TrainingForward(build_model("DL1", 2), 7)
    with pytest.raises(ValueError, match="transform_axes"):
        TrainingForward(build_model("DL1", 2), 3, transform_axes=1)
    with pytest.raises(ValueError, match="5-voxel"):
        TrainingForward(build_model("DL1", 2), 5)(torch.zeros(4, 2, 3, 3, 3))


def separable(n=96, channels=3, window=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, channels, window, window, window)).astype(np.float32)
    y = np.tile([0, 1], n // 2)
    X[y == 1, 0] += 1.0
    return X, y


def test_training_history_is_the_same_with_and_without_the_fast_forward():
    X, y = separable()
    params = dict(preset="DL4", epochs=2, batch_size=32, num_threads=1, seed=5)
    val = separable(n=24, seed=9)
    fast = CNNClassifier(fast=True, **params).fit(X, y, validation_data=val)
    plain = CNNClassifier(fast=False, **params).fit(X, y, validation_data=val)
    assert fast.training_path_ == METHOD_NAME and plain.training_path_ == "module"
    for a, b in zip(fast.history_, plain.history_):
        assert abs(a["loss"] - b["loss"]) <= 1e-4
        assert abs(a["val_loss"] - b["val_loss"]) <= 1e-4
    assert fast.history_[-1]["loss"] != fast.history_[0]["loss"]  # it did train
    # Adam turns rounding-level gradient differences of near-zero gradients into
    # step-sized ones, so weights agree as a whole, not to rounding
    for k, v in plain.model_.state_dict().items():
        assert (fast.model_.state_dict()[k] - v).norm() <= 1e-3 * v.norm(), k


def test_fast_option_is_a_hyper_parameter_and_auto_picks_by_window():
    est = CNNClassifier(preset="DL1", fast=False)
    assert est.get_params()["fast"] is False
    assert clone(est).get_params()["fast"] is False
    assert CNNClassifier().get_params()["fast"] == "auto"
    X3, y3 = separable(n=32)
    auto3 = CNNClassifier(preset="DL1", epochs=1, batch_size=16, num_threads=1, device="cpu").fit(X3, y3)
    assert auto3.training_path_ == (METHOD_NAME if 3 in AUTO_WINDOWS else "module")
    X5, y5 = separable(n=32, window=5)
    forced5 = CNNClassifier(preset="DL1", epochs=1, batch_size=16, num_threads=1, fast=True).fit(X5, y5)
    assert forced5.training_path_ == METHOD_NAME
    with pytest.raises(ValueError, match="fast"):
        CNNClassifier(preset="DL1", epochs=1, fast="yes").fit(X3, y3)


def test_fast_trained_checkpoint_holds_the_plain_network_and_predicts_identically(tmp_path):
    X, y = separable(n=64)
    est = CNNClassifier(preset="DL3", epochs=2, batch_size=16, num_threads=1, fast=True).fit(X, y)
    assert est.training_path_ == METHOD_NAME
    assert set(est.model_.state_dict()) == set(build_model("DL3", 3).state_dict())
    path = save_checkpoint(est, tmp_path / "model.vxp.safetensors", ["a", "b", "c"], window=3)
    loaded = load(path)
    Xt, _ = separable(n=40, seed=7)
    expected = est.predict_proba(Xt)
    assert np.ptp(expected[:, 1]) > 0
    # both are torch's float32 module on the same weights (loaded's batches may differ)
    truth = truth_probability(est.model_, Xt)
    assert_near_truth(loaded.predict_proba(Xt)[:, 1], expected[:, 1], truth, k=4)


@pytest.mark.parametrize("fast,window,preset", [(True, 3, "DL4"), (False, 3, "DL4"), (False, 5, "DL1")])
def test_same_seed_same_model_on_1_2_and_4_threads(fast, window, preset):
    # batches of 40 = slices of 32 and 8: every thread count computes the same
    # slices, one torch thread each, and sums them in the same order, so training
    # is bitwise the same (it used to cut one slice per thread: max |dp| 0.76)
    X, y = separable(n=80, window=window, seed=3)
    runs = []
    for threads in (1, 2, 4):
        est = CNNClassifier(preset=preset, epochs=2, batch_size=40, num_threads=threads, fast=fast, seed=11)
        est.fit(X, y, validation_data=separable(n=16, window=window, seed=4))
        runs.append((est.model_.state_dict(), est.predict_proba(X), est.history_))
    assert runs[0][2][-1]["loss"] != runs[0][2][0]["loss"]  # it trained
    for state, proba, history in runs[1:]:
        assert all(torch.equal(state[k], v) for k, v in runs[0][0].items())
        assert np.array_equal(proba, runs[0][1])
        assert history == runs[0][2]
