"""OMF projects written by omf itself read onto our grid and as meshes; our OMF files
opened by omf's own reader."""

from __future__ import annotations

import numpy as np
import pytest

from voxprospect import VoxelGrid
from voxprospect.errors import InputFileError
from voxprospect.data.volume import Volume

omf = pytest.importorskip("omf")
pytest.importorskip("discretize")

ORIGIN = np.array([450_000.0, 6_100_000.0, -300.0])


def _project(path):
    tu, tv, tw = np.array([10, 10, 20, 20.0]), np.array([25, 25.0]), np.array([30, 30, 30.0])
    cu = ORIGIN[0] + np.cumsum(tu) - tu / 2
    cv = ORIGIN[1] + np.cumsum(tv) - tv / 2
    cw = ORIGIN[2] + np.cumsum(tw) - tw / 2
    U, V, W = np.meshgrid(cu, cv, cw, indexing="ij")
    grade = (U - ORIGIN[0]) + 1e-3 * (V - ORIGIN[1]) + 1e-6 * (W - ORIGIN[2])
    vol = omf.VolumeElement(
        name="grade_model",
        geometry=omf.VolumeGridGeometry(origin=ORIGIN, tensor_u=tu, tensor_v=tv, tensor_w=tw),
        data=[omf.ScalarData(name="cu_pct", location="cells", array=grade.ravel())])  # C order, w fastest
    surf = omf.SurfaceElement(name="pit", geometry=omf.SurfaceGeometry(
        vertices=ORIGIN + np.array([[0, 0, 0], [60, 0, 0], [0, 50, 0], [60, 50, 10.0]]),
        triangles=np.array([[0, 1, 2], [1, 3, 2]])))
    fault = omf.LineSetElement(name="fault_trace", geometry=omf.LineSetGeometry(
        vertices=ORIGIN + np.array([[0, 0, 0], [30, 25, 0], [60, 50, 0.0]]), segments=np.array([[0, 1], [1, 2]])))
    hole = omf.LineSetElement(name="DDH001", subtype="borehole", geometry=omf.LineSetGeometry(
        vertices=ORIGIN + np.array([[5, 5, 90], [5, 5, 40], [6, 5, 0.0]]), segments=np.array([[0, 1], [1, 2]])),
        data=[omf.ScalarData(name="au_ppm", location="segments", array=np.array([0.1, 2.5]))])
    omf.OMFWriter(omf.Project(name="mine", elements=[vol, surf, fault, hole]), str(path))
    return grade


def test_volume_written_by_omf_read_onto_grid(tmp_path):
    from voxprospect.io import read_volume, sniff_format
    from voxprospect.io.omf_io import list_elements

    path = tmp_path / "mine.omf"
    grade = _project(path)
    assert sniff_format(path) == "omf"
    assert [e["kind"] for e in list_elements(path)] == ["volume", "surface", "line set", "drillhole"]
    vol = read_volume(path)  # finest cell: 10 x 25 x 30 m
    assert vol.grid.cell_size == (10.0, 25.0, 30.0) and vol.grid.shape == (6, 2, 3)
    assert vol.grid.origin == pytest.approx(tuple(ORIGIN))
    # the 20 m source columns (u = 2, 3) each cover two 10 m grid columns
    src_i = np.array([0, 1, 2, 2, 3, 3])
    np.testing.assert_allclose(vol["cu_pct"], grade[src_i], rtol=0, atol=1e-9)
    assert vol.active.all()


def test_surfaces_lines_and_drillholes_as_meshes(tmp_path):
    from voxprospect.io import read_mesh

    path = tmp_path / "mine.omf"
    _project(path)
    meshes = read_mesh(path)
    assert list(meshes) == ["pit", "fault_trace", "DDH001"]
    assert meshes["pit"].n_cells == 2 and meshes["fault_trace"].n_lines == 2
    assert meshes["DDH001"].field_data["omf_kind"][0] == "drillhole"
    np.testing.assert_array_equal(meshes["DDH001"].cell_data["au_ppm"], [0.1, 2.5])
    assert meshes["pit"].points[3] == pytest.approx(ORIGIN + [60, 50, 10])


def test_written_omf_opens_in_omf_and_round_trips(tmp_path):
    import pyvista as pv

    from voxprospect.io import read_volume, write_volume
    from voxprospect.io.omf_io import write_omf

    grid = VoxelGrid(tuple(ORIGIN), (10.0, 20.0, 5.0), (4, 3, 2), "EPSG:32755")
    rng = np.random.default_rng(3)
    prob = rng.random(grid.shape)
    active = np.ones(grid.shape, bool)
    active[3, 2, 1] = False
    zone = (np.arange(grid.n_cells).reshape(grid.shape) % 3).astype(np.int16)
    vol = Volume(grid, {"prospectivity": prob, "zone": zone}, active, {"zone": {0: "outside", 1: "halo", 2: "core"}})
    body = pv.Box(bounds=(ORIGIN[0], ORIGIN[0] + 10, ORIGIN[1], ORIGIN[1] + 20, ORIGIN[2], ORIGIN[2] + 5))
    outline = pv.lines_from_points(ORIGIN + np.array([[0, 0, 0], [10, 0, 0], [10, 20, 0.0]]))
    out = write_omf(vol, tmp_path / "res.omf", surfaces={"target_1": body}, lines={"outline_1": outline})

    project = omf.OMFReader(str(out)).get_project()
    names = [e.name for e in project.elements]
    assert names == ["voxprospect", "target_1", "outline_1"]
    data = {d.name: d for d in project.elements[0].data}
    arr = np.asarray(data["prospectivity"].array.array).reshape(grid.shape)  # C order (u, v, w)
    expected = prob.copy()
    expected[~active] = np.nan
    np.testing.assert_array_equal(arr, expected)
    assert list(np.asarray(data["zone"].legends[0].values.array)) == ["outside", "halo", "core"]
    assert len(project.elements[2].geometry.segments) == 2

    back = read_volume(out)
    assert back.grid == grid.__class__(grid.origin, grid.cell_size, grid.shape)
    np.testing.assert_array_equal(back["prospectivity"][active], prob[active])
    assert not back.active[3, 2, 1]
    assert back.classes["zone"] == {0: "outside", 1: "halo", 2: "core"}
    assert (back["zone"][active] == zone[active]).all()
    write_volume(vol, tmp_path / "again.omf")
    assert omf.OMFReader(str(tmp_path / "again.omf")).get_project().elements[0].name == "voxprospect"


def test_rotated_volume_is_refused(tmp_path):
    from voxprospect.io import read_volume

    c, s = np.cos(np.radians(30)), np.sin(np.radians(30))
    vol = omf.VolumeElement(name="rot", geometry=omf.VolumeGridGeometry(
        tensor_u=np.ones(2), tensor_v=np.ones(2), tensor_w=np.ones(2), axis_u=[c, s, 0], axis_v=[-s, c, 0]),
        data=[omf.ScalarData(name="a", location="cells", array=np.arange(8.0))])
    omf.OMFWriter(omf.Project(name="r", elements=[vol]), str(tmp_path / "rot.omf"))
    with pytest.raises(InputFileError, match="axis-aligned"):
        read_volume(tmp_path / "rot.omf")
