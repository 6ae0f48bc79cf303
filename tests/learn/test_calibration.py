"""Reliability, Brier score and nested calibration: calibration helps where there is room
and never sees an outer test window."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from voxprospect.learn.calibration import (ECE_READABLE, CalibratedModel, IsotonicCalibrator, TemperatureCalibrator,
                                           base_rate_brier, brier_score, chance_verdict, heldout_report,
                                           plot_reliability, prior_shift, reliability)
from voxprospect.learn.protocols import evaluate_protocols, make_plans

SEEN_FITS = []  # (rows fitted on) of every spy fit, in order


class Overconfident(ClassifierMixin, BaseEstimator):
    """Logistic regression on the centre of channel 0, its logit multiplied by ``sharpen``.

    Channel 1 carries each window's sample index, which the model never uses but
    records, so a test can see which samples each fit touched.
    """

    def __init__(self, sharpen=4.0):
        self.sharpen = sharpen

    def fit(self, X, y):
        SEEN_FITS.append(np.asarray(X[:, 1, 1, 1, 1], dtype=np.int64))
        self.lr_ = LogisticRegression().fit(X[:, 0, 1, 1, 1][:, None], y)
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        z = self.lr_.decision_function(X[:, 0, 1, 1, 1][:, None]) * self.sharpen
        p = 1.0 / (1.0 + np.exp(-z))
        return np.column_stack([1 - p, p])


def noisy_samples(n_side=14, seed=0):
    """Window centres on a 3D lattice, labels from a noisy feature: no model is certain."""
    rng = np.random.default_rng(seed)
    ii, jj, kk = np.meshgrid(np.arange(n_side) * 4, np.arange(n_side) * 4, np.arange(4) * 4, indexing="ij")
    centres = np.column_stack([ii.ravel(), jj.ravel(), kk.ravel()]).astype(np.int64)
    n = len(centres)
    feature = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-1.5 * feature))).astype(np.int64)
    X = np.zeros((n, 2, 3, 3, 3), np.float32)
    X[:, 0] = feature[:, None, None, None]
    X[:, 1] = np.arange(n)[:, None, None, None]
    samples = {"centres": centres, "labels": y, "window": 3, "cell_size": (10.0, 10.0, 10.0)}
    return X, y, samples


def test_scores_against_hand_computations():
    y = np.array([0, 0, 1, 1, 1])
    p = np.array([0.1, 0.3, 0.55, 0.8, 0.95])
    assert brier_score(y, p) == pytest.approx(np.mean((p - y) ** 2), rel=1e-15)
    assert base_rate_brier(y, 0.5) == pytest.approx(0.25, rel=1e-15)
    rel = reliability(y, p, n_bins=2)
    # bins [0, 0.5): p 0.1, 0.3 -> observed 0; [0.5, 1]: 0.55, 0.8, 0.95 -> observed 1
    assert [b["n"] for b in rel["bins"]] == [2, 3]
    gaps = [0.2, 1 - (0.55 + 0.8 + 0.95) / 3]
    assert rel["ece"] == pytest.approx((2 * gaps[0] + 3 * gaps[1]) / 5, rel=1e-12)
    assert rel["mce"] == pytest.approx(max(gaps), rel=1e-12)
    # Bayes on the odds: a 1:1-trained 0.5 under a 1 % prior is 0.01
    assert prior_shift(0.5, 0.5, 0.01) == pytest.approx(0.01, rel=1e-9)


def test_calibrators_undo_a_known_distortion():
    rng = np.random.default_rng(2)
    true_p = rng.uniform(0.02, 0.98, 20_000)
    y = (rng.random(true_p.size) < true_p).astype(int)
    logit = np.log(true_p / (1 - true_p))
    sharp = 1 / (1 + np.exp(-3.0 * logit))  # overconfident by a temperature of 1/3
    t = TemperatureCalibrator().fit(sharp, y)
    assert t.temperature_ == pytest.approx(3.0, rel=0.08)
    iso = IsotonicCalibrator().fit(sharp, y)
    for cal in (t, iso):
        assert brier_score(y, cal.transform(sharp)) < brier_score(y, sharp)
        assert reliability(y, cal.transform(sharp))["ece"] < 0.02 < reliability(y, sharp)["ece"]


@pytest.mark.parametrize("method", ["isotonic", "temperature"])
def test_nested_calibration_lowers_heldout_brier_and_never_sees_an_outer_test_window(method):
    X, y, samples = noisy_samples()
    # the lattice is 40 m apart: a 60 m buffer keeps most training windows
    plans = make_plans(samples, ["spatial"], seed=1, buffer_m=60.0)
    raw, cal = [], []
    models = []

    def factory():
        m = CalibratedModel(Overconfident(), samples["centres"], samples["cell_size"], 3, method=method,
                            inner_folds=3, buffer_m=60.0, seed=1)
        models.append(m)
        return m

    evaluate_protocols(Overconfident(), X, samples, ["spatial"], plans=plans,
                       on_fold=lambda name, split, p: raw.append((y[split.train], y[split.test], p)))
    SEEN_FITS.clear()
    evaluate_protocols(factory, X, samples, ["spatial"], plans=plans,
                       on_fold=lambda name, split, p: cal.append((split, p)))
    split = plans["spatial"][0]
    assert len(models) == 1 and len(cal) == 1
    test = set(split.test.tolist())
    # every fit (inner and final) and the calibration itself used outer training windows only
    assert len(SEEN_FITS) == models[0].inner_["folds"] + 1
    for rows in SEEN_FITS:
        assert test.isdisjoint(rows.tolist())
        assert set(rows.tolist()) <= set(split.train.tolist())
    assert test.isdisjoint(models[0].seen_indices_.tolist())
    assert len(models[0].seen_indices_) > 0.5 * len(split.train)
    report = heldout_report(raw, [(y[split.train], y[split.test], cal[0][1])], method)
    assert report["raw"]["brier"] < report["raw"]["base_rate_brier"]  # the model has skill...
    assert report["raw"]["ece"] > ECE_READABLE  # ... but its probabilities are too sharp
    assert report["calibrated"]["brier"] < report["raw"]["brier"] - 0.005
    assert report["calibrated"]["ece"] < report["raw"]["ece"]


def test_verdict_follows_the_stated_rule(tmp_path):
    good = {"brier": 0.15, "base_rate_brier": 0.25, "ece": 0.03}
    sharp = {"brier": 0.2, "base_rate_brier": 0.25, "ece": 0.12}
    useless = {"brier": 0.26, "base_rate_brier": 0.25, "ece": 0.01}
    assert chance_verdict(good)["read_as"] == "chances"
    assert chance_verdict(sharp)["read_as"] == "ranks"
    assert chance_verdict(sharp, good)["read_as"] == "chances after calibration"
    assert chance_verdict(useless)["read_as"] == "ranks"
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    p = np.clip(y * 0.7 + rng.random(200) * 0.3, 0, 1)
    rep = heldout_report([(y[:50], y, p)])
    out = plot_reliability({"model": rep["raw"]}, tmp_path / "rel.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_calibrators_round_trip_through_their_dict_and_bad_ones_are_refused():
    from voxprospect.learn.calibration import calibrator_from_dict

    rng = np.random.default_rng(4)
    p = rng.random(500)
    y = (rng.random(500) < p ** 2).astype(int)
    q = np.linspace(-0.1, 1.1, 301)
    for cal in (IsotonicCalibrator().fit(p, y), TemperatureCalibrator().fit(p, y)):
        back = calibrator_from_dict(cal.to_dict())
        assert np.allclose(back.transform(q), cal.transform(q), rtol=0, atol=1e-12)
    for bad in ({"method": "platt"}, {"method": "temperature", "temperature": -1.0},
                {"method": "temperature", "temperature": True}, {"method": "isotonic", "x": [0, 1], "y": [0.5]},
                {"method": "isotonic", "x": [1, 0], "y": [0.1, 0.2]},
                {"method": "isotonic", "x": [0, 1], "y": [0.2, 1.5]},
                {"method": "isotonic", "x": [0, "a"], "y": [0.1, 0.2]}, [1, 2]):
        with pytest.raises(ValueError):
            calibrator_from_dict(bad)


def test_checkpoint_carries_a_checked_calibration(tmp_path):
    import json
    import struct

    from voxprospect.errors import InputFileError
    from voxprospect.learn.checkpoint import load, save_checkpoint
    from voxprospect.learn.estimators import RandomForestModel

    X, y, _ = noisy_samples(n_side=6)
    rf = RandomForestModel(n_estimators=5, random_state=0).fit(X, y)
    cal = TemperatureCalibrator().fit(rf.predict_proba(X)[:, 1], y)
    path = save_checkpoint(rf, tmp_path / "rf.vxp.safetensors", channels=["a", "b"], calibration=cal.to_dict())
    loaded = load(path)
    assert loaded.calibration.temperature_ == cal.temperature_
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = json.loads(header["__metadata__"]["voxprospect"])
    meta["calibration"] = {"method": "temperature", "temperature": 0}
    header["__metadata__"]["voxprospect"] = json.dumps(meta)
    blob = json.dumps(header).encode()
    blob += b" " * (-len(blob) % 8)
    (tmp_path / "bad.vxp.safetensors").write_bytes(struct.pack("<Q", len(blob)) + blob + raw[8 + n:])
    with pytest.raises(InputFileError) as err:
        load(tmp_path / "bad.vxp.safetensors")
    assert "calibration" in str(err.value) and "temperature" in str(err.value)
