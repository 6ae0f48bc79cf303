"""Evidence buffers and standardisation (voxprospect.evidence.layers)."""

import json

import numpy as np
import pytest

from voxprospect import GridMismatchError, LayerError, Volume, VoxelGrid, VoxprospectError
from voxprospect.evidence.layers import (EvidenceSpec, apply_standardiser, buffer_evidence, build_evidence,
                                         distance_to_mask, evidence_stack, fill_inactive, fit_standardiser)

CELL = (50.0, 30.0, 20.0)


def brute_force_distance(mask, cell_size):
    """Distance from every cell centre to every mask centre, minimum (O(n*m))."""
    cs = np.asarray(cell_size)
    cells = np.argwhere(np.ones(mask.shape, bool)) * cs
    objs = np.argwhere(mask) * cs
    d = np.sqrt(((cells[:, None, :] - objs[None, :, :]) ** 2).sum(-1)).min(1)
    return d.reshape(mask.shape)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_distance_matches_brute_force_with_anisotropic_cells(seed):
    rng = np.random.default_rng(seed)
    mask = rng.random((9, 11, 7)) < 0.02
    mask[4, 5, 3] = True
    got = distance_to_mask(mask, CELL)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, brute_force_distance(mask, CELL), rtol=1e-5, atol=1e-3)
    assert (got[mask] == 0).all()
    assert (got[~mask] > 0).all()


def test_distance_cap_is_respected_and_matches_uncapped_below_it():
    rng = np.random.default_rng(5)
    mask = np.zeros((30, 25, 20), bool)
    mask[rng.integers(10, 15), rng.integers(8, 12), rng.integers(5, 9)] = True
    mask[12, 10, 7] = True
    cap = 170.0
    capped = distance_to_mask(mask, CELL, cap)
    full = brute_force_distance(mask, CELL)
    assert capped.max() == pytest.approx(cap)
    np.testing.assert_allclose(capped, np.minimum(full, cap), rtol=1e-5, atol=1e-3)


def test_empty_mask_is_cap_everywhere_or_an_error_without_cap():
    mask = np.zeros((4, 4, 4), bool)
    assert (distance_to_mask(mask, CELL, 500.0) == 500.0).all()
    with pytest.raises(LayerError, match="no voxel"):
        distance_to_mask(mask, CELL)


def test_binary_and_fuzzy_shapes():
    d = np.array([0.0, 100.0, 250.0, 500.0, 999.0, 1000.0, 3000.0, np.nan])
    dist = buffer_evidence(d, "distance", 1000.0)
    np.testing.assert_allclose(dist[:-1], [0, 100, 250, 500, 999, 1000, 1000])
    binary = buffer_evidence(d, "binary", 1000.0, 250.0)
    np.testing.assert_array_equal(binary[:-1], [1, 1, 1, 0, 0, 0, 0])
    assert np.isnan(binary[-1])
    linear = buffer_evidence(d, "fuzzy", 1000.0)
    np.testing.assert_allclose(linear[:-1], [1, 0.9, 0.75, 0.5, 0.001, 0, 0], atol=1e-6)
    smooth = buffer_evidence(d, "fuzzy", 1000.0, 250.0)
    assert smooth[0] == pytest.approx(1.0) and smooth[5] == pytest.approx(0.0)
    assert smooth[2] == pytest.approx(0.5, abs=1e-6)  # midpoint at the buffer distance
    dense = buffer_evidence(np.linspace(0, 1000, 201), "fuzzy", 1000.0, 250.0)
    assert (np.diff(dense) <= 1e-7).all()  # never increases with distance
    assert np.isnan(smooth[-1])


def test_unknown_transform_names_the_allowed_ones():
    with pytest.raises(VoxprospectError, match="distance, binary, fuzzy"):
        buffer_evidence(np.zeros(3), "gaussian", 1000.0)
    with pytest.raises(VoxprospectError, match="buffer_distance_m"):
        buffer_evidence(np.zeros(3), "binary", 1000.0)


@pytest.mark.parametrize("method", ["robust", "zscore", "minmax", "none"])
def test_standardiser_round_trip_and_training_stats_on_new_data(method):
    rng = np.random.default_rng(3)
    train = rng.lognormal(2.0, 0.7, size=(6, 5, 4))
    active = np.ones(train.shape, bool)
    active[0] = False
    train[0] = -999.0  # junk outside the study volume must not enter the statistics
    stats = fit_standardiser(train, active, method, log10=True, name="resistivity")
    assert json.loads(json.dumps(stats)) == stats
    z = apply_standardiser(train, stats, active)
    assert z.dtype == np.float32 and np.isnan(z[0]).all()
    logs = np.log10(train[active])
    if method == "robust":
        assert np.median(z[active]) == pytest.approx(0.0, abs=1e-5)
        q25, q75 = np.percentile(z[active], [25, 75])
        assert q75 - q25 == pytest.approx(1.0, abs=1e-5)
    elif method == "zscore":
        assert z[active].mean() == pytest.approx(0.0, abs=1e-5)
        assert z[active].std() == pytest.approx(1.0, abs=1e-4)
    elif method == "minmax":
        assert z[active].min() == pytest.approx(0.0, abs=1e-6) and z[active].max() == pytest.approx(1.0, abs=1e-6)
    else:
        np.testing.assert_allclose(z[active], logs, rtol=1e-6)
    # inverse of the stored transform gives the values back
    np.testing.assert_allclose(10 ** (z[active] * stats["scale"] + stats["center"]), train[active], rtol=1e-5)
    # new data use the training statistics, not their own
    new = train * 10.0
    z_new = apply_standardiser(new, stats, active)
    np.testing.assert_allclose(z_new[active], z[active] + 1.0 / stats["scale"], rtol=1e-5, atol=1e-5)


def test_standardiser_errors():
    with pytest.raises(LayerError, match="'density'.*all-NaN"):
        fit_standardiser(np.full((3, 3, 3), np.nan), None, "robust", name="density")
    with pytest.raises(LayerError, match="'mt'.*<= 0"):
        fit_standardiser(np.array([1.0, 0.0, 5.0]), None, "robust", log10=True, name="mt")
    with pytest.raises(VoxprospectError, match="robust, zscore, minmax, none"):
        fit_standardiser(np.ones(3), None, "rank")
    const = fit_standardiser(np.full(10, 2.5), None, "zscore")
    assert const["degenerate"] and const["scale"] == 1.0
    np.testing.assert_array_equal(apply_standardiser(np.full(4, 2.5), const), 0.0)


# -- build_evidence on a tiny district -----------------------------------------------

@pytest.fixture
def district():
    grid = VoxelGrid((1000.0, 2000.0, -600.0), CELL, (12, 10, 8), "EPSG:32650")
    rng = np.random.default_rng(11)
    litho = np.ones(grid.shape, np.int16)  # 1 = host
    litho[2:5, 3:6, 1:4] = 2               # granodiorite body
    litho[9, :, :] = 3                     # a dyke
    active = np.ones(grid.shape, bool)
    active[:, :, -1] = False               # air above topography
    litho[~active] = 0
    faults = np.zeros(grid.shape, bool)
    faults[:, 7, :] = True
    geology = Volume(grid, {"lithology": litho, "faults": faults}, active,
                     {"lithology": {0: "air", 1: "host", 2: "granodiorite", 3: "dyke"}})
    density = 2.7 + 0.1 * rng.standard_normal(grid.shape)
    density[~active] = np.nan
    resistivity = rng.lognormal(5, 1, grid.shape)
    geophysics = Volume(grid, {"density": density, "resistivity": resistivity}, active)
    specs = [
        EvidenceSpec("granodiorite", "buffer", "geology", "lithology", ["Granodiorite"], "fuzzy", 300.0, 100.0),
        EvidenceSpec("faults", "buffer", "geology", "faults", None, "binary", 500.0, 60.0),
        EvidenceSpec("gravity", "geophysics", "geophysics", "density"),
        EvidenceSpec("mt", "geophysics", "geophysics", "resistivity", standardise="zscore", log10=True),
    ]
    return grid, {"geology": geology, "geophysics": geophysics}, specs


def test_build_evidence_four_channels(district):
    grid, sources, specs = district
    ev = build_evidence(specs, sources)
    assert ev.names == ["granodiorite", "faults", "gravity", "mt"]
    assert ev.grid == grid
    assert all(ev[n].dtype == np.float32 for n in ev.names)
    act = ev.active
    assert not act[:, :, -1].any() and act[:, :, :-1].all()
    for n in ev.names:
        assert np.isnan(ev[n][~act]).all() and np.isfinite(ev[n][act]).all()
    # granodiorite fuzzy: 1 inside, 0.5 at 100 m, 0 beyond 300 m
    assert (ev["granodiorite"][2:5, 3:6, 1:4] == 1.0).all()
    assert ev["granodiorite"][6, 4, 2] == pytest.approx(0.5, abs=1e-6)  # 2 cells x 50 m = 100 m in x
    assert ev["granodiorite"][11, 4, 2] == 0.0
    # faults binary within 60 m: rows j = 5..9 (30 m cells), not j <= 4
    assert (ev["faults"][:, 5:, :-1] == 1).all() and (ev["faults"][:, :5, :-1] == 0).all()
    # standardised channels with stored statistics
    stats = ev.meta["evidence"]["stats"]
    assert set(stats) == {"gravity", "mt"}
    assert np.median(ev["gravity"][act]) == pytest.approx(0.0, abs=1e-5)
    assert ev["mt"][act].std() == pytest.approx(1.0, abs=1e-4)
    assert [c["name"] for c in ev.meta["evidence"]["channels"]] == ev.names
    json.dumps(ev.meta)
    stack = evidence_stack(ev)
    assert stack.shape == (4,) + grid.shape and np.isfinite(stack).all()
    assert (stack[:, ~act] == 0).all()


def test_distance_channel_from_a_fault_surface_distance(district):
    grid, sources, specs = district
    # distances to the plane y = 2210 m (as voxelise.surface_distance would give)
    y = grid.axis_centres(1)[None, :, None] + np.zeros(grid.shape)
    fault = Volume(grid, {"fault_distance": np.abs(y - 2210.0)})
    spec = EvidenceSpec("fault", "distance", "faults", "fault_distance", transform="binary",
                        max_distance_m=400.0, buffer_distance_m=50.0)
    ev = build_evidence([spec, specs[0]], {**sources, "faults": fault})
    expected = (np.abs(grid.axis_centres(1) - 2210.0) <= 50.0).astype(np.float32)
    np.testing.assert_array_equal(ev["fault"][0, :, 0], expected)
    assert expected.sum() == 4 and np.isnan(ev["fault"][:, :, -1]).all()
    bad = Volume(grid, {"fault_distance": y - 2210.0})
    with pytest.raises(LayerError, match="'fault'.*negative distances"):
        build_evidence([spec], {"faults": bad})


def test_build_evidence_reuses_training_statistics(district):
    grid, sources, specs = district
    train = build_evidence(specs, sources)
    shifted = sources["geophysics"].with_layer("density", sources["geophysics"]["density"] + 1.0)
    new = build_evidence(specs, {**sources, "geophysics": shifted}, stats=train.meta["evidence"]["stats"])
    scale = train.meta["evidence"]["stats"]["gravity"]["scale"]
    act = train.active
    np.testing.assert_allclose(new["gravity"][act], train["gravity"][act] + 1.0 / scale, rtol=1e-5, atol=1e-4)
    refit = build_evidence(specs, {**sources, "geophysics": shifted})
    np.testing.assert_allclose(refit["gravity"][act], train["gravity"][act], atol=1e-4)
    with pytest.raises(LayerError, match="'mt' has no stored"):
        build_evidence(specs, sources, stats={"gravity": train.meta["evidence"]["stats"]["gravity"]})


def test_build_evidence_errors(district):
    grid, sources, specs = district
    other = VoxelGrid(grid.origin, (50.0, 30.0, 25.0), grid.shape)
    moved = {**sources, "geophysics": Volume(other, dict(sources["geophysics"].layers))}
    with pytest.raises(GridMismatchError, match="'geology' and 'geophysics'.*cell size"):
        build_evidence(specs, moved)
    with pytest.raises(LayerError, match="'gravity'.*unknown source 'geophys'"):
        build_evidence([EvidenceSpec("gravity", "geophysics", "geophys", "density")], sources)
    with pytest.raises(LayerError, match="'gravity'.*no layer 'rho'"):
        build_evidence([EvidenceSpec("gravity", "geophysics", "geophysics", "rho")], sources)
    with pytest.raises(LayerError, match="'intrusion'.*no class 'tonalite'"):
        build_evidence([EvidenceSpec("intrusion", "buffer", "geology", "lithology", ["tonalite"])], sources)
    empty = sources["geology"].with_layer("faults", np.zeros(grid.shape, bool))
    with pytest.raises(LayerError, match="'faults'.*selects no voxel"):
        build_evidence([specs[1]], {**sources, "geology": empty})
    nan = sources["geophysics"].with_layer("density", np.full(grid.shape, np.nan))
    with pytest.raises(LayerError, match="'gravity'.*all-NaN"):
        build_evidence([specs[2]], {**sources, "geophysics": nan})
    with pytest.raises(VoxprospectError, match="unique"):
        build_evidence([specs[2], specs[2]], sources)


def test_spec_validation():
    with pytest.raises(VoxprospectError, match="kind 'raster'"):
        EvidenceSpec("a", "raster", "s", "l")
    with pytest.raises(VoxprospectError, match="'a'.*transform 'gauss'.*distance, binary, fuzzy"):
        EvidenceSpec("a", "buffer", "s", "l", transform="gauss")
    with pytest.raises(VoxprospectError, match="binary buffer needs buffer_distance_m"):
        EvidenceSpec("a", "buffer", "s", "l", transform="binary")
    with pytest.raises(VoxprospectError, match="between 0 and max_distance_m"):
        EvidenceSpec("a", "buffer", "s", "l", transform="fuzzy", max_distance_m=500, buffer_distance_m=800)
    with pytest.raises(VoxprospectError, match="unknown keys colour"):
        EvidenceSpec.from_dict({"name": "a", "kind": "buffer", "source": "s", "layer": "l", "colour": "red"})
    spec = EvidenceSpec("g", "geophysics", "s", "density")
    assert spec.standardise == "robust"
    assert EvidenceSpec("b", "buffer", "s", "l").standardise == "none"
    assert EvidenceSpec.from_dict(spec.to_dict()) == spec


def test_fill_inactive_leaves_input_alone():
    a = np.array([[1.0, np.nan], [np.inf, 2.0]])
    out = fill_inactive(a)
    np.testing.assert_array_equal(out, [[1, 0], [0, 2]])
    assert np.isnan(a[0, 1])


def test_cells_above_topography_take_the_channels_training_mean():
    """A raw-distance and a fuzzy channel: 0 is not neutral for either, so the fill is
    each channel's own mean over the active cells, recorded, and used by training
    windows and by prediction alike."""
    from voxprospect.evidence.layers import build_evidence, fill_values
    from voxprospect.data.grid import VoxelGrid
    from voxprospect.mapping.predict import predict_volume
    from voxprospect.learn.samples import make_samples, samples_windows
    from voxprospect.data.volume import Volume

    grid = VoxelGrid((0.0, 0.0, 0.0), (100.0, 100.0, 50.0), (12, 10, 8), None)
    active = np.ones(grid.shape, bool)
    active[:, :, 6:] = False                      # air above the surface
    lith = np.zeros(grid.shape, np.int16)
    lith[4:7, 4:7, 1:4] = 1
    geo = Volume(grid, {"lith": lith}, active, classes={"lith": {0: "host", 1: "intrusion"}})
    specs = [{"name": "dist", "kind": "buffer", "source": "g", "layer": "lith", "classes": ["intrusion"],
              "transform": "distance", "max_distance_m": 600.0},
             {"name": "fuzzy", "kind": "buffer", "source": "g", "layer": "lith", "classes": ["intrusion"],
              "transform": "fuzzy", "max_distance_m": 600.0}]
    ev = build_evidence(specs, {"g": geo})
    fills = fill_values(ev)
    for c in ("dist", "fuzzy"):
        ref = float(np.mean(np.asarray(ev[c], np.float64)[active]))
        assert fills[c] == pytest.approx(ref, rel=1e-12)
        assert fills[c] != 0.0
    # a window reaching into the air sees the fill values there
    ore = np.zeros(grid.shape, np.int32)
    ore[5, 5, 5] = 1                               # just below the surface
    s = make_samples(ore, active, grid, window=3, min_distance_m=300.0, seed=0)
    w = samples_windows(ev.stack(["dist", "fuzzy"]), s, fill=[fills["dist"], fills["fuzzy"]])
    assert w[0, 0, 1, 1, 2] == pytest.approx(fills["dist"])
    assert w[0, 1, 1, 1, 2] == pytest.approx(fills["fuzzy"])

    class TopCell:
        """Returns the window's top-centre voxel of channel 0 as its 'probability'."""
        classes_ = np.array([0, 1])
        window = 3
        channels = ["dist", "fuzzy"]

        def predict_proba(self, X):
            v = X[:, 0, 1, 1, 2].astype(np.float64)
            return np.column_stack([-v, v])

    out = predict_volume(TopCell(), ev, method="windows")
    assert out["prospectivity"][5, 5, 5] == pytest.approx(fills["dist"], rel=1e-6)
    assert out.meta["prediction"]["nan_fill"]["dist"] == pytest.approx(fills["dist"], rel=1e-6)
