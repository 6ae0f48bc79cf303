"""The LoopStructural example builds its model and the project reads it on its grid
(the full run, ~2 min on two cores, is the example's own command)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("LoopStructural")

EXAMPLE = Path(__file__).parents[2] / "examples" / "loopstructural"


def test_example_builds_and_its_project_loads(tmp_path):
    from voxprospect.workflows.project import load_project

    for name in ("build_model.py", "project.toml"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    spec = importlib.util.spec_from_file_location("build_model", tmp_path / "build_model.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main()
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
