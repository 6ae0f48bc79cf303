"""Chunked Zarr/Dask evidence and prediction equal the in-memory paths (issue 6).

The grid (13 x 11 x 9) is not a multiple of the chunk shape (5, 4, 4), so the last
chunk along every axis is ragged, and the cluster is a real two-worker
``dask.distributed`` cluster reached by its scheduler address.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
pytest.importorskip("zarr")

from voxprospect import Volume, VoxelGrid
from voxprospect.mapping import scale
from voxprospect.errors import InputFileError, VoxprospectError
from voxprospect.evidence.layers import buffer_evidence, distance_to_mask
from voxprospect.learn.fastpredict import trained_looking
from voxprospect.learn.checkpoint import LoadedModel
from voxprospect.learn.network import build_model
from float_truth import assert_near_truth, truth_probability
from voxprospect.mapping.predict import predict_volume
CHANNELS = ["density", "susceptibility", "granite_distance"]
CHUNKS = (5, 4, 4)


def _truth(model, evidence, edge="edge", n=96, seed=0):
    """A seeded sample of active cells and the float64 network's probabilities there."""
    from voxprospect.learn.samples import extract_windows, pad_stack

    cells = np.argwhere(evidence.active)
    cells = cells[np.random.default_rng(seed).permutation(len(cells))[:n]]
    stack = np.nan_to_num(evidence.stack(CHANNELS), nan=0.0)
    windows = extract_windows(pad_stack(stack, 3, edge), cells, 3)
    return tuple(cells.T), truth_probability(model.module, windows)


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as c:
        yield c


@pytest.fixture(scope="module")
def evidence():
    grid = VoxelGrid((400_000.0, 7_000_000.0, -1_500.0), (50.0, 40.0, 25.0), (13, 11, 9), "EPSG:32633")
    rng = np.random.default_rng(7)
    active = rng.random(grid.shape) > 0.2
    layers = {n: rng.normal(size=grid.shape).astype(np.float32) for n in CHANNELS}
    for a in layers.values():
        a[~active] = np.nan
    return Volume(grid, layers, active)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    net = trained_looking(build_model("DL4", len(CHANNELS)).eval())
    return LoadedModel({"kind": "cnn", "channels": CHANNELS, "window": 3, "edge": "edge"}, module=net)


def test_zarr_round_trip_keeps_grid_layers_and_mask(tmp_path, evidence):
    path = scale.write_zarr(evidence, tmp_path / "evidence.zarr", chunks=CHUNKS)
    vol = scale.open_zarr(path)
    assert vol.grid == evidence.grid
    assert vol["density"].chunks[0] == (5, 5, 3)
    back = vol.load()
    assert np.array_equal(back.active, evidence.active)
    for name in CHANNELS:
        assert np.array_equal(back[name], evidence[name], equal_nan=True)
    with pytest.raises(InputFileError, match="not found"):
        scale.open_zarr(tmp_path / "missing.zarr")


def test_chunked_prediction_on_cluster_equals_in_memory(tmp_path, evidence, model, cluster):
    torch.set_num_threads(1)
    in_memory = predict_volume(model, evidence, method="windows")["prospectivity"]
    ev_path = scale.write_zarr(evidence, tmp_path / "evidence.zarr", chunks=CHUNKS)
    out = scale.predict_zarr(model, ev_path, tmp_path / "prospectivity.zarr",
                             scheduler=cluster.scheduler_address)
    got = scale.open_zarr(out).load()
    assert got.grid == evidence.grid
    p = got["prospectivity"]
    assert np.array_equal(np.isnan(p), ~evidence.active)
    on = evidence.active
    assert np.ptp(in_memory[on]) > 0.5
    cells, truth = _truth(model, evidence)
    # the chunked default (zero-skip) path against torch's own float32 error
    assert_near_truth(p[cells], in_memory[cells], truth, k=16)
    # the per-window model path chunked is the same computation in other batches
    vol = scale.open_zarr(ev_path)
    windows = scale.compute(scale.predict_dask(model, vol, vol.active, method="windows"),
                            scheduler=cluster.scheduler_address)
    assert_near_truth(windows[cells], in_memory[cells], truth, k=4)


@pytest.mark.parametrize("edge", ["edge", "zero"])
def test_edge_rule_is_applied_only_at_the_grid_boundary(evidence, model, edge):
    torch.set_num_threads(1)
    ruled = LoadedModel({**model.metadata, "edge": edge}, module=model.module)
    expected = predict_volume(ruled, evidence, method="windows")
    lazy = scale.predict_dask(ruled, {n: evidence[n] for n in CHANNELS}, evidence.active, chunks=CHUNKS)
    got = scale.compute(lazy, scheduler="synchronous")
    cells, truth = _truth(ruled, evidence, edge)
    assert_near_truth(got[cells], expected["prospectivity"][cells], truth, k=16)


def test_chunked_buffer_distances_on_cluster_equal_in_memory(tmp_path, evidence, cluster):
    rng = np.random.default_rng(3)
    granite = rng.random(evidence.grid.shape) > 0.97
    cap = 170.0  # 4 cells along x, 5 along y, 7 along z: deeper than a chunk along z
    expected = distance_to_mask(granite, evidence.grid.cell_size, cap)
    lazy = scale.distance_to_mask(granite, evidence.grid.cell_size, cap, chunks=CHUNKS)
    got = scale.compute(lazy, scheduler=cluster.scheduler_address)
    assert got.dtype == np.float32
    assert np.array_equal(got, expected)
    assert (expected < cap).any() and (expected == cap).any()

    fuzzy = scale.compute(scale.buffer_evidence(granite, evidence.grid.cell_size, "fuzzy", cap, 80.0,
                                                chunks=CHUNKS), scheduler=cluster.scheduler_address)
    assert np.array_equal(fuzzy, buffer_evidence(expected, "fuzzy", cap, 80.0))

    out = scale.write_zarr_array(lazy, tmp_path / "granite_distance.zarr", "granite_distance",
                                 evidence.grid, scheduler=cluster.scheduler_address)
    assert np.array_equal(scale.open_zarr(out).load()["granite_distance"], expected)


def test_chunked_distance_needs_a_cap(evidence):
    with pytest.raises(VoxprospectError, match="max_distance_m"):
        scale.distance_to_mask(evidence.active, evidence.grid.cell_size, None)
