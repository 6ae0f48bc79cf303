"""GOCAD TSurf reader, on the real DO-27 kimberlite pipe surfaces."""

from __future__ import annotations

import numpy as np
import pytest

from voxprospect import InputFileError, VoxelGrid
from voxprospect.io import read_mesh, read_volume, sniff_format
from voxprospect.io.tsurf import enclosed_volume, is_closed, read_tsurf, read_tsurf_one

MULTI = """GOCAD TSurf 1
HEADER {
name: fault_a
}
PROPERTIES "throw" grade
NO_DATA_VALUES -99999 -99999
TFACE
PVRTX 1 0 0 0 1.5 0.1
PVRTX 2 10 0 0 2.5 -99999
PVRTX 3 0 10 0 3.5 0.3
TRGL 1 2 3
TFACE
PVRTX 4 10 10 0 4.5 0.4
ATOM 5 2
TRGL 5 4 3
END
GOCAD TSurf 1
HEADER {
name: fault_b
}
GOCAD_ORIGINAL_COORDINATE_SYSTEM
ZPOSITIVE Depth
END_ORIGINAL_COORDINATE_SYSTEM
TFACE
VRTX 1 0 0 100
VRTX 2 1 0 100
VRTX 3 0 1 110
TRGL 1 2 3
END
"""


@pytest.fixture
def pk1(shared_data):
    return shared_data / "do27_kimberlite" / "PK1.ts"


def test_pk1_is_a_closed_solid(pk1):
    surfaces = read_mesh(pk1)
    assert list(surfaces) == ["PK1"]
    mesh = surfaces["PK1"]
    n_vrtx = sum(1 for ln in pk1.read_text().splitlines() if ln.startswith("VRTX"))
    n_trgl = sum(1 for ln in pk1.read_text().splitlines() if ln.startswith("TRGL"))
    assert mesh.n_points == n_vrtx and mesh.n_cells == n_trgl
    assert is_closed(mesh)
    vol = enclosed_volume(mesh)
    assert vol == pytest.approx(mesh.volume, rel=1e-6)
    assert 1e6 < vol < 1e8  # a pipe a few hundred metres across, not a planet
    # first vertex of the file, in UTM metres, elevation up
    first = next(ln for ln in pk1.read_text().splitlines() if ln.startswith("VRTX")).split()
    np.testing.assert_allclose(mesh.points[0], [float(v) for v in first[2:5]])


def test_pk1_voxelised_volume_matches(pk1):
    """Used as a solid: the cells whose centres fall inside fill the enclosed volume."""
    mesh = read_tsurf_one(pk1)
    grid = VoxelGrid.from_bounds(mesh.bounds, 12.5)
    try:
        from voxprospect.gridding.voxelise import solid_mask
        inside = solid_mask(mesh, grid)
    except ImportError:  # voxelise not there: pyvista's own inside test
        import pyvista as pv
        sel = pv.PolyData(grid.cell_centres()).select_enclosed_points(mesh)
        inside = np.asarray(sel["SelectedPoints"]).astype(bool).reshape(grid.shape, order="F")
    assert inside.sum() * grid.cell_volume == pytest.approx(enclosed_volume(mesh), rel=0.05)


def test_other_do27_bodies_closed(shared_data):
    for name in ("PK2", "PK3", "HK1", "VK"):
        mesh = read_tsurf_one(shared_data / "do27_kimberlite" / f"{name}.ts", name)
        assert is_closed(mesh), name


def test_several_surfaces_parts_atoms_properties(tmp_path):
    p = tmp_path / "faults.dat"  # content, not extension, decides
    p.write_text(MULTI)
    assert sniff_format(p) == "gocad-tsurf"
    s = read_tsurf(p)
    assert list(s) == ["fault_a", "fault_b"]
    a = s["fault_a"]
    assert a.n_points == 4 and a.n_cells == 2
    np.testing.assert_array_equal(a.cell_data["part"], [0, 1])
    # ATOM 5 is vertex 2: the second triangle reuses it
    tri = np.asarray(a.faces).reshape(-1, 4)[:, 1:]
    assert tri[1, 0] == tri[0, 1]
    np.testing.assert_array_equal(a.point_data["throw"], [1.5, 2.5, 3.5, 4.5])
    assert np.isnan(a.point_data["grade"][1]) and a.point_data["grade"][3] == pytest.approx(0.4)
    assert not is_closed(a)  # an open fault: a surface, not a solid
    with pytest.raises(Exception, match="not closed"):
        enclosed_volume(a)
    b = s["fault_b"]
    np.testing.assert_allclose(b.points[:, 2], [-100, -100, -110])  # depth -> elevation
    with pytest.raises(InputFileError, match="holds 2 surfaces"):
        read_tsurf_one(p)
    with pytest.raises(InputFileError, match="no surface 'c'"):
        read_tsurf_one(p, "c")


def test_truncated_tsurf(tmp_path, pk1):
    p = tmp_path / "cut.ts"
    text = pk1.read_text()
    half = text[: len(text) // 2]
    p.write_text(half[: half.rindex("\n") + 1])  # cut between lines
    with pytest.raises(InputFileError, match=r"cut\.ts.*no END \(truncated"):
        read_tsurf(p)
    p.write_text(half)  # cut inside a line
    with pytest.raises(InputFileError, match=r"cut\.ts: line \d+: malformed"):
        read_tsurf(p)


def test_undefined_vertex(tmp_path):
    p = tmp_path / "bad.ts"
    p.write_text(MULTI.replace("TRGL 1 2 3\nTFACE", "TRGL 1 2 9\nTFACE"))
    with pytest.raises(InputFileError, match="vertex 9"):
        read_tsurf(p)
    p.write_text(MULTI.replace("PVRTX 2 10 0 0", "PVRTX 2 ten 0 0"))
    with pytest.raises(InputFileError, match="line 9: malformed PVRTX"):
        read_tsurf(p)


def test_tsurf_is_not_a_volume_and_wrong_readers(tmp_path, pk1, shared_data):
    with pytest.raises(InputFileError, match="mesh, not a volume.*read_mesh"):
        read_volume(pk1)
    with pytest.raises(InputFileError, match="not a GOCAD TSurf.*ubc-mesh"):
        read_tsurf(shared_data / "do27_kimberlite" / "mesh_inverse_ubc.msh")
    other = tmp_path / "pl.ts"
    other.write_text("GOCAD PLine 1\nEND\n")
    with pytest.raises(InputFileError, match="gocad-pline"):
        read_tsurf(other)
