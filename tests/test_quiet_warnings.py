"""Writing GeoTIFFs, GeoPackages and P-A plots raises no Python warning.

QGIS shows every Python warning in its log; affine's PendingDeprecationWarning from
``rasterio.transform.from_origin`` and matplotlib's "Unable to import Axes3D" (a pip
matplotlib beside Debian's mpl_toolkits) filled it on each run.
"""

import subprocess
import sys
import warnings

import numpy as np
import rasterio


def _volume():
    from voxprospect import Volume, VoxelGrid
    grid = VoxelGrid((420_000.0, 3_350_000.0, -800.0), (40.0, 50.0, 25.0), (6, 5, 4), "EPSG:32650")
    p = np.linspace(0, 1, grid.n_cells, dtype=np.float32).reshape(grid.shape)
    return Volume(grid, {"prospectivity": p})


def test_geotiff_and_gpkg_write_without_warnings(tmp_path):
    from rasterio.transform import from_origin
    from voxprospect.io import write_geotiff_levels
    from voxprospect.mapping.targets import find_targets, write_targets_gpkg

    vol = _volume()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_geotiff_levels(vol, tmp_path / "p.tif", "prospectivity")
        t = find_targets(vol, 0.8)
        write_targets_gpkg(t, None, tmp_path / "t.gpkg", prospectivity=vol)
    g = vol.grid
    xmin, _, _, ymax, _, _ = g.bounds
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = from_origin(xmin, ymax, g.cell_size[0], g.cell_size[1])  # rasterio's own rule
    with rasterio.open(tmp_path / "p.tif") as src:
        assert src.transform == expected


def test_figure_imports_without_axes3d_warning():
    # a fresh interpreter: matplotlib warns only on its first import
    code = ("import warnings; warnings.simplefilter('error');"
            "from voxprospect.plotting import figure_class; figure_class()(figsize=(2, 2)).add_subplot(111)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
