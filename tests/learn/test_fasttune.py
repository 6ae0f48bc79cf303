"""Per-machine tuning of the zero-skip path (issue 17): cached, recalibrated, never changing results.

Speed is not asserted (benchmarks/predict.py measures it). What is: the settings are
measured once and cached per CPU model and torch version in the folder
``VOXPROSPECT_CACHE_DIR`` names, read back, measured again on request or when the
cache is unreadable, switched off by ``VOXPROSPECT_CACHE_DIR=off``; and every setting
the calibration may choose gives probabilities within the float64-referenced bound,
bitwise the same on one or two worker threads.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from voxprospect import Volume, VoxelGrid
from voxprospect.learn import fasttune
from voxprospect.learn.checkpoint import LoadedModel
from voxprospect.learn.fastpredict import predict_fast, trained_looking
from voxprospect.learn.fasttune import (CANDIDATE_AXES, CANDIDATE_BATCH, CANDIDATE_BLOCK_FACTOR, DEFAULTS,
                                        machine_key, network_signature, request_recalibration, settings_for)
from voxprospect.learn.network import build_model
from voxprospect.learn.samples import extract_windows, pad_stack
from float_truth import assert_near_truth, truth_probability

CHANNELS = [f"e{i}" for i in range(3)]
FAST_K = 16  # as tests/learn/test_fastpredict.py: the 5-point algorithm rounds more


@pytest.fixture
def net():
    torch.manual_seed(0)
    calib = np.random.default_rng(1).normal(size=(128, len(CHANNELS), 3, 3, 3)).astype(np.float32)
    return trained_looking(build_model("DL3", len(CHANNELS)).eval(), calib, seed=0)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("VOXPROSPECT_CACHE_DIR", str(folder))
    return folder / "tuning.json"


def _entry(path, net):
    return json.loads(path.read_text())[machine_key()][network_signature(net, 3)]


def test_caching_off_gives_the_defaults_and_writes_nothing(net, tmp_path):
    s = settings_for(net, 3)  # conftest switches caching off
    assert (s.batch_size, s.block_voxels, s.transform_axes) == DEFAULTS[3]
    assert s.source == "defaults"
    assert not any(tmp_path.iterdir())


def test_first_use_measures_and_caches_then_reads_back(net, cache):
    first = settings_for(net, 3, budget_s=0)
    assert first.source == "calibrated" and first.seconds > 0
    assert first.batch_size in CANDIDATE_BATCH[3]
    assert first.transform_axes in CANDIDATE_AXES[3]
    assert first.block_voxels in {int(f * first.batch_size) for f in CANDIDATE_BLOCK_FACTOR}
    entry = _entry(cache, net)
    assert (entry["batch_size"], entry["block_voxels"], entry["transform_axes"]) == \
        (first.batch_size, first.block_voxels, first.transform_axes)
    timed = set(entry["rates"]["batch"])
    assert str(first.batch_size) in timed and timed <= {str(b) for b in CANDIDATE_BATCH[3]}
    assert set(entry["rates"]["axes"]) == {str(a) for a in CANDIDATE_AXES[3]}
    again = settings_for(net, 3)
    assert again.source == "cache"
    assert (again.batch_size, again.block_voxels, again.transform_axes) == \
        (first.batch_size, first.block_voxels, first.transform_axes)


def test_a_cached_choice_is_used_as_written(net, cache):
    cache.parent.mkdir(parents=True)
    sig = network_signature(net, 3)
    cache.write_text(json.dumps({machine_key(): {sig: {"batch_size": 256, "block_voxels": 1024,
                                                        "transform_axes": 3}}}))
    s = settings_for(net, 3)
    assert (s.batch_size, s.block_voxels, s.transform_axes, s.source) == (256, 1024, 3, "cache")


@pytest.mark.parametrize("content", ["{not json", "BAD-ENTRY"])
def test_an_unreadable_or_foreign_cache_is_measured_again(net, cache, content):
    cache.parent.mkdir(parents=True)
    if content == "BAD-ENTRY":  # a batch size this version never chooses
        content = json.dumps({machine_key(): {network_signature(net, 3): {
            "batch_size": 7, "block_voxels": 7, "transform_axes": 1}}})
    cache.write_text(content)
    s = settings_for(net, 3, budget_s=0)
    assert s.source == "calibrated"
    assert _entry(cache, net)["batch_size"] == s.batch_size


def test_recalibrate_measures_again_once(net, cache):
    cache.parent.mkdir(parents=True)
    cache.write_text(json.dumps({machine_key(): {network_signature(net, 3): {
        "batch_size": 256, "block_voxels": 256, "transform_axes": 0}}}))
    assert settings_for(net, 3).source == "cache"
    request_recalibration()
    assert settings_for(net, 3, budget_s=0).source == "calibrated"
    assert settings_for(net, 3).source == "cache"  # once per process and network


def test_an_unwritable_cache_costs_time_not_correctness(net, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("VOXPROSPECT_CACHE_DIR", str(blocker / "cache"))
    s = settings_for(net, 3, budget_s=0)
    assert s.batch_size in CANDIDATE_BATCH[3]
    assert blocker.read_text() == "not a folder"


def _evidence(shape=(10, 9, 8), seed=4):
    grid = VoxelGrid((0.0, 0.0, 0.0), (50.0, 50.0, 25.0), shape)
    rng = np.random.default_rng(seed)
    active = rng.random(shape) > 0.2
    layers = {c: np.where(active, rng.normal(size=shape), np.nan).astype(np.float32) for c in CHANNELS}
    return Volume(grid, layers, active)


def test_every_setting_the_calibration_may_choose_gives_the_same_probabilities(net):
    evidence = _evidence()
    model = LoadedModel({"kind": "cnn", "channels": CHANNELS, "window": 3, "edge": "edge"}, module=net)
    cells = np.argwhere(evidence.active)
    cells = cells[np.random.default_rng(0).permutation(len(cells))[:96]]
    stack = np.nan_to_num(evidence.stack(CHANNELS), nan=0.0)
    windows = extract_windows(pad_stack(stack, 3, "edge"), cells, 3)
    truth = truth_probability(net, windows)
    with torch.no_grad():
        torch32 = torch.softmax(net(torch.from_numpy(windows)), dim=1)[:, 1].numpy()
    idx = tuple(cells.T)

    def run(bs, block, axes, workers):
        return predict_fast(model, evidence, CHANNELS, 3, "edge", 10**9, lambda *a: None, batch_size=bs,
                            transform_axes=axes, block_voxels=block, n_workers=workers)

    # every 5-point choice at the smallest batch, every batch (with its own block
    # factor) at one axis: each factor is varied against a fixed rest
    choices = [(CANDIDATE_BATCH[3][0], CANDIDATE_BATCH[3][0], a) for a in CANDIDATE_AXES[3]]
    choices += [(bs, int(f * bs), 1) for bs, f in zip(CANDIDATE_BATCH[3][1:], CANDIDATE_BLOCK_FACTOR)]
    for bs, block, axes in choices:
        got = run(bs, block, axes, 1)
        assert np.array_equal(np.isnan(got), ~evidence.active)
        assert_near_truth(got[idx], torch32, truth, k=FAST_K, what=f"batch {bs}, block {block}, axes {axes}")
    # the thread count never changes a result: each batch runs on one thread
    one, two = run(256, 128, 1, 1), run(256, 128, 1, 2)
    assert np.array_equal(one, two, equal_nan=True)


def test_gpu_settings_need_no_measurement():
    s = fasttune.default_settings(3, "cuda")
    assert s.batch_size >= max(CANDIDATE_BATCH[3])
