"""``voxprospect slices``: a volume layer as GeoTIFF depth slices."""

import numpy as np
from click.testing import CliRunner

from voxprospect.io import write_volume
from voxprospect.io.geotiff import read_geotiff_levels
from voxprospect_cli.main import cli


def test_slices_round_trip_one_layer(small_volume, tmp_path):
    vti = tmp_path / "v.vti"
    write_volume(small_volume, vti)
    out = tmp_path / "density.tif"
    r = CliRunner().invoke(cli, ["slices", str(vti), "-l", "density", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "6 levels" in r.output
    back = read_geotiff_levels(out)
    assert back.grid == small_volume.grid
    expected = np.where(small_volume.active, small_volume["density"], np.nan)
    np.testing.assert_array_equal(back["density"], expected.astype(np.float32))


def test_ambiguous_layer_is_an_error_without_output(small_volume, tmp_path):
    vti = tmp_path / "v.vti"
    write_volume(small_volume, vti)
    out = tmp_path / "x.tif"
    r = CliRunner().invoke(cli, ["slices", str(vti), "-o", str(out)])
    assert r.exit_code == 1
    assert "density" in r.output and "lithology" in r.output
    assert not out.exists()
