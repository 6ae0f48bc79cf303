"""GeoTIFF (and any GDAL raster) maps onto the voxel grid, via rasterio.

- :func:`active_from_dem`: a digital elevation model sets the study volume: cells
  whose centre lies above the topography are air (inactive).
- :func:`map_to_layer`: a 2D map (a geophysical grid, a geological map of class ids)
  becomes a 3D layer, either *extruded* down every level or *draped* along the
  topography to a given depth (a regolith or alteration blanket).

Rasters are sampled at the grid's column centres (nearest pixel, no interpolation, so
class maps keep their ids). Nothing is reprojected: a raster in another CRS than the
grid is refused (:class:`~voxprospect.errors.GridMismatchError` naming both).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voxprospect.errors import GridMismatchError, InputFileError, VoxprospectError
from voxprospect.data.grid import VoxelGrid


def _crs_text(crs) -> str:
    epsg = crs.to_epsg() if crs is not None else None
    return f"EPSG:{epsg}" if epsg else (crs.to_wkt()[:60] + "..." if crs is not None else "unknown")


def _check_crs(src, grid: VoxelGrid, path) -> None:
    from rasterio.crs import CRS
    if src.crs is None or grid.crs is None:
        return
    try:
        gcrs = CRS.from_user_input(grid.crs)
    except Exception:  # rasterio raises CRSError and others on unknown strings
        raise GridMismatchError(f"{path}: the grid's CRS {grid.crs!r} is not understood by rasterio") from None
    if gcrs != src.crs:
        raise GridMismatchError(f"{path}: the raster is in {_crs_text(src.crs)}, the grid in {_crs_text(gcrs)}; "
                                "reproject the raster (e.g. gdalwarp -t_srs) first")


def sample_raster(path, grid: VoxelGrid, band: int = 1) -> np.ndarray:
    """A raster's values at the centre of each grid column (nearest pixel).

    Parameters
    ----------
    path : path-like
        GeoTIFF (or any raster rasterio opens).
    grid : VoxelGrid
    band : int
        1-based band number.

    Returns
    -------
    ndarray, shape ``(nx, ny)``
        float64 with NaN where the raster has no data or does not reach; integer
        rasters come back as float64 too (ids are exact).

    Raises
    ------
    InputFileError
        If the file is not a raster or has no such band.
    GridMismatchError
        If the raster and grid CRSs differ.
    """
    import rasterio
    from rasterio.errors import RasterioIOError

    p = Path(path)
    if not p.is_file():
        raise InputFileError(p, "file not found")
    try:
        src = rasterio.open(p)
    except RasterioIOError as e:
        raise InputFileError(p, f"not a raster rasterio can open ({str(e)[:120]})") from None
    with src:
        _check_crs(src, grid, p)
        if not 1 <= band <= src.count:
            raise InputFileError(p, f"has {src.count} band(s), band {band} was asked for")
        X, Y = np.meshgrid(grid.axis_centres(0), grid.axis_centres(1), indexing="ij")
        inv = ~src.transform
        cols, rows = inv * (X.ravel(), Y.ravel())
        rows = np.floor(np.asarray(rows)).astype(np.int64)
        cols = np.floor(np.asarray(cols)).astype(np.int64)
        inside = (rows >= 0) & (rows < src.height) & (cols >= 0) & (cols < src.width)
        out = np.full(X.size, np.nan)
        if inside.any():
            from rasterio.windows import Window
            r0, r1 = rows[inside].min(), rows[inside].max() + 1
            c0, c1 = cols[inside].min(), cols[inside].max() + 1
            try:
                data = src.read(band, window=Window(c0, r0, c1 - c0, r1 - r0), masked=True)
            except RasterioIOError as e:
                raise InputFileError(p, f"cannot read band {band} (truncated file?): {str(e)[:120]}") from None
            vals = data[rows[inside] - r0, cols[inside] - c0]
            out[inside] = np.ma.filled(vals.astype(float), np.nan)
    return out.reshape(grid.shape[:2])


def dem_surface(dem, grid: VoxelGrid, band: int = 1) -> np.ndarray:
    """Topographic elevation at each column centre, ``(nx, ny)`` (NaN where unknown).

    ``dem`` is a raster path, or an ``(nx, ny)`` array already on the grid.
    """
    if isinstance(dem, np.ndarray):
        if dem.shape != grid.shape[:2]:
            raise VoxprospectError(f"the topography array has shape {dem.shape}, the grid's columns {grid.shape[:2]}")
        return dem.astype(float)
    return sample_raster(dem, grid, band)


def active_from_dem(dem_path, grid: VoxelGrid, band: int = 1, outside: str = "inactive") -> np.ndarray:
    """Cells below the topography: the active mask a DEM gives.

    Parameters
    ----------
    dem_path : path-like or ndarray
        Elevation raster (metres, same vertical datum as the grid), or ``(nx, ny)``.
    grid : VoxelGrid
    band : int
    outside : {"inactive", "active"}
        What columns without topography (off the DEM, no-data pixels) become.

    Returns
    -------
    ndarray of bool, ``grid.shape``: True where the cell centre is at or below the
    ground surface.

    Raises
    ------
    GridMismatchError
        If the DEM's CRS differs from the grid's.
    InputFileError
        If the DEM cannot be read.
    """
    if outside not in ("inactive", "active"):
        raise VoxprospectError(f"outside must be 'inactive' or 'active', got {outside!r}")
    top = dem_surface(dem_path, grid, band)
    z = grid.axis_centres(2)
    known = np.isfinite(top)
    active = z[None, None, :] <= np.where(known, top, np.inf if outside == "active" else -np.inf)[:, :, None]
    return active


def map_to_layer(path, grid: VoxelGrid, mode: str = "extrude", depth_m: float | None = None,
                 dem=None, band: int = 1) -> np.ndarray:
    """A 2D map as a 3D layer on the grid.

    Parameters
    ----------
    path : path-like
        The map raster (continuous values or class ids).
    grid : VoxelGrid
    mode : {"extrude", "drape"}
        ``"extrude"``: the map's value in every level of its column (only within
        ``depth_m`` of the grid's top, or of the topography when ``dem`` is given,
        if ``depth_m`` is set). ``"drape"``: only in cells whose centre lies between
        the topography and ``depth_m`` below it (needs ``dem`` and ``depth_m``).
    depth_m : float, optional
        Thickness of the layer in metres.
    dem : path-like or ndarray, optional
        Topography (see :func:`dem_surface`); cells above it get no value.
    band : int

    Returns
    -------
    ndarray, ``grid.shape``
        float32 with NaN where the map gives no value; for integer rasters (class
        maps) int32 with -1 there.

    Raises
    ------
    VoxprospectError
        If ``mode`` is unknown, or ``drape`` lacks ``dem`` or ``depth_m``, or
        ``depth_m`` is not positive.
    GridMismatchError, InputFileError
        As :func:`sample_raster`.
    """
    if mode not in ("extrude", "drape"):
        raise VoxprospectError(f"unknown mode {mode!r}: use 'extrude' or 'drape'")
    if depth_m is not None and not depth_m > 0:
        raise VoxprospectError(f"depth_m must be positive, got {depth_m}")
    if mode == "drape" and (dem is None or depth_m is None):
        raise VoxprospectError("draping a map along the topography needs a DEM (dem=) and a depth (depth_m=)")
    values = sample_raster(path, grid, band)
    z = grid.axis_centres(2)[None, None, :]
    if dem is not None:
        top = dem_surface(dem, grid)[:, :, None]
    else:
        top = np.full(grid.shape[:2] + (1,), grid.bounds[5])
    keep = z <= top
    if depth_m is not None:
        keep &= z >= top - depth_m
    keep &= np.isfinite(values)[:, :, None]
    integer = _is_integer_raster(path, band)
    if integer:
        out = np.where(keep, np.nan_to_num(values, nan=-1)[:, :, None], -1).astype(np.int32)
    else:
        out = np.where(keep, values[:, :, None], np.nan).astype(np.float32)
    return out


def _is_integer_raster(path, band: int) -> bool:
    import rasterio
    with rasterio.open(path) as src:
        return np.issubdtype(np.dtype(src.dtypes[band - 1]), np.integer)


def describe_raster(path) -> dict:
    """Size, CRS, bounds, resolution and band statistics of a raster (for ``info``)."""
    import rasterio
    try:
        return _describe_raster(path)
    except (rasterio.errors.RasterioError, UnicodeDecodeError) as e:  # GDAL's errors, garbled metadata
        raise InputFileError(path, f"not a raster rasterio can read ({str(e)[:120]})") from None


def _describe_raster(path) -> dict:
    import rasterio
    from rasterio.errors import RasterioIOError
    src = rasterio.open(path)
    with src:
        from voxprospect.limits import check_memory
        check_memory(src.width * src.height, 2 * np.dtype(src.dtypes[0]).itemsize + 9,
                     f"{src.width} x {src.height} pixels", path)
        d = {"raster": {"width": src.width, "height": src.height, "bands": src.count,
                        "crs": _crs_text(src.crs) if src.crs else None,
                        "bounds": list(src.bounds), "resolution": list(src.res),
                        "dtype": src.dtypes[0]}, "bands": {}}
        for b in range(1, src.count + 1):
            try:
                a = src.read(b, masked=True)
            except RasterioIOError as e:
                raise InputFileError(path, f"cannot read band {b} (truncated file?): {str(e)[:120]}") from None
            v = a.compressed().astype(float)
            v = v[np.isfinite(v)]
            name = src.descriptions[b - 1] or f"band {b}"
            d["bands"][name] = ({"count": int(v.size), "min": float(v.min()), "max": float(v.max()),
                                 "mean": float(v.mean())} if v.size else {"count": 0})
    return d
