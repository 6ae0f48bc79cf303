"""Faulted LoopStructural models read from a JSON recipe: the fault is built through
LoopStructural's own create_and_add_fault, and the voxelised units are offset across it
by the recipe's displacement (a real faulted model, evaluated on our grid)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from voxprospect import VoxelGrid
from voxprospect.errors import InputFileError

pytest.importorskip("LoopStructural")
pd = pytest.importorskip("pandas")

FAULT_X = 500.0
BASE_TOP, MID_TOP = -500.0, -300.0  # the contacts where the data put them (footwall only)
DISPLACEMENT = 130.0
# the displacement reaches the whole 1 km box at full strength: LoopStructural's fault
# profile falls from 1 on the fault to 0 at minor_axis, with zero slope at the fault
GEOMETRY = dict(fault_slip_vector=[0, 0, -1], major_axis=3000.0, minor_axis=5000.0,
                intermediate_axis=3000.0, nelements=3000)
FOLIATION = dict(nelements=3000)
# a slab of cells across the fault, 20 m high: each contact is found to half a cell
GRID = VoxelGrid((0.0, 400.0, -1000.0), (50.0, 100.0, 20.0), (20, 2, 50), "EPSG:32615")


def _data():
    rows = []
    # the stratigraphy is observed west of the fault only: east of it, the units are
    # where the fault puts them, nothing else
    for x in np.linspace(50, 450, 4):
        for y in np.linspace(50, 950, 4):
            rows.append(dict(X=x, Y=y, Z=BASE_TOP, val=1000.0, feature_name="strati"))
            rows.append(dict(X=x, Y=y, Z=MID_TOP, val=1200.0, feature_name="strati"))
    rows.append(dict(X=250, Y=500, Z=-400, gx=0, gy=0, gz=1, feature_name="strati"))
    for y in np.linspace(50, 950, 5):
        for z in (-900, -500, -100):
            rows.append(dict(X=FAULT_X, Y=y, Z=z, val=0.0, feature_name="F1"))
    rows.append(dict(X=FAULT_X, Y=500, Z=-500, gx=1, gy=0, gz=0, feature_name="F1"))
    return pd.DataFrame(rows)


def _column(model):
    column = model.stratigraphic_column
    column.clear(basement=False)
    column.add_unit("base", thickness=1000)
    column.add_unit("mid", thickness=200)
    column.add_unit("top", thickness=1e6)
    column.group_mapping["Group_0"] = "strati"


def build_in_memory(displacement=DISPLACEMENT):
    from LoopStructural import GeologicalModel

    from voxprospect.io.loop import _quiet

    with _quiet():
        model = GeologicalModel([0, 0, -1000], [1000, 1000, 0])
        model.data = _data()
        model.create_and_add_fault("F1", displacement, **GEOMETRY)
        model.create_and_add_foliation("strati", **FOLIATION)
        _column(model)
        model.update(progressbar=False)
    return model


def write_recipe(folder):
    """The user's path: LoopStructural's save_recipe of the faulted model, then the
    fault's parameters (which the saved recipe lacks) added to its entry."""
    from voxprospect.io.loop import _quiet

    model = build_in_memory()
    folder.mkdir(exist_ok=True)
    model.data.to_csv(folder / "data.csv", index=False)
    with _quiet():
        model.save_recipe(folder / "faulted.json", data_reference="data.csv")
    recipe = json.loads((folder / "faulted.json").read_text())
    features = {f["name"]: f for f in recipe["model"]["features"]}
    assert features["F1"]["kind"] == "structural_frame"  # what LoopStructural saves
    assert features["strati"]["faults"] == ["F1"]
    features["F1"].update(kind="fault", displacement=DISPLACEMENT, **GEOMETRY)
    features["strati"].update(FOLIATION)
    (folder / "faulted.json").write_text(json.dumps(recipe, indent=1))
    return folder / "faulted.json", model


def edited(recipe, folder, edit):
    """A copy of the recipe (and its data file) with ``edit(features by name)`` applied."""
    r = json.loads(recipe[0].read_text())
    edit({f["name"]: f for f in r["model"]["features"]})
    folder.mkdir(exist_ok=True)
    (folder / "data.csv").write_bytes((recipe[0].parent / "data.csv").read_bytes())
    (folder / "recipe.json").write_text(json.dumps(r))
    return folder / "recipe.json"


def contact_elevation(vol, unit):
    """Per column of the slab, the elevation of the top of ``unit``: midway between the
    highest cell of the unit and the cell above it."""
    table = vol.classes["lithology"]
    uid = next(k for k, v in table.items() if v == unit)
    z = vol.grid.axis_centres(2)
    dz = vol.grid.cell_size[2]
    lith = vol["lithology"]
    out = np.full(lith.shape[:2], np.nan)
    for i, j in np.ndindex(*out.shape):
        k = np.flatnonzero(lith[i, j] == uid)
        if len(k):
            out[i, j] = z[k.max()] + dz / 2
    return out


def _offsets(vol):
    x = vol.grid.axis_centres(0)
    near = np.abs(x - FAULT_X) < 200  # beside the fault, where it displaces at full strength
    east, west = near & (x > FAULT_X), near & (x < FAULT_X)
    out = {}
    for unit in ("base", "mid"):
        top = contact_elevation(vol, unit)
        out[unit] = float(np.mean(top[east]) - np.mean(top[west]))
    return out, east, west


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    return write_recipe(tmp_path_factory.mktemp("faulted"))


def test_units_are_offset_across_the_fault_by_the_displacement(recipe):
    from voxprospect.io import read_volume, sniff_format

    path, _ = recipe
    assert sniff_format(path) == "loopstructural-recipe"
    vol = read_volume(path, grid=GRID)
    offsets, east, west = _offsets(vol)
    # each contact is placed to half a cell (dz / 2) on each side, so the offset to dz
    dz = GRID.cell_size[2]
    for unit, offset in offsets.items():
        # LoopStructural's sense: the side the fault normal points to (fault_block 1, east)
        # is restored along fault_slip_vector ([0, 0, -1]), so it was raised by the displacement
        assert abs(offset - DISPLACEMENT) <= dz, (unit, offset)
    block = vol["fault_block_F1"]
    assert block[east].all() and not block[west].any()
    assert vol.meta["loopstructural"]["faults"] == ["F1"]
    assert vol.meta["loopstructural"]["features"] == ["strati"]
    # the footwall keeps the contacts where the data put them
    west_tops = contact_elevation(vol, "base")[west]
    assert np.all(np.abs(west_tops - BASE_TOP) <= dz / 2)


def test_recipe_rebuilds_the_in_memory_model(recipe):
    from voxprospect.io import read_volume
    from voxprospect.io.loop import compute_loop_model_on_grid

    path, model = recipe
    vol = read_volume(path, grid=GRID)
    ref = compute_loop_model_on_grid(model, GRID)
    assert (vol["fault_block_F1"] == ref["fault_block_F1"]).all()
    # the same LoopStructural calls solve the same systems; CG stops at 1e-7 absolute
    # residual, so the fields agree to a small fraction of their span, and units agree
    # except where a contact passes within that of a cell centre
    span = np.nanmax(ref["scalar_strati"]) - np.nanmin(ref["scalar_strati"])
    np.testing.assert_allclose(vol["scalar_strati"], ref["scalar_strati"], atol=1e-6 * span)
    assert np.mean(vol["lithology"] == ref["lithology"]) > 0.99
    # the units come from the fields already evaluated (each fault applied once): the
    # same ids as LoopStructural's own evaluate_model, cell for cell
    ids = model.evaluate_model(GRID.cell_centres()) + 1
    assert (ref["lithology"].ravel(order="F") == ids).all()


def test_negative_displacement_reverses_the_sense(tmp_path, recipe):
    from voxprospect.io import read_volume

    path = edited(recipe, tmp_path, lambda f: f["F1"].update(displacement=-DISPLACEMENT))
    offsets, _, _ = _offsets(read_volume(path, grid=GRID))
    for unit, offset in offsets.items():
        assert abs(offset + DISPLACEMENT) <= GRID.cell_size[2], (unit, offset)


def test_cuts_on_the_fault_is_the_same_as_faults_on_the_feature(tmp_path, recipe):
    from voxprospect.io import read_volume

    def by_cuts(features):
        features["strati"]["faults"] = []
        features["F1"]["cuts"] = ["strati"]

    path = edited(recipe, tmp_path, by_cuts)
    r = json.loads(path.read_text())
    r["model"]["features"].reverse()  # listed after the foliation it cuts: still built first
    assert r["model"]["features"][0]["name"] == "strati"
    path.write_text(json.dumps(r))
    vol = read_volume(path, grid=GRID)
    ref = read_volume(recipe[0], grid=GRID)
    assert (vol["lithology"] == ref["lithology"]).all()
    assert (vol["fault_block"] == ref["fault_block"]).all()


@pytest.mark.parametrize("edit,message", [
    (lambda f: f["F1"].update(throw=10), r"fault F1 has unknown key\(s\) 'throw'"),
    (lambda f: f["F1"].update(cuts=["stratx"]), r"fault F1 cuts 'stratx', which the recipe does not define"),
    (lambda f: f["strati"].update(faults=["F2"]), r"foliation strati is cut by fault 'F2'"),
    (lambda f: f["F1"].pop("displacement"), r"fault F1 has no displacement"),
    (lambda f: f["F1"].update(displacement="big"), r"displacement must be a finite number"),
    (lambda f: f["F1"].update(fault_slip_vector=[0, 0, 0]), r"fault_slip_vector must be a non-zero"),
    (lambda f: f["F1"].update(kind="structural_frame"), r"F1 \(structural_frame\)"),
    (lambda f: f["F1"].update(faults=["F1"]), r"lists itself"),
    (lambda f: f["strati"].update(faults=[]), r"fault F1 cuts no feature"),
])
def test_bad_fault_entries_are_refused_before_loopstructural_runs(tmp_path, recipe, edit, message):
    from voxprospect.io import read_volume

    path = edited(recipe, tmp_path, edit)
    with pytest.raises(InputFileError, match=message) as err:
        read_volume(path, grid=GRID)
    assert str(path) in str(err.value)


def test_fault_without_data_is_refused(tmp_path, recipe):
    from voxprospect.io import read_volume

    r = json.loads(recipe[0].read_text())
    data = pd.read_csv(recipe[0].parent / "data.csv")
    data.loc[data["feature_name"] == "F1", "val"] = np.nan  # orientations only: no trace
    data.to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "trace.json").write_text(json.dumps(r))
    with pytest.raises(InputFileError, match="no points on the fault surface"):
        read_volume(tmp_path / "trace.json", grid=GRID)
    data[data["feature_name"] != "F1"].to_csv(tmp_path / "data.csv", index=False)
    with pytest.raises(InputFileError, match="fault F1 has no data"):
        read_volume(tmp_path / "trace.json", grid=GRID)


def test_info_and_convert_read_the_faulted_recipe(tmp_path, recipe):
    from click.testing import CliRunner

    from voxprospect import Volume
    from voxprospect.io import read_volume, write_volume
    from voxprospect_cli.main import cli

    path, _ = recipe
    like = tmp_path / "like.vti"
    write_volume(Volume(GRID, {"a": np.zeros(GRID.shape)}), like)
    out = tmp_path / "faulted.vti"
    runner = CliRunner()
    res = runner.invoke(cli, ["convert", str(path), str(out), "--like", str(like)])
    assert res.exit_code == 0, res.output
    vol = read_volume(out)
    assert vol.grid == GRID
    offsets, _, _ = _offsets(vol)  # the class table and layers survive the .vti
    assert all(abs(o - DISPLACEMENT) <= GRID.cell_size[2] for o in offsets.values())
    res = runner.invoke(cli, ["info", "--json", str(path)])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["format"] == "loopstructural-recipe"
    assert d["loopstructural"]["fault_displacements"] == {"F1": DISPLACEMENT}
    assert {"lithology", "scalar_strati", "fault_block_F1", "fault_block"} <= set(d["layers"])
    res = runner.invoke(cli, ["info", str(path)])
    assert res.exit_code == 0, res.output
    assert f"faults F1 (displacement {DISPLACEMENT:g})" in res.output


def test_faults_are_built_before_what_they_cut_and_circles_are_refused():
    from voxprospect.io.loop_recipe import plan_features

    def fault(name, **kw):
        return {"name": name, "kind": "fault", "displacement": 10.0, **kw}

    entries = [{"name": "strati", "kind": "foliation", "faults": ["F2"]},
               fault("F2", faults=["F1"]), fault("F1", cuts=["strati"])]
    plan = plan_features(entries, "m.json")
    assert [s.name for s in plan] == ["F1", "F2", "strati"]
    assert plan[2].faults == ["F2", "F1"] and plan[1].faults == ["F1"]
    circle = [{"name": "s", "faults": ["F1"]}, fault("F1", faults=["F2"]), fault("F2", faults=["F1"])]
    with pytest.raises(InputFileError, match=r"m.json: faults cut each other in a circle \(F1 -> F2 -> F1\)"):
        plan_features(circle, "m.json")
    with pytest.raises(InputFileError, match="defines feature F1 twice"):
        plan_features([fault("F1", cuts=["s"]), fault("F1", cuts=["s"]), {"name": "s"}], "m.json")
    with pytest.raises(InputFileError, match=r"F1 is a foliation"):
        plan_features([{"name": "F1"}, {"name": "s", "faults": ["F1"]}], "m.json")


def test_hand_written_recipe_with_two_faults_adds_their_offsets(tmp_path):
    from voxprospect.io import read_volume

    rows = [r for r in _data().to_dict("records") if r["feature_name"] == "strati" and r["X"] < 300]
    for name, xf in (("F1", 300.0), ("F2", 700.0)):
        for y in np.linspace(50, 950, 5):
            for z in (-900, -500, -100):
                rows.append(dict(X=xf, Y=y, Z=z, val=0.0, feature_name=name))
        rows.append(dict(X=xf, Y=500, Z=-500, gx=1, gy=0, gz=0, feature_name=name))
    pd.DataFrame(rows).to_csv(tmp_path / "points.csv", index=False)
    throws = {"F1": 60.0, "F2": 100.0}
    column = [{"name": n, "thickness": t, "id": i} for i, (n, t) in enumerate([("base", 1000), ("mid", 200),
                                                                               ("top", 1e6)])]
    recipe = {"schema": "LoopStructural.GeologicalModelRecipe", "version": 1, "model": {
        "bounding_box": {"origin": [0, 0, -1000], "maximum": [1000, 1000, 0], "nsteps": [20, 20, 20]},
        "stratigraphic_column": {"elements": column}, "data_source": "points.csv",
        "features": [*({"name": f, "kind": "fault", "displacement": d, "cuts": ["strati"], **GEOMETRY}
                       for f, d in throws.items()), {"name": "strati", **FOLIATION}]}}
    (tmp_path / "two.json").write_text(json.dumps(recipe))
    vol = read_volume(tmp_path / "two.json", grid=GRID)
    top = contact_elevation(vol, "base")
    x = GRID.axis_centres(0)
    dz = GRID.cell_size[2]
    for lo, hi, expected in ((0, 300, 0.0), (300, 700, throws["F1"]), (700, 1000, sum(throws.values()))):
        block = (x > lo + 50) & (x < hi - 50)
        assert np.all(np.abs(top[block] - (BASE_TOP + expected)) <= dz / 2), (lo, top[block])
    assert set(np.unique(vol["fault_block"])) == {0, 1, 3}  # one bit per fault: west, between, east
