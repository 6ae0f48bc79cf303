"""Targets on a hand-made volume: two bodies with known sizes, volumes and centroids."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from voxprospect.errors import GridMismatchError, LayerError
from voxprospect.data.grid import VoxelGrid
from voxprospect.mapping.targets import (TARGET_COLUMNS, find_targets, targets_volume, write_targets_csv,
                                         write_targets_gpkg)
from voxprospect.data.volume import Volume

# anisotropic cells: 10 m east, 20 m north, 5 m up -> 1000 m3 per voxel
GRID = VoxelGrid((1000.0, 2000.0, -500.0), (10.0, 20.0, 5.0), (8, 6, 5), "EPSG:32650")
CUBE = [(i, j, k) for i in (1, 2) for j in (1, 2) for k in (1, 2)]
CHAIN = [(5, 3, 1), (6, 4, 2), (7, 5, 3)]  # corner neighbours only: one body only if 26-connected
LONE = (3, 5, 4)


def _volume():
    p = np.full(GRID.shape, 0.1)
    for c in CUBE:
        p[c] = 0.8
    p[2, 2, 2] = 0.9
    for c, v in zip(CHAIN, (0.7, 0.75, 0.95)):   # 0.7: exactly at the threshold, included
        p[c] = v
    p[LONE] = 0.72
    active = np.ones(GRID.shape, dtype=bool)
    active[0, 5, 4] = False
    p[0, 5, 4] = 0.99                             # above the threshold but outside the study volume
    return Volume(GRID, {"prospectivity": p}, active)


def _deposits():
    d = np.zeros(GRID.shape, dtype=np.int32)
    d[2, 2, 2] = 1
    d[3, 3, 3] = 1    # SDG continues outside the cube
    d[7, 5, 3] = 2
    d[0, 0, 0] = 3    # a deposit no target reaches
    return d


def test_bodies_counts_volumes_centroids_and_elevations():
    ts = find_targets(_volume(), 0.7, deposits=_deposits(), deposit_names={1: "SDG", 2: "Wulong", 3: "Far"})
    assert ts.count == 3
    chain, cube, lone = ts.table       # ordered by descending max prospectivity: 0.95, 0.9, 0.72
    assert [t["target_id"] for t in ts.table] == [1, 2, 3]

    assert chain["n_voxels"] == 3 and chain["volume_m3"] == pytest.approx(3000.0)
    assert (chain["centroid_x"], chain["centroid_y"], chain["centroid_z"]) == pytest.approx((1065.0, 2090.0, -487.5))
    assert chain["top_elevation_m"] == pytest.approx(-480.0)     # top of level 3
    assert chain["bottom_elevation_m"] == pytest.approx(-495.0)  # bottom of level 1
    assert chain["max_prospectivity"] == pytest.approx(0.95)
    assert chain["mean_prospectivity"] == pytest.approx((0.7 + 0.75 + 0.95) / 3)
    assert chain["deposits"] == ["Wulong"] and chain["n_deposits"] == 1

    assert cube["n_voxels"] == 8 and cube["volume_m3"] == pytest.approx(8000.0)
    assert (cube["centroid_x"], cube["centroid_y"], cube["centroid_z"]) == pytest.approx((1020.0, 2040.0, -490.0))
    assert (cube["top_elevation_m"], cube["bottom_elevation_m"]) == pytest.approx((-485.0, -495.0))
    assert cube["mean_prospectivity"] == pytest.approx((7 * 0.8 + 0.9) / 8)
    assert cube["deposits"] == ["SDG"]

    assert lone["n_voxels"] == 1 and lone["deposits"] == []
    # labels agree with the table, and the inactive 0.99 voxel is in no target
    for t in ts.table:
        assert int((ts.labels == t["target_id"]).sum()) == t["n_voxels"]
    assert ts.labels.dtype == np.int32 and ts.labels[0, 5, 4] == 0
    assert all(ts.labels[c] == 2 for c in CUBE) and all(ts.labels[c] == 1 for c in CHAIN)
    s = ts.summary()
    assert s["count"] == 3 and s["deposits_found"] == ["SDG", "Wulong"] and s["total_voxels"] == 12


def test_min_voxels_and_six_connectivity_would_split_the_chain():
    from scipy import ndimage

    vol = _volume()
    ts = find_targets(vol, 0.7, min_voxels=2)
    assert [t["n_voxels"] for t in ts.table] == [3, 8]
    assert ts.labels[LONE] == 0 and ts.meta["dropped_small"] == 1
    # the same mask with face connectivity gives the chain as three bodies
    _, n6 = ndimage.label(vol["prospectivity"] >= 0.7)
    assert n6 > ts.count + 1


def test_deposit_mask_and_volume_inputs():
    vol = _volume()
    mask = _deposits() > 0
    ts = find_targets(vol, 0.7, deposits=mask)
    # a boolean mask: each 26-connected body is a deposit, named by its number
    assert ts.table[0]["deposits"] and ts.table[0]["deposits"][0].startswith("deposit ")
    dep_vol = Volume(GRID, {"deposits": _deposits()}, classes={"deposits": {1: "SDG", 2: "Wulong", 3: "Far"}})
    ts = find_targets(vol, 0.7, deposits=dep_vol)
    assert ts.table[1]["deposits"] == ["SDG"]
    other = VoxelGrid((0, 0, 0), (10.0, 20.0, 5.0), GRID.shape, "EPSG:32650")
    with pytest.raises(GridMismatchError):
        find_targets(vol, 0.7, deposits=Volume(other, {"deposits": _deposits()}))
    with pytest.raises(LayerError):
        find_targets(vol, 0.7, layer="nope")


def test_csv_and_label_volume(tmp_path):
    ts = find_targets(_volume(), 0.7, deposits=_deposits(), deposit_names=["SDG", "Wulong", "Far"])
    path = write_targets_csv(ts, tmp_path / "targets.csv")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(TARGET_COLUMNS)
    assert [int(r["n_voxels"]) for r in rows] == [3, 8, 1]
    assert float(rows[1]["volume_m3"]) == pytest.approx(8000.0)
    assert rows[1]["deposits"] == "SDG" and rows[2]["deposits"] == ""

    lv = targets_volume(ts, GRID)
    assert lv["target_id"].dtype == np.int32
    np.testing.assert_array_equal(lv["target_id"], ts.labels)
    assert lv.classes["target_id"][2] == "target 2"
    with pytest.raises(GridMismatchError):
        targets_volume(ts, VoxelGrid((0, 0, 0), (1, 1, 1), GRID.shape))


def test_geopackage_round_trip(tmp_path):
    import fiona
    from shapely.geometry import shape

    vol = _volume()
    ts = find_targets(vol, 0.7, deposits=_deposits(), deposit_names={1: "SDG", 2: "Wulong"})
    path = write_targets_gpkg(ts, GRID, tmp_path / "targets.gpkg", prospectivity=vol)
    assert sorted(fiona.listlayers(path)) == ["layer_styles", "target_centroids", "target_drill_points",
                                              "target_outlines"]

    with fiona.open(path, layer="target_outlines") as src:
        assert src.crs.to_epsg() == 32650
        assert src.schema["geometry"] == "MultiPolygon"
        feats = list(src)
    # cube: levels 1 and 2; chain: levels 1, 2, 3; lone voxel: level 4
    assert len(feats) == 6
    per = {(f["properties"]["target_id"], f["properties"]["level"]): f for f in feats}
    assert set(per) == {(2, 1), (2, 2), (1, 1), (1, 2), (1, 3), (3, 4)}
    for f in feats:
        geom = shape(f["geometry"])
        assert geom.is_valid
        assert geom.area == pytest.approx(f["properties"]["n_voxels_level"] * 10.0 * 20.0)
        assert f["properties"]["elevation_m"] == pytest.approx(-500 + (f["properties"]["level"] + 0.5) * 5)
    cube_level = per[(2, 2)]
    assert cube_level["properties"]["n_voxels_level"] == 4
    assert shape(cube_level["geometry"]).bounds == pytest.approx((1010.0, 2020.0, 1030.0, 2060.0))
    assert cube_level["properties"]["max_prospectivity_level"] == pytest.approx(0.9)
    assert cube_level["properties"]["deposits"] == "SDG"
    assert cube_level["properties"]["volume_m3"] == pytest.approx(8000.0)

    with fiona.open(path, layer="target_centroids") as src:
        assert src.schema["geometry"] == "3D Point"
        assert src.crs.to_epsg() == 32650
        pts = {f["properties"]["target_id"]: f for f in src}
    for t in ts.table:
        x, y, z = pts[t["target_id"]]["geometry"]["coordinates"]
        assert (x, y, z) == pytest.approx((t["centroid_x"], t["centroid_y"], t["centroid_z"]))
        assert pts[t["target_id"]]["properties"]["n_voxels"] == t["n_voxels"]


def test_outline_of_cells_touching_at_a_corner_within_a_level(tmp_path):
    import fiona
    from shapely.geometry import shape

    p = np.zeros(GRID.shape)
    p[0, 0, 0] = p[1, 1, 0] = 1.0   # one target (26-connected), two pieces in its level
    ts = find_targets(Volume(GRID, {"prospectivity": p}), 0.5)
    assert ts.count == 1
    path = write_targets_gpkg(ts, None, tmp_path / "t.gpkg")
    with fiona.open(path, layer="target_outlines") as src:
        (f,) = list(src)
    geom = shape(f["geometry"])
    assert geom.geom_type == "MultiPolygon" and len(geom.geoms) == 2
    assert geom.area == pytest.approx(2 * 200.0)


def test_empty_target_set_still_writes_valid_files(tmp_path):
    import fiona

    ts = find_targets(_volume(), 2.0)
    assert ts.count == 0 and not ts.labels.any()
    with open(write_targets_csv(ts, tmp_path / "t.csv"), newline="") as f:
        rows = list(csv.reader(f))
    assert rows == [list(TARGET_COLUMNS)]
    path = write_targets_gpkg(ts, GRID, tmp_path / "t.gpkg")
    assert sorted(fiona.listlayers(path)) == ["layer_styles", "target_centroids", "target_outlines"]
    for layer in ("target_outlines", "target_centroids"):
        with fiona.open(path, layer=layer) as src:
            assert len(src) == 0 and src.crs.to_epsg() == 32650


def test_depth_below_an_uneven_surface():
    """Topography falls to the east: depth is measured to each column's own surface."""
    nz = GRID.shape[2]
    active = np.zeros(GRID.shape, dtype=bool)
    tops = {}
    for i in range(GRID.shape[0]):
        top_k = nz - 1 - (i // 3)          # columns further east have their surface lower
        active[i, :, :top_k + 1] = True
        tops[i] = GRID.origin[2] + (top_k + 1) * GRID.cell_size[2]
    p = np.full(GRID.shape, 0.1)
    body = [(1, 1, 1), (2, 1, 2), (3, 2, 2), (4, 2, 1)]   # spans columns with different surfaces
    for c in body:
        p[c] = 0.9
    ts = find_targets(Volume(GRID, {"prospectivity": p}, active), 0.5)
    assert ts.count == 1
    t = ts.table[0]
    dz, z0 = GRID.cell_size[2], GRID.origin[2]
    top_depths = [tops[i] - (z0 + (k + 1) * dz) for i, _, k in body]
    centre_depths = [tops[i] - (z0 + (k + 0.5) * dz) for i, _, k in body]
    assert t["top_depth_m"] == pytest.approx(min(top_depths))
    assert t["centroid_depth_m"] == pytest.approx(np.mean(centre_depths))
    # a flat surface would have given another answer: the columns matter
    flat_top = z0 + nz * dz
    assert t["top_depth_m"] != pytest.approx(flat_top - t["top_elevation_m"])
    assert "top_depth_m" in TARGET_COLUMNS and "centroid_depth_m" in TARGET_COLUMNS


def test_outlines_sorted_by_target_and_drill_points_inside(tmp_path):
    """Outline features come target by target; each drill point is its target's most
    prospective voxel, inside it even for a ring whose centroid lies in the hole."""
    import fiona
    from voxprospect.mapping.drill import drill_points

    p = np.zeros(GRID.shape)
    ring = np.zeros(GRID.shape[:2], bool)
    ring[1:6, 1:6] = True
    ring[2:5, 2:5] = False  # a square ring: its centroid is in the hole
    p[:, :, 1][ring] = 0.8
    p[4, 1, 1] = 0.95  # the ring's peak
    p[7, 5, 0:3] = 0.9  # a second, smaller target
    vol = Volume(GRID, {"prospectivity": p.astype(np.float32)})
    ts = find_targets(vol, 0.7)
    assert ts.count == 2
    points = {d["target_id"]: d for d in drill_points(ts, vol)}
    for t in ts.table:
        d = points[t["target_id"]]
        assert ts.labels[d["i"], d["j"], d["k"]] == t["target_id"]  # inside its target
        assert d["prospectivity"] == pytest.approx(t["max_prospectivity"])
    ring_id = int(ts.labels[1, 1, 1])
    assert (points[ring_id]["i"], points[ring_id]["j"], points[ring_id]["k"]) == (4, 1, 1)
    c = next(t for t in ts.table if t["target_id"] == ring_id)
    ci = (c["centroid_x"] - GRID.origin[0]) / GRID.cell_size[0]
    cj = (c["centroid_y"] - GRID.origin[1]) / GRID.cell_size[1]
    assert ts.labels[int(ci), int(cj), 1] == 0  # the centroid is in the hole: why drill points exist

    path = write_targets_gpkg(ts, GRID, tmp_path / "t.gpkg", prospectivity=vol)
    with fiona.open(path, layer="target_outlines") as src:
        keys = [(f["properties"]["target_id"], -f["properties"]["level"]) for f in src]
    assert keys == sorted(keys) and len({k[0] for k in keys}) == 2
    with fiona.open(path, layer="target_drill_points") as src:
        got = {f["properties"]["target_id"]: f["geometry"]["coordinates"] for f in src}
    for tid, d in points.items():
        assert got[tid] == pytest.approx((d["x"], d["y"], d["z"]))
    with fiona.open(path, layer="layer_styles") as src:
        rows = {f["properties"]["f_table_name"]: f["properties"] for f in src}
    assert set(rows) == {"target_outlines", "target_centroids", "target_drill_points"}
    assert all(r["useAsDefault"] and "<renderer-v2" in r["styleQML"] for r in rows.values())
