"""Evaluation protocols: no voxel shared between train and test windows; metrics side by side."""

import numpy as np
import pytest

from voxprospect import VoxelGrid
from voxprospect.errors import NoPositivesError
from voxprospect.learn import RandomForestModel
from voxprospect.learn.samples import make_samples, samples_windows
from voxprospect.learn.protocols import (DepositSplitter, RandomSplitter, SpatialBlockSplitter, buffer_sweep,
                                         default_buffer_m, deposit_groups, evaluate_protocols, make_plans,
                                         neighbour_overlap, orebody_bodies, split_deposit,
                                         split_heldout, split_random, split_spatial, window_extent_m)

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


def min_gap_m(samples, train, test):
    """Smallest metric distance between a training and a test centre, brute force in float64."""
    cs = np.asarray(samples.cell_size, float)
    a = samples.centres[train].astype(float) * cs
    b = samples.centres[test].astype(float) * cs
    if len(a) == 0 or len(b) == 0:
        return float("inf")
    return float(np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)).min())


def test_neighbour_overlap_is_computed_from_the_window():
    # brute force: count the voxels two windows offset by (a, b, c) both cover
    for k in (3, 5):
        cube = {(i, j, m) for i in range(k) for j in range(k) for m in range(k)}
        for name, off in (("face", (1, 0, 0)), ("edge", (1, 1, 0)), ("corner", (1, 1, 1))):
            moved = {(i + off[0], j + off[1], m + off[2]) for i, j, m in cube}
            assert neighbour_overlap(k)[name] == len(cube & moved)
    assert neighbour_overlap(3)["face"] != 26


def test_default_buffer_is_window_extent_plus_smoothing():
    cs = (50.0, 40.0, 20.0)
    ext = window_extent_m(3, cs)
    assert ext == pytest.approx(3 * np.sqrt(50 ** 2 + 40 ** 2 + 20 ** 2))
    assert default_buffer_m(3, cs, 250.0) == pytest.approx(ext + 250.0)


@pytest.mark.parametrize("buffer_m", [None, 120.0, 400.0])
def test_no_training_window_within_the_buffer_for_every_protocol(district, buffer_m):
    grid, samples, _ = district
    # on this 1.5 km grid the default smoothing would leave little to train on: the
    # default rule is exercised with smoothing 0 (buffer = the window's extent)
    plans = make_plans(samples, ("spatial", "deposit"), seed=3, block_size_cells=8, buffer_m=buffer_m,
                       smoothing_m=0.0)
    expected = default_buffer_m(WINDOW, grid.cell_size, 0.0) if buffer_m is None else buffer_m
    for plan in plans.values():
        assert not isinstance(plan, str), plan
        for split in plan:
            assert len(split.train) > 0
            assert split.info["buffer_m"] == pytest.approx(expected)
            assert len(np.intersect1d(split.train, split.test)) == 0
            assert min_gap_m(samples, split.train, split.test) >= expected
            if len(split.dropped):
                # every dropped window really was inside the buffer: nothing dropped needlessly
                cs = np.asarray(grid.cell_size)
                d = np.sqrt((((samples.centres[split.dropped, None, :] - samples.centres[None, split.test, :])
                              * cs) ** 2).sum(-1)).min(axis=1)
                assert (d < expected).all()
    # the default buffer (window extent + smoothing) is wider than one window: no voxel shared
    for split in make_plans(samples, ("spatial",), seed=3, block_size_cells=8, smoothing_m=0.0)["spatial"]:
        assert not (voxels_of(samples.centres, split.train, grid.shape)
                    & voxels_of(samples.centres, split.test, grid.shape))


def test_anisotropic_cells_make_the_buffer_metric():
    """The same centres with tall cells: the buffer counts metres, not cells."""
    rng = np.random.default_rng(0)
    centres = np.column_stack([rng.integers(0, 40, 400), rng.integers(0, 40, 400), rng.integers(0, 10, 400)])
    labels = (rng.random(400) < 0.3).astype(int)
    flat = SpatialBlockSplitter(centres, (10.0, 10.0, 10.0), 3, buffer_m=45.0, block_m=100.0, seed=1)
    tall = SpatialBlockSplitter(centres, (10.0, 10.0, 100.0), 3, buffer_m=45.0, block_m=100.0, seed=1)
    s_flat, s_tall = flat.folds(labels)[0], tall.folds(labels)[0]
    for sp, s in ((flat, s_flat), (tall, s_tall)):
        pts = centres * np.asarray(sp.cell_size)
        d = np.sqrt(((pts[s.train][:, None] - pts[s.test][None]) ** 2).sum(-1)).min()
        assert d >= 45.0


def test_splitters_have_scikit_learns_face(district):
    _, samples, X = district
    sp = SpatialBlockSplitter(samples.centres, samples.cell_size, WINDOW, block_size_cells=8, n_splits=3, seed=0)
    folds = list(sp.split(X, samples.labels))
    assert len(folds) == sp.get_n_splits(X, samples.labels) == 3
    tested = np.concatenate([te for _, te in folds])
    assert len(tested) == len(np.unique(tested)) == len(samples)  # k-fold: every sample tested once
    dep = DepositSplitter(samples.centres, samples.cell_size, WINDOW, block_size_cells=8, seed=0)
    assert dep.get_n_splits(X, samples.labels, samples.deposit) == 3
    rnd = list(RandomSplitter(0.3, seed=0).split(X, samples.labels))
    assert len(rnd) == 1 and RandomSplitter.leaky


def test_spatial_blocks_never_cut_an_orebody(district):
    _, samples, _ = district
    bodies = orebody_bodies(samples.centres, samples.labels)
    assert len(np.unique(bodies[bodies > 0])) == 3
    # small blocks cut every deposit box; the splitter must move each box whole
    for seed in range(4):
        for split in (SpatialBlockSplitter(samples.centres, samples.cell_size, WINDOW, block_size_cells=3,
                                           buffer_m=0.0, seed=seed).folds(samples.labels)
                      + SpatialBlockSplitter(samples.centres, samples.cell_size, WINDOW, block_size_cells=3,
                                             n_splits=2, buffer_m=0.0, seed=seed).folds(samples.labels)):
            for b in np.unique(bodies[bodies > 0]):
                members = np.flatnonzero(bodies == b)
                assert np.isin(members, split.test).all() or not np.isin(members, split.test).any()


def test_touching_deposits_form_one_group():
    grid = VoxelGrid((0.0, 0.0, 0.0), (50.0, 50.0, 25.0), (40, 30, 12), None)
    orebody = np.zeros(grid.shape, np.int32)
    orebody[3:7, 4:8, 2:6] = 1
    orebody[7:10, 8:11, 6:8] = 2      # touches deposit 1 at a corner only (26-connected)
    orebody[30:34, 20:24, 3:6] = 3
    orebody[20:23, 2:5, 3:6] = 4
    samples = make_samples(orebody, np.ones(grid.shape, bool), grid, window=3, min_distance_m=150.0, seed=0)
    groups, members = deposit_groups(samples.centres, samples.labels, samples.deposit)
    assert members == {1: [1, 2], 2: [3], 3: [4]}
    pos = samples.labels == 1
    assert len(np.unique(groups[pos & (samples.deposit == 1)])) == 1
    assert np.unique(groups[pos & (samples.deposit == 1)]) == np.unique(groups[pos & (samples.deposit == 2)])
    folds = split_deposit(samples.centres, samples.labels, samples.deposit, 3, cell_size=grid.cell_size,
                          block_size_cells=6, seed=0)
    assert [f.info["deposits"] for f in folds] == [[1, 2], [3], [4]]
    first = folds[0]
    held = set(samples.deposit[first.test][samples.labels[first.test] == 1])
    assert held == {1, 2}
    assert not ({1, 2} & set(samples.deposit[first.train][samples.labels[first.train] == 1]))
    # the held-out check holds out the whole group and its buffer too
    h = split_heldout(samples.centres, samples.labels, samples.deposit, 2, 3, cell_size=grid.cell_size)
    assert h.info["deposits"] == [1, 2]
    assert min_gap_m(samples, h.train, h.test) >= h.info["buffer_m"]
    assert set(samples.deposit[h.train][samples.labels[h.train] == 1]) == {3, 4}


def test_deposit_folds_hold_out_each_deposit_with_the_buffer(district):
    grid, samples, _ = district
    folds = split_deposit(samples.centres, samples.labels, samples.deposit, WINDOW, block_size_cells=8, seed=0,
                          cell_size=grid.cell_size)
    assert [f.info["deposit"] for f in folds] == [1, 2, 3]
    for fold in folds:
        d = fold.info["deposit"]
        test_pos = fold.test[samples.labels[fold.test] == 1]
        assert set(samples.deposit[test_pos]) == {d}
        assert (samples.deposit[samples.labels == 1] == d).sum() == len(test_pos)
        assert (samples.labels[fold.test] == 0).any()
        assert d not in set(samples.deposit[fold.train][samples.labels[fold.train] == 1])
        assert min_gap_m(samples, fold.train, fold.test) >= fold.info["buffer_m"]


def test_spatial_split_refuses_positives_in_one_block(district):
    _, samples, _ = district
    with pytest.raises(NoPositivesError):
        split_spatial(samples.centres, samples.labels, WINDOW, block_size_cells=100, cell_size=samples.cell_size)


def test_deposit_split_needs_two_deposits(district):
    _, samples, _ = district
    one = np.where(samples.labels == 1, 1, 0)
    with pytest.raises(NoPositivesError, match="two"):
        split_deposit(samples.centres, samples.labels, one, WINDOW, cell_size=samples.cell_size)


def test_evaluate_protocols_reports_all_three_side_by_side(district):
    _, samples, X = district
    calls = []
    result = evaluate_protocols(lambda: RandomForestModel(n_estimators=20), X, samples, smoothing_m=0.0,
                                block_size_cells=8, seed=0, progress=lambda f, m: calls.append(f))
    assert set(result) == {"random", "spatial", "deposit"}
    for r in result.values():
        assert 0.0 <= r["accuracy"] <= 1.0 and 0.0 <= r["f1"] <= 1.0 and 0.0 <= r["auc"] <= 1.0
        assert r["n_test"] > 0 and r["n_train"] > 0
    assert result["random"]["leaky"] and not result["spatial"]["leaky"]
    assert result["random"]["n_dropped_gap"] == 0 and result["spatial"]["n_dropped_gap"] > 0
    assert result["spatial"]["buffer_m"] == pytest.approx(default_buffer_m(WINDOW, samples.cell_size, 0.0))
    assert len(result["deposit"]["folds"]) == 3
    assert calls[-1] == pytest.approx(1.0) and len(calls) == 5  # 1 + 1 + 3 fits
    # the evidence favours orebodies, so even the honest protocols beat chance
    assert result["spatial"]["auc"] > 0.7


def test_evaluate_protocols_skips_deposit_without_two_deposits(district):
    _, samples, X = district
    one = {"centres": samples.centres, "labels": samples.labels, "window": WINDOW, "cell_size": samples.cell_size,
           "deposit": (samples.labels == 1).astype(int)}
    result = evaluate_protocols(RandomForestModel(n_estimators=5), X, one, protocols=("paper", "deposit"),
                                block_size_cells=8)
    assert "skipped" in result["deposit"] and "accuracy" in result["random"]


def test_buffer_sweep_keeps_the_test_set_and_applies_each_buffer(district):
    grid, samples, X = district
    base = make_plans(samples, ("spatial",), seed=3, block_size_cells=8, buffer_m=0.0)["spatial"][0]
    buffers = [0.0, "window", 250.0, 500.0]
    rows = buffer_sweep(lambda: RandomForestModel(n_estimators=10), X, samples, base, buffers)
    # rows by increasing distance: the 3-window of 50 m cells spans 260 m, past 250 m
    assert window_extent_m(WINDOW, grid.cell_size) == pytest.approx(150 * np.sqrt(3))
    assert [r["label"] for r in rows] == ["0 m", "250 m", "window", "500 m"]
    assert [r["buffer_m"] for r in rows] == pytest.approx([0.0, 250.0, window_extent_m(WINDOW, grid.cell_size),
                                                           500.0])
    assert all(r["n_test"] == len(base.test) for r in rows)
    n_train = [r["n_train"] for r in rows]
    assert n_train[0] == len(base.train) and all(a >= b for a, b in zip(n_train, n_train[1:]))
    for r in rows:
        assert r["min_train_test_distance_m"] >= r["buffer_m"]
        assert "skipped" in r or 0.0 <= r["auc"] <= 1.0


def test_many_deposits_are_dealt_into_at_most_five_whole_group_folds():
    from voxprospect.learn.protocols import DepositSplitter
    rng = np.random.default_rng(0)
    # twelve separate deposits of three windows each along x, negatives between them
    pos = np.array([[10 * d + i, 5, 5] for d in range(12) for i in range(3)])
    neg = np.column_stack([rng.integers(0, 120, 200), rng.integers(20, 40, 200), rng.integers(0, 10, 200)])
    centres = np.vstack([pos, neg])
    y = np.r_[np.ones(len(pos), int), np.zeros(len(neg), int)]
    deposit = np.r_[np.repeat(np.arange(1, 13), 3), np.zeros(len(neg), int)]
    folds = DepositSplitter(centres, (10.0, 10.0, 10.0), 3, buffer_m=0.0, smoothing_m=0.0, seed=1).folds(y, deposit)
    assert len(folds) == 5
    held = [sorted(f.info["deposits"]) for f in folds]
    assert sorted(d for h in held for d in h) == list(range(1, 13))  # every deposit held out exactly once
    for f in folds:  # a fold's test positives are exactly its deposits' windows
        test_pos = f.test[y[f.test] == 1]
        assert set(deposit[test_pos]) == set(f.info["deposits"])
    one_each = DepositSplitter(centres, (10.0, 10.0, 10.0), 3, buffer_m=0.0, smoothing_m=0.0, seed=1,
                               max_folds=None).folds(y, deposit)
    assert len(one_each) == 12


def test_cnn_folds_record_the_epochs_run_and_the_epoch_kept(district):
    """Each fold of a CNN says how many epochs it ran and which it kept, so a report
    shows what early stopping saved (and that a fold ran to the end)."""
    from voxprospect.learn import CNNClassifier

    _, samples, X = district
    make = lambda: CNNClassifier(preset="DL1", epochs=6, batch_size=32, num_threads=1, seed=3,  # noqa: E731
                                 validation_fraction=0.25, early_stopping_patience=1)
    result = evaluate_protocols(make, X, samples, protocols=("spatial",), smoothing_m=0.0,
                                block_size_cells=8, seed=0)
    row = result["spatial"]
    assert 1 <= row["best_epoch"] <= row["epochs_run"] <= min(6, row["best_epoch"] + 1)
