"""The zero-skip path gives the per-window network's probabilities (issue 6).

Speed is not asserted here (benchmarks/predict.py measures it); agreement is, for
every preset and window sizes 3 and 5, on a "trained-looking" random network whose
probabilities cover most of (0, 1) -- an untrained one gives nearly the same value
everywhere, against which any computation would agree.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from voxprospect import Volume, VoxelGrid
from voxprospect.learn.fastpredict import (METHOD_NAME, accepts, network_of, plan_for, trained_looking,
                                           useful_flops_per_window, window_probability)
from voxprospect.learn.checkpoint import LoadedModel
from voxprospect.learn.network import build_model
from voxprospect.mapping.predict import predict_volume
from float_truth import assert_near_truth, truth_probability
# The 5-point algorithm rounds about ten times more than a direct sum
# (voxprospect.learn.fastpredict), so the zero-skip path may stray up to 16 times torch's
# own float32 error from the float64 truth (tests/float_truth.py).
FAST_K = 16
CHANNELS = [f"evidence_{i}" for i in range(4)]


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _network(preset, window, seed=0):
    torch.manual_seed(seed)
    calib = np.random.default_rng(seed + 1).normal(size=(128, len(CHANNELS), window, window, window))
    return trained_looking(build_model(preset, len(CHANNELS)).eval(), calib.astype(np.float32), seed=seed)


def _evidence(shape=(11, 9, 7), seed=3):
    """Random evidence on a grid whose sides are not multiples of any block, with
    inactive cells (NaN evidence) and one gap in a layer."""
    grid = VoxelGrid((0.0, 0.0, -500.0), (50.0, 50.0, 25.0), shape)
    rng = np.random.default_rng(seed)
    active = rng.random(shape) > 0.15
    layers = {}
    for name in CHANNELS:
        a = rng.normal(size=shape).astype(np.float32)
        a[~active] = np.nan
        layers[name] = a
    layers[CHANNELS[1]][2, 3, 4] = np.nan
    return Volume(grid, layers, active)


def _naive(net, evidence, window, edge="edge"):
    model = LoadedModel({"kind": "cnn", "channels": CHANNELS, "window": window, "edge": edge}, module=net)
    return model, predict_volume(model, evidence, window=window, edge=edge, method="windows",
                                 chunk_voxels=500)["prospectivity"]


def _truth(net, evidence, window, edge="edge", n=96, seed=0):
    """Active cells (a seeded sample of ``n``) and the float64 network's probabilities there.

    The float64 network is slow (no fast float64 convolution on the CPU), so the
    truth is taken on a sample of the grid's cells, edges and corners included.
    """
    from voxprospect.learn.samples import extract_windows, pad_stack

    cells = np.argwhere(evidence.active)
    cells = cells[np.random.default_rng(seed).permutation(len(cells))[:n]]
    stack = np.nan_to_num(evidence.stack(CHANNELS), nan=0.0)
    windows = extract_windows(pad_stack(stack, window, edge), cells, window)
    return tuple(cells.T), truth_probability(net, windows)


@pytest.mark.parametrize("window", [3, 5])
@pytest.mark.parametrize("preset", ["DL1", "DL2", "DL3", "DL4"])
def test_whole_grid_matches_per_window_forward(preset, window):
    net = _network(preset, window)
    evidence = _evidence()
    model, naive = _naive(net, evidence, window)
    fast = predict_volume(model, evidence, window=window, chunk_voxels=500)
    assert fast.meta["prediction"]["method"] == METHOD_NAME
    got = fast["prospectivity"]
    assert np.array_equal(np.isnan(got), ~evidence.active)
    on = evidence.active
    # the model is not constant: agreement means something
    assert np.ptp(naive[on]) > 0.5
    cells, truth = _truth(net, evidence, window)
    assert_near_truth(got[cells], naive[cells], truth, k=FAST_K)


def test_zero_edge_rule_and_plain_window_path_agree():
    net = _network("DL4", 3, seed=5)
    evidence = _evidence(shape=(8, 13, 6), seed=9)
    model, naive = _naive(net, evidence, 3, edge="zero")
    got = predict_volume(model, evidence, window=3, edge="zero", chunk_voxels=64)["prospectivity"]
    on = evidence.active
    assert np.array_equal(np.isnan(got), ~on)
    cells, truth = _truth(net, evidence, 3, edge="zero")
    assert_near_truth(got[cells], naive[cells], truth, k=FAST_K)
    windows = np.random.default_rng(2).normal(size=(300, len(CHANNELS), 3, 3, 3)).astype(np.float32)
    with torch.no_grad():
        ref = torch.softmax(net(torch.from_numpy(windows)), dim=1)[:, 1].numpy()
    truth = truth_probability(net, windows)
    for axes in (0, 1, 2, 3):
        got = window_probability(net, windows, batch_size=128, transform_axes=axes)
        assert_near_truth(got, ref, truth, k=FAST_K, what=f"transform_axes={axes}")


def test_accepts_only_unmodified_rcnnlam():
    net = build_model("DL3", 4)
    assert accepts(net) and network_of(net) is net
    loaded = LoadedModel({"kind": "cnn", "channels": CHANNELS, "window": 3}, module=net)
    assert network_of(loaded) is net

    class Altered(type(net)):
        pass

    altered = Altered(4, n_blocks=1, attention=True)
    assert not accepts(altered)
    net.blocks[0].attention = torch.nn.Identity()
    assert not accepts(net)

    from voxprospect.learn.estimators import RandomForestModel
    assert not accepts(RandomForestModel())


def test_plan_is_rebuilt_after_training_changes_the_weights():
    net = _network("DL1", 3)
    windows = np.random.default_rng(4).normal(size=(50, len(CHANNELS), 3, 3, 3)).astype(np.float32)
    before = window_probability(net, windows)
    with torch.no_grad():
        net.head.bias.add_(torch.tensor([0.0, 1.0]))  # in place, as an optimiser step is
    after = window_probability(net, windows)
    with torch.no_grad():
        ref = torch.softmax(net(torch.from_numpy(windows)), dim=1)[:, 1].numpy()
    assert_near_truth(after, ref, truth_probability(net, windows), k=FAST_K)
    assert np.max(np.abs(after - before)) > 0.01


def test_useful_flops_count_only_in_window_taps():
    net = build_model("DL1", 4)
    # stem 4->64, conv1 64->128, conv2 128->128 on 343 in-window pairs; shortcut and
    # projection 1x1x1 on 27 positions
    macs = 343 * (4 * 64 + 64 * 128 + 128 * 128) + 27 * (64 * 128 + 128 * 64)
    assert useful_flops_per_window(net, 3) == 2 * macs
    assert plan_for(net, 3, transform_axes=2).performed_macs < macs
