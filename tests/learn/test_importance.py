"""Permutation importance finds the real control: a pure-noise channel falls by about 0, the
channel the synthetic mineralisation is made from ranks first, on the study's own folds."""

import numpy as np
import pytest
from scipy import ndimage

from voxprospect import VoxelGrid
from voxprospect.errors import VoxprospectError
from voxprospect.learn import CNNClassifier, RandomForestModel
from voxprospect.learn.baselines import CentreLogisticBaseline
from voxprospect.learn.importance import (ImportanceRecorder, importance_table_markdown, permutation_importance,
                                          plot_importance, repeat_orders, shuffle_channel)
from voxprospect.learn.protocols import evaluate_protocols, make_plans
from voxprospect.learn.samples import make_samples, samples_windows

CHANNELS = ["noise", "control", "proxy"]


@pytest.fixture(scope="module")
def district():
    """Orebodies where a smooth 'control' field is highest; a noisy proxy of it; pure noise."""
    grid = VoxelGrid((0.0, 0.0, -600.0), (50.0, 50.0, 50.0), (28, 28, 10), "EPSG:32651")
    rng = np.random.default_rng(3)
    control = ndimage.gaussian_filter(rng.normal(0, 1, grid.shape), 2.0)
    control = (control - control.mean()) / control.std()
    orebody, _ = ndimage.label(control > np.quantile(control, 0.97))
    proxy = control + rng.normal(0, 10.0, grid.shape)
    noise = rng.normal(0, 1, grid.shape)
    samples = make_samples(orebody, np.ones(grid.shape, bool), grid, window=3, min_distance_m=200.0, seed=1)
    X = samples_windows(np.stack([noise, control, proxy]).astype(np.float32), samples)
    return samples, X


def by_channel(summary):
    return {r["channel"]: r for r in summary["channels"]}


def check_controls(summary):
    rows = by_channel(summary)
    assert summary["ranking"][0] == "control"
    noise = rows["noise"]
    # noise: within three repeat spreads of 0 (plus a floor of a hundredth of the control's fall,
    # for a model that ignores the channel exactly and so has no spread at all)
    assert abs(noise["mean"]) <= 3 * noise["std"] + 0.01 * rows["control"]["mean"]
    assert rows["control"]["mean"] > 0.1
    assert rows["control"]["mean"] > rows["proxy"]["mean"]


def test_forest_importance_on_the_spatial_folds_finds_the_control_without_refitting(district):
    samples, X = district
    plans = make_plans(samples, ("spatial", "deposit"), seed=0)
    fits = []

    def factory():
        fits.append(1)
        return RandomForestModel(random_state=0)

    rec = ImportanceRecorder(CHANNELS, n_repeats=5, seed=0, protocols=("spatial", "deposit"))
    metrics = evaluate_protocols(factory, X, samples, protocols=("spatial", "deposit"), plans=plans, on_fitted=rec)
    # one fit per fold, however many channels and repeats were shuffled
    assert len(fits) == len(plans["spatial"]) + len(plans["deposit"])
    res = rec.result()
    for protocol in ("spatial", "deposit"):
        check_controls(res[protocol])
        assert res[protocol]["n_folds"] == len(plans[protocol])
        assert res[protocol]["n_test"] == sum(len(f.test) for f in plans[protocol])
        assert res[protocol]["n_repeats"] == 5 and all(len(r["drops"]) == 5 for r in res[protocol]["channels"])
    # the unshuffled AUC is the protocol's own score on the same held-out windows
    assert res["spatial"]["base_auc"] == pytest.approx(metrics["spatial"]["auc"])
    assert res["deposit"]["base_auc"] == pytest.approx(metrics["deposit"]["auc"])


def test_logistic_baseline_importance_finds_the_control(district):
    samples, X = district
    split = make_plans(samples, ("spatial",), seed=0)["spatial"][0]
    est = CentreLogisticBaseline().fit(X[split.train], samples.labels[split.train])
    check_controls(permutation_importance(est, X[split.test], samples.labels[split.test], CHANNELS, 5, seed=0))


def test_cnn_importance_finds_the_control(district):
    samples, X = district
    split = make_plans(samples, ("spatial",), seed=0)["spatial"][0]
    est = CNNClassifier("DL1", epochs=3, batch_size=32, seed=0, num_threads=1)
    est.fit(X[split.train], samples.labels[split.train])
    out = permutation_importance(est, X[split.test], samples.labels[split.test], CHANNELS, 4, seed=0)
    check_controls(out)


def test_shuffles_are_seeded_whole_windows_and_repeatable(district):
    samples, X = district
    order = repeat_orders(len(X), 3, seed=7)
    assert all(np.array_equal(a, b) for a, b in zip(order, repeat_orders(len(X), 3, seed=7)))
    assert not np.array_equal(order[0], order[1])
    Xs = shuffle_channel(X, 1, order[0])
    # the whole window of channel 1 moves; the other channels stay
    assert np.array_equal(Xs[:, 1], X[order[0], 1])
    assert np.array_equal(Xs[:, [0, 2]], X[:, [0, 2]])
    assert sorted(map(tuple, Xs[:, 1].reshape(len(X), -1))) == sorted(map(tuple, X[:, 1].reshape(len(X), -1)))
    est = RandomForestModel(random_state=0).fit(X, samples.labels)
    a = permutation_importance(est, X, samples.labels, CHANNELS, 3, seed=5)
    b = permutation_importance(est, X, samples.labels, CHANNELS, 3, seed=5)
    assert a["channels"] == b["channels"]


def test_table_and_plot(district, tmp_path):
    samples, X = district
    est = RandomForestModel(random_state=0).fit(X, samples.labels)
    summary = permutation_importance(est, X, samples.labels, CHANNELS, 3, seed=0)
    table = importance_table_markdown({"RF": {"spatial": summary}})
    assert "| control |" in table and "RF AUC fall" in table
    assert f"{by_channel(summary)['control']['mean']:+.3f}" in table
    png = plot_importance(summary, tmp_path / "imp.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(VoxprospectError, match="no importance to plot"):
        plot_importance({"skipped": "single class"}, tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()
    with pytest.raises(VoxprospectError, match="3 channels in the windows, 2 names"):
        permutation_importance(est, X, samples.labels, ["a", "b"])
