"""Shared factories for the test suite: a tiny hand-made district with its project file.

Imported by test modules as ``tests_shared`` (``tests/`` is on ``pythonpath``, see
pyproject.toml), beside the fixtures in ``conftest.py`` (``small_grid``,
``small_volume``, ``tiny_project``).
"""

from __future__ import annotations

import numpy as np

from voxprospect import Volume, VoxelGrid
from voxprospect.io import write_volume

GRID = VoxelGrid((400_000.0, 3_000_000.0, -1_000.0), (100.0, 100.0, 50.0), (26, 22, 10), "EPSG:32651")

PROJECT = """
[project]
name = "tiny"
seed = 3
output_dir = "out"

[inputs.geology]
path = "geology.vti"

[inputs.geophysics]
path = "geophysics.vti"

[[evidence]]
name = "intrusion"
kind = "buffer"
source = "geology"
layer = "lithology"
classes = ["granodiorite"]
transform = "fuzzy"
max_distance_m = 1500

[[evidence]]
name = "density"
kind = "geophysics"
source = "geophysics"
layer = "density"

[orebodies]
source = "geology"
layer = "orebody"

[samples]
window = 3
min_distance_m = 500

[training]
models = {models}
epochs = 2
batch_size = 64
ensemble = 1
protocols = ["random", "spatial", "deposit"]
"""


def make_tiny_project(folder, models='["DL1", "RF"]', with_ore=True):
    """Two small deposits beside a granodiorite body, a density high over it."""
    folder.mkdir(parents=True, exist_ok=True)
    i, j, k = np.meshgrid(*(np.arange(n) for n in GRID.shape), indexing="ij")
    active = k < 9  # top level is air
    lith = np.zeros(GRID.shape, np.int16)
    lith[(i - 6) ** 2 + (j - 6) ** 2 + (k - 4) ** 2 <= 9] = 1
    ore = np.zeros(GRID.shape, np.int16)
    if with_ore:
        ore[9:11, 5:8, 3:6] = 1       # deposit 1 at the body's east contact
        ore[5:8, 9:11, 2:4] = 2       # deposit 2 at its north contact
    rng = np.random.default_rng(0)
    dens = (2.65 + 0.1 * (lith == 1) + 0.02 * rng.standard_normal(GRID.shape)).astype(np.float32)
    dens[~active] = np.nan
    geology = Volume(GRID, {"lithology": lith, "orebody": ore}, active,
                     classes={"lithology": {0: "host", 1: "granodiorite"},
                              "orebody": {0: "barren", 1: "East", 2: "North"}})
    write_volume(geology, folder / "geology.vti")
    write_volume(Volume(GRID, {"density": dens}, active), folder / "geophysics.vti")
    (folder / "project.toml").write_text(PROJECT.replace("{models}", models))
    return folder / "project.toml"


