"""Training windows (voxprospect.learn.samples)."""

import json

import numpy as np
import pytest

from voxprospect import NoPositivesError, VoxelGrid, VoxprospectError
from voxprospect.learn.samples import extract_windows, make_samples, pad_stack, samples_windows

GRID = VoxelGrid((0.0, 0.0, -1000.0), (100.0, 80.0, 50.0), (24, 20, 16))


@pytest.fixture
def orebody():
    ore = np.zeros(GRID.shape, np.int32)
    ore[5:7, 4:6, 6:9] = 1        # deposit 1: 12 voxels
    ore[17, 14:16, 3:5] = 2       # deposit 2: 4 voxels
    return ore


@pytest.fixture
def active():
    act = np.ones(GRID.shape, bool)
    act[:, :, -2:] = False        # air
    return act


def test_every_active_orebody_voxel_is_a_positive(orebody, active):
    orebody[5, 4, 15] = 1         # in the air: not a sample
    s = make_samples(orebody, active, GRID, min_distance_m=800.0, seed=1)
    pos = s.centres[s.labels == 1]
    expected = np.argwhere((orebody > 0) & active)
    assert {tuple(c) for c in pos} == {tuple(c) for c in expected}
    assert s.n_positive == 16 == s.n_negative
    assert s.centres.dtype == np.int64 and s.labels.dtype == np.int8 and s.deposit.dtype == np.int32
    np.testing.assert_array_equal(s.deposit[s.labels == 1], orebody[tuple(pos.T)])
    assert (s.deposit[s.labels == 0] == 0).all()
    summary = s.to_dict()
    assert json.loads(json.dumps(summary)) == summary
    assert summary["positives_per_deposit"] == {"1": 12, "2": 4}


def test_negatives_are_far_from_every_orebody_voxel_brute_force(orebody, active):
    s = make_samples(orebody, active, GRID, min_distance_m=800.0, seed=3, negatives_per_positive=3)
    neg = s.centres[s.labels == 0]
    assert len(neg) == 48 == len(np.unique(neg, axis=0))
    assert active[tuple(neg.T)].all()
    cs = np.asarray(GRID.cell_size)
    ore_xyz = np.argwhere(orebody > 0) * cs
    d = np.sqrt((((neg * cs)[:, None, :] - ore_xyz[None]) ** 2).sum(-1)).min(1)
    assert d.min() >= 800.0
    # and the rule is not vacuous: some eligible voxels lie close to the limit
    assert d.min() < 1200.0


def test_seed_reproducible_and_different_seed_differs(orebody, active):
    a = make_samples(orebody, active, GRID, seed=7)
    b = make_samples(orebody, active, GRID, seed=7)
    c = make_samples(orebody, active, GRID, seed=8)
    np.testing.assert_array_equal(a.centres, b.centres)
    assert not np.array_equal(a.centres[a.labels == 0], c.centres[c.labels == 0])
    np.testing.assert_array_equal(a.centres[a.labels == 1], c.centres[c.labels == 1])


def test_bool_orebody_and_errors(orebody, active):
    s = make_samples(orebody > 0, active, GRID, seed=0)
    assert set(s.deposit[s.labels == 1]) == {1}
    with pytest.raises(NoPositivesError, match="selects no voxel"):
        make_samples(np.zeros(GRID.shape, int), active, GRID)
    air_only = np.zeros(GRID.shape, int)
    air_only[3, 3, -1] = 1
    with pytest.raises(NoPositivesError, match="inside the study volume"):
        make_samples(air_only, active, GRID)
    with pytest.raises(VoxprospectError, match="min_distance_m"):
        make_samples(orebody, active, GRID, min_distance_m=3000.0)
    with pytest.raises(VoxprospectError, match="odd"):
        make_samples(orebody, active, GRID, window=4)
    with pytest.raises(VoxprospectError, match="edge rule"):
        make_samples(orebody, active, GRID, edge="mirror")


def test_samples_windows_fill_nan_and_match_manual_cut(orebody, active):
    rng = np.random.default_rng(0)
    stack = rng.standard_normal((2,) + GRID.shape).astype(np.float32)
    stack[:, ~active] = np.nan
    s = make_samples(orebody, active, GRID, window=5, seed=2, edge="edge")
    win = samples_windows(stack, s)
    assert win.shape == (len(s), 2, 5, 5, 5) and np.isfinite(win).all()
    filled = np.where(np.isfinite(stack), stack, 0).astype(np.float32)
    manual = extract_windows(pad_stack(filled, 5, "edge"), s.centres, 5)
    np.testing.assert_array_equal(win, manual)
    i, j, k = s.centres[0]
    np.testing.assert_array_equal(win[0, :, 2, 2, 2], filled[:, i, j, k])


def test_infeasible_distance_names_a_value_that_works(orebody, active):
    """Issue 12: the refusal says which min_distance_m would leave enough negatives, and it does."""
    import re
    with pytest.raises(VoxprospectError, match=r"min_distance_m = \d+") as err:
        make_samples(orebody, active, GRID, min_distance_m=2500.0, negatives_per_positive=20)
    suggested = float(re.search(r"min_distance_m = (\d+)", str(err.value)).group(1))
    assert suggested < 2500.0
    s = make_samples(orebody, active, GRID, min_distance_m=suggested, negatives_per_positive=20)
    assert s.n_negative == 20 * s.n_positive
