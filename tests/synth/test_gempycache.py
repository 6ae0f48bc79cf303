"""The gempy district cache (issue 17): keyed by version, seed and preset, verified by hash,
and a district built from it is bit-identical to one built by gempy."""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import pytest

pytest.importorskip("gempy")

from voxprospect import Volume, VoxelGrid, __version__
from voxprospect.synth.district import DISTRICT_FILES, make_district, write_district
from voxprospect.synth.gempycache import cache_key, cached_geomodel


def _files(district, folder):
    write_district(district, folder)
    return {name: (folder / name).read_bytes() for name in DISTRICT_FILES}


@pytest.fixture(scope="module")
def cold(tmp_path_factory):
    """One district built by gempy with the cache on (it stores the entry), and its files."""
    root = tmp_path_factory.mktemp("gempycache")
    old = os.environ.get("VOXPROSPECT_CACHE_DIR")
    os.environ["VOXPROSPECT_CACHE_DIR"] = str(root / "cache")
    try:
        built = make_district("tiny", seed=42)
        yield root / "cache" / "districts", built, _files(built, root / "cold")
    finally:
        os.environ["VOXPROSPECT_CACHE_DIR"] = old if old is not None else "off"


def test_a_district_from_the_cache_writes_the_same_files(cold, tmp_path):
    cache, built, files = cold
    assert built.gempy_cached is False
    (entry,) = cache.iterdir()
    assert "tiny" in entry.name and "seed42" in entry.name and f"v{__version__}" in entry.name
    again = make_district("tiny", seed=42)
    assert again.gempy_cached is True
    assert _files(again, tmp_path / "again") == files


def test_a_damaged_entry_is_ignored_and_rebuilt(cold, tmp_path):
    cache, _, files = cold
    (entry,) = cache.iterdir()
    arrays = entry / "arrays.npz"
    data = bytearray(arrays.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte: the hash no longer matches
    arrays.write_bytes(bytes(data))
    rebuilt = make_district("tiny", seed=42)
    assert rebuilt.gempy_cached is False
    assert _files(rebuilt, tmp_path / "rebuilt") == files
    record = json.loads((entry / "record.json").read_text())
    assert hashlib.sha256(arrays.read_bytes()).hexdigest() == record["sha256"]  # stored afresh
    assert make_district("tiny", seed=42).gempy_cached is True


def _volume():
    grid = VoxelGrid((0.0, 0.0, 0.0), (10.0, 10.0, 5.0), (4, 3, 2))
    rng = np.random.default_rng(0)
    return Volume(grid, {"lithology": rng.integers(0, 3, grid.shape).astype(np.int16)},
                  rng.random(grid.shape) > 0.3, {"lithology": {0: "a", 1: "b", 2: "c"}},
                  {"gempy": {"elements": ["b", "a"], "dtype": "float32"}})


def test_the_key_holds_preset_seed_structures_and_caching_off_touches_nothing(tmp_path, monkeypatch):
    keys = {cache_key(p, s, g) for p, s, g in [("small", 1, {"a": 1}), ("small", 2, {"a": 1}),
                                               ("tiny", 1, {"a": 1}), ("small", 1, {"a": 2})]}
    assert len(keys) == 4
    calls = []

    def compute():
        calls.append(1)
        return _volume()

    monkeypatch.setenv("VOXPROSPECT_CACHE_DIR", "off")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    for _ in range(2):
        _, hit = cached_geomodel("tiny", 1, {}, _volume().grid, compute)
        assert not hit
    assert len(calls) == 2 and not any(tmp_path.iterdir())
    monkeypatch.setenv("VOXPROSPECT_CACHE_DIR", str(tmp_path / "on"))
    first, hit1 = cached_geomodel("tiny", 1, {}, _volume().grid, compute)
    second, hit2 = cached_geomodel("tiny", 1, {}, _volume().grid, compute)
    assert (hit1, hit2, len(calls)) == (False, True, 3)
    assert np.array_equal(first["lithology"], second["lithology"])
    assert np.array_equal(first.active, second.active)
    assert first.classes == second.classes and first.meta == second.meta
    assert list(first.meta["gempy"]) == list(second.meta["gempy"])  # key order too
    # another grid shape never takes the entry
    other_grid = VoxelGrid((0.0, 0.0, 0.0), (10.0, 10.0, 5.0), (4, 3, 3))
    assert not cached_geomodel("tiny", 1, {}, other_grid, lambda: Volume(other_grid, {}))[1]
