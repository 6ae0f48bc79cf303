"""GOCAD Voxet reader and writer, on the real Yilgarn and Claudius voxets."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from voxprospect import InputFileError, Volume, VoxelGrid
from voxprospect.io import read_volume, sniff_format, write_volume
from voxprospect.io.gocad import parse_voxet_header, read_voxet, write_voxet


@pytest.fixture
def yilgarn(shared_data):
    return shared_data / "yilgarn_small_voxet" / "small.vo"


@pytest.fixture
def claudius(shared_data):
    return shared_data / "claudius_voxet" / "Results.vo"


def _copy_voxet(src, dst_dir):
    for f in src.parent.iterdir():
        if f.is_file():
            shutil.copy(f, dst_dir / f.name)
    return dst_dir / src.name


def test_yilgarn_grid_with_sub_box(yilgarn):
    vol = read_volume(yilgarn)
    hdr = parse_voxet_header(yilgarn)
    g = vol.grid
    assert g.shape == (10, 17, 10)
    # step = sub-box span / (nodes - 1): 51000 m * 0.0882352963 / 9 = 500 m
    np.testing.assert_allclose(g.cell_size, (500.0, 500.0, 500.0), rtol=1e-6)
    # the sub-box starts at AXIS_MIN = 0: first node at AXIS_O, cells centred on nodes
    first_node = hdr.origin + hdr.axis_min @ hdr.axes
    np.testing.assert_allclose(g.index_to_world([0, 0, 0]), first_node, atol=1e-3)
    np.testing.assert_allclose(g.origin, (695750.0, 6862750.0, -40250.0), atol=1e-3)
    # the last node sits at AXIS_O + AXIS_MAX * AXIS_U/V/W, not at the full box's end
    last_node = hdr.origin + hdr.axis_max * np.diag(hdr.axes)
    np.testing.assert_allclose(g.index_to_world(np.array(g.shape) - 1), last_node, atol=1e-2)


def test_yilgarn_classes_and_values(yilgarn):
    vol = read_voxet(yilgarn)
    assert vol.names == ["Lithology", "VPmg_density", "VPmg_susceptibility"]
    litho = vol["Lithology"]
    assert litho.dtype == np.int16
    raw = np.fromfile(yilgarn.parent / "small_lithology@@", ">i2")
    np.testing.assert_array_equal(np.sort(np.unique(litho)), np.unique(raw))
    # names come from small_lithology_colours.csv beside the voxet
    assert vol.classes["Lithology"][1] == "20_Mantle"
    assert vol.classes["Lithology"][21] == "Air"
    assert vol.is_categorical("Lithology") and not vol.is_categorical("VPmg_density")
    dens = np.fromfile(yilgarn.parent / "small_density@@", ">f4")
    np.testing.assert_allclose(vol["VPmg_density"].ravel(order="F"), dens)
    assert vol.active.all()


def test_claudius_flipped_w_axis_at_right_elevations(claudius):
    vol = read_volume(claudius)
    g = vol.grid
    assert g.shape == (38, 55, 29)
    assert vol.names == ["result_s10.dt", "result_s12.dt", "result_s13.dt"]
    np.testing.assert_allclose(g.cell_size, (100.0, 100.0, 90.0))
    # AXIS_W = (0, 0, -2520): node k=0 of the file is at the top (z = -8400), the last
    # at -8400 - 2520 = -10920; our k = 0 is the deepest level
    assert g.elevations[-1] == pytest.approx(-8400.0)
    assert g.elevations[0] == pytest.approx(-10920.0)
    nx, ny = 38, 55
    for name, fname in (("result_s10.dt", "ResultsBox_result_s10.dt@@"),
                        ("result_s13.dt", "ResultsBox_result_s13.dt@@")):
        raw = np.fromfile(claudius.parent / fname, ">f4")
        first_level = raw[: nx * ny].reshape(ny, nx).T  # the file's first nodes, x fastest
        np.testing.assert_array_equal(vol[name][:, :, -1], first_level)
        last_level = raw[-nx * ny:].reshape(ny, nx).T
        np.testing.assert_array_equal(vol[name][:, :, 0], last_level)
    # the scalar field (stratigraphic age) grows upwards through the build-ups
    col = vol["result_s10.dt"][19, 27, :]
    assert col[-1] > col[0]


def test_round_trip_identical(tmp_path, small_volume):
    out = tmp_path / "out.vo"
    vol = small_volume.with_layer("density", np.where(small_volume.active, small_volume["density"], np.nan)
                                  .astype(np.float32))
    vol = vol.with_layer("score64", np.linspace(0, 1, vol.grid.n_cells).reshape(vol.grid.shape))
    vol = vol.with_layer("flag", (vol["density"] > 2.7))
    write_volume(vol, out)
    assert sniff_format(out) == "gocad-voxet"
    back = read_volume(out)
    assert back.grid == vol.grid
    np.testing.assert_array_equal(back.active, vol.active)
    for n in ("density", "lithology", "score64"):
        assert back[n].dtype == vol[n].dtype
        np.testing.assert_array_equal(back[n], vol[n])
    np.testing.assert_array_equal(back["flag"].astype(bool), vol["flag"])
    assert back.classes["lithology"] == vol.classes["lithology"]
    # the property files are big-endian as GOCAD writes them
    raw = np.fromfile(tmp_path / "out_density@@", ">f4")
    assert raw[0] == pytest.approx(vol["density"][0, 0, 0])


def test_round_trip_real_voxet(tmp_path, claudius):
    vol = read_voxet(claudius)
    out = write_voxet(vol, tmp_path / "claudius.vo")
    back = read_voxet(out)
    assert back.grid == vol.grid
    for n in vol.names:
        np.testing.assert_array_equal(back[n], vol[n])


def test_write_refuses_to_overwrite_input(tmp_path, small_volume):
    from voxprospect.errors import OutputError
    out = tmp_path / "v.vo"
    write_voxet(small_volume, out)
    with pytest.raises(OutputError):
        write_voxet(small_volume, out, inputs=[out])


def test_truncated_property_file(tmp_path, yilgarn):
    vo = _copy_voxet(yilgarn, tmp_path)
    f = tmp_path / "small_density@@"
    f.write_bytes(f.read_bytes()[:1000])
    with pytest.raises(InputFileError) as e:
        read_volume(vo)
    msg = str(e.value)
    assert "small_density@@" in msg and "1000 bytes" in msg and "6800 bytes" in msg


def test_missing_property_file(tmp_path, yilgarn):
    vo = _copy_voxet(yilgarn, tmp_path)
    (tmp_path / "small_lithology@@").unlink()
    with pytest.raises(InputFileError, match="small_lithology@@ is missing.*3400 bytes"):
        read_volume(vo)


def test_truncated_header(tmp_path, yilgarn):
    vo = tmp_path / "small.vo"
    text = yilgarn.read_text()
    vo.write_text(text[: text.index("AXIS_N")])
    with pytest.raises(InputFileError, match="AXIS_N"):
        read_volume(vo)


def test_rotated_voxet_refused_by_read_voxet_resampled_by_read_volume(tmp_path, yilgarn):
    from voxprospect.io.gocad import read_voxet

    vo = _copy_voxet(yilgarn, tmp_path)
    vo.write_text(yilgarn.read_text().replace("AXIS_U 51000 0 0", "AXIS_U 36062 36062 0"))
    with pytest.raises(InputFileError, match="not parallel"):
        read_voxet(vo)
    # read_volume resamples it (io/gocad_multi.py; values checked in test_gocad_multi.py)
    assert read_volume(vo).meta["rotation"]["rotation_about_z_deg"] == pytest.approx(45.0, abs=1e-3)


def test_permuted_axes_and_depth(tmp_path):
    """AXIS_U along y, AXIS_V along x and ZPOSITIVE Depth, written by hand."""
    vals = np.arange(2 * 3 * 4, dtype=">f4")  # U fastest (2 along y), V (3 along x), W (4 down)
    (tmp_path / "p@@").write_bytes(vals.tobytes())
    (tmp_path / "p.vo").write_text(
        "GOCAD Voxet 1\nGOCAD_ORIGINAL_COORDINATE_SYSTEM\nZPOSITIVE Depth\nEND_ORIGINAL_COORDINATE_SYSTEM\n"
        "AXIS_O 100 200 10\nAXIS_U 0 10 0\nAXIS_V 20 0 0\nAXIS_W 0 0 30\nAXIS_MIN 0 0 0\nAXIS_MAX 1 1 1\n"
        "AXIS_N 2 3 4\nPROPERTY 1 v\nPROP_ESIZE 1 4\nPROP_ETYPE 1 IEEE\nPROP_FILE 1 p@@\nEND\n")
    vol = read_volume(tmp_path / "p.vo")
    assert vol.grid.shape == (3, 2, 4)
    np.testing.assert_allclose(vol.grid.cell_size, (10.0, 10.0, 10.0))
    # depth 10 -> elevation -10 is the top node; depth 40 the deepest
    assert vol.grid.elevations[-1] == pytest.approx(-10.0)
    assert vol.grid.elevations[0] == pytest.approx(-40.0)
    node = vals.reshape(4, 3, 2)  # [w, v, u]
    # world x index = v, y index = u, z index = 3 - w
    assert vol["v"][2, 1, 3] == node[0, 2, 1]
    assert vol["v"][0, 0, 0] == node[3, 0, 0]


@pytest.mark.parametrize("esize,etype,signed,dtype", [
    (1, "OCTET", None, "u1"), (1, "IEEE", "1", "i1"), (2, "IEEE", "0", "u2"),
    (2, "INT", None, "i2"), (4, "INT", "1", "i4"), (8, "IEEE", None, "f8"), (8, "INT", "0", "u8")])
def test_element_types(tmp_path, esize, etype, signed, dtype):
    vals = (np.arange(8) * 3).astype(">" + dtype)
    (tmp_path / "p@@").write_bytes(vals.tobytes())
    s = f"PROP_SIGNED 1 {signed}\n" if signed is not None else ""
    (tmp_path / "p.vo").write_text(
        "GOCAD Voxet 1\nAXIS_O 0 0 0\nAXIS_U 1 0 0\nAXIS_V 0 1 0\nAXIS_W 0 0 1\nAXIS_N 2 2 2\n"
        f"PROPERTY 1 v\nPROPERTY_SUBCLASS 1 QUANTITY\nPROP_ESIZE 1 {esize}\nPROP_ETYPE 1 {etype}\n{s}"
        "PROP_FILE 1 p@@\nEND\n")
    vol = read_voxet(tmp_path / "p.vo")
    assert vol["v"].dtype == np.dtype(dtype)
    np.testing.assert_array_equal(vol["v"].ravel(order="F"), np.arange(8) * 3)


def test_little_endian_and_ascii_and_no_data(tmp_path):
    le = np.array([1.5, -99999, 3, 4, 5, 6, 7, 8], "<f4")
    (tmp_path / "le@@").write_bytes(le.tobytes())
    (tmp_path / "a.txt").write_text("# values\n" + "\n".join(str(v) for v in range(8)) + "\n")
    (tmp_path / "p.vo").write_text(
        "GOCAD Voxet 1\nAXIS_O 0 0 0\nAXIS_U 1 0 0\nAXIS_V 0 1 0\nAXIS_W 0 0 1\nAXIS_N 2 2 2\n"
        "PROPERTY 1 le\nPROP_ESIZE 1 4\nPROP_BYTE_ORDER 1 LITTLE\nPROP_NO_DATA_VALUE 1 -99999\nPROP_FILE 1 le@@\n"
        "PROPERTY 2 asc\nPROP_FORMAT 2 ASCII\nPROP_FILE 2 a.txt\nEND\n")
    vol = read_voxet(tmp_path / "p.vo")
    assert vol["le"][0, 0, 0] == 1.5
    assert np.isnan(vol["le"][1, 0, 0])
    np.testing.assert_array_equal(vol["asc"].ravel(order="F"), np.arange(8))
    # the byteorder argument covers headers that state none
    (tmp_path / "q.vo").write_text((tmp_path / "p.vo").read_text().replace("PROP_BYTE_ORDER 1 LITTLE\n", ""))
    assert read_voxet(tmp_path / "q.vo", byteorder="little")["le"][0, 0, 0] == 1.5
    assert read_voxet(tmp_path / "q.vo")["le"][0, 0, 0] != 1.5


def test_voxet_under_other_extension(tmp_path, yilgarn):
    """Content wins: a voxet header named .msh is read as the voxet it is; the UBC reader
    itself refuses it, naming the file's true format."""
    from voxprospect.io.ubc import read_ubc_mesh
    msh = _copy_voxet(yilgarn, tmp_path).rename(tmp_path / "small.msh")
    assert read_volume(msh).grid.shape == (10, 17, 10)
    with pytest.raises(InputFileError, match="gocad-voxet"):
        read_ubc_mesh(msh)


def test_unknown_property(yilgarn):
    with pytest.raises(InputFileError, match="no property 'Gold'"):
        read_voxet(yilgarn, properties=["Gold"])
    vol = read_voxet(yilgarn, properties=["VPmg_density"])
    assert vol.names == ["VPmg_density"]


def test_grid_written_is_node_centred(tmp_path):
    g = VoxelGrid((1000.0, 2000.0, -500.0), (10.0, 20.0, 5.0), (3, 1, 2), "EPSG:32750")
    write_voxet(Volume(g, {"a": np.ones(g.shape, np.float32)}), tmp_path / "g.vo")
    back = read_voxet(tmp_path / "g.vo")
    assert back.grid == g and back.grid.crs == "EPSG:32750"
