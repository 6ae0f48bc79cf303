"""LoopStructural models evaluated on our grid: units, scalar fields and fault sides land
on the right cells (a real LoopStructural model built from points and orientations)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from voxprospect import VoxelGrid
from voxprospect.errors import InputFileError

pytest.importorskip("LoopStructural")
pd = pytest.importorskip("pandas")

FAULT_X = 500.0
# the fault throws 1 m only: its blocks are tested, and the contacts stay where the data put them
# contacts at z = -500 (base/mid) and -200 (mid/top): 50 m from the nearest 100 m cell centre
BASE_TOP, MID_TOP = -500.0, -200.0


def _data(with_fault):
    rows = []
    for x in np.linspace(50, 950, 4):
        for y in np.linspace(50, 950, 4):
            rows.append(dict(X=x, Y=y, Z=BASE_TOP, val=1000.0, feature_name="strati"))
            rows.append(dict(X=x, Y=y, Z=MID_TOP, val=1300.0, feature_name="strati"))
    rows.append(dict(X=500, Y=500, Z=-300, gx=0, gy=0, gz=1, feature_name="strati"))
    if with_fault:
        for y in np.linspace(50, 950, 5):
            for z in (-900, -500, -100):
                rows.append(dict(X=FAULT_X, Y=y, Z=z, val=0.0, feature_name="F1"))
        rows.append(dict(X=FAULT_X, Y=500, Z=-500, gx=1, gy=0, gz=0, feature_name="F1"))
    return pd.DataFrame(rows)


def build_model(with_fault=True, nelements=2000):
    from LoopStructural import GeologicalModel

    from voxprospect.io.loop import _quiet

    with _quiet():
        model = GeologicalModel([0, 0, -1000], [1000, 1000, 0])
        model.data = _data(with_fault)
        if with_fault:
            model.create_and_add_fault("F1", displacement=1.0, nelements=2000, fault_slip_vector=[0, 0, -1])
        model.create_and_add_foliation("strati", **({"nelements": nelements} if nelements else {}))
        column = model.stratigraphic_column
        column.clear(basement=False)
        column.add_unit("base", thickness=1000)
        column.add_unit("mid", thickness=300)
        column.add_unit("top", thickness=1e6)
        column.group_mapping["Group_0"] = "strati"
        model.update(progressbar=False)
    return model


@pytest.fixture(scope="module")
def faulted():
    return build_model(with_fault=True)


@pytest.fixture(scope="module")
def grid():
    # one column of cells west of the model's box (x < 0): outside, so inactive
    return VoxelGrid((-100.0, 0.0, -1000.0), (100.0, 100.0, 100.0), (11, 10, 10), "EPSG:32615")


def _expected_unit(z):
    return np.where(z < BASE_TOP, "base", np.where(z < MID_TOP, "mid", "top"))


def test_units_scalar_field_and_fault_sides_at_cell_centres(faulted, grid):
    from voxprospect.io.loop import compute_loop_model_on_grid

    vol = compute_loop_model_on_grid(faulted, grid)
    table = vol.classes["lithology"]
    assert set(table.values()) == {"no unit", "base", "mid", "top"}
    inside = vol.active[1:]
    assert inside.all() and not vol.active[0].any()

    z = grid.axis_centres(2)
    names = np.vectorize(table.get)(vol["lithology"][1:])
    assert (names == _expected_unit(z)[None, None, :]).all()
    assert (vol["lithology"][0] == 0).all()

    # our layer is LoopStructural's own evaluation at our cell centres (same float64 call)
    centres = grid.cell_centres()
    flat_active = vol.active.ravel(order="F")
    ref = faulted.evaluate_feature_value("strati", centres[flat_active])
    got = vol["scalar_strati"].ravel(order="F")[flat_active]
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=0)
    assert np.isnan(vol["scalar_strati"][0]).all()
    ids = faulted.evaluate_model(centres[flat_active]) + 1
    assert (vol["lithology"].ravel(order="F")[flat_active] == ids).all()

    x = grid.axis_centres(0)
    block = vol["fault_block_F1"]
    assert (block[1:][x[1:] < FAULT_X].astype(bool) == False).all()  # noqa: E712
    assert block[1:][x[1:] > FAULT_X].all()
    assert (vol["fault_block"] == block).all()
    assert vol.meta["loopstructural"]["faults"] == ["F1"]


def test_recipe_with_relative_data_file_read_through_read_volume(tmp_path, grid, monkeypatch):
    from voxprospect.io import read_volume, sniff_format
    from voxprospect.io.loop import compute_loop_model_on_grid, _quiet

    # a recipe keeps the data and the column, not the interpolator settings: the
    # reference is built with LoopStructural's defaults, as the recipe is rebuilt
    model = build_model(with_fault=False, nelements=None)
    folder = tmp_path / "model"
    folder.mkdir()
    model.data.to_csv(folder / "data.csv", index=False)
    with _quiet():
        model.save_recipe(folder / "model.json", data_reference="data.csv")
    monkeypatch.chdir(tmp_path)  # the data file is found beside the recipe, not in the cwd
    assert sniff_format(folder / "model.json") == "loopstructural-recipe"
    vol = read_volume(folder / "model.json", grid=grid)
    ref = compute_loop_model_on_grid(model, grid)
    assert (vol["lithology"] == ref["lithology"]).all()
    assert (vol.active == ref.active).all()
    # the rebuilt model solves the same system; the CG solver stops at 1e-7 absolute residual
    span = np.nanmax(ref["scalar_strati"]) - np.nanmin(ref["scalar_strati"])
    np.testing.assert_allclose(vol["scalar_strati"], ref["scalar_strati"], atol=1e-6 * span)


def test_recipe_without_grid_uses_the_model_box(tmp_path):
    from voxprospect.io import read_volume
    from voxprospect.io.loop import _quiet

    model = build_model(with_fault=False)
    with _quiet():
        model.save_recipe(tmp_path / "m.json")
    vol = read_volume(tmp_path / "m.json")
    assert vol.grid.bounds == pytest.approx((0, 1000, 0, 1000, -1000, 0))
    assert vol.active.all()


def test_saved_recipe_of_a_faulted_model_asks_for_the_fault_parameters(tmp_path, faulted):
    # LoopStructural saves a fault as a "structural_frame" with no displacement; a
    # recipe with its parameters is read (tests/io/test_loop_faults.py)
    from voxprospect.io import read_volume
    from voxprospect.io.loop import _quiet

    with _quiet():
        faulted.save_recipe(tmp_path / "f.json")
    with pytest.raises(InputFileError, match=r"F1 \(structural_frame\).*\"displacement\""):
        read_volume(tmp_path / "f.json")


def test_pickles_are_never_loaded(tmp_path):
    from voxprospect.io import read_volume

    marker = tmp_path / "unpickled"

    class Payload:
        def __reduce__(self):
            return (marker.touch, ())

    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(Payload(), protocol=4))
    with pytest.raises(InputFileError, match="never loads pickles"):
        read_volume(path)
    assert not marker.exists()


def test_recipe_as_a_project_input_is_evaluated_on_the_project_grid(tmp_path, grid):
    from voxprospect.io.loop import _quiet
    from voxprospect.workflows.project import load_project

    model = build_model(with_fault=False)
    with _quiet():
        model.save_recipe(tmp_path / "geology.json")
    (tmp_path / "p.toml").write_text(
        "[grid]\norigin = [-100.0, 0.0, -1000.0]\ncell_size = [100.0, 100.0, 100.0]\nshape = [11, 10, 10]\n"
        "crs = \"EPSG:32615\"\n[inputs.geology]\npath = \"geology.json\"\nformat = \"loopstructural-recipe\"\n")
    vols = load_project(tmp_path / "p.toml").load_inputs()
    assert vols["geology"].grid == grid
    names = np.vectorize(vols["geology"].classes["lithology"].get)(vols["geology"]["lithology"][1:])
    assert (names == _expected_unit(grid.axis_centres(2))[None, None, :]).all()
