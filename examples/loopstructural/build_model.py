"""Build the LoopStructural example: a folded, dipping sequence interpolated from
contact points and bedding orientations, saved as a JSON recipe, and three small
replacement deposits at the limestone-shale contact (the known orebodies).

    python examples/loopstructural/build_model.py
    voxprospect run examples/loopstructural/project.toml

Writes, beside this script: ``data.csv`` (the points and orientations), ``geology.json``
(LoopStructural's recipe, which ``project.toml`` reads as an input and evaluates on the
project grid) and ``orebodies.vti``. Seed-free: every number below is fixed.
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


def points_and_orientations():
    import pandas as pd

    rows = []
    xs = X0 + np.linspace(100, SIZE - 100, 6)
    ys = Y0 + np.linspace(100, SIZE - 100, 8)
    for height in (0.0, 120.0, 320.0):
        for x in xs:
            for y in ys:
                rows.append(dict(X=x, Y=y, Z=contact_elevation(x, y, height), val=1000.0 + height,
                                 feature_name="strati"))
    # bedding poles from the surface's gradient at a few outcrops
    for x in xs[::2]:
        for y in ys[::2]:
            e = 1.0
            dzdx = (contact_elevation(x + e, y, 0) - contact_elevation(x - e, y, 0)) / (2 * e)
            dzdy = (contact_elevation(x, y + e, 0) - contact_elevation(x, y - e, 0)) / (2 * e)
            n = np.array([-dzdx, -dzdy, 1.0])
            n /= np.linalg.norm(n)
            rows.append(dict(X=x, Y=y, Z=contact_elevation(x, y, 60.0), gx=n[0], gy=n[1], gz=n[2],
                             feature_name="strati"))
    return pd.DataFrame(rows)


def build_model():
    from LoopStructural import GeologicalModel

    from voxprospect.io.loop import _quiet

    with _quiet():
        model = GeologicalModel([X0, Y0, -DEPTH], [X0 + SIZE, Y0 + SIZE, 0.0])
        model.data = points_and_orientations()
        model.create_and_add_foliation("strati")
        column = model.stratigraphic_column
        column.clear(basement=False)
        for name, thickness in COLUMN:
            column.add_unit(name, thickness=thickness)
        column.group_mapping["Group_0"] = "strati"
        model.update(progressbar=False)
    return model


def main():
    from voxprospect import Volume
    from voxprospect.io import write_volume
    from voxprospect.io.loop import _quiet, compute_loop_model_on_grid
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    from voxprospect import VoxelGrid

    model = build_model()
    model.data.to_csv(HERE / "data.csv", index=False)
    with _quiet():
        model.save_recipe(HERE / "geology.json", data_reference="data.csv")
    # the project's [grid] (the project itself cannot load before orebodies.vti exists)
    g = tomllib.loads((HERE / "project.toml").read_text())["grid"]
    grid = VoxelGrid(g["origin"], g["cell_size"], g["shape"], g["crs"])
    geology = compute_loop_model_on_grid(model, grid)
    # deposits: limestone within 40 m below the shale (scalar 1080-1120), in three pods
    field = geology["scalar_strati"]
    host = (field > 1080.0) & (field < 1120.0)
    centres = grid.cell_centres().reshape(*grid.shape, 3, order="F")
    orebody = np.zeros(grid.shape, np.int16)
    for dep, (px, py) in enumerate([(500, 600), (1400, 900), (900, 1600)], start=1):
        near = (centres[..., 0] - X0 - px) ** 2 + (centres[..., 1] - Y0 - py) ** 2 < 180.0 ** 2
        orebody[host & near] = dep
    counts = [int((orebody == d).sum()) for d in (1, 2, 3)]
    write_volume(Volume(grid, {"orebody": orebody}, geology.active,
                        {"orebody": {0: "barren", 1: "West pod", 2: "East pod", 3: "North pod"}}),
                 HERE / "orebodies.vti")
    print(f"geology.json, data.csv, orebodies.vti written; deposit voxels: {counts}")


if __name__ == "__main__":
    main()
