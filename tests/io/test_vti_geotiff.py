import numpy as np
import pytest

from voxprospect import InputFileError, OutputError, VoxelGrid, VoxprospectError
from voxprospect.io import read_volume, sniff_format, write_volume
from voxprospect.io.geotiff import read_geotiff_levels


def test_vti_round_trip_is_bit_exact(small_volume, tmp_path):
    # awkward values: not representable in short decimals
    v = small_volume.with_layer("awkward", (np.arange(small_volume.grid.n_cells, dtype=np.float64)
                                             .reshape(small_volume.grid.shape) / 3.0) + 1e-13)
    g = VoxelGrid((500_000.123456789, 4_400_000.987654321, -1234.5678), (50.1, 39.9, 25.3),
                  v.grid.shape, "EPSG:32651")
    v = type(v)(g, v.layers, v.active, v.classes, v.meta)
    path = tmp_path / "v.vti"
    write_volume(v, path)
    w = read_volume(path)
    assert w.grid.origin == g.origin and w.grid.cell_size == g.cell_size and w.grid.shape == g.shape
    assert w.grid.crs == "EPSG:32651"
    assert w.names == v.names
    for n in v.names:
        assert w[n].dtype == v[n].dtype
        assert np.array_equal(w[n], v[n])
    assert np.array_equal(w.active, v.active)
    assert w.classes == v.classes and w.meta == v.meta


def test_geotiff_levels_band_per_elevation(small_volume, tmp_path):
    import rasterio
    path = tmp_path / "d.tif"
    write_volume(small_volume, path, layer="density")
    with rasterio.open(path) as src:
        g = small_volume.grid
        assert src.count == g.shape[2] and (src.width, src.height) == g.shape[:2]
        assert src.crs.to_epsg() == 32651
        assert src.descriptions[0] == f"z={g.elevations[-1]:g} m"  # band 1 = top level
        # top level is inactive -> nodata
        assert np.isnan(src.read(1)).all()
        band = src.read(g.shape[2])  # deepest level
        # row 0 of the raster is the northernmost row (j = ny - 1)
        assert band[0, 0] == pytest.approx(small_volume["density"][0, g.shape[1] - 1, 0])
        assert src.bounds.left == g.bounds[0] and src.bounds.top == g.bounds[3]
    back = read_geotiff_levels(path)
    assert back.grid == small_volume.grid
    a = small_volume.active
    assert np.array_equal(back["density"][a], small_volume["density"][a])


def test_truncated_vti_refused(small_volume, tmp_path):
    path = tmp_path / "v.vti"
    write_volume(small_volume, path)
    data = path.read_bytes()
    bad = tmp_path / "bad.vti"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError, match="bad.vti"):
        read_volume(bad)


def test_unknown_format_and_missing_file(tmp_path):
    f = tmp_path / "x.vti"
    f.write_bytes(b"\x00\x01garbage")
    with pytest.raises(InputFileError, match="unrecognised"):
        read_volume(f)
    with pytest.raises(InputFileError, match="not found"):
        sniff_format(tmp_path / "missing.vti")


def test_never_overwrites_input(small_volume, tmp_path):
    path = tmp_path / "v.vti"
    write_volume(small_volume, path)
    before = path.read_bytes()
    with pytest.raises(OutputError):
        write_volume(small_volume, path, inputs=[path])
    assert path.read_bytes() == before


def test_failed_write_leaves_no_file(small_volume, tmp_path):
    nocrs = type(small_volume)(VoxelGrid((0, 0, 0), (1, 1, 1), small_volume.grid.shape), small_volume.layers)
    with pytest.raises(VoxprospectError, match="CRS"):
        write_volume(nocrs, tmp_path / "x.tif", layer="density")
    assert list(tmp_path.iterdir()) == []


def test_a_vti_edited_after_writing_is_refused_not_silently_misplaced(small_volume, tmp_path):
    """An Origin edited in another program disagrees with voxprospect's metadata; which of
    the two is right cannot be known, so the file is refused, naming the difference."""
    import re

    path = write_volume(small_volume, tmp_path / "v.vti")
    text = path.read_bytes()
    moved = small_volume.grid.origin[0] + 250.0
    edited = tmp_path / "edited.vti"
    edited.write_bytes(re.sub(rb'Origin="[^ "]+', f'Origin="{moved!r}'.encode(), text, count=1))
    assert edited.read_bytes() != text
    with pytest.raises(InputFileError, match=r"edited\.vti: the image's Origin/Spacing and voxprospect's metadata "
                                             r"disagree \(origin"):
        read_volume(edited)
    assert read_volume(path).grid == small_volume.grid  # the file as written still reads
