"""Shared factories for the test suite: a tiny hand-made district with its project file
(written by the library's one project-file writer, :mod:`voxprospect.io.toml_text`).

Imported by test modules as ``tests_shared`` (``tests/`` is on ``pythonpath``, see
pyproject.toml), beside the fixtures in ``conftest.py`` (``small_grid``,
``small_volume``, ``tiny_project``).
"""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path

import numpy as np

from voxprospect import Volume, VoxelGrid
from voxprospect.io import write_volume
from voxprospect.io.toml_text import toml_text

GRID = VoxelGrid((400_000.0, 3_000_000.0, -1_000.0), (100.0, 100.0, 50.0), (26, 22, 10), "EPSG:32651")

def tiny_project_tables(folder: str = "", models=("DL1", "RF"), epochs: int = 2, batch_size: int | None = 64,
                        protocols=("random", "spatial", "deposit"), max_distance_m: int = 1500,
                        min_distance_m: int = 500) -> dict:
    """The tiny district's project file as tables (for :func:`voxprospect.io.toml_text.toml_text`).

    ``folder`` is put before the input file names (``"{d}"`` leaves a placeholder for
    ``str.format``); the other arguments are the keys the test modules vary.
    """
    where = f"{folder}/" if folder else ""
    training = {"models": list(models), "epochs": epochs}
    if batch_size is not None:
        training["batch_size"] = batch_size
    training["ensemble"] = 1  # one network a CNN: the default deep ensemble (5) would make every test 5x slower
    training["protocols"] = list(protocols)
    return {
        "project": {"name": "tiny", "seed": 3, "output_dir": "out"},
        "inputs": {"geology": {"path": f"{where}geology.vti"}, "geophysics": {"path": f"{where}geophysics.vti"}},
        "evidence": [{"name": "intrusion", "kind": "buffer", "source": "geology", "layer": "lithology",
                      "classes": ["granodiorite"], "transform": "fuzzy", "max_distance_m": max_distance_m},
                     {"name": "density", "kind": "geophysics", "source": "geophysics", "layer": "density"}],
        "orebodies": {"source": "geology", "layer": "orebody"},
        "samples": {"window": 3, "min_distance_m": min_distance_m},
        "training": training,
    }


def tiny_project_toml(header: str | None = None, **options) -> str:
    """The tiny district's project file text (:func:`tiny_project_tables` ``**options``)."""
    return toml_text(tiny_project_tables(**options), header=header)


def tiny_district_volumes(grid, body_centre, body_radius2, deposits, air_from_k) -> dict:
    """A granodiorite ball (class 1) in host rock, deposits beside it, a density high over it.

    ``deposits`` are index slices (one per deposit, ids from 1); cells from level
    ``air_from_k`` up are air. Returns the layers, the active mask, the geology volume
    and the random generator the density noise came from (seed 0), for more layers.
    """
    i, j, k = np.meshgrid(*(np.arange(n) for n in grid.shape), indexing="ij")
    active = k < air_from_k
    ci, cj, ck = body_centre
    lith = np.zeros(grid.shape, np.int16)
    lith[(i - ci) ** 2 + (j - cj) ** 2 + (k - ck) ** 2 <= body_radius2] = 1
    ore = np.zeros(grid.shape, np.int16)
    for n, where in enumerate(deposits, start=1):
        ore[where] = n
    rng = np.random.default_rng(0)
    dens = (2.65 + 0.1 * (lith == 1) + 0.02 * rng.standard_normal(grid.shape)).astype(np.float32)
    classes = {"lithology": {0: "host", 1: "granodiorite"}, "orebody": {0: "barren", 1: "East", 2: "North"}}
    geology = Volume(grid, {"lithology": lith, "orebody": ore}, active, classes=classes)
    return {"active": active, "lithology": lith, "orebody": ore, "density": dens, "geology": geology, "rng": rng}


def make_tiny_project(folder, models='["DL1", "RF"]', with_ore=True):
    """Two small deposits beside a granodiorite body, a density high over it."""
    folder.mkdir(parents=True, exist_ok=True)
    deposits = [np.s_[9:11, 5:8, 3:6],   # deposit 1 at the body's east contact
                np.s_[5:8, 9:11, 2:4]] if with_ore else []  # deposit 2 at its north contact
    tiny = tiny_district_volumes(GRID, (6, 6, 4), 9, deposits, air_from_k=9)  # top level is air
    dens = tiny["density"]
    dens[~tiny["active"]] = np.nan
    write_volume(tiny["geology"], folder / "geology.vti")
    write_volume(Volume(GRID, {"density": dens}, tiny["active"]), folder / "geophysics.vti")
    model_names = json.loads(models)  # a TOML array of strings is JSON too
    (folder / "project.toml").write_text(tiny_project_toml(models=model_names))
    return folder / "project.toml"


def write_csv(path, header, rows):
    """A small CSV table (drillhole collars, surveys, intervals) written for a test."""
    import csv

    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


@functools.lru_cache(maxsize=None)
def command_tests():
    """``tests/badinput/test_commands.py`` as a module (its ``PROJECT`` text and district),
    loaded once: the CLI and output tests run real commands on the same district."""
    spec = importlib.util.spec_from_file_location("badinput_commands",
                                                  Path(__file__).parent / "badinput" / "test_commands.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def command_district(tmp_path_factory) -> dict:
    """The bad-input tests' tiny district (files, project, trained RF and CNN), built in a
    fresh folder: the body of their module fixture ``district``."""
    return command_tests().district.__wrapped__(tmp_path_factory)
