"""Shared fixtures: tiny synthetic grids, and the real files in ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
# Never read or write the user's cache folder (per-machine tuning, cached gempy
# districts) from the tests: with caching off, prediction runs the library defaults
# (no timing-dependent choice) and districts are built. Tests of the caches point
# it at a temporary folder themselves.
os.environ["VOXPROSPECT_CACHE_DIR"] = "off"

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public files beside the project (never copied into the repo)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} not found: the real-data tests need ../shared beside the repo")
    return SHARED_DATA


@pytest.fixture
def small_grid():
    from voxprospect import VoxelGrid
    return VoxelGrid((500_000.0, 4_400_000.0, -1_000.0), (50.0, 40.0, 25.0), (9, 7, 6), "EPSG:32651")


@pytest.fixture
def small_volume(small_grid):
    from voxprospect import Volume
    rng = np.random.default_rng(0)
    active = np.ones(small_grid.shape, bool)
    active[:, :, -1] = False  # the top level is "air"
    return Volume(small_grid,
                  {"density": rng.normal(2.7, 0.1, small_grid.shape).astype(np.float32),
                   "lithology": rng.integers(0, 3, small_grid.shape).astype(np.int16)},
                  active=active,
                  classes={"lithology": {0: "host", 1: "granite", 2: "granodiorite"}},
                  meta={"source": "test"})


@pytest.fixture
def tiny_project(tmp_path):
    """A project file over a tiny hand-made district (two deposits, one intrusion, density)."""
    from tests_shared import make_tiny_project
    return make_tiny_project(tmp_path / "district")
