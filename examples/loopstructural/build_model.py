"""Build the LoopStructural example: a folded, dipping sequence interpolated from
contact points and bedding orientations, saved as a JSON recipe, and three small
replacement deposits at the limestone-shale contact (the known orebodies); and the same
sequence cut by a normal fault, saved as a faulted recipe.

    python examples/loopstructural/build_model.py
    voxprospect run examples/loopstructural/project.toml
    voxprospect run examples/loopstructural/project_faulted.toml

Writes, beside this script: ``data.csv`` (the points and orientations), ``geology.json``
(LoopStructural's recipe, which ``project.toml`` reads as an input and evaluates on the
project grid) and ``orebodies.vti``; and ``data_faulted.csv``, ``geology_faulted.json``
(the recipe LoopStructural saves, with the fault's parameters added to its entry, which
a saved recipe does not keep; docs/formats.md) and ``orebodies_faulted.vti`` for
``project_faulted.toml``. Seed-free: every number below is fixed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
X0, Y0 = 650_000.0, 7_420_000.0  # a UTM box (EPSG:32754), 2 x 2 km, 800 m deep
SIZE, DEPTH = 2000.0, 800.0
# unit thicknesses from the bottom (scalar field = stratigraphic height above the
# base of the limestone, + 1000 so the basement's range stays positive)
COLUMN = [("basement", 1000.0), ("limestone", 120.0), ("shale", 200.0), ("sandstone", 1e6)]


def contact_elevation(x, y, height):
    """Elevation of the surface ``height`` metres above the limestone base: dipping 8 degrees
    east, folded along y with a 700 m wavelength."""
    return -650.0 + height - np.tan(np.radians(8)) * (x - X0) + 40.0 * np.sin(2 * np.pi * (y - Y0) / 700.0)


# the fault: striking north, through x = X0 + FAULT_X at the surface, dipping 70 degrees
# east; the hanging wall (east) went FAULT_SLIP metres up the dip: a reverse fault, which
# lifts the limestone of the deep eastern side back into the box
FAULT_X, FAULT_DIP, FAULT_SLIP = 1000.0, 70.0, 150.0
FAULT_NORMAL = (np.sin(np.radians(FAULT_DIP)), 0.0, np.cos(np.radians(FAULT_DIP)))  # up and east
DOWN_DIP = (np.cos(np.radians(FAULT_DIP)), 0.0, -np.sin(np.radians(FAULT_DIP)))
# LoopStructural's sense: the side the fault normal points to (here the hanging wall) is
# restored by `displacement` along `fault_slip_vector`, i.e. it moved the other way: a
# down-dip vector and a positive displacement lift the hanging wall. Axes ten times the
# box: the slip is the same everywhere in it.
FAULT = {"kind": "fault", "displacement": FAULT_SLIP, "fault_slip_vector": list(DOWN_DIP),
         "major_axis": 20_000.0, "minor_axis": 20_000.0, "intermediate_axis": 20_000.0, "cuts": ["strati"]}


def fault_x(z):
    """Easting of the fault plane at elevation ``z`` (z <= 0)."""
    return X0 + FAULT_X - np.asarray(z) / np.tan(np.radians(FAULT_DIP))


def faulted_contact_elevation(x, y, height):
    """Elevation of the surface ``height`` above the limestone base after faulting (NaN
    where it is cut out): the hanging wall's rock at (x, y, z) came from (x - dx, y,
    z - dz), (dx, dz) the slip, up the dip."""
    dx, dz = -FAULT_SLIP * DOWN_DIP[0], -FAULT_SLIP * DOWN_DIP[2]
    z_foot = contact_elevation(x, y, height)
    z_hang = contact_elevation(x - dx, y, height) + dz
    return np.where(x > fault_x(z_hang), z_hang, np.where(x < fault_x(z_foot), z_foot, np.nan))


def restored(x, y, z):
    """Where the rock now at (x, y, z) was before faulting: the hanging wall moved back
    down the dip, the footwall where it is."""
    dx, dz = -FAULT_SLIP * DOWN_DIP[0], -FAULT_SLIP * DOWN_DIP[2]
    hanging = np.asarray(x) > fault_x(np.minimum(z, 0.0))
    return np.where(hanging, x - dx, x), y, np.where(hanging, z - dz, z)


def true_unit(x, y, z, faulted=False):
    """The unit of the example's geology at (x, y, z): its height above the limestone
    base against the column's thicknesses."""
    if faulted:
        x, y, z = restored(x, y, z)
    height = np.asarray(z) - contact_elevation(x, y, 0.0)
    tops = np.cumsum([0.0] + [t for _, t in COLUMN[1:]])  # limestone base, shale base, ...
    names = np.array([name for name, _ in COLUMN])
    return names[np.searchsorted(tops, height, side="right")]


def points_and_orientations(faulted=False):
    import pandas as pd

    surface = faulted_contact_elevation if faulted else contact_elevation
    rows = []
    xs = X0 + np.linspace(100, SIZE - 100, 6 if not faulted else 10)
    ys = Y0 + np.linspace(100, SIZE - 100, 8)
    for height in (0.0, 120.0, 320.0):
        for x in xs:
            for y in ys:
                z = float(surface(x, y, height))
                if np.isfinite(z):  # a contact in the fault's gap is not observed
                    rows.append(dict(X=x, Y=y, Z=z, val=1000.0 + height, feature_name="strati"))
    # bedding poles from the surface's gradient at a few outcrops (the fault moves, not
    # rotates, the beds)
    for x in xs[::2]:
        for y in ys[::2]:
            e = 1.0
            dzdx = (surface(x + e, y, 60.0) - surface(x - e, y, 60.0)) / (2 * e)
            dzdy = (surface(x, y + e, 60.0) - surface(x, y - e, 60.0)) / (2 * e)
            if not np.isfinite(dzdx + dzdy):
                continue
            n = np.array([-dzdx, -dzdy, 1.0])
            n /= np.linalg.norm(n)
            rows.append(dict(X=x, Y=y, Z=float(surface(x, y, 60.0)), gx=n[0], gy=n[1], gz=n[2],
                             feature_name="strati"))
    if faulted:
        # the fault plane seen at a few points, and its pole once
        for y in Y0 + np.linspace(100, SIZE - 100, 5):
            for z in (-700.0, -400.0, -100.0):
                rows.append(dict(X=float(fault_x(z)), Y=y, Z=z, val=0.0, feature_name="F1"))
        rows.append(dict(X=float(fault_x(-400.0)), Y=Y0 + SIZE / 2, Z=-400.0, gx=FAULT_NORMAL[0],
                         gy=FAULT_NORMAL[1], gz=FAULT_NORMAL[2], feature_name="F1"))
    return pd.DataFrame(rows)


def build_model(faulted=False):
    from LoopStructural import GeologicalModel

    from voxprospect.io.loop import _quiet

    with _quiet():
        model = GeologicalModel([X0, Y0, -DEPTH], [X0 + SIZE, Y0 + SIZE, 0.0])
        model.data = points_and_orientations(faulted)
        if faulted:
            params = {k: v for k, v in FAULT.items() if k not in ("kind", "displacement", "cuts")}
            model.create_and_add_fault("F1", FAULT["displacement"], **params)
        model.create_and_add_foliation("strati")
        column = model.stratigraphic_column
        column.clear(basement=False)
        for name, thickness in COLUMN:
            column.add_unit(name, thickness=thickness)
        column.group_mapping["Group_0"] = "strati"
        model.update(progressbar=False)
    return model


def save_faulted_recipe(model, path, data_name):
    """LoopStructural's own recipe, plus the fault's parameters: a saved recipe keeps a
    fault as a bare "structural_frame" entry without its displacement."""
    import json

    from voxprospect.io.loop import _quiet

    with _quiet():
        recipe = model.to_recipe_dict(data_reference=data_name)
    for entry in recipe["model"]["features"]:
        if entry["name"] == "F1":
            entry.update(FAULT)
    path.write_text(json.dumps(recipe, indent=2))


def orebodies(geology, grid):
    """Deposits: limestone within 40 m below the shale (scalar 1080-1120), in three pods."""
    field = geology["scalar_strati"]
    host = (field > 1080.0) & (field < 1120.0)
    centres = grid.cell_centres().reshape(*grid.shape, 3, order="F")
    ore = np.zeros(grid.shape, np.int16)
    for dep, (px, py) in enumerate([(500, 600), (1400, 900), (900, 1600)], start=1):
        near = (centres[..., 0] - X0 - px) ** 2 + (centres[..., 1] - Y0 - py) ** 2 < 180.0 ** 2
        ore[host & near] = dep
    return ore


def main(faulted=True):
    """Write the example's files; ``faulted=False`` skips the faulted variant."""
    from voxprospect import Volume
    from voxprospect.io import write_volume
    from voxprospect.io.loop import _quiet, compute_loop_model_on_grid
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    from voxprospect import VoxelGrid

    # the project's [grid] (the project itself cannot load before orebodies.vti exists)
    g = tomllib.loads((HERE / "project.toml").read_text())["grid"]
    grid = VoxelGrid(g["origin"], g["cell_size"], g["shape"], g["crs"])
    classes = {"orebody": {0: "barren", 1: "West pod", 2: "East pod", 3: "North pod"}}
    for variant in (False, True) if faulted else (False,):
        suffix = "_faulted" if variant else ""
        model = build_model(variant)
        model.data.to_csv(HERE / f"data{suffix}.csv", index=False)
        if variant:
            save_faulted_recipe(model, HERE / "geology_faulted.json", "data_faulted.csv")
        else:
            with _quiet():
                model.save_recipe(HERE / "geology.json", data_reference="data.csv")
        geology = compute_loop_model_on_grid(model, grid)
        ore = orebodies(geology, grid)
        counts = [int((ore == d).sum()) for d in (1, 2, 3)]
        write_volume(Volume(grid, {"orebody": ore}, geology.active, classes), HERE / f"orebodies{suffix}.vti")
        print(f"geology{suffix}.json, data{suffix}.csv, orebodies{suffix}.vti written; deposit voxels: {counts}")


if __name__ == "__main__":
    main()
