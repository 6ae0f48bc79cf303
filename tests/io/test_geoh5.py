"""geoh5 workspaces written by geoh5py itself read onto our grid; our workspaces opened by
geoh5py's own reader."""

from __future__ import annotations

import numpy as np
import pytest

from voxprospect import VoxelGrid
from voxprospect.errors import InputFileError
from voxprospect.data.volume import Volume

pytest.importorskip("geoh5py")
pytest.importorskip("discretize")

ORIGIN = (600_000.0, 7_000_000.0, 400.0)


def _block_workspace(path):
    from geoh5py.objects import BlockModel, Surface
    from geoh5py.workspace import Workspace

    ws = Workspace.create(str(path))
    # 20 m columns west of x0+40, 40 m east of it; z delimiters downward from the origin
    u = np.array([0, 20, 40, 80, 120.0])
    v = np.array([0, 50, 100.0])
    z = -np.array([0, 25, 50, 75.0])
    bm = BlockModel.create(ws, name="rho", origin=list(ORIGIN), u_cell_delimiters=u, v_cell_delimiters=v,
                           z_cell_delimiters=z)
    c = np.asarray(bm.centroids)
    bm.add_data({"density": {"association": "CELL", "values": 2.0 + 1e-3 * (c[:, 0] - ORIGIN[0])
                             + 1e-2 * (ORIGIN[2] - c[:, 2])}})
    Surface.create(ws, name="contact", vertices=np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 1.0]]),
                   cells=np.array([[0, 1, 2], [1, 3, 2]]))
    ws.close()
    return c


def test_block_model_written_by_geoh5py_read_by_volume(tmp_path):
    from voxprospect.io import read_mesh, read_volume, sniff_format
    from voxprospect.io.geoh5 import list_objects

    path = tmp_path / "ws.geoh5"
    _block_workspace(path)
    assert sniff_format(path) == "geoh5"
    assert {o["kind"] for o in list_objects(path)} == {"block model", "surface"}
    grid = VoxelGrid((ORIGIN[0], ORIGIN[1], ORIGIN[2] - 75), (20.0, 50.0, 25.0), (6, 2, 3))
    vol = read_volume(path, grid=grid)
    assert vol.active.all()
    x = grid.axis_centres(0)
    z = grid.axis_centres(2)
    # each 20 m grid cell lies in one source cell: its value is that cell's (centroid) value
    src_x = np.where(x - ORIGIN[0] < 40, x - ORIGIN[0], np.floor((x - ORIGIN[0] - 40) / 40) * 40 + 60)
    expected = 2.0 + 1e-3 * src_x[:, None, None] + 1e-2 * (ORIGIN[2] - z)[None, None, :]
    np.testing.assert_allclose(vol["density"], np.broadcast_to(expected, grid.shape), rtol=0, atol=1e-12)
    # default grid: the finest cell over the model's box
    auto = read_volume(path)
    assert auto.grid.cell_size == (20.0, 50.0, 25.0) and auto.grid.shape == (6, 2, 3)
    assert auto.grid.origin == pytest.approx(grid.origin)
    meshes = read_mesh(path)
    assert list(meshes) == ["contact"] and meshes["contact"].n_cells == 2


def test_octree_written_by_geoh5py(tmp_path):
    from geoh5py.objects import Octree
    from geoh5py.workspace import Workspace

    from voxprospect.io import read_volume

    cells = [(0, 0, 0, 2)]  # one 2x2x2 block, the other seven octants as unit cells
    for oi in (0, 2):
        for oj in (0, 2):
            for ok in (0, 2):
                if (oi, oj, ok) == (0, 0, 0):
                    continue
                cells += [(oi + a, oj + b, ok + c, 1) for c in (0, 1) for b in (0, 1) for a in (0, 1)]
    arr = np.array(cells, dtype=[("I", "<i4"), ("J", "<i4"), ("K", "<i4"), ("NCells", "<i4")])
    path = tmp_path / "oct.geoh5"
    ws = Workspace.create(str(path))
    octree = Octree.create(ws, name="mesh", origin=list(ORIGIN), u_count=4, v_count=4, w_count=4,
                           u_cell_size=10.0, v_cell_size=10.0, w_cell_size=10.0, octree_cells=arr)
    centroids = np.asarray(octree.centroids)
    octree.add_data({"sus": {"association": "CELL", "values": np.arange(len(cells), dtype=float)}})
    ws.close()

    vol = read_volume(path)
    assert vol.grid.cell_size == (10.0, 10.0, 10.0) and vol.grid.shape == (4, 4, 4)
    # every grid cell takes the value of the octree cell whose box holds its centre
    half = np.array([c[3] for c in cells]) * 5.0
    for idx, centre in enumerate(vol.grid.cell_centres()):
        owner = np.flatnonzero(np.all(np.abs(centroids - centre) <= half[:, None] + 1e-9, axis=1))
        assert len(owner) == 1
        i, j, k = np.unravel_index(idx, vol.grid.shape, order="F")
        assert vol["sus"][i, j, k] == owner[0]


def test_written_block_model_and_surface_open_in_geoh5py(tmp_path):
    import pyvista as pv
    from geoh5py.objects import BlockModel, Surface
    from geoh5py.workspace import Workspace

    from voxprospect.io import read_volume, write_volume
    from voxprospect.io.geoh5 import write_geoh5

    grid = VoxelGrid(ORIGIN, (10.0, 20.0, 5.0), (4, 3, 2), "EPSG:32750")
    rng = np.random.default_rng(7)
    prob = rng.random(grid.shape)
    active = np.ones(grid.shape, bool)
    active[0, 0, 0] = False
    zone = np.arange(grid.n_cells).reshape(grid.shape) % 3
    vol = Volume(grid, {"prospectivity": prob, "zone": zone.astype(np.int16)}, active,
                 {"zone": {0: "outside", 1: "halo", 2: "core"}})
    body = pv.Box(bounds=(ORIGIN[0], ORIGIN[0] + 10, ORIGIN[1], ORIGIN[1] + 20, ORIGIN[2], ORIGIN[2] + 5)).triangulate()
    out = write_geoh5(vol, tmp_path / "res.geoh5", surfaces={"target_1": body})

    ws = Workspace(str(out), mode="r")
    bm = next(o for o in ws.objects if isinstance(o, BlockModel))
    surf = next(o for o in ws.objects if isinstance(o, Surface))
    assert surf.name == "target_1" and len(surf.cells) == body.n_cells
    c = np.asarray(bm.centroids)
    ijk = np.floor((c - np.asarray(ORIGIN)) / np.asarray(grid.cell_size)).astype(int)
    values = bm.get_data("prospectivity")[0].values
    expected = prob[ijk[:, 0], ijk[:, 1], ijk[:, 2]].copy()
    expected[~active[ijk[:, 0], ijk[:, 1], ijk[:, 2]]] = np.nan
    np.testing.assert_array_equal(values, expected)
    ws.close()

    back = read_volume(out, grid=grid)
    np.testing.assert_array_equal(back["prospectivity"][active], prob[active])
    assert not back.active[0, 0, 0]
    assert (back["zone"][active] == zone[active]).all()
    assert back.classes["zone"][2] == "core"
    # write_volume dispatches on the suffix
    write_volume(vol, tmp_path / "again.geoh5")
    assert (tmp_path / "again.geoh5").exists()


def test_workspace_without_volume_is_refused(tmp_path):
    from geoh5py.objects import Points
    from geoh5py.workspace import Workspace

    from voxprospect.io import read_volume

    path = tmp_path / "pts.geoh5"
    ws = Workspace.create(str(path))
    Points.create(ws, vertices=np.zeros((3, 3)))
    ws.close()
    with pytest.raises(InputFileError, match="no block model or octree"):
        read_volume(path)


def test_drillhole_written_by_geoh5py_as_its_trajectory(tmp_path):
    from geoh5py.objects import Drillhole
    from geoh5py.workspace import Workspace

    from voxprospect.io import read_mesh

    path = tmp_path / "dh.geoh5"
    ws = Workspace.create(str(path))
    collar = np.array([ORIGIN[0] + 10, ORIGIN[1] + 20, ORIGIN[2]])
    Drillhole.create(ws, name="DDH-7", collar=collar, end_of_hole=100.0,
                     surveys=np.c_[np.r_[0.0, 50.0, 100.0], np.r_[90.0, 90.0, 90.0], np.r_[-90.0, -60.0, -60.0]])
    ws.close()
    hole = read_mesh(path)["DDH-7"]
    pts = hole.points
    assert pts[0] == pytest.approx(collar)
    # the hole's length along its trajectory is its surveyed depth
    assert np.linalg.norm(np.diff(pts, axis=0), axis=1).sum() == pytest.approx(100.0, rel=1e-3)
    assert pts[-1][2] < collar[2] - 50  # it goes down
