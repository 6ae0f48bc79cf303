"""The synthetic district's gempy model, computed once per seed and preset and cached.

gempy's implicit interpolation is the slowest part of building a district (most of
the ``synth`` step, and of a first ``voxprospect demo``). Its result -- lithology and
fault-block ids on the grid, the active mask, the class table and gempy's element
names -- depends only on the preset's grid, the structures drawn from the seed and
the code that builds and evaluates the model. This module stores that result in the
user cache folder (:mod:`voxprospect.usercache`, ``districts/``) under a key made of
the voxprospect and gempy versions, the preset, the seed, a hash of the drawn
structures and a hash of the model-building code, and on a later build reads it
back instead of running gempy. The arrays are stored losslessly (``.npz``) beside a
JSON record holding their SHA-256; a file whose hash does not match, or that cannot
be read, is ignored and the model is computed again. Everything after gempy runs as
before, so a district built from the cache is bit-identical to one built without it
(``tests/synth/test_gempycache.py`` compares the written files).

``VOXPROSPECT_CACHE_DIR=off`` disables it.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from voxprospect.data.volume import Volume
from voxprospect.usercache import cache_dir, read_json, write_json_atomic

__all__ = ["cache_key", "cached_geomodel", "load", "store"]

SUBDIR = "districts"


def _code_fingerprint(functions) -> str:
    h = hashlib.sha256()
    for fn in functions:
        try:
            h.update(inspect.getsource(fn).encode())
        except (OSError, TypeError):
            h.update(repr(fn).encode())
    return h.hexdigest()[:16]


def cache_key(preset: str, seed: int, geom, functions=()) -> str:
    """Folder name of one cached gempy result: versions, preset, seed, structures, code."""
    from voxprospect import __version__

    try:
        from importlib.metadata import version

        gempy_version = version("gempy")
    except Exception:  # noqa: BLE001 - any failure just makes the key more specific
        gempy_version = "unknown"
    structures = hashlib.sha256(repr(geom).encode()).hexdigest()[:16]
    return (f"v{__version__}-gempy{gempy_version}-{preset}-seed{int(seed)}-"
            f"{structures}-{_code_fingerprint(functions)}").replace("/", "_").replace(" ", "_")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load(key: str, grid) -> Volume | None:
    """The cached gempy volume for ``key`` on ``grid``, or None (missing, damaged, other grid)."""
    base = cache_dir(SUBDIR)
    if base is None:
        return None
    folder = base / key
    record = read_json(folder / "record.json")
    if not record:
        return None
    try:
        data = (folder / "arrays.npz").read_bytes()
    except OSError:
        return None
    if _sha256(data) != record.get("sha256") or list(record.get("shape", ())) != list(grid.shape):
        return None
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {name: z[name] for name in z.files}
        layers = {name: arrays[f"layer_{name}"] for name in record["layers"]}
        active = arrays["active"]
        classes = {layer: {int(k): v for k, v in table.items()} for layer, table in record["classes"].items()}
        return Volume(grid, layers, active, classes, record["meta"])
    except (KeyError, ValueError, TypeError, OSError):
        return None


def store(key: str, volume: Volume) -> bool:
    """Cache ``volume`` under ``key``; False (nothing written) when the folder cannot be written."""
    base = cache_dir(SUBDIR)
    if base is None:
        return False
    folder = base / key
    buf = io.BytesIO()
    np.savez_compressed(buf, active=np.asarray(volume.active),
                        **{f"layer_{n}": np.asarray(a) for n, a in volume.layers.items()})
    data = buf.getvalue()
    record = {"key": key, "sha256": _sha256(data), "shape": list(volume.grid.shape),
              "layers": list(volume.layers),
              "classes": {layer: {str(k): v for k, v in table.items()} for layer, table in volume.classes.items()},
              "meta": json.loads(json.dumps(dict(volume.meta)))}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix="arrays.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, folder / "arrays.npz")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return False
    # the record goes last: a half-written entry has no record and is never read
    return write_json_atomic(folder / "record.json", record, sort_keys=False)


def cached_geomodel(preset: str, seed: int, geom, grid, compute, functions=()):
    """``compute()``'s gempy volume, from the cache when an intact entry exists.

    Returns ``(volume, hit)``; ``hit`` says whether gempy was skipped.
    """
    key = cache_key(preset, seed, geom, functions)
    hit = load(key, grid)
    if hit is not None:
        return hit, True
    volume = compute()
    store(key, volume)
    return volume, False
