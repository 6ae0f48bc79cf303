"""Baselines: channel and sign chosen on the training fold only, logistic regression on
centre voxels, scored on exactly the folds the models use."""

import numpy as np
import pytest

from voxprospect.learn.baselines import (BestChannelBaseline, CentreLogisticBaseline, centre_features,
                                   make_baseline, skill_over_baselines)
from voxprospect.learn import RandomForestModel
from voxprospect.learn.protocols import evaluate_protocols, make_plans


def windows_from(F, k=3, rng=None):
    """Windows whose centre voxels are ``F`` and whose other voxels are noise."""
    rng = rng or np.random.default_rng(0)
    X = rng.normal(0, 1, (F.shape[0], F.shape[1], k, k, k)).astype(np.float32)
    X[:, :, k // 2, k // 2, k // 2] = F
    return X


def test_best_channel_picks_channel_and_sign_on_the_training_data_only():
    rng = np.random.default_rng(1)
    y = np.r_[np.ones(100), np.zeros(100)].astype(int)
    F = rng.normal(0, 1, (200, 3))
    F[:, 2] -= 2.0 * y          # channel 2 separates the classes, negatively
    X = windows_from(F)
    b = BestChannelBaseline(channels=["a", "b", "c"]).fit(X, y)
    assert b.chosen_["channel"] == "c" and b.chosen_["sign"] == "-"
    from sklearn.metrics import roc_auc_score
    # its ranking is the signed channel's own
    assert roc_auc_score(y, b.predict_proba(X)[:, 1]) == pytest.approx(roc_auc_score(y, -F[:, 2]))
    # flipping the training labels flips the sign chosen: nothing is fixed in advance
    assert BestChannelBaseline().fit(X, 1 - y).sign_ == 1.0
    assert np.array_equal(centre_features(X), F.astype(np.float32).astype(np.float64))


def test_logistic_baseline_matches_scikit_learn_on_centre_voxels():
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    rng = np.random.default_rng(2)
    y = (rng.random(300) < 0.5).astype(int)
    F = rng.normal(0, 1, (300, 2)) + np.c_[y, -0.5 * y]
    X = windows_from(F)
    p = CentreLogisticBaseline(seed=0).fit(X, y).predict_proba(X)[:, 1]
    sc = StandardScaler().fit(F)
    ref = LogisticRegression(max_iter=1000, random_state=0).fit(sc.transform(F), y).predict_proba(sc.transform(F))[:, 1]
    assert np.allclose(p, ref, atol=1e-6)


def test_baselines_are_scored_on_the_models_folds(deposit_windows):
    _, samples, X = deposit_windows((30, 30, 12), [np.s_[3:7, 4:8, 2:6], np.s_[20:24, 5:8, 5:9],
                                                   np.s_[12:15, 22:26, 3:7]], 250.0, noise_seed=2, favour=5.0)
    plans = make_plans(samples, ("random", "spatial", "deposit"), seed=0, block_size_cells=8, smoothing_m=0.0)
    model = evaluate_protocols(lambda: RandomForestModel(n_estimators=10), X, samples, plans=plans)
    best = evaluate_protocols(lambda: make_baseline("best_channel", ["favour", "noise"]), X, samples, plans=plans)
    logi = evaluate_protocols(lambda: make_baseline("logistic"), X, samples, plans=plans)
    for p in ("random", "spatial", "deposit"):
        assert model[p]["folds_id"] == best[p]["folds_id"] == logi[p]["folds_id"]
    for fm, fb in zip(model["deposit"]["folds"], best["deposit"]["folds"]):
        assert fm["fold_id"] == fb["fold_id"] and fm["n_train"] == fb["n_train"]
        assert fb["chosen"]["channel"] == "favour" and fb["chosen"]["sign"] == "+"
    skill = skill_over_baselines({"RF": model}, {"best_channel": best, "logistic": logi})
    assert skill["RF"]["spatial"]["logistic"] == pytest.approx(model["spatial"]["auc"] - logi["spatial"]["auc"])
