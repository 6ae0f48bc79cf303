"""GeoTIFF DEM -> active mask, 2D map -> 3D layer.

The DEM is the real Laguna del Maule topography, as the inversion's air cells record
it (the top of the highest ground cell in each column), written here as a GeoTIFF in
UTM 19S; so the DEM's active mask must reproduce the inversion's own air boundary.
"""

from __future__ import annotations

import numpy as np
import pytest

from voxprospect import InputFileError, VoxelGrid
from voxprospect.errors import GridMismatchError, VoxprospectError
from voxprospect.io.rasters import active_from_dem, dem_surface, describe_raster, map_to_layer, sample_raster
from voxprospect.io.ubc import finest_grid, read_ubc, resample_rectilinear

rasterio = pytest.importorskip("rasterio")
CRS = "EPSG:32719"


def _write_tif(path, array_xy, x0, y_top, res, crs=CRS, nodata=None):
    """Write an (nx, ny) array (x east, y north) as a north-up GeoTIFF."""
    from rasterio.transform import from_origin
    data = np.flipud(array_xy.T)  # rows from north to south
    with rasterio.open(path, "w", driver="GTiff", height=data.shape[0], width=data.shape[1], count=1,
                       dtype=data.dtype, crs=crs, transform=from_origin(x0, y_top, res, res),
                       nodata=nodata) as dst:
        dst.write(data, 1)
    return path


@pytest.fixture(scope="module")
def maule(shared_data):
    rect = read_ubc(shared_data / "laguna_del_maule_ubc" / "craig_chile.msh", crs=CRS)
    top_idx = np.where(rect.active.any(axis=2), rect.shape[2] - 1 - np.argmax(rect.active[:, :, ::-1], axis=2), -1)
    topo = np.where(top_idx >= 0, rect.z_edges[top_idx + 1], np.nan)
    return rect, topo


@pytest.fixture
def dem(tmp_path, maule):
    rect, topo = maule
    return _write_tif(tmp_path / "dem.tif", topo.astype(np.float32), rect.x_edges[0], rect.y_edges[-1], 250.0,
                      nodata=np.float32(np.nan))


def test_dem_sampled_at_column_centres(dem, maule):
    rect, topo = maule
    grid = finest_grid(rect)
    surf = dem_surface(dem, grid)
    np.testing.assert_allclose(surf, topo.astype(np.float32))
    assert 1500 < np.nanmedian(surf) < 3000  # the Andes near Laguna del Maule (~2200 m)


def test_active_from_dem_matches_the_inversion_air(dem, maule):
    rect, _ = maule
    grid = finest_grid(rect)
    active = active_from_dem(dem, grid)
    assert active.shape == grid.shape
    resampled = resample_rectilinear(rect, grid, "mean").active
    mismatch = np.mean(active != resampled)
    assert mismatch < 0.005
    # above the ground is air, below it rock, in every column
    z = grid.axis_centres(2)
    _, topo = maule
    assert not (active & (z[None, None, :] > topo[:, :, None])).any()
    assert (active | (z[None, None, :] > topo[:, :, None])).all()
    assert active[:, :, 0].all()


def test_dem_crs_mismatch_names_both(tmp_path, maule):
    rect, topo = maule
    p = _write_tif(tmp_path / "dem32619.tif", topo.astype(np.float32), rect.x_edges[0], rect.y_edges[-1], 250.0,
                   crs="EPSG:32619")
    with pytest.raises(GridMismatchError, match="EPSG:32619.*EPSG:32719"):
        active_from_dem(p, finest_grid(rect))


def test_columns_off_the_dem(tmp_path):
    grid = VoxelGrid((0, 0, 0), (10, 10, 10), (4, 2, 3), CRS)
    p = _write_tif(tmp_path / "half.tif", np.full((2, 2), 15.0, np.float32), 0, 20, 10)
    act = active_from_dem(p, grid)
    assert act[:2, :, :2].all() and not act[:2, :, 2].any()
    assert not act[2:].any()
    assert active_from_dem(p, grid, outside="active")[2:].all()


def test_map_extruded_and_draped(tmp_path, dem, maule):
    rect, topo = maule
    grid = finest_grid(rect)
    rng = np.random.default_rng(1)
    gravity = rng.normal(0, 5, topo.shape).astype(np.float32)
    m = _write_tif(tmp_path / "bouguer.tif", gravity, rect.x_edges[0], rect.y_edges[-1], 250.0)
    ext = map_to_layer(m, grid)
    assert ext.dtype == np.float32
    for k in (0, grid.shape[2] // 2, grid.shape[2] - 1):
        np.testing.assert_array_equal(ext[:, :, k], gravity)
    drape = map_to_layer(m, grid, mode="drape", depth_m=300.0, dem=dem)
    z = grid.axis_centres(2)
    for i, j in [(10, 10), (34, 40), (60, 5)]:
        if not np.isfinite(topo[i, j]):
            continue
        filled = np.flatnonzero(np.isfinite(drape[i, j]))
        assert np.all(z[filled] <= topo[i, j]) and np.all(z[filled] >= topo[i, j] - 300)
        assert filled.size == 3  # 100 m levels: three centres in a 300 m blanket
        assert np.all(drape[i, j, filled] == gravity[i, j])
    below = map_to_layer(m, grid, mode="extrude", depth_m=500.0, dem=dem)
    counts = np.isfinite(below).sum(axis=2)
    assert counts.min() >= 5 and counts.max() <= 6  # 6 when topography - 500 m falls on a centre


def test_class_map_keeps_ids(tmp_path):
    grid = VoxelGrid((0, 0, 0), (10, 10, 10), (3, 2, 2), CRS)
    ids = np.array([[1, 2], [3, 4], [5, 0]], np.int16)
    p = _write_tif(tmp_path / "geol.tif", ids, 0, 20, 10, nodata=0)
    layer = map_to_layer(p, grid)
    assert layer.dtype == np.int32
    np.testing.assert_array_equal(layer[:, :, 1], np.where(ids == 0, -1, ids))


def test_bad_inputs(tmp_path, dem, maule):
    rect, _ = maule
    grid = finest_grid(rect)
    with pytest.raises(VoxprospectError, match="needs a DEM"):
        map_to_layer(dem, grid, mode="drape")
    with pytest.raises(VoxprospectError, match="unknown mode"):
        map_to_layer(dem, grid, mode="smear")
    junk = tmp_path / "junk.tif"
    junk.write_bytes(b"II*\x00 not really a tiff")
    with pytest.raises(InputFileError, match="junk.tif"):
        sample_raster(junk, grid)
    cut = tmp_path / "cut.tif"
    cut.write_bytes(dem.read_bytes()[:400])
    with pytest.raises(InputFileError, match="cut.tif"):
        active_from_dem(cut, grid)
    with pytest.raises(InputFileError, match="band 2"):
        sample_raster(dem, grid, band=2)
    d = describe_raster(dem)
    assert d["raster"]["crs"] == CRS and d["raster"]["width"] == 69
