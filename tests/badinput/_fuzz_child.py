"""The fuzz loop, run by ``test_fuzz_readers.py`` in a subprocess with a bounded address space.

``python _fuzz_child.py WORKDIR SEED MUTANTS`` builds one good file per reader under
WORKDIR, then for each reader MUTANTS seeded mutations (truncation, flipped bytes,
header numbers edited to huge/negative/NaN/garbage values, deleted or repeated lines),
and calls the reader on each under a per-case alarm. It prints one JSON line per case
that did not end in a return or a ``VoxprospectError`` (and ``BEGIN <case>`` lines to
stderr, so a crash names its case), then ``DONE <count>``.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import sys
import traceback
from pathlib import Path

import numpy as np

ALARM_S = 10
NUMBER = re.compile(rb"(?<![\w.])[-+]?\d+(\.\d+)?([eE][-+]?\d+)?(?![\w.])")
BAD_NUMBERS = [b"1e400", b"-1", b"0", b"nan", b"inf", b"-inf", b"99999999999", b"-99999999999",
               b"abc", b"1e18", b"2.5", b"", b"100000 100000 100000"]


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


# -- good files, one per reader -------------------------------------------------------------
def build(work: Path) -> dict:
    import pyvista as pv

    from voxprospect.data.grid import VoxelGrid
    from voxprospect.io import write_volume
    from voxprospect.data.volume import Volume

    g = VoxelGrid((1000.0, 2000.0, -50.0), (10.0, 10.0, 5.0), (4, 3, 5), "EPSG:32750")
    rng = np.random.default_rng(0)
    vol = Volume(g, {"grade": rng.random(g.shape), "lith": rng.integers(1, 4, g.shape).astype(np.int16)},
                 classes={"lith": {1: "a", 2: "b", 3: "c"}})
    out = {}
    for name, suffix, kw in (("vti", ".vti", {}), ("voxet", ".vo", {}), ("tif", ".tif", {"layer": "grade"})):
        d = work / f"good_{name}"
        d.mkdir()
        write_volume(vol, d / f"v{suffix}", **kw)
        out[name] = d / f"v{suffix}"
    d = work / "good_ubc"
    d.mkdir()
    write_volume(vol.select(["grade"]), d / "v.msh")
    out["ubc"] = d / "v.msh"
    out["ubc-model"] = d / "v_grade.mod"
    out["voxet-property"] = work / "good_voxet" / "v_grade@@"
    d = work / "good_vtk"
    d.mkdir()
    r = pv.RectilinearGrid(np.array([0.0, 5, 10, 20]), np.array([0.0, 5, 10]), np.array([0.0, 2, 4]))
    r.cell_data["rho"] = np.arange(r.n_cells, dtype=float)
    r.save(d / "v.vtr")
    out["vtr"] = d / "v.vtr"
    u = pv.ImageData(dimensions=(3, 3, 3)).cast_to_unstructured_grid()
    u.cell_data["v"] = np.arange(u.n_cells, dtype=float)
    u.save(d / "v.vtu")
    out["vtu"] = d / "v.vtu"
    i = pv.ImageData(dimensions=(4, 5, 3), spacing=(10, 10, 5))
    i.cell_data["v"] = np.arange(i.n_cells, dtype=float)
    i.save(d / "legacy.vtk", binary=False)
    out["vtk-legacy"] = d / "legacy.vtk"
    d = work / "good_ts"
    d.mkdir()
    (d / "s.ts").write_text("GOCAD TSurf 1\nHEADER {\nname: s\n}\nPROPERTIES grade\nTFACE\n"
                            "PVRTX 1 0 0 0 1.5\nPVRTX 2 10 0 0 2\nPVRTX 3 0 10 0 3\nPVRTX 4 0 0 10 4\n"
                            "TRGL 1 2 3\nTRGL 1 2 4\nTRGL 1 3 4\nTRGL 2 3 4\nEND\n")
    out["tsurf"] = d / "s.ts"
    return out


def readers():
    from voxprospect.io import read_mesh, read_volume
    from voxprospect.io.geotiff import read_geotiff_levels
    from voxprospect.io.rasters import describe_raster
    from voxprospect.io.tsurf import read_tsurf
    from voxprospect.io.ubc import read_ubc

    return {
        "vti": read_volume, "voxet": read_volume, "voxet-property": None, "ubc": read_volume,
        "ubc-model": None, "vtr": read_volume, "vtu": read_mesh, "vtk-legacy": read_volume,
        "tsurf": read_tsurf, "tif": lambda p: (describe_raster(p), read_geotiff_levels(p)),
        "_ubc_rect": read_ubc,
    }


# -- mutations ------------------------------------------------------------------------------
def mutate(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    kind = rng.integers(0, 5)
    if not data:
        return data, "empty"
    if kind == 0:
        cut = int(rng.integers(0, len(data)))
        return data[:cut], f"truncate at {cut}"
    if kind == 1:
        b = bytearray(data)
        idx = rng.integers(0, len(b), size=int(rng.integers(1, 9)))
        for i in idx:
            b[i] = int(rng.integers(0, 256))
        return bytes(b), f"flip bytes {sorted(int(i) for i in idx)}"
    if kind in (2, 3):
        head = data[:8192]
        nums = list(NUMBER.finditer(head))
        if nums:
            m = nums[int(rng.integers(0, len(nums)))]
            new = BAD_NUMBERS[int(rng.integers(0, len(BAD_NUMBERS)))]
            return data[:m.start()] + new + data[m.end():], f"number at {m.start()} -> {new.decode()!r}"
    lines = data.split(b"\n")
    i = int(rng.integers(0, len(lines)))
    if rng.integers(0, 2):
        del lines[i]
        return b"\n".join(lines), f"delete line {i}"
    lines.insert(i, lines[i])
    return b"\n".join(lines), f"repeat line {i}"


def main(work: Path, seed: int, mutants: int) -> None:
    from voxprospect.errors import VoxprospectError

    good = build(work)
    funcs = readers()
    signal.signal(signal.SIGALRM, _alarm)
    rng = np.random.default_rng(seed)
    count = 0
    for name, path in good.items():
        # the mutated file sits in a copy of its folder (side files beside it); the reader
        # is called on the file the user names (the header for property and model files)
        target_name = {"voxet-property": "v.vo", "ubc-model": "v.msh"}.get(name, path.name)
        func = funcs[name] or funcs["voxet" if name == "voxet-property" else "ubc"]
        original = path.read_bytes()
        for k in range(mutants):
            case_dir = work / f"{name}_{k}"
            shutil.copytree(path.parent, case_dir)
            data, how = mutate(original, rng)
            (case_dir / path.name).write_bytes(data)
            case = f"{name} #{k}: {how}"
            print("BEGIN", case, file=sys.stderr, flush=True)
            signal.alarm(ALARM_S)
            try:
                func(case_dir / target_name)
                if name == "ubc":
                    funcs["_ubc_rect"](case_dir / target_name)
            except VoxprospectError:
                pass
            except Hang:
                print(json.dumps({"case": case, "error": f"no answer in {ALARM_S} s"}), flush=True)
            except BaseException as e:  # the thing under test: anything else is a bug
                print(json.dumps({"case": case, "error": f"{type(e).__name__}: {e}"[:300],
                                  "where": traceback.format_exc().strip().splitlines()[-3][:200]}), flush=True)
            finally:
                signal.alarm(0)
            shutil.rmtree(case_dir, ignore_errors=True)
            count += 1
    print("DONE", count, flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
