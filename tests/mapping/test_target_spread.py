"""std_mean and std_max of each target, and empty cells when no spread was measured."""

import csv

import numpy as np
import pytest

from voxprospect import Volume, VoxelGrid
from voxprospect.mapping.target_spread import spread_columns
from voxprospect.mapping.targets import find_targets, write_targets_csv


def _volume(with_std=True):
    grid = VoxelGrid((0.0, 0.0, 0.0), (10.0, 10.0, 10.0), (8, 6, 4))
    p = np.zeros(grid.shape, np.float32)
    p[1:3, 1:3, 1:3] = 0.9   # target A
    p[5:7, 3:5, 0:2] = 0.8   # target B
    layers = {"prospectivity": p}
    if with_std:
        rng = np.random.default_rng(0)
        layers["prospectivity_std"] = rng.uniform(0, 0.3, grid.shape).astype(np.float32)
    return Volume(grid, layers)


def test_spread_columns_are_the_mean_and_max_std_inside_each_target(tmp_path):
    vol = _volume()
    targets = spread_columns(find_targets(vol, 0.5), vol)
    std = vol["prospectivity_std"].astype(float)
    assert targets.count == 2
    for row in targets.table:
        inside = targets.labels == row["target_id"]
        assert row["std_mean"] == pytest.approx(std[inside].mean(), rel=1e-12)
        assert row["std_max"] == pytest.approx(std[inside].max(), rel=1e-12)
    write_targets_csv(targets, tmp_path / "t.csv")
    rows = list(csv.DictReader(open(tmp_path / "t.csv")))
    assert float(rows[0]["std_max"]) == pytest.approx(targets.table[0]["std_max"], rel=1e-12)


def test_no_spread_layer_leaves_the_cells_empty(tmp_path):
    vol = _volume(with_std=False)
    targets = spread_columns(find_targets(vol, 0.5), vol)
    assert all(r["std_mean"] is None and r["std_max"] is None for r in targets.table)
    write_targets_csv(targets, tmp_path / "t.csv")
    rows = list(csv.DictReader(open(tmp_path / "t.csv")))
    assert rows[0]["std_mean"] == "" and rows[0]["std_max"] == ""
