"""Whole-grid prediction streamed in blocks equals cutting every window at once."""

from __future__ import annotations

import numpy as np
import pytest

from voxprospect.mapping import predict as predict_mod
from voxprospect.errors import Cancelled, LayerError, VoxprospectError
from voxprospect.data.grid import VoxelGrid
from voxprospect.data.blocks import block_shape
from voxprospect.mapping.predict import predict_volume, register_fast_path
from voxprospect.learn.samples import extract_windows, pad_stack
from voxprospect.data.volume import Volume


class WindowLogit:
    """A fixed linear score over the whole window, squashed to a probability.

    Every cell of the window has its own weight, so a halo read from the wrong
    place or a wrong padding changes the answer. ``einsum`` works row by row, so
    the result of one window does not depend on the batch it came in.
    """

    def __init__(self, channels, window, seed=0):
        self.channels = list(channels)
        self.window = window
        rng = np.random.default_rng(seed)
        self.weights = rng.normal(size=(len(channels), window, window, window)).astype(np.float32)
        self.classes_ = np.array([0, 1])
        self.batches = []

    def predict_proba(self, X):
        self.batches.append(len(X))
        z = np.einsum("ncijk,cijk->n", X, self.weights)
        p1 = 1.0 / (1.0 + np.exp(-z))
        return np.column_stack([1 - p1, p1])


def _evidence(shape, channels=("granodiorite_buffer", "density"), seed=1, holes=True):
    rng = np.random.default_rng(seed)
    grid = VoxelGrid((500000.0, 4100000.0, -2000.0), (50.0, 40.0, 25.0), shape, "EPSG:32650")
    layers = {c: rng.normal(size=shape).astype(np.float32) for c in channels}
    active = np.ones(shape, dtype=bool)
    if holes:
        # cells above a sloping topography are outside the study volume, with NaN evidence
        i, j, k = np.indices(shape)
        active = k < shape[2] - 1 - (j == 0) + (i % 2)
        active[0, 0, :] = False
        for a in layers.values():
            a[~active] = np.nan
        # a gap inside the study volume (missing geophysics) is filled with 0 too
        layers[channels[-1]][shape[0] // 2, shape[1] // 2, 0] = np.nan
    return Volume(grid, layers, active)


def _naive(model, evidence, window, edge):
    """Every active voxel's window cut from the whole padded stack at once."""
    stack = np.nan_to_num(evidence.stack(model.channels), nan=0.0)
    padded = pad_stack(stack, window, edge)
    centres = np.argwhere(evidence.active)
    p = model.predict_proba(extract_windows(padded, centres, window))[:, 1]
    out = np.full(evidence.grid.shape, np.nan, dtype=np.float32)
    out[tuple(centres.T)] = p
    return out


@pytest.mark.parametrize("shape", [(5, 4, 3), (7, 3, 6), (1, 5, 2)])
@pytest.mark.parametrize("window", [1, 3, 5])
@pytest.mark.parametrize("edge", ["edge", "zero"])
@pytest.mark.parametrize("chunk", [1, 7, 13, 10_000])
def test_streamed_prediction_equals_whole_grid_windows(shape, window, edge, chunk):
    ev = _evidence(shape)
    model = WindowLogit(ev.names, window)
    expected = _naive(model, ev, window, edge)
    model.batches.clear()
    out = predict_volume(model, ev, edge=edge, chunk_voxels=chunk, progress=lambda f, m: None)
    got = out["prospectivity"]
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)
    # inactive voxels are NaN, every active voxel has a probability
    assert np.isnan(got[~ev.active]).all()
    assert np.isfinite(got[ev.active]).all()
    # no model call ever saw more than chunk windows: memory is bounded by the chunk
    assert max(model.batches) <= chunk
    assert sum(model.batches) == int(ev.active.sum())
    assert out.grid == ev.grid and np.array_equal(out.active, ev.active)
    assert out.meta["prediction"]["window"] == window and out.meta["prediction"]["edge"] == edge


def test_real_sklearn_model_on_window_evidence():
    from sklearn.linear_model import LogisticRegression

    ev = _evidence((6, 5, 4), seed=3)
    stack = np.nan_to_num(ev.stack(), nan=0.0)
    padded = pad_stack(stack, 3, "edge")
    centres = np.argwhere(ev.active)
    X = extract_windows(padded, centres, 3)
    y = (X[:, 0, 1, 1, 1] > 0).astype(int)
    lr = LogisticRegression(max_iter=500).fit(X.reshape(len(X), -1), y)

    class Flat:
        channels, window, classes_ = ev.names, 3, lr.classes_

        def predict_proba(self, W):
            return lr.predict_proba(W.reshape(len(W), -1))

    expected = lr.predict_proba(X.reshape(len(X), -1))[:, 1]
    got = predict_volume(Flat(), ev, chunk_voxels=11)["prospectivity"][tuple(centres.T)]
    # the same float64 probabilities, stored as float32: one rounding of a value <= 1
    np.testing.assert_allclose(got, expected, rtol=0, atol=np.finfo(np.float32).eps / 2)


def test_class_column_follows_classes_():
    ev = _evidence((3, 3, 3), holes=False)

    class Reversed(WindowLogit):
        def predict_proba(self, X):
            return super().predict_proba(X)[:, ::-1]

    plain = predict_volume(WindowLogit(ev.names, 3), ev)["prospectivity"]
    rev = Reversed(ev.names, 3)
    rev.classes_ = np.array([1, 0])
    np.testing.assert_array_equal(predict_volume(rev, ev)["prospectivity"], plain)


def test_channel_mismatch_is_a_layer_error():
    ev = _evidence((4, 4, 3), channels=("granodiorite_buffer", "density"))
    model = WindowLogit(["granodiorite_buffer", "susceptibility"], 3)
    with pytest.raises(LayerError, match="susceptibility"):
        predict_volume(model, ev)
    # asking for other channels than the model was trained on
    model = WindowLogit(["granodiorite_buffer", "density"], 3)
    with pytest.raises(LayerError, match="trained on channels"):
        predict_volume(model, ev, channels=["density", "granodiorite_buffer"])


def test_window_checks():
    ev = _evidence((4, 4, 3))
    model = WindowLogit(ev.names, 3)
    with pytest.raises(VoxprospectError, match="3-cell windows"):
        predict_volume(model, ev, window=5)
    del model.window
    with pytest.raises(VoxprospectError, match="window size is unknown"):
        predict_volume(model, ev)
    # without model.window the argument serves
    assert np.isfinite(predict_volume(model, ev, window=3)["prospectivity"][ev.active]).all()


def test_edge_rule_follows_the_model():
    ev = _evidence((5, 4, 3))
    model = WindowLogit(ev.names, 3)
    model.edge = "zero"  # checkpoints record the training edge rule
    out = predict_volume(model, ev)
    assert out.meta["prediction"]["edge"] == "zero"
    np.testing.assert_array_equal(out["prospectivity"], _naive(model, ev, 3, "zero"))
    with pytest.raises(VoxprospectError, match="edge rule"):
        predict_volume(model, ev, edge="edge")


def test_fitted_estimator_attributes_window_and_channel_count():
    ev = _evidence((4, 4, 3))
    model = WindowLogit(ev.names, 3)
    del model.window, model.channels
    model.window_, model.n_channels_ = 3, 3   # a fitted estimator without channel names
    with pytest.raises(LayerError, match="takes 3 evidence channels, 2 given"):
        predict_volume(model, ev)
    model.n_channels_ = 2
    np.testing.assert_array_equal(predict_volume(model, ev)["prospectivity"],
                                  _naive(WindowLogit(ev.names, 3), ev, 3, "edge"))


def test_progress_reaches_one_and_cancel_stops():
    ev = _evidence((6, 5, 4))
    model = WindowLogit(ev.names, 3)
    seen = []
    predict_volume(model, ev, chunk_voxels=10, progress=lambda f, m: seen.append(f))
    assert seen[0] == 0.0 and seen[-1] == pytest.approx(1.0)
    assert all(b >= a for a, b in zip(seen, seen[1:]))
    assert len(seen) > 5

    def cancel(f, m):
        if f > 0.3:
            raise Cancelled("user pressed Cancel")

    model.batches.clear()
    with pytest.raises(Cancelled):
        predict_volume(model, ev, chunk_voxels=10, progress=cancel)
    assert sum(model.batches) < int(ev.active.sum())


def test_block_shape_bounded_and_covering():
    for shape, chunk in [((100, 80, 40), 262144), ((1000, 1000, 100), 262144), ((5, 4, 3), 7), ((9, 9, 9), 1)]:
        b = block_shape(shape, chunk)
        assert np.prod(b) <= max(chunk, 1)
        assert all(1 <= x <= s for x, s in zip(b, shape))
    # a grid that fits is one block
    assert block_shape((10, 10, 10), 1000) == (10, 10, 10)


def test_fast_path_registry_auto_and_windows():
    ev = _evidence((4, 3, 3))
    model = WindowLogit(ev.names, 3)
    model.fast = True
    calls = []

    def fast(m, evidence, channels, window, edge, chunk_voxels, progress):
        calls.append((tuple(channels), window, edge))
        return np.full(evidence.grid.shape, 0.25, dtype=np.float32)

    register_fast_path("test-constant", lambda m: getattr(m, "fast", False), fast)
    try:
        out = predict_volume(model, ev)
        assert calls == [(tuple(ev.names), 3, "edge")]
        assert out.meta["prediction"]["method"] == "test-constant"
        assert np.all(out["prospectivity"][ev.active] == 0.25)
        assert np.isnan(out["prospectivity"][~ev.active]).all()
        windows = predict_volume(model, ev, method="windows")
        np.testing.assert_array_equal(windows["prospectivity"], _naive(model, ev, 3, "edge"))
        with pytest.raises(VoxprospectError, match="unknown prediction method"):
            predict_volume(model, ev, method="nope")
    finally:
        predict_mod._FAST_PATHS.pop("test-constant", None)
