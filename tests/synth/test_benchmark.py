"""Benchmark scores on hand-made volumes: truth AUC, deposit AUC, undiscovered capture
(best voxel's mid-rank inside the top share) and the metric buffer around deposits."""

from __future__ import annotations

import numpy as np
import pytest

from voxprospect import VoxelGrid
from voxprospect.synth.benchmark import (BenchmarkTruth, deposit_auc, deposit_capture, deposit_ranks,
                                         score_volume, windows_near)
from voxprospect.errors import LayerError, NoPositivesError, VoxprospectError
from voxprospect.data.volume import Volume

SHAPE = (10, 10, 10)  # 1,000 voxels


def _ranked():
    """Values 0..999 in C order: voxel value v has exactly 999 - v voxels above it."""
    return np.arange(np.prod(SHAPE), dtype=float).reshape(SHAPE)


def _deposits_at(values, tops):
    """One single-voxel deposit per entry, at the voxel with that many voxels above it."""
    dep = np.zeros(SHAPE, dtype=np.int16)
    for i, above in enumerate(tops, start=1):
        dep[np.unravel_index(999 - above, SHAPE)] = i
    return dep


def test_capture_counts_a_deposit_when_its_best_voxel_is_in_the_top_share():
    v = _ranked()
    # 10, 49 and 120 voxels above the deposits' best voxels: mid-ranks 10.5, 49.5, 120.5 of 1,000
    dep = _deposits_at(v, [10, 49, 120])
    dep[np.unravel_index(0, SHAPE)] = 3  # a low voxel of deposit 3 changes nothing: the best one counts
    ranks = deposit_ranks(v, None, dep, [1, 2, 3])
    assert ranks == pytest.approx({1: 0.0105, 2: 0.0495, 3: 0.1205})
    cap = deposit_capture(v, None, dep, [1, 2, 3])
    assert cap["top5"] == pytest.approx(2 / 3)
    assert cap["top10"] == pytest.approx(2 / 3)
    cap = deposit_capture(v, None, dep, [1, 2, 3], shares=(0.05, 0.13))
    assert cap["top13"] == pytest.approx(1.0)


def test_constant_volume_captures_nothing_and_inactive_voxels_do_not_count():
    flat = np.ones(SHAPE)
    dep = _deposits_at(_ranked(), [0, 1])
    assert deposit_ranks(flat, None, dep, [1, 2]) == {1: 0.5, 2: 0.5}
    assert deposit_capture(flat, None, dep, [1, 2])["top10"] == 0.0
    # only half the grid is active: the same deposit at the top ranks against 500 voxels
    v = _ranked()
    active = np.zeros(SHAPE, bool)
    active[5:] = True
    assert deposit_ranks(v, active, dep, [1])[1] == pytest.approx(0.5 / 500)
    with pytest.raises(NoPositivesError):
        deposit_ranks(v, ~active, dep, [1])


def test_deposit_auc_and_truth_auc_on_hand_made_volumes():
    v = _ranked()
    dep = np.zeros(SHAPE, dtype=np.int16)
    dep[v >= 900] = 1                      # deposit 1: the top 100 voxels
    dep[(v >= 100) & (v < 150)] = 2        # deposit 2: low-ranked voxels
    assert deposit_auc(v, None, dep == 1) == pytest.approx(1.0)
    assert deposit_auc(-v, None, dep == 1) == pytest.approx(0.0)
    # leaving deposit 1 out, deposit 2's 50 voxels sit above 100 of the 850 others
    assert deposit_auc(v, None, dep == 2, exclude=dep == 1) == pytest.approx(100 * 50 / (50 * 850))
    active = np.ones(SHAPE, bool)
    truth = BenchmarkTruth(v, dep, (2,), (1,), active, {1: "a", 2: "b"})
    s = score_volume(v, truth)
    assert s["truth_auc"] == pytest.approx(1.0) and s["undiscovered_capture"]["top5"] == 1.0
    s = score_volume(-v, truth)
    assert s["truth_auc"] == pytest.approx(0.0) and s["undiscovered_capture"]["top10"] == 0.0


def test_truth_from_a_volume_and_its_errors():
    grid = VoxelGrid((0.0, 0.0, 0.0), (10.0, 10.0, 10.0), SHAPE)
    v = _ranked().astype(np.float32)
    dep = _deposits_at(v, [3, 500])
    vol = Volume(grid, {"true_potential": v, "deposit_id": dep}, None, {},
                 {"deposits": [{"id": 1, "name": "one", "known": True}, {"id": 2, "name": "two", "known": False}]})
    t = BenchmarkTruth.from_volume(vol)
    assert t.known == (1,) and t.undiscovered == (2,) and t.names == {1: "one", 2: "two"}
    assert t.mask("undiscovered").sum() == 1 and t.mask("all").sum() == 2
    with pytest.raises(VoxprospectError, match="unknown deposit set"):
        t.mask("some")
    with pytest.raises(LayerError, match="deposit_id"):
        BenchmarkTruth.from_volume(Volume(grid, {"true_potential": v}, None, {}, {}), "t.vti")
    with pytest.raises(LayerError, match="deposits"):
        BenchmarkTruth.from_volume(Volume(grid, {"true_potential": v, "deposit_id": dep}), "t.vti")


def test_windows_near_uses_metres_and_the_whole_window():
    # anisotropic cells: 100 m in x and y, 50 m in z
    grid = VoxelGrid((0.0, 0.0, 0.0), (100.0, 100.0, 50.0), (20, 5, 20))
    mask = np.zeros(grid.shape, bool)
    mask[10, 2, 10] = True
    centres = np.array([[10, 2, 10], [11, 2, 10], [12, 2, 10], [14, 2, 10], [10, 2, 16]])
    # buffer 0: only a window holding the voxel (3 x 3 x 3 windows reach one cell out)
    assert windows_near(centres, 3, grid, mask, 0.0).tolist() == [True, True, False, False, False]
    # 100 m: the window at x + 2 has a cell 100 m away; x + 4 is 300 m away; z + 6 cells is 250 m
    assert windows_near(centres, 3, grid, mask, 100.0).tolist() == [True, True, True, False, False]
    assert windows_near(centres, 3, grid, mask, 250.0).tolist() == [True, True, True, False, True]
    assert windows_near(centres, 1, grid, mask, 199.0).tolist() == [True, True, False, False, False]
    assert not windows_near(centres, 3, grid, np.zeros(grid.shape, bool), 1e6).any()
    with pytest.raises(VoxprospectError, match="buffer"):
        windows_near(centres, 3, grid, mask, -1.0)
    with pytest.raises(VoxprospectError, match="odd"):
        windows_near(centres, 2, grid, mask, 10.0)
