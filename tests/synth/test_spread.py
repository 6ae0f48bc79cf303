"""Uncertainty grows away from the training data: the forest's per-tree spread on the
synthetic district (the deep ensemble's figures: benchmarks/ensemble.py, docs/uncertainty.md)."""

import numpy as np
import pytest

from voxprospect.learn.estimators import RandomForestModel
from voxprospect.mapping.predict import predict_volume
from voxprospect.synth.benchmark import BenchmarkTruth
from voxprospect.synth.district import make_district
from voxprospect.synth.spread import distance_to_training_positives, district_training, spread_check


@pytest.fixture(scope="module")
def district():
    return make_district("tiny", seed=42)


def test_forest_spread_is_larger_away_from_training_positives(district):
    truth = BenchmarkTruth.from_district(district)
    evidence, samples, windows = district_training(district)
    # the labels are the known deposits only: the undiscovered ones are never seen
    assert not np.isin(truth.deposit_id[tuple(samples.centres[samples.labels == 1].T)], truth.undiscovered).any()
    rf = RandomForestModel(random_state=0).fit(windows, samples.labels)
    prediction = predict_volume(rf, evidence)
    check = spread_check(prediction, samples, truth)
    # among the voxels the model calls mineralised, farther from the training data = less sure
    assert check["rho_prospective"] > 0.1
    assert check["n_prospective"] > 1000
    # and the deposits training never saw are less certain than the known ones
    assert check["std_undiscovered"] > check["std_known"] + 0.03
    # far from every deposit the trees agree the rock is barren: over the whole volume the
    # spread falls with distance, which is why the check is made where the model calls ore
    assert check["rho_all"] < 0


def test_distance_to_training_positives_is_metric():
    from voxprospect import VoxelGrid

    grid = VoxelGrid((0.0, 0.0, 0.0), (100.0, 50.0, 20.0), (5, 5, 5))
    d = distance_to_training_positives(grid, np.array([[0, 0, 0], [4, 4, 4]]), np.array([1, 0]))
    assert d[0, 0, 0] == 0.0
    assert d[1, 2, 3] == pytest.approx(np.sqrt(100.0 ** 2 + 100.0 ** 2 + 60.0 ** 2), rel=1e-12)
