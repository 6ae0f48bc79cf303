"""Attribution volumes on the grid and each target's top channels, in the target files."""

from __future__ import annotations

import csv

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("captum")

from voxprospect.data.grid import VoxelGrid  # noqa: E402
from voxprospect.data.volume import Volume  # noqa: E402
from voxprospect.learn.attribution import window_attributions  # noqa: E402
from voxprospect.learn.samples import extract_windows, pad_stack  # noqa: E402
from voxprospect.mapping.explain import (attribution_layer, attribution_volume, set_top_channels,  # noqa: E402
                                         target_sample_mask, top_channels_from_attributions,
                                         top_channels_from_importance)
from voxprospect.mapping.targets import find_targets, write_targets_csv, write_targets_gpkg  # noqa: E402

GRID = VoxelGrid((1000.0, 2000.0, -500.0), (10.0, 20.0, 5.0), (7, 6, 5), "EPSG:32650")
CHANNELS = ["granite", "density"]


def evidence():
    rng = np.random.default_rng(0)
    active = np.ones(GRID.shape, bool)
    active[:, :, -1] = False
    layers = {c: rng.normal(0, 1, GRID.shape).astype(np.float32) for c in CHANNELS}
    layers["density"][0, 0, 0] = np.nan  # a gap, filled with the neutral value
    fills = {"granite": 0.05, "density": -0.1}
    return Volume(GRID, layers, active, {}, {"evidence": {"fill_values": fills}})


def net64():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv3d(2, 4, 3, padding=1), torch.nn.ReLU(),
                               torch.nn.AdaptiveAvgPool3d(1), torch.nn.Flatten(),
                               torch.nn.Linear(4, 2)).double().eval()


def test_attribution_volume_equals_the_windows_cut_from_the_whole_grid():
    ev = evidence()
    net = net64()
    where = np.zeros(GRID.shape, bool)
    where[1:4, 2:5, 0:3] = True
    where[6, 5, 4] = True  # inactive: never attributed
    vol = attribution_volume(net, ev, where=where, channels=CHANNELS, window=3, chunk_voxels=40, n_steps=8)
    assert vol.names == [attribution_layer(c) for c in CHANNELS] == ["attribution_granite", "attribution_density"]
    chosen = where & ev.active
    for name in vol.names:
        a = vol[name]
        assert a.dtype == np.float32
        assert np.isfinite(a[chosen]).all() and np.isnan(a[~chosen]).all()
    # the reference: every window cut at once from the padded whole grid (gap filled the same way)
    stack = np.stack([np.nan_to_num(ev[c], nan=f) for c, f in zip(CHANNELS, (0.05, -0.1))])
    centres = np.argwhere(chosen)
    X = extract_windows(pad_stack(stack.astype(np.float32), 3, "edge"), centres, 3)
    ref, _, _ = window_attributions(net, X, np.array([0.05, -0.1]), n_steps=8)
    got = np.stack([vol[n][tuple(centres.T)] for n in vol.names], axis=1)
    assert np.allclose(got, ref, rtol=1e-6, atol=1e-9)
    meta = vol.meta["attribution"]
    assert meta["n_voxels"] == int(chosen.sum()) and meta["n_steps"] == 8
    assert meta["baseline_values"] == pytest.approx({"granite": 0.05, "density": -0.1})
    assert meta["convergence_delta"]["max_abs"] is not None


def test_target_sample_is_seeded_and_capped_per_target():
    labels = np.zeros(GRID.shape, np.int32)
    labels[0:3, 0:3, 0:3] = 1   # 27 voxels
    labels[5, 5, 4] = 2         # 1 voxel
    m = target_sample_mask(labels, 10, seed=3)
    assert (m & (labels == 1)).sum() == 10 and (m & (labels == 2)).sum() == 1 and not (m & (labels == 0)).any()
    assert np.array_equal(m, target_sample_mask(labels, 10, seed=3))
    assert not np.array_equal(m, target_sample_mask(labels, 10, seed=4))


def test_top_channels_from_attributions_and_from_importance(tmp_path):
    p = np.full(GRID.shape, 0.1)
    p[1:3, 1:3, 1:3] = 0.9
    p[5, 4, 2] = 0.8
    pros = Volume(GRID, {"prospectivity": p})
    ts = find_targets(pros, 0.5)
    assert ts.count == 2
    a_g = np.full(GRID.shape, np.nan, np.float32)
    a_d = np.full(GRID.shape, np.nan, np.float32)
    a_g[1:3, 1:3, 1:3], a_d[1:3, 1:3, 1:3] = 0.2, 0.7     # target 1: density first, then granite
    a_g[5, 4, 2], a_d[5, 4, 2] = 0.4, -0.3                 # target 2: granite only (density pushes down)
    att = Volume(GRID, {"attribution_granite": a_g, "attribution_density": a_d})
    top = top_channels_from_attributions(att, ts.labels, CHANNELS)
    assert top == {1: ["density", "granite"], 2: ["granite"]}

    ev = evidence()
    ev.layers["granite"][1:3, 1:3, 1:3] = 3.0   # target 1 unusual on granite, ordinary on density
    ev.layers["density"][1:3, 1:3, 1:3] = -0.1
    imp = {"channels": [{"channel": "granite", "mean": 0.2}, {"channel": "density", "mean": 0.3}]}
    top_imp = top_channels_from_importance(ev, ts.labels, CHANNELS, imp)
    assert top_imp[1] == ["granite"]  # density is the more important channel, but not unusual here
    # a channel the model ignores never explains a target, however unusual it is
    assert top_channels_from_importance(ev, ts.labels, CHANNELS,
                                        {"channels": [{"channel": "granite", "mean": -0.01},
                                                      {"channel": "density", "mean": 0.3}]})[1] == []

    set_top_channels(ts.table, top)
    assert [t["top_channels"] for t in ts.table] == ["density;granite", "granite"]
    write_targets_csv(ts, tmp_path / "t.csv")
    rows = list(csv.DictReader(open(tmp_path / "t.csv")))
    assert [r["top_channels"] for r in rows] == ["density;granite", "granite"]
    import fiona
    write_targets_gpkg(ts, GRID, tmp_path / "t.gpkg", prospectivity=pros)
    with fiona.open(tmp_path / "t.gpkg", layer="target_centroids") as src:
        assert src.schema["properties"]["top_channels"].startswith("str")
        assert [f["properties"]["top_channels"] for f in src] == ["density;granite", "granite"]
