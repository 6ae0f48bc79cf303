"""GeoTIFF depth slices: one band per elevation level.

GIS tools have no voxels, but they scroll through bands: each band ``b`` (1-based)
holds level ``k = nz - b`` (top first, so band 1 is the shallowest), and its
description is ``"z=<elevation> m"``. Inactive cells are written as nodata (NaN for
float layers).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voxprospect.errors import InputFileError, VoxprospectError
from voxprospect.io.safe_write import check_outputs_not_inputs, safe_output, verify_geotiff


def level_band_descriptions(grid) -> list[str]:
    """Band descriptions, top level first."""
    return [f"z={z:g} m" for z in grid.elevations[::-1]]


def write_geotiff_levels(volume, path, layer: str | None = None, inputs=(), compress: str = "deflate"):
    """Write one layer of ``volume`` as a multi-band GeoTIFF, band per elevation level.

    Parameters
    ----------
    volume : Volume
    path : path-like
    layer : str, optional
        Required when the volume has more than one layer.

    Returns
    -------
    Path

    Raises
    ------
    VoxprospectError
        If the layer is ambiguous or missing, or the grid has no CRS (a warning would
        leave GIS users with an unplaced raster; we refuse instead).
    """
    import rasterio
    from affine import Affine

    if layer is None:
        if len(volume.names) != 1:
            raise VoxprospectError(f"choose a layer to export; the volume has {', '.join(volume.names)}")
        layer = volume.names[0]
    g = volume.grid
    if g.crs is None:
        raise VoxprospectError(f"{path}: the volume has no CRS, and a GeoTIFF without one would lie nowhere "
                               "in a GIS; set it ([grid] crs in the project file, or voxprospect convert --crs)")
    arr = volume[layer]
    categorical = volume.is_categorical(layer)
    if categorical:
        dtype = "int32"
        nodata = -2147483648
        data = np.where(volume.active, arr, nodata).astype(np.int32)
    else:
        dtype = "float32"
        nodata = np.nan
        data = np.where(volume.active, arr, np.nan).astype(np.float32)
    xmin, xmax, ymin, ymax, _, _ = g.bounds
    # north-up, built directly: rasterio's from_origin multiplies Affines with `*`, which
    # affine >= 2.4 reports as a PendingDeprecationWarning (QGIS logs it on every run)
    transform = Affine(g.cell_size[0], 0.0, xmin, 0.0, -g.cell_size[1], ymax)
    nx, ny, nz = g.shape
    profile = dict(driver="GTiff", width=nx, height=ny, count=nz, dtype=dtype, crs=g.crs,
                   transform=transform, nodata=nodata, compress=compress, tiled=nx >= 256 and ny >= 256)
    check_outputs_not_inputs(path, inputs)  # GDAL may add PATH.aux.xml beside it
    with safe_output(path, inputs, verify=verify_geotiff) as tmp:
        with rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.open(tmp, "w", **profile) as dst:
            for b, k in enumerate(range(nz - 1, -1, -1), start=1):
                # rows run north to south in a raster
                dst.write(data[:, :, k].T[::-1, :], b)
                dst.set_band_description(b, f"z={g.elevations[k]:g} m")
            dst.update_tags(layer=layer, voxprospect_levels=nz, z_origin=g.origin[2], dz=g.cell_size[2])
            if categorical and layer in volume.classes:
                dst.update_tags(classes=";".join(f"{i}={n}" for i, n in volume.classes[layer].items()))
    return Path(path)


def read_geotiff_levels(path):
    """Read a depth-slice GeoTIFF written by :func:`write_geotiff_levels` back into a Volume.

    Raises
    ------
    InputFileError
        If it is not such a file.
    """
    import rasterio

    from voxprospect.data.grid import VoxelGrid
    from voxprospect.data.volume import Volume

    try:
        with rasterio.open(path) as src:
            tags = src.tags()
            if "voxprospect_levels" not in tags:
                raise InputFileError(path, "not a voxprospect depth-slice GeoTIFF (no level tags)")
            from voxprospect.io import header_fields as hf
            from voxprospect.limits import check_memory
            z0 = hf.number(path, "tag z_origin", tags.get("z_origin"))
            dz = hf.number(path, "tag dz", tags.get("dz"), positive=True)
            check_memory(src.width * src.height * src.count, 2 * np.dtype(src.dtypes[0]).itemsize + 1,
                         f"{src.width} x {src.height} pixels x {src.count} bands", path)
            data = src.read()
            t = src.transform
            try:
                grid = VoxelGrid((t.c, t.f + t.e * src.height, z0), (t.a, -t.e, dz),
                                 (src.width, src.height, src.count), src.crs.to_string() if src.crs else None)
            except VoxprospectError as e:
                raise InputFileError(path, f"the raster's geotransform gives no voxel grid ({e})") from None
            nodata = src.nodata
    except (rasterio.errors.RasterioError, UnicodeDecodeError) as e:  # GDAL's errors, garbled tags
        raise InputFileError(path, f"cannot read GeoTIFF ({str(e)[:160]})") from None
    arr = data[::-1].transpose(2, 1, 0)[:, ::-1, :]
    if np.issubdtype(arr.dtype, np.floating):
        active = np.isfinite(arr)
    else:
        active = arr != nodata
    return Volume(grid, {tags.get("layer", "layer"): np.ascontiguousarray(arr)}, active)
