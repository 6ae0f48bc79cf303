"""Evaluation protocols: no voxel shared between train and test windows; metrics side by side."""

import numpy as np
import pytest

from voxprospect import VoxelGrid
from voxprospect.errors import NoPositivesError
from voxprospect.learn import RandomForestModel
from voxprospect.learn.samples import make_samples, samples_windows
from voxprospect.learn.protocols import (evaluate_protocols,
                                         overlapping,
                                         split_deposit,
                                         split_random,
                                         split_spatial)

WINDOW = 3


@pytest.fixture(scope="module")
def district():
    """Three box-shaped deposits in a 30 x 30 x 12 grid, and evidence that favours them."""
    grid = VoxelGrid((0.0, 0.0, -600.0), (50.0, 50.0, 50.0), (30, 30, 12), "EPSG:32651")
    orebody = np.zeros(grid.shape, np.int32)
    orebody[3:7, 4:8, 2:6] = 1
    orebody[20:24, 5:8, 5:9] = 2
    orebody[12:15, 22:26, 3:7] = 3
    active = np.ones(grid.shape, bool)
    active[:, :, -1] = False
    samples = make_samples(orebody, active, grid, window=WINDOW, min_distance_m=250.0, seed=1)
    rng = np.random.default_rng(2)
    favour = (orebody > 0).astype(np.float32)
    from scipy.ndimage import gaussian_filter
    stack = np.stack([gaussian_filter(favour, 1.5) * 5 + rng.normal(0, 0.3, grid.shape),
                      rng.normal(0, 1, grid.shape)]).astype(np.float32)
    X = samples_windows(stack, samples)
    return grid, samples, X


def window_voxels(centre, shape, k=WINDOW):
    """Every grid voxel a window reads (edge padding repeats the nearest voxel: clip)."""
    r = k // 2
    ax = [np.clip(np.arange(c - r, c + r + 1), 0, n - 1) for c, n in zip(centre, shape)]
    return {(i, j, k) for i in ax[0] for j in ax[1] for k in ax[2]}


def voxels_of(centres, idx, shape):
    out = set()
    for c in centres[idx]:
        out |= window_voxels(c, shape)
    return out


def test_random_split_is_seventy_thirty_and_leaks(district):
    grid, samples, _ = district
    split = split_random(len(samples), 0.3, seed=0, labels=samples.labels)
    assert len(np.intersect1d(split.train, split.test)) == 0
    assert len(split.train) + len(split.test) == len(samples)
    assert abs(len(split.test) / len(samples) - 0.3) < 0.02
    assert split.info["leaky"]
    # the paper's split shares voxels between train and test windows: the leak it is kept to show
    shared = voxels_of(samples.centres, split.train, grid.shape) & voxels_of(samples.centres, split.test, grid.shape)
    assert shared


def test_spatial_split_shares_no_voxel(district):
    grid, samples, _ = district
    split = split_spatial(samples.centres, samples.labels, WINDOW, block_size_cells=8, seed=3)
    train_vox = voxels_of(samples.centres, split.train, grid.shape)
    test_vox = voxels_of(samples.centres, split.test, grid.shape)
    assert not (train_vox & test_vox)
    assert len(split.dropped) > 0  # the gap really removed neighbours
    # every dropped sample did overlap the test set, so nothing was dropped needlessly
    assert overlapping(samples.centres, split.dropped, split.test, WINDOW).all()
    for side in (split.train, split.test):
        assert set(np.unique(samples.labels[side])) == {0, 1}
    assert len(np.intersect1d(split.train, split.test)) == 0


def test_spatial_split_refuses_positives_in_one_block(district):
    _, samples, _ = district
    with pytest.raises(NoPositivesError):
        split_spatial(samples.centres, samples.labels, WINDOW, block_size_cells=100)


def test_deposit_folds_hold_out_each_deposit_and_share_no_voxel(district):
    grid, samples, _ = district
    folds = split_deposit(samples.centres, samples.labels, samples.deposit, WINDOW, block_size_cells=8, seed=0)
    assert [f.info["deposit"] for f in folds] == [1, 2, 3]
    for fold in folds:
        d = fold.info["deposit"]
        test_pos = fold.test[samples.labels[fold.test] == 1]
        assert set(samples.deposit[test_pos]) == {d}
        assert (samples.deposit[samples.labels == 1] == d).sum() == len(test_pos)
        assert (samples.labels[fold.test] == 0).any()
        assert d not in set(samples.deposit[fold.train][samples.labels[fold.train] == 1])
        assert not (voxels_of(samples.centres, fold.train, grid.shape)
                    & voxels_of(samples.centres, fold.test, grid.shape))


def test_deposit_split_needs_two_deposits(district):
    _, samples, _ = district
    one = np.where(samples.labels == 1, 1, 0)
    with pytest.raises(NoPositivesError, match="two"):
        split_deposit(samples.centres, samples.labels, one, WINDOW)


def test_evaluate_protocols_reports_all_three_side_by_side(district):
    _, samples, X = district
    calls = []
    result = evaluate_protocols(lambda: RandomForestModel(n_estimators=20), X, samples,
                                block_size_cells=8, seed=0, progress=lambda f, m: calls.append(f))
    assert set(result) == {"random", "spatial", "deposit"}
    for r in result.values():
        assert 0.0 <= r["accuracy"] <= 1.0 and 0.0 <= r["f1"] <= 1.0 and 0.0 <= r["auc"] <= 1.0
        assert r["n_test"] > 0 and r["n_train"] > 0
    assert result["random"]["leaky"] and not result["spatial"]["leaky"]
    assert result["random"]["n_dropped_gap"] == 0 and result["spatial"]["n_dropped_gap"] > 0
    assert len(result["deposit"]["folds"]) == 3
    assert calls[-1] == pytest.approx(1.0) and len(calls) == 5  # 1 + 1 + 3 fits
    # the evidence favours orebodies, so even the honest protocols beat chance
    assert result["spatial"]["auc"] > 0.7


def test_evaluate_protocols_skips_deposit_without_two_deposits(district):
    _, samples, X = district
    one = {"centres": samples.centres, "labels": samples.labels, "window": WINDOW,
           "deposit": (samples.labels == 1).astype(int)}
    result = evaluate_protocols(RandomForestModel(n_estimators=5), X, one, protocols=("paper", "deposit"),
                                block_size_cells=8)
    assert "skipped" in result["deposit"] and "accuracy" in result["random"]
