"""The user's cache folder: machine-specific tuning and rebuilt-on-demand data, never the repo.

Two things are cached here, both safe to delete at any time:

* ``tuning.json``: the zero-skip prediction path's settings measured on this machine
  (:mod:`voxprospect.learn.fasttune`), keyed by CPU model and torch version;
* ``districts/``: synthetic districts built by gempy (:mod:`voxprospect.synth.cache`),
  keyed by voxprospect version, seed and preset and verified by hash on every read.

The folder is platformdirs' user cache folder for ``voxprospect`` (``~/.cache/voxprospect``
on Linux, or ``$XDG_CACHE_HOME/voxprospect``). ``VOXPROSPECT_CACHE_DIR`` relocates it;
set to ``off`` (or ``0``, ``none``, empty) it disables every cache: nothing is read or
written, tuning falls back to the library's defaults and districts are always rebuilt.
The tests set it to a temporary folder.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

__all__ = ["ENV_VAR", "cache_dir", "read_json", "write_json_atomic"]

ENV_VAR = "VOXPROSPECT_CACHE_DIR"
_OFF = {"", "0", "off", "none", "false", "no"}


def cache_dir(sub: str | None = None) -> Path | None:
    """The cache folder (or its ``sub`` folder), or None when caching is switched off.

    Nothing is created here; writers create what they write.
    """
    env = os.environ.get(ENV_VAR)
    if env is not None:
        if env.strip().lower() in _OFF:
            return None
        base = Path(env).expanduser()
    else:
        try:
            import platformdirs

            base = Path(platformdirs.user_cache_dir("voxprospect", appauthor=False))
        except ImportError:  # pragma: no cover - platformdirs is a dependency
            xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
            base = Path(xdg) / "voxprospect"
    return base / sub if sub else base


def read_json(path) -> dict | None:
    """A JSON object from ``path``, or None if it is missing, unreadable or not an object.

    A cache that cannot be read is rebuilt, never an error.
    """
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json_atomic(path, data: dict, sort_keys: bool = True) -> bool:
    """Write ``data`` as JSON to ``path`` through a temporary file and a rename.

    ``sort_keys=False`` keeps the objects' key order (records read back as they were).
    Returns False (and writes nothing) when the folder cannot be written: a cache
    that cannot be saved costs time, not correctness.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=1, sort_keys=sort_keys)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except OSError:
        return False
    return True
