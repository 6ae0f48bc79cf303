"""Metrics, prediction-area crossing (checked by hand) and the checks against truth."""

from __future__ import annotations

import math

import numpy as np
import pytest

from voxprospect.errors import NoPositivesError
from voxprospect.learn.evaluate import (classification_metrics, heldout_capture, plot_prediction_area,
                                        prediction_area, prediction_area_figure, truth_auc)
from voxprospect.data.grid import VoxelGrid
from voxprospect.data.volume import Volume


def _ladder():
    """Ten active voxels with prospectivity 0, 1/8, ..., 9/8 along x, two inactive ones.

    Eighths are exact in binary, so the thresholds fall exactly on the values.
    """
    p = np.full((12, 1, 1), np.nan)
    p[:10, 0, 0] = np.arange(10) / 8
    active = np.zeros((12, 1, 1), dtype=bool)
    active[:10] = True
    p[10, 0, 0] = 1.5  # inactive: must never count even though it has a value
    grid = VoxelGrid((0, 0, 0), (10, 10, 10), (12, 1, 1), "EPSG:32650")
    return Volume(grid, {"prospectivity": p}, active)


def test_classification_metrics_match_hand_counts():
    y = np.array([0, 0, 1, 1, 1, 0])
    p = np.array([0.1, 0.6, 0.7, 0.4, 0.9, 0.2])
    m = classification_metrics(y, np.column_stack([1 - p, p]))
    # predictions at 0.5: 0 1 1 0 1 0 -> 4 of 6 right; tp=2, fp=1, fn=1
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    # pairs (pos, neg) ranked right: 0.7>all 3 negs... 0.4 beats 0.1 and 0.2 only -> 8/9
    assert m["auc"] == pytest.approx(8 / 9)
    one_class = classification_metrics([1, 1, 1], [0.2, 0.8, 0.9])
    assert one_class["auc"] is None and one_class["accuracy"] == pytest.approx(2 / 3)


def test_pa_crossing_by_hand():
    vol = _ladder()
    orebody = np.zeros(vol.grid.shape, dtype=bool)
    orebody[7:10] = True          # the three best voxels (7/8, 8/8, 9/8)
    orebody[10] = True            # inactive orebody voxel: ignored
    res = prediction_area(vol, orebody_mask=orebody, n_thresholds=10)
    np.testing.assert_array_equal(res.thresholds, np.arange(10) / 8)
    np.testing.assert_allclose(res.volume_share_curve, (10 - np.arange(10)) / 10)
    np.testing.assert_allclose(res.prediction_rate_curve, [1] * 8 + [2 / 3, 1 / 3])
    # between t=7/8 (rate 1, share 0.3) and t=8/8 (rate 2/3, share 0.2):
    # rate + share - 1 goes 0.3 -> -2/15, so w = 9/13
    assert res.threshold == pytest.approx((7 + 9 / 13) / 8)
    assert res.prediction_rate == pytest.approx(10 / 13)
    assert res.volume_share == pytest.approx(3 / 13)
    assert res.prediction_rate + res.volume_share == pytest.approx(1.0)
    assert res.normalized_density == pytest.approx(10 / 3)
    assert res.weight == pytest.approx(math.log(10 / 3))
    assert res.n_known == 3 and res.n_active == 10 and res.basis == "voxels"
    # the same orebody as a Volume layer (float, NaN = no value) gives the same crossing
    ore_float = np.where(orebody, 1.0, np.nan)
    res_vol = prediction_area(vol, orebody_mask=Volume(vol.grid, {"orebody": ore_float}), n_thresholds=10)
    assert res_vol.threshold == res.threshold and res_vol.n_known == 3
    d = res.to_dict()
    assert d["threshold"] == pytest.approx(res.threshold) and "curves" not in d


def test_pa_crossing_beyond_the_last_threshold():
    vol = _ladder()
    orebody = np.zeros(vol.grid.shape, dtype=bool)
    orebody[9] = True  # only the very best voxel: the curves cross above the maximum
    res = prediction_area(vol, orebody_mask=orebody, n_thresholds=10)
    # continued from (9/8, rate 1, share 0.1) to (10/8, 0, 0): w = 0.1 / 1.1
    assert res.threshold == pytest.approx((9 + 1 / 11) / 8)
    assert res.prediction_rate == pytest.approx(10 / 11)
    assert res.volume_share == pytest.approx(1 / 11)
    assert res.normalized_density == pytest.approx(10.0)


def test_pa_deposit_basis_counts_each_deposit_once():
    vol = _ladder()
    labels = np.zeros(vol.grid.shape, dtype=int)
    labels[8:10] = 1   # a deposit of two voxels, best 9/8
    labels[2] = 2      # a deposit in poor ground, 2/8
    res = prediction_area(vol, deposit_labels=labels, n_thresholds=10)
    assert res.basis == "deposits" and res.n_known == 2
    np.testing.assert_allclose(res.prediction_rate_curve, [1, 1, 1, .5, .5, .5, .5, .5, .5, .5])
    # rate + share - 1: t=4/8 -> 0.5+0.6-1 = 0.1; t=5/8 -> 0.5+0.5-1 = 0: crossing at 5/8
    assert res.threshold == pytest.approx(5 / 8)
    assert res.prediction_rate == pytest.approx(0.5) and res.volume_share == pytest.approx(0.5)


def test_pa_without_orebody_raises():
    vol = _ladder()
    with pytest.raises(NoPositivesError):
        prediction_area(vol, orebody_mask=np.zeros(vol.grid.shape, dtype=bool))
    only_inactive = np.zeros(vol.grid.shape, dtype=bool)
    only_inactive[11] = True
    with pytest.raises(NoPositivesError, match="inside the study volume"):
        prediction_area(vol, orebody_mask=only_inactive)
    with pytest.raises(NoPositivesError):
        prediction_area(vol)


def test_pa_plot_png_and_its_numbers(tmp_path):
    rng = np.random.default_rng(0)
    p = rng.random((20, 10, 5))
    orebody = p > 0.9
    res = prediction_area(p, orebody_mask=orebody)
    # a perfect classifier of its own orebody: threshold near 0.9, share ~10%, rate ~90%
    assert 0.85 < res.threshold < 0.95
    assert res.normalized_density > 5
    fig = prediction_area_figure(res)
    left, right = fig.axes
    np.testing.assert_allclose(left.lines[0].get_ydata(), 100 * res.prediction_rate_curve)
    np.testing.assert_allclose(right.lines[0].get_ydata(), 100 * res.volume_share_curve)
    assert right.get_ylim() == (100, 0)  # inverted volume-share axis
    marker = left.lines[1]
    assert marker.get_xdata()[0] == pytest.approx(res.threshold)
    assert marker.get_ydata()[0] == pytest.approx(100 * res.prediction_rate)
    out = plot_prediction_area(res, tmp_path / "pa.png")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    from matplotlib.image import imread
    img = imread(out)
    assert img.shape[0] > 500 and img.shape[1] > 700
    assert not list(tmp_path.glob(".pa.*"))  # no temporary left behind


def test_truth_auc_and_heldout_capture():
    rng = np.random.default_rng(1)
    truth = rng.random((10, 10, 10))
    active = np.ones(truth.shape, dtype=bool)
    active[:, :, 9] = False
    assert truth_auc(truth, truth, active) == pytest.approx(1.0)
    assert truth_auc(-truth, truth, active) == pytest.approx(0.0)
    noise = truth_auc(rng.random(truth.shape), truth, active)
    assert 0.35 < noise < 0.65

    dep = np.zeros(truth.shape, dtype=bool)
    order = np.argsort(truth[active])
    flat = np.flatnonzero(active.ravel())
    # a deposit of 20 voxels: 10 among the top 10% of truth, 10 among the bottom half
    top = flat[order[-10:]]
    low = flat[order[:10]]
    dep.ravel()[np.r_[top, low]] = True
    assert heldout_capture(truth, active, dep) == pytest.approx(0.5)
    # a saturated model (all equal) captures top_share of the deposit in expectation
    assert heldout_capture(np.ones(truth.shape), active, dep, top_share=0.1) == pytest.approx(0.1)
    with pytest.raises(NoPositivesError):
        heldout_capture(truth, active, np.zeros(truth.shape, dtype=bool))


def test_pa_crossing_matches_real_rates_for_saturated_probabilities():
    # a confident model: 90% of the volume near 0, 10% squeezed into [0.999, 1]
    rng = np.random.default_rng(1)
    n = 20_000
    p = np.where(rng.random(n) < 0.9, rng.uniform(0, 0.01, n), rng.uniform(0.999, 1.0, n))
    ore = (p > 0.999) & (rng.random(n) < 0.5)
    ore |= (p < 0.01) & (rng.random(n) < 0.001)    # a few ore voxels the model misses
    values = p.reshape(n, 1, 1)
    res = prediction_area(values, orebody_mask=ore.reshape(n, 1, 1))
    real_rate = float((p[ore] >= res.threshold).mean())
    real_share = float((p >= res.threshold).mean())
    assert abs(real_rate - res.prediction_rate) < 0.01
    assert abs(real_share - res.volume_share) < 0.01


def test_target_threshold_never_above_the_highest_value():
    vol = _ladder()
    orebody = np.zeros(vol.grid.shape, dtype=bool)
    orebody[9] = True  # the crossing lies above the maximum (9/8)
    res = prediction_area(vol, orebody_mask=orebody, n_thresholds=10)
    assert res.threshold > 9 / 8
    assert res.target_threshold == 9 / 8
    assert res.to_dict()["target_threshold"] == 9 / 8
    orebody[7:9] = True  # an ordinary crossing inside the values is kept as it is
    res = prediction_area(vol, orebody_mask=orebody, n_thresholds=10)
    assert res.target_threshold == res.threshold < 9 / 8
