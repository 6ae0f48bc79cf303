"""VTK files of every kind (.vtr, .vts, .vtu, .vtp, legacy .vtk), recognised by content.

Fixtures are built here with pyvista (the script is the test itself); the rectilinear
one carries the real Laguna del Maule cells so its variable vertical widths are real.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from voxprospect import InputFileError, VoxelGrid
from voxprospect.io import read_mesh, read_volume, sniff_format
from voxprospect.io.ubc import cell_volumes, read_ubc
from voxprospect.io.vtk_any import mesh_to_volume, read_vtk_rectilinear, vtk_data_type

pv = pytest.importorskip("pyvista")


@pytest.fixture
def maule_vtr(shared_data, tmp_path):
    """The Laguna del Maule inversion as a .vtr, as PVGeo/ParaView users export it."""
    rect = read_ubc(shared_data / "laguna_del_maule_ubc" / "craig_chile.msh")
    g = pv.RectilinearGrid(rect.x_edges, rect.y_edges, rect.z_edges)
    g.cell_data["density"] = rect.layers["Lpout"].ravel(order="F")
    g.cell_data["_active"] = rect.active.ravel(order="F").astype(np.uint8)
    p = tmp_path / "maule.vtr"
    g.save(p)
    return p, rect


def test_vtr_is_rectilinear_with_real_cells(maule_vtr):
    p, rect = maule_vtr
    assert sniff_format(p) == "vtk-xml" and vtk_data_type(p) == "RectilinearGrid"
    r = read_vtk_rectilinear(p)
    assert r.shape == (69, 69, 40)
    np.testing.assert_allclose(r.z_edges, rect.z_edges)
    np.testing.assert_array_equal(r.active, rect.active)
    np.testing.assert_array_equal(r.layers["density"], rect.layers["Lpout"])


def test_vtr_to_volume_conserves_mean(maule_vtr):
    p, rect = maule_vtr
    vol = read_volume(p)
    np.testing.assert_allclose(vol.grid.cell_size, (250.0, 250.0, 100.0))
    w = cell_volumes(rect)
    src = np.sum(np.where(rect.active, rect.layers["Lpout"], 0) * w) / w[rect.active].sum()
    assert np.nanmean(vol["density"][vol.active]) == pytest.approx(src, rel=0.02)


def test_vtr_decreasing_z_and_point_data(tmp_path):
    z = np.array([0.0, -10.0, -30.0])  # written top down
    g = pv.RectilinearGrid(np.array([0.0, 5.0, 10.0]), np.array([0.0, 5.0]), z)
    g.point_data["depth"] = -g.points[:, 2]
    p = tmp_path / "down.vtr"
    g.save(p)
    r = read_vtk_rectilinear(p)
    np.testing.assert_allclose(r.z_edges, [-30, -10, 0])
    d = r.layers["depth"]  # point data averaged onto cells; k = 0 deepest
    assert d[0, 0, 0] > d[0, 0, 1]
    assert d[0, 0, 1] == pytest.approx(5.0)


def test_uniform_vtr_keeps_cells_and_content_beats_extension(tmp_path):
    g = pv.RectilinearGrid(np.arange(4.0) * 10, np.arange(3.0) * 10, 100 + np.arange(3.0) * 5)
    g.cell_data["v"] = np.arange(g.n_cells, dtype=np.float32)
    p = tmp_path / "u.vtr"
    g.save(p)
    shutil.copy(p, tmp_path / "u.msh")  # a .vtr named .msh: read as the .vtr it is
    for q in (p, tmp_path / "u.msh"):
        vol = read_volume(q)
        assert vol.grid == VoxelGrid((0, 0, 100), (10, 10, 5), (3, 2, 2))
        np.testing.assert_array_equal(vol["v"].ravel(order="F"), np.arange(12))


@pytest.fixture
def block_mesh():
    """A 20 x 20 x 20 m block model with a cell array and a point array."""
    img = pv.ImageData(dimensions=(5, 5, 5), spacing=(5, 5, 5), origin=(1000, 2000, -20))
    img.cell_data["grade"] = np.arange(img.n_cells, dtype=float)
    img.point_data["elev"] = img.points[:, 2]
    return img


@pytest.mark.parametrize("suffix,cast", [(".vts", "structured"), (".vtu", "unstructured"),
                                         (".vtk", "unstructured")])
def test_meshes_sampled_onto_grid(tmp_path, block_mesh, suffix, cast):
    mesh = block_mesh.cast_to_structured_grid() if cast == "structured" else block_mesh.cast_to_unstructured_grid()
    p = tmp_path / f"m{suffix}"
    mesh.save(p)
    assert read_mesh(p)[p.stem].n_cells == 64
    with pytest.raises(InputFileError, match="target grid"):
        read_volume(p)
    grid = VoxelGrid((995.0, 1995.0, -25.0), (2.5, 2.5, 2.5), (12, 12, 12))
    vol = read_volume(p, grid=grid)
    # centres outside the block are inactive; inside, grade is the containing cell's
    assert vol.active.sum() == 8 ** 3
    assert not vol.active[0].any() and not vol.active[-1].any()
    c = grid.index_to_world([5, 5, 5])
    i, j, k = ((c - np.array([1000, 2000, -20])) // 5).astype(int)
    assert vol["grade"][5, 5, 5] == pytest.approx(i + 4 * j + 16 * k)
    # point data interpolate linearly: elevation reproduces z
    np.testing.assert_allclose(vol["elev"][vol.active], grid.cell_centres()[:, 2].reshape(grid.shape, order="F")
                               [vol.active], atol=1e-6)
    assert np.isnan(vol["elev"][0, 0, 0])
    by_size = read_volume(p, cell_size=5.0)
    assert by_size.grid.shape == (4, 4, 4) and by_size.active.all()


def test_polydata_is_a_mesh_not_a_volume(tmp_path):
    p = tmp_path / "s.vtp"
    pv.Sphere().save(p)
    assert read_mesh(p)["s"].n_cells > 0
    with pytest.raises(InputFileError, match="surface"):
        read_volume(p)
    with pytest.raises(Exception, match="surface"):
        mesh_to_volume(pv.Sphere(), VoxelGrid((0, 0, 0), (1, 1, 1), (2, 2, 2)))


def test_truncated_and_foreign(tmp_path, maule_vtr, shared_data):
    p, _ = maule_vtr
    cut = tmp_path / "cut.vtr"
    cut.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    with pytest.raises(InputFileError, match=r"cut\.vtr"):
        read_volume(cut)
    with pytest.raises(InputFileError, match="not a VTK file.*gocad-voxet"):
        read_vtk_rectilinear(shared_data / "yilgarn_small_voxet" / "small.vo")
    bad = tmp_path / "x.vtk"
    bad.write_bytes(b"\x00\x01binary junk")
    with pytest.raises(InputFileError, match="unrecognised"):
        read_volume(bad)


def test_legacy_structured_points(tmp_path):
    img = pv.ImageData(dimensions=(3, 4, 5), spacing=(2, 2, 2), origin=(10, 20, 30))
    img.cell_data["a"] = np.arange(img.n_cells, dtype=np.float32)
    p = tmp_path / "img.vtk"
    img.save(p)
    vol = read_volume(p)
    assert vol.grid == VoxelGrid((10, 20, 30), (2, 2, 2), (2, 3, 4))
    np.testing.assert_array_equal(vol["a"].ravel(order="F"), np.arange(24))
