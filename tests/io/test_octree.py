"""UBC/SimPEG OcTree meshes written by discretize itself, averaged onto our grid by volume."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from voxprospect import VoxelGrid
from voxprospect.errors import InputFileError

discretize = pytest.importorskip("discretize")

ORIGIN = (1000.0, 2000.0, -320.0)
BODY = ((1080.0, 1160.0), (2080.0, 2160.0), (-240.0, -160.0))  # on 40 m (level-3) cell faces


def _tree():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        mesh = discretize.TreeMesh([[(10.0, 32)]] * 3, origin=ORIGIN, diagonal_balance=False)
    # finest (10 m) cells around one corner of the body, 40 m cells elsewhere
    mesh.refine(mesh.max_level - 2, finalize=False)
    mesh.insert_cells(np.array([[1080.0, 2080.0, -240.0]]), [mesh.max_level], finalize=False)
    mesh.finalize()
    return mesh


def _body(points):
    return np.all([(points[:, a] > BODY[a][0]) & (points[:, a] < BODY[a][1]) for a in range(3)], axis=0)


@pytest.fixture(scope="module")
def octree_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("octree")
    mesh = _tree()
    grade = _body(mesh.cell_centers).astype(float)
    air = mesh.cell_centers[:, 2] > -40.0  # the top 40 m: air (UBC no-data)
    den = np.where(air, -99999.0, 2.67 + 0.3 * grade)
    mesh.write_UBC(str(folder / "mesh.msh"), models={str(folder / "mesh.den"): den})
    assert mesh.n_cells < 32 ** 3  # a real octree: cells of several sizes
    return folder / "mesh.msh", mesh, den


def test_octree_sniffed_and_read_onto_a_grid_by_volume(octree_files):
    from voxprospect.io import read_volume, sniff_format

    path, mesh, den = octree_files
    assert sniff_format(path) == "ubc-octree"
    grid = VoxelGrid((1000.0, 2000.0, -320.0), (20.0, 20.0, 20.0), (16, 16, 16))
    vol = read_volume(path, grid=grid)
    assert vol.names == ["density"]
    z = grid.axis_centres(2)
    assert not vol.active[:, :, z > -40].any() and vol.active[:, :, z < -40].all()
    expected = 2.67 + 0.3 * _body(grid.cell_centres()).reshape(grid.shape, order="F")
    ok = vol.active
    np.testing.assert_allclose(vol["density"][ok], expected[ok], rtol=0, atol=1e-12)
    # volume weights conserve the mass of the active part exactly (float64 sums)
    act = ~np.isclose(den, -99999.0)
    src_mass = np.sum(mesh.cell_volumes[act] * den[act])
    dst_mass = np.nansum(vol["density"]) * grid.cell_volume
    assert dst_mass == pytest.approx(src_mass, rel=1e-12)


def test_grid_straddling_cells_gets_fractions_and_outside_is_inactive(octree_files):
    from voxprospect.io.octree import read_octree_volume

    path, _, _ = octree_files
    # 30 m cells, shifted 10 m: cells cut the body's faces; one column beyond the mesh (x > 1320)
    grid = VoxelGrid((1070.0, 2070.0, -250.0), (30.0, 30.0, 30.0), (10, 4, 4))
    vol = read_octree_volume(path, grid=grid)
    assert not vol.active[-1].any()  # x from 1340: outside the mesh
    # the first cell spans x 1070..1100, y 2070..2100, z -250..-220: 20*20*20 of 30^3 in the body
    assert vol["density"][0, 0, 0] == pytest.approx(2.67 + 0.3 * 8000 / 27000, abs=1e-12)


def test_default_grid_is_the_finest_cell(octree_files):
    from voxprospect.io import read_volume

    path, mesh, _ = octree_files
    vol = read_volume(path)
    assert vol.grid.cell_size == (10.0, 10.0, 10.0) and vol.grid.shape == (32, 32, 32)
    assert vol.grid.origin == pytest.approx(ORIGIN)


def test_model_of_another_size_is_refused(octree_files, tmp_path):
    from voxprospect.io.octree import read_octree_volume

    path, _, _ = octree_files
    bad = tmp_path / "short.den"
    bad.write_text("1.0\n2.0\n3.0\n")
    with pytest.raises(InputFileError, match="short.den"):
        read_octree_volume(path, model=bad)
