"""The LoopStructural example builds its model and the project reads it on its grid
and its faulted recipe offsets the units by the fault's slip (the full runs, ~2 min
each on two cores, are the example's own commands)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

pytest.importorskip("LoopStructural")

EXAMPLE = Path(__file__).parents[2] / "examples" / "loopstructural"


def test_example_builds_and_its_project_loads(tmp_path):
    from voxprospect.workflows.project import load_project

    mod = _load_script(tmp_path)
    mod.main(faulted=False)
    project = load_project(tmp_path / "project.toml")
    geology = project.load_inputs()["geology"]
    orebodies = project.load_orebodies()
    assert geology.grid == project.grid
    table = geology.classes["lithology"]
    assert set(table.values()) >= {"limestone", "shale", "sandstone"}
    # every deposit voxel is limestone just below the shale, as the script places them
    ore = orebodies["orebody"] > 0
    assert sorted(np.unique(orebodies["orebody"][ore])) == [1, 2, 3]
    names = np.vectorize(table.get)(geology["lithology"][ore])
    assert (names == "limestone").all()
    # the interpolated contact follows the points: the limestone base at a data point
    x, y = mod.X0 + 100.0, mod.Y0 + 100.0
    i = int((x - project.grid.origin[0]) // project.grid.cell_size[0])
    j = int((y - project.grid.origin[1]) // project.grid.cell_size[1])
    col = np.vectorize(table.get)(geology["lithology"][i, j])
    z = project.grid.axis_centres(2)
    zc = mod.contact_elevation(project.grid.axis_centres(0)[i], project.grid.axis_centres(1)[j], 0.0)
    well_below = z < zc - 30
    well_above = (z > zc + 30) & (z < zc + 90)
    assert (col[well_below] == "basement").all() and (col[well_above] == "limestone").all()


def _load_script(tmp_path):
    for name in ("build_model.py", "project.toml", "project_faulted.toml"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    spec = importlib.util.spec_from_file_location("build_model", tmp_path / "build_model.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_faulted_recipe_offsets_the_units_by_the_fault_slip(tmp_path):
    from voxprospect import VoxelGrid
    from voxprospect.io import read_volume
    mod = _load_script(tmp_path)
    model = mod.build_model(faulted=True)
    model.data.to_csv(tmp_path / "data_faulted.csv", index=False)
    mod.save_faulted_recipe(model, tmp_path / "geology_faulted.json", "data_faulted.csv")
    # the faulted project names the recipe as its geology (its full run is the example's)
    project = tomllib.loads((tmp_path / "project_faulted.toml").read_text())
    assert project["inputs"]["geology"]["path"] == "geology_faulted.json"
    g = project["grid"]
    # an east-west slab of the project grid across the fault (4 rows of cells)
    grid = VoxelGrid((g["origin"][0], g["origin"][1] + 800.0, g["origin"][2]), g["cell_size"],
                     (g["shape"][0], 4, g["shape"][2]), g["crs"])
    vol = read_volume(tmp_path / "geology_faulted.json", grid=grid)
    table = vol.classes["lithology"]
    names = np.vectorize(table.get)(vol["lithology"])
    c = grid.cell_centres().reshape(*grid.shape, 3, order="F")
    truth = mod.true_unit(c[..., 0], c[..., 1], c[..., 2], faulted=True)
    assert np.mean(names == truth) > 0.95
    hanging = vol["fault_block_F1"].astype(bool)
    assert (hanging == (c[..., 0] > mod.fault_x(c[..., 2]))).mean() > 0.97

    # the offset of each contact across the fault, measured on the voxelised units:
    # the contact's elevation above its unfaulted one, hanging wall minus footwall,
    # in columns where the contact is 100-400 m from the fault
    dz = grid.cell_size[2]
    z = grid.axis_centres(2)
    x, y = c[:, :, 0, 0], c[:, :, 0, 1]
    for unit, height in (("limestone", 120.0), ("shale", 320.0)):
        in_unit = names == unit
        top = np.where(in_unit.any(axis=2), z[np.argmax(np.where(in_unit, z, -np.inf), axis=2)] + dz / 2, np.nan)
        unfaulted = mod.contact_elevation(x, y, height)
        z_fw = unfaulted
        z_hw = mod.faulted_contact_elevation(x, y, height)
        fw = (x < mod.fault_x(z_fw) - 100) & (x > mod.fault_x(z_fw) - 400)
        hw = (x > mod.fault_x(z_hw) + 100) & (x < mod.fault_x(z_hw) + 400)
        assert fw.sum() >= 8 and hw.sum() >= 8, unit
        measured = np.nanmean((top - unfaulted)[hw]) - np.nanmean((top - unfaulted)[fw])
        expected = np.mean((z_hw - unfaulted)[hw])
        # throw = slip x sin(dip) less what the beds' dip takes back over the heave
        dip = np.radians(mod.FAULT_DIP)
        assert expected == pytest.approx(mod.FAULT_SLIP * (np.sin(dip) - np.tan(np.radians(8)) * np.cos(dip)))
        # each contact is placed to half a cell on each side: the offset to one cell
        assert abs(measured - expected) <= dz, (unit, measured, expected)
