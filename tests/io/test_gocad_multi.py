"""Rotated voxets resampled with the rotation recorded; GOCAD files with several objects
(TSurf + Voxet + PLine + others) yield their surfaces, lines, voxet and skipped list."""

from __future__ import annotations

import numpy as np
import pytest

from voxprospect.errors import InputFileError

X0, Y0, Z0 = 300_000.0, 6_500_000.0, -800.0
ANGLE = np.radians(30.0)
N = (6, 5, 4)
STEP = (50.0, 40.0, 25.0)


def _grade(xyz):
    """A linear field: trilinear interpolation between nodes reproduces it exactly."""
    return 1.0 + 1e-3 * (xyz[..., 0] - X0) - 2e-3 * (xyz[..., 1] - Y0) + 4e-3 * (xyz[..., 2] - Z0)


def _voxet_lines(prop_file, name="rotated"):
    u = np.array([np.cos(ANGLE), np.sin(ANGLE), 0.0]) * STEP[0] * (N[0] - 1)
    v = np.array([-np.sin(ANGLE), np.cos(ANGLE), 0.0]) * STEP[1] * (N[1] - 1)
    w = np.array([0.0, 0.0, STEP[2] * (N[2] - 1)])
    f = lambda a: " ".join(repr(float(x)) for x in a)  # noqa: E731
    return ["GOCAD Voxet 1", "HEADER {", f"name: {name}", "}", f"AXIS_O {X0} {Y0} {Z0}", f"AXIS_U {f(u)}",
            f"AXIS_V {f(v)}", f"AXIS_W {f(w)}", "AXIS_MIN 0 0 0", "AXIS_MAX 1 1 1", "AXIS_N " + " ".join(map(str, N)),
            "PROPERTY 1 grade", "PROP_ESIZE 1 8", "PROP_ETYPE 1 IEEE", f"PROP_FILE 1 {prop_file}", "END"]


def _write_property(path):
    i, j, k = np.meshgrid(*[np.arange(n) for n in N], indexing="ij")
    u = np.array([np.cos(ANGLE), np.sin(ANGLE), 0.0]) * STEP[0]
    v = np.array([-np.sin(ANGLE), np.cos(ANGLE), 0.0]) * STEP[1]
    w = np.array([0.0, 0.0, STEP[2]])
    xyz = np.array([X0, Y0, Z0]) + i[..., None] * u + j[..., None] * v + k[..., None] * w
    _grade(xyz).astype(">f8").ravel(order="F").tofile(path)  # nodes with u fastest, big-endian


def _check_rotated(vol):
    assert vol.meta["rotation"]["rotation_about_z_deg"] == pytest.approx(30.0)
    centres = vol.grid.cell_centres().reshape(*vol.grid.shape, 3, order="F")
    act = vol.active
    assert act.any() and not act.all()  # the rotated box does not fill its bounding box
    # each node is the centre of a cell: centres within half a step beyond the outer nodes
    # take the outer node's value (the field held constant), inside it is exact
    c, s = np.cos(ANGLE), np.sin(ANGLE)
    rel = centres - np.array([X0, Y0, Z0])
    idx = np.stack([(c * rel[..., 0] + s * rel[..., 1]) / STEP[0], (-s * rel[..., 0] + c * rel[..., 1]) / STEP[1],
                    rel[..., 2] / STEP[2]], axis=-1)
    clamped = np.clip(idx, 0, np.array(N) - 1)
    node_xyz = np.array([X0, Y0, Z0]) + clamped[..., :1] * STEP[0] * np.array([c, s, 0]) \
        + clamped[..., 1:2] * STEP[1] * np.array([-s, c, 0]) + clamped[..., 2:] * STEP[2] * np.array([0, 0, 1])
    np.testing.assert_allclose(vol["grade"][act], _grade(node_xyz)[act], rtol=1e-12, atol=1e-12)
    inside = np.all((idx >= -0.5) & (idx <= np.array(N) - 0.5), axis=-1)
    assert (act == inside).all()
    assert np.isnan(vol["grade"][~act]).all()
    # a cell centre at the voxet's middle node is inside; the bounding box's corner is not
    assert not act[0, 0, 0] and not act[-1, -1, 0]


def test_rotated_voxet_is_resampled_with_its_rotation(tmp_path):
    from voxprospect.io import read_volume

    _write_property(tmp_path / "rot_grade@@")
    (tmp_path / "rot.vo").write_text("\n".join(_voxet_lines("rot_grade@@")) + "\n")
    vol = read_volume(tmp_path / "rot.vo")
    assert vol.grid.cell_size == pytest.approx((50.0, 40.0, 25.0))
    _check_rotated(vol)


TSURF = """GOCAD TSurf 1
HEADER {
name: orebody_top
}
VRTX 1 300000 6500000 -500
VRTX 2 300100 6500000 -500
VRTX 3 300000 6500100 -480
TRGL 1 2 3
END
"""
PLINE = """GOCAD PLine 1
HEADER {
name: drift
}
ILINE
VRTX 1 300000 6500000 -600
VRTX 2 300050 6500000 -600
VRTX 3 300050 6500070 -610
SEG 1 2
SEG 2 3
END
"""
VSET = """GOCAD VSet 1
HEADER {
name: samples
}
VRTX 1 300000 6500000 -600
END
"""


def _multi(tmp_path, with_props=True):
    if with_props:
        _write_property(tmp_path / "m_grade@@")
    text = TSURF + "\n".join(_voxet_lines("m_grade@@")) + "\n" + PLINE + VSET + \
        "\n".join(_voxet_lines("absent@@", name="second")) + "\n"
    path = tmp_path / "export.ts"
    path.write_text(text)
    return path, text


def test_multi_object_file_yields_surfaces_lines_voxet_and_skipped(tmp_path):
    from voxprospect.io import read_mesh, read_volume, sniff_format
    from voxprospect.io.gocad_multi import read_gocad_objects

    path, text = _multi(tmp_path)
    assert sniff_format(path) == "gocad-tsurf"
    lines = text.splitlines()
    vset_line = lines.index("GOCAD VSet 1") + 1
    second_line = [i for i, ln in enumerate(lines) if ln == "GOCAD Voxet 1"][1] + 1
    objs = read_gocad_objects(path)
    assert list(objs.meshes) == ["orebody_top", "drift"]
    assert objs.meshes["orebody_top"].n_cells == 1
    assert objs.meshes["drift"].n_lines == 2
    assert objs.meshes["drift"].points[2] == pytest.approx([300050, 6500070, -610])
    assert [(s[0], s[1], s[2]) for s in objs.skipped] == [(vset_line, "VSet", "samples"),
                                                          (second_line, "Voxet", "second")]
    assert "absent@@" in objs.skipped[1][3]
    _check_rotated(objs.volume)

    meshes = read_mesh(path)
    assert list(meshes) == ["orebody_top", "drift"]
    assert any("VSet 'samples'" in s for s in meshes["drift"].field_data["gocad_skipped"])
    vol = read_volume(path)
    _check_rotated(vol)
    assert vol.meta["gocad_objects"]["meshes"] == ["orebody_top", "drift"]


def test_multi_object_file_without_voxet_data(tmp_path):
    from voxprospect.io import read_mesh, read_volume

    path, _ = _multi(tmp_path, with_props=False)
    assert list(read_mesh(path)) == ["orebody_top", "drift"]
    with pytest.raises(InputFileError, match="no readable GOCAD Voxet.*m_grade@@"):
        read_volume(path)


def test_truncated_multi_object_file_names_the_object(tmp_path):
    from voxprospect.io import read_mesh

    path = tmp_path / "cut.ts"
    path.write_text(TSURF + PLINE.replace("END\n", ""))
    with pytest.raises(InputFileError, match=r"PLine starting at line 10 has no END"):
        read_mesh(path)
