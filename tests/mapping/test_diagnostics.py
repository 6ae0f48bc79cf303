"""Drilling-bias diagnostics (voxprospect.mapping.diagnostics)."""

import numpy as np

from voxprospect.mapping.diagnostics import hole_distance_bias, ore_vs_waste_auc, target_hole_distances


def test_prospectivity_that_follows_hole_distance_is_flagged():
    rng = np.random.default_rng(0)
    dist = rng.uniform(0, 200, size=(20, 20, 10))
    follows = np.exp(-dist / 50) + rng.normal(0, 0.01, dist.shape)
    res = hole_distance_bias(follows, dist)
    assert res["rho"] < -0.9 and "warning" in res
    independent = rng.uniform(size=dist.shape)
    res = hole_distance_bias(independent, dist)
    assert abs(res["rho"]) < 0.3 and "warning" not in res


def test_ore_vs_waste_auc_and_target_distances():
    assert ore_vs_waste_auc([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0]) == 1.0
    assert ore_vs_waste_auc([0.9, 0.8], [1, 1]) is None
    lab = np.array([0, 1, 1, 2])
    d = np.array([5.0, 10.0, 30.0, 100.0])
    assert target_hole_distances(lab, d) == {1: {"min_m": 10.0, "mean_m": 20.0}, 2: {"min_m": 100.0, "mean_m": 100.0}}
