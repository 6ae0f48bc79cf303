"""Run reports and safe output.

Every command writes ``report.json`` next to its outputs: version, command,
parameters, seed, input files (size and SHA-256), library versions, metrics and
timings. Outputs go through :mod:`voxprospect.io.safe_write` (a temporary file in
the same folder, verified, then renamed) so a failed run never leaves a half-written
file, and an output may never overwrite one of the run's inputs.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from voxprospect.errors import InputFileError


def file_record(path) -> dict:
    """Size and SHA-256 of an input file (or of every file under a folder)."""
    p = Path(path)
    if not p.exists():
        raise InputFileError(p, "file not found")
    if p.is_dir():
        files = sorted(q for q in p.rglob("*") if q.is_file())
        return {"path": str(p), "files": [file_record(q) for q in files]}
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return {"path": str(p), "size": p.stat().st_size, "sha256": h.hexdigest()}


def versions() -> dict:
    """Versions of Python, the platform and the libraries that shape results."""
    from voxprospect._version import __version__
    out = {"voxprospect": __version__, "python": platform.python_version(),
           "platform": platform.platform()}
    for mod in ("numpy", "scipy", "torch", "sklearn", "pyvista", "vtk", "rasterio", "gempy"):
        m = sys.modules.get(mod)
        if m is not None:
            out[mod] = getattr(m, "__version__", "unknown")
    return out


def jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


class RunReport:
    """Collects what a run did; :meth:`write` saves it as ``report.json``.

    Parameters
    ----------
    command : str
        The command or function name (``"synth"``, ``"demo"``...).
    parameters : dict, optional
    seed : int, optional
    """

    def __init__(self, command: str, parameters: dict | None = None, seed: int | None = None):
        self.data = {
            "command": command,
            "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "parameters": dict(parameters or {}),
            "seed": seed,
            "inputs": [],
            "outputs": [],
            "metrics": {},
            "timings_s": {},
        }
        self._t0 = time.perf_counter()

    def add_input(self, path) -> None:
        self.data["inputs"].append(file_record(path))

    def add_output(self, path, role: str | None = None) -> None:
        """Name an output; :meth:`write` records its role, size and SHA-256 (if it exists).

        A path already listed keeps one entry (a role given later fills a missing one).
        """
        for rec in self.data["outputs"]:
            if rec["path"] == str(path):
                rec["role"] = rec.get("role") or role
                return
        self.data["outputs"].append({"path": str(path), "role": role})

    def _hash_outputs(self) -> None:
        kept = []
        for rec in self.data["outputs"]:
            p = Path(rec["path"])
            if p.is_file():
                kept.append({**file_record(p), "role": rec.get("role")})
        self.data["outputs"] = [{"path": r["path"], "role": r["role"], "sha256": r["sha256"], "size": r["size"]}
                                for r in kept]

    @contextlib.contextmanager
    def timer(self, step: str):
        """Time a step: ``with report.timer("evidence"): ...``."""
        t = time.perf_counter()
        try:
            yield
        finally:
            self.data["timings_s"][step] = round(self.data["timings_s"].get(step, 0.0)
                                                 + time.perf_counter() - t, 4)

    def __setitem__(self, key, value):
        self.data[key] = value

    def __getitem__(self, key):
        return self.data[key]

    def write(self, outdir, name: str = "report.json") -> Path:
        self.data["versions"] = versions()
        self.data["timings_s"]["total"] = round(time.perf_counter() - self._t0, 4)
        self._hash_outputs()
        path = Path(outdir) / name
        write_text_atomic(path, json.dumps(jsonable(self.data), indent=2, sort_keys=False))
        return path


def write_text_atomic(path, text: str, inputs=()) -> Path:
    """Write ``text`` (UTF-8) through the validated write path (:func:`~voxprospect.io.safe_write.safe_output`)."""
    from voxprospect.io.safe_write import write_text
    return write_text(path, text, inputs)
