"""Nested tuning: the search runs inside each outer training fold with spatial inner
folds and never sees an outer test sample."""

import numpy as np

from voxprospect.learn.protocols import evaluate_protocols, make_plans
from voxprospect.learn.tuning import NestedTunedForest


def test_tuning_never_sees_an_outer_test_sample(deposit_windows):
    _, samples, X = deposit_windows((36, 30, 10), [np.s_[3:6, 4:7, 2:5], np.s_[28:31, 5:8, 5:8],
                                                   np.s_[14:17, 22:25, 3:6], np.s_[30:33, 24:27, 2:5]], 200.0,
                                    noise_seed=0, favour=4.0)
    plans = make_plans(samples, ("spatial", "deposit"), seed=0, block_size_cells=8, smoothing_m=0.0)
    tuners = []

    def factory():
        t = NestedTunedForest(samples.centres, samples.cell_size, 3, smoothing_m=0.0, n_trials=2, inner_folds=2,
                              seed=0)
        tuners.append(t)
        return t

    res = evaluate_protocols(factory, X, samples, plans=plans)
    splits = [s for p in ("spatial", "deposit") for s in plans[p]]
    fitted = [t for t in tuners if hasattr(t, "seen_indices_")]
    assert len(fitted) == len(splits)
    tuned = 0
    for t, split in zip(fitted, splits):
        if "skipped" in t.tuning_:
            continue
        tuned += 1
        assert len(t.seen_indices_) > 0
        assert not np.intersect1d(t.seen_indices_, split.test).size   # no outer test sample
        assert np.isin(t.seen_indices_, split.train).all()            # only the outer training fold
        assert t.tuning_["inner_folds"] >= 2
        assert set(t.tuning_["best_params"]) == {"n_estimators", "max_depth", "max_features"}
    assert tuned >= 2
    assert 0.0 <= res["spatial"]["auc"] <= 1.0 and "tuned_params" in res["spatial"]
