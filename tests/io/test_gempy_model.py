"""gempy models computed on our grid: contacts, fault sides and topography land on the
right cells (real gempy, models built in memory)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from voxprospect import VoxelGrid
from voxprospect.errors import InputFileError

pytest.importorskip("gempy")

X0, Y0 = 500_000.0, 4_400_000.0
CONTACT_Z = -190.0  # 2.5 m above the centre of a 25 m cell: a half-cell shift would flip it


def _element(gp, name, points, orientations, colour):
    from gempy.core.data import OrientationsTable, StructuralElement, SurfacePointsTable

    p = np.asarray(points, float)
    o = np.asarray(orientations, float)
    return StructuralElement(
        name=name, color=colour,
        surface_points=SurfacePointsTable.from_arrays(x=p[:, 0], y=p[:, 1], z=p[:, 2], names=name),
        orientations=OrientationsTable.from_arrays(x=o[:, 0], y=o[:, 1], z=o[:, 2], G_x=o[:, 3], G_y=o[:, 4],
                                                   G_z=o[:, 5], names=name))


def _layer_cake(with_fault=False, extent=(X0, X0 + 1200, Y0, Y0 + 1000, -600, 200)):
    """One horizontal contact at CONTACT_Z; optionally a vertical N-S fault at x0+610."""
    from voxprospect.io.gempy_model import import_gempy

    gp = import_gempy()
    from gempy.core.data import StructuralFrame, StructuralGroup
    from gempy_engine.core.data.stack_relation_type import StackRelationType

    xs = np.linspace(X0 + 100, X0 + 1100, 3)
    ys = np.linspace(Y0 + 100, Y0 + 900, 3)
    pts = [(x, y, CONTACT_Z) for x in xs for y in ys]
    strata = StructuralGroup(
        name="strata", structural_relation=StackRelationType.ERODE,
        elements=[_element(gp, "sandstone", pts, [(X0 + 600, Y0 + 500, CONTACT_Z, 0, 0, 1)], "#ffbe00")])
    groups = [strata]
    if with_fault:
        fx = X0 + 610.0
        fpts = [(fx, y, z) for y in (Y0 + 100, Y0 + 500, Y0 + 900) for z in (-500, 100)]
        fault = StructuralGroup(
            name="F1", structural_relation=StackRelationType.FAULT, fault_relations=[strata],
            elements=[_element(gp, "F1", fpts, [(fx, Y0 + 500, -200, 1, 0, 0)], "#015482")])
        groups = [fault, strata]
    frame = StructuralFrame(structural_groups=groups, color_gen=gp.data.ColorsGenerator())
    return gp.create_geomodel(project_name="cake", extent=list(extent), resolution=[4, 4, 4],
                              structural_frame=frame)


@pytest.fixture(scope="module")
def grid():
    # anisotropic cells, an origin off any round number of cells, world coordinates
    return VoxelGrid((X0 + 10.0, Y0 + 20.0, -500.0), (90.0, 80.0, 25.0), (12, 11, 24), "EPSG:32651")


def test_horizontal_contact_lands_on_the_right_cells(grid):
    from voxprospect.io.gempy_model import compute_geomodel_on_grid

    vol = compute_geomodel_on_grid(_layer_cake(), grid)
    lith = vol["lithology"]
    table = vol.classes["lithology"]
    ids = {name: i for i, name in table.items()}
    assert "sandstone" in ids and "basement" in ids
    z = grid.elevations
    above, below = z > CONTACT_Z, z < CONTACT_Z
    # every column: sandstone exactly above the contact, basement below
    assert (lith[:, :, above] == ids["sandstone"]).all()
    assert (lith[:, :, below] == ids["basement"]).all()
    # the cell just above is only 2.5 m above the contact
    k = grid.level_of_elevation(CONTACT_Z)
    assert math.isclose(z[k + 1] - CONTACT_Z, 2.5) or math.isclose(z[k] - CONTACT_Z, 2.5)
    assert vol.grid == grid and vol.active.all()


def test_fault_blocks_split_the_grid_at_the_fault_plane(grid):
    from voxprospect.io.gempy_model import compute_geomodel_on_grid

    vol = compute_geomodel_on_grid(_layer_cake(with_fault=True), grid, dtype="float32", chunk_points=700)
    side = vol["fault_block_F1"]
    x = grid.axis_centres(0)
    east = x > X0 + 610.0 + 10
    west = x < X0 + 610.0 - 10
    assert side.dtype == np.int8
    # one side value on each side of the plane, different from each other
    e_vals, w_vals = np.unique(side[east]), np.unique(side[west])
    assert len(e_vals) == 1 and len(w_vals) == 1 and e_vals[0] != w_vals[0]
    assert set(np.unique(vol["fault_block"])) == {0, 1}
    assert vol.meta["gempy"]["fault_groups"] == ["F1"]
    # the fault element is not a lithology class
    assert "F1" not in vol.classes["lithology"].values()


def test_topography_makes_cells_above_it_inactive(grid):
    from gempy.core.data.grid_modules import Topography

    from voxprospect.io.gempy_model import compute_geomodel_on_grid, topography_elevation

    model = _layer_cake(extent=(X0, X0 + 1200, Y0, Y0 + 1000, -600, 200))
    tx = np.linspace(X0, X0 + 1200, 13)
    ty = np.linspace(Y0, Y0 + 1000, 11)
    TX, TY = np.meshgrid(tx, ty, indexing="ij")
    TZ = -100.0 + 0.1 * (TX - X0)  # a plane rising east, from -100 to +20 m
    model.grid.topography = Topography(_regular_grid=model.grid.regular_grid,
                                       values_2d=np.stack([TX, TY, TZ], axis=-1))
    vol = compute_geomodel_on_grid(model, grid)
    Xc, Yc = np.meshgrid(grid.axis_centres(0), grid.axis_centres(1), indexing="ij")
    topo = -100.0 + 0.1 * (Xc - X0)
    np.testing.assert_allclose(topography_elevation(model, Xc, Yc), topo, atol=1e-6)
    expected = grid.elevations[None, None, :] <= topo[:, :, None]
    np.testing.assert_array_equal(vol.active, expected)
    assert (vol["lithology"][~vol.active] == 0).all()
    assert (vol["lithology"][vol.active] > 0).all()


def test_saved_model_loads_and_computes_the_same(grid, tmp_path):
    from voxprospect.io.gempy_model import compute_geomodel_on_grid, load_gempy_model, save_gempy_model

    model = _layer_cake()
    path = save_gempy_model(model, tmp_path / "cake.gempy")
    loaded = load_gempy_model(path)
    a = compute_geomodel_on_grid(model, grid)["lithology"]
    b = compute_geomodel_on_grid(loaded, grid)["lithology"]
    np.testing.assert_array_equal(a, b)
    # recognised by content and read like any other volume, on a grid we choose
    from voxprospect.io import read_volume, sniff_format
    assert sniff_format(path) == "gempy"
    np.testing.assert_array_equal(read_volume(path, grid=grid)["lithology"], a)


def test_load_refuses_missing_and_foreign_files(tmp_path):
    from voxprospect.io.gempy_model import load_gempy_model

    with pytest.raises(InputFileError, match="not found"):
        load_gempy_model(tmp_path / "none.gempy")
    other = tmp_path / "model.txt"
    other.write_text("x")
    with pytest.raises(InputFileError, match=r"\.gempy"):
        load_gempy_model(other)
