"""The CNN and random-forest estimators: scikit-learn face, learning, seeds, tuning."""

import numpy as np
import pytest
import torch
from sklearn.base import clone

from voxprospect.errors import Cancelled, NoPositivesError
from voxprospect.learn.estimators import (RF_SEARCH_SPACE, CNNClassifier, RandomForestModel, make_estimator,
                                          tune_random_forest)

torch.set_num_threads(1)


def separable_windows(n=160, channels=2, window=3, seed=0):
    """Orebody windows carry a raised first channel around the centre; barren ones do not."""
    rng = np.random.default_rng(seed)
    X = rng.normal(0.0, 1.0, (n, channels, window, window, window)).astype(np.float32)
    y = np.tile([0, 1], n // 2)
    X[y == 1, 0] += 2.0
    return X, y


def small_cnn(**kw):
    params = dict(preset="DL1", epochs=6, batch_size=32, num_threads=1, seed=3)
    params.update(kw)
    return CNNClassifier(**params)


def test_cnn_learns_a_separable_problem_and_keeps_history(tmp_path):
    X, y = separable_windows()
    Xt, yt = separable_windows(seed=1)
    fraction_seen = []
    model = small_cnn(progress=lambda f, msg: fraction_seen.append(f)).fit(X, y)
    assert model is not None and model.classes_.tolist() == [0, 1]
    acc = (model.predict(Xt) == yt).mean()
    assert acc > 0.9
    assert [r["epoch"] for r in model.history_] == list(range(1, 7))
    assert set(model.history_[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy"}
    assert model.history_[-1]["loss"] < model.history_[0]["loss"]
    assert fraction_seen[-1] == pytest.approx(1.0) and len(fraction_seen) == 6
    proba = model.predict_proba(Xt)
    assert proba.shape == (len(yt), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    png = model.plot_history(tmp_path / "curves.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_same_seed_gives_identical_predictions_other_seed_differs():
    X, y = separable_windows(n=64)
    a = small_cnn(epochs=2).fit(X, y).predict_proba(X)
    b = small_cnn(epochs=2).fit(X, y).predict_proba(X)
    c = small_cnn(epochs=2, seed=4).fit(X, y).predict_proba(X)
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_sklearn_face_params_and_clone():
    model = CNNClassifier(preset="DL3", epochs=7)
    params = model.get_params()
    assert params["preset"] == "DL3" and params["epochs"] == 7 and params["learning_rate"] == 1e-3
    assert CNNClassifier().get_params()["epochs"] == 200
    other = clone(model).set_params(epochs=3)
    assert other.epochs == 3 and model.epochs == 7
    assert not hasattr(other, "model_")  # __init__ learns nothing


def spread_centres(n, seed=0, extent=60):
    """Window centres scattered over a 60 x 60 x 4-cell area."""
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.integers(0, extent, n), rng.integers(0, extent, n), rng.integers(0, 4, n)])


def test_spatial_validation_split_keeps_the_best_epoch_and_stops_early():
    X, y = separable_windows(n=192)
    centres = spread_centres(len(y))
    model = small_cnn(epochs=30, validation_fraction=0.25, early_stopping_patience=2, weight_decay=1e-3,
                      augment="symmetry").fit(X, y, centres=centres, cell_size=(25.0, 25.0, 10.0))
    assert all(r["val_loss"] is not None for r in model.history_)
    best = min(range(len(model.history_)), key=lambda i: model.history_[i]["val_loss"])
    assert model.best_epoch_ == best + 1
    assert len(model.history_) <= model.best_epoch_ + 2
    # what a protocol fold records of the fit (evaluation folds in report.json)
    assert model.fold_details_ == {"epochs_run": len(model.history_), "best_epoch": model.best_epoch_}
    assert small_cnn().fold_details_ == {}  # unfitted: nothing to record
    v = model.validation_
    assert v["kind"] == "spatial blocks" and v["n_validation"] > 0
    assert v["n_train"] + v["n_validation"] + v["n_dropped_gap"] == len(y)
    assert model.augmentation_["rot90"] is True and model.augmentation_["dropped"] is None


def test_validation_windows_share_no_voxel_with_the_training_windows():
    from voxprospect.learn.estimators import spatial_holdout
    from voxprospect.learn.protocols import overlapping

    _, y = separable_windows(n=192)
    centres = spread_centres(len(y), seed=2)
    train, val, _ = spatial_holdout(centres, y, 3, 0.25, seed=0)
    assert len(np.intersect1d(train, val)) == 0 and len(val) > 0
    assert not overlapping(centres, train, val, 3).any()
    assert set(y[train]) == {0, 1} and set(y[val]) == {0, 1}


def test_a_random_validation_hold_out_is_refused():
    X, y = separable_windows(n=64)
    with pytest.raises(ValueError, match="centres"):
        small_cnn(validation_fraction=0.2).fit(X, y)
    with pytest.raises(ValueError, match="validation"):
        small_cnn(early_stopping_patience=3).fit(X, y)


def test_symmetry_augmentation_flips_and_rotates_about_z_only():
    from voxprospect.learn.estimators import augment_windows, augmentation_ops

    base = torch.arange(27, dtype=torch.float32).reshape(1, 1, 3, 3, 3)
    xb = base.repeat(400, 1, 1, 1, 1)
    ops = augmentation_ops("symmetry")
    out = augment_windows(xb, ops, torch.Generator().manual_seed(0))
    # the 8 symmetries of the square about z (4 rotations, each mirrored), nothing else
    group = set()
    for k in range(4):
        r = torch.rot90(base, k, dims=(2, 3))
        group |= {r.flatten().tolist().__str__(), torch.flip(r, [2]).flatten().tolist().__str__()}
    seen = {w.flatten().tolist().__str__() for w in out}
    assert seen == group  # 400 draws reach all 8
    # z is never touched: every vertical column of cell values stays in order
    assert torch.equal(out[:, :, :, :, 1] - out[:, :, :, :, 0], torch.ones_like(out[:, :, :, :, 0]))
    with_z = augment_windows(xb, augmentation_ops("symmetry+z"), torch.Generator().manual_seed(0))
    assert (with_z[:, 0, 0, 0, 1] - with_z[:, 0, 0, 0, 0] < 0).any()  # some windows flipped in z
    # square cells keep the rotations; 25 x 50 m cells lose them, with the reason
    assert augmentation_ops("symmetry", (25.0, 25.0, 10.0))["rot90"] is True
    aniso = augmentation_ops("symmetry", (25.0, 50.0, 10.0))
    assert aniso["rot90"] is False and "not square" in aniso["dropped"] and aniso["flips"] == ("x", "y")
    flips = augment_windows(xb, aniso, torch.Generator().manual_seed(0))
    assert len({w.flatten().tolist().__str__() for w in flips}) == 4
    with pytest.raises(ValueError, match="augment"):
        augmentation_ops("spin")


def test_weight_decay_uses_adamw_and_shrinks_the_weights():
    from voxprospect.learn.estimators import make_optimiser

    X, y = separable_windows(n=64)
    assert isinstance(make_optimiser([torch.zeros(1, requires_grad=True)], 1e-3, 0.0), torch.optim.Adam)
    assert isinstance(make_optimiser([torch.zeros(1, requires_grad=True)], 1e-3, 0.1), torch.optim.AdamW)
    plain = small_cnn(epochs=3).fit(X, y)
    decayed = small_cnn(epochs=3, weight_decay=0.5).fit(X, y)
    norm = lambda m: float(sum((p.detach().double() ** 2).sum() for p in m.model_.parameters()))  # noqa: E731
    assert norm(decayed) < norm(plain)


def test_fast_path_trains_with_augmentation():
    X, y = separable_windows(n=64)
    model = small_cnn(epochs=2, augment="symmetry", fast=True).fit(X, y)
    assert model.training_path_ == "zero-skip-train"
    assert model.history_[0]["loss"] != model.history_[1]["loss"]


def test_progress_can_cancel_training():
    X, y = separable_windows(n=32)

    def cancel(fraction, message):
        raise Cancelled("stop")

    with pytest.raises(Cancelled):
        small_cnn(progress=cancel).fit(X, y)


def test_single_class_labels_are_refused():
    X, _ = separable_windows(n=16)
    with pytest.raises(NoPositivesError):
        small_cnn().fit(X, np.zeros(16, int))
    with pytest.raises(NoPositivesError):
        RandomForestModel().fit(X, np.zeros(16, int))


def test_wrong_window_shape_is_refused():
    X, y = separable_windows(n=32)
    model = small_cnn(epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="channels"):
        model.predict_proba(X[:, :1])
    with pytest.raises(ValueError, match="shape"):
        model.predict_proba(X[:, :, :2, :2, :2])


def test_random_forest_defaults_match_the_paper():
    rf = RandomForestModel()
    assert (rf.n_estimators, rf.max_depth, rf.max_features, rf.features) == (77, 7, 3, "centre")
    X, y = separable_windows(channels=4)
    rf.fit(X, y)
    assert rf.forest_.max_features == 3 and len(rf.forest_.estimators_) == 77
    assert all(t.tree_.max_depth <= 7 for t in rf.forest_.estimators_)
    assert rf.n_features_ == 4  # centre voxel of each channel
    assert (rf.predict(X) == y).mean() > 0.9
    # comparisons, bounded by trees x depth
    assert 77 <= rf.flops_per_window() <= 77 * 7
    assert rf.n_params_ == rf.count_parameters() > 0


def test_random_forest_caps_max_features_and_uses_window_variant():
    X, y = separable_windows(channels=2)
    rf = RandomForestModel(n_estimators=5).fit(X, y)
    assert rf.forest_.max_features == 2
    rfw = RandomForestModel(n_estimators=5, features="window").fit(X, y)
    assert rfw.n_features_ == 2 * 27 and rfw.forest_.max_features == 3
    # the centre-voxel forest ignores the rest of the window
    X2 = X.copy()
    X2[:, :, 0, 0, 0] += 100.0
    assert np.array_equal(rf.predict_proba(X), rf.predict_proba(X2))


def test_tune_runs_trials_within_the_search_space():
    X, y = separable_windows(n=80, channels=3)
    result = RandomForestModel.tune(X, y, n_trials=3, seed=5, cv=2)
    assert result["n_trials"] == 3 and len(result["trials"]) == 3
    for trial in result["trials"] + [{"params": result["best_params"]}]:
        p = trial["params"]
        lo, hi = RF_SEARCH_SPACE["n_estimators"]
        assert lo <= p["n_estimators"] <= hi
        lo, hi = RF_SEARCH_SPACE["max_depth"]
        assert lo <= p["max_depth"] <= hi
        assert 1 <= p["max_features"] <= 3  # capped at the 3 centre-voxel features
    assert 0.5 < result["best_score"] <= 1.0
    again = tune_random_forest(X, y, n_trials=3, seed=5, cv=2)
    assert again["best_params"] == result["best_params"]  # seeded


def test_make_estimator_by_name():
    assert isinstance(make_estimator("rf"), RandomForestModel)
    cnn = make_estimator("DL2", epochs=3)
    assert isinstance(cnn, CNNClassifier) and cnn.preset == "DL2" and cnn.epochs == 3
    with pytest.raises(ValueError):
        make_estimator("SVM")
