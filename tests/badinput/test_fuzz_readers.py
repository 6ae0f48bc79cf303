"""Seeded fuzzing of every reader: a mutant file is read or refused, nothing else.

One good file per reader (``.vti``, GOCAD voxet header and property file, UBC-GIF mesh
and model, ``.vtr``, ``.vtu``, legacy ``.vtk``, TSurf, GeoTIFF) gets a fixed number of
seeded mutations (truncation, flipped bytes, header numbers set to huge, negative,
NaN, infinite or garbage values, lines deleted or repeated). The loop
(``_fuzz_child.py``) runs in a subprocess whose address space is bounded
(``RLIMIT_AS``), so a reader that allocates what a header asks for without the memory
guard fails here with ``MemoryError`` instead of swapping the machine; each case has an
alarm, and the whole run a timeout, so a hang fails too. A case passes when the reader
returns or raises a ``VoxprospectError``; a crash of the process names its last case.

Budget: MUTANTS per reader, about 10 s in all on one core.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

SEED = 20261201
MUTANTS = 60
READERS = 10
ADDRESS_SPACE = 4 * 2 ** 30  # bytes: far above what the good files need, far below a header's 10^15 cells
TIMEOUT_S = 240


def _bounded():
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def test_readers_survive_seeded_mutations(tmp_path):
    child = Path(__file__).with_name("_fuzz_child.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    env.pop("VOXPROSPECT_MEMORY_LIMIT", None)  # the guard must find the bound itself
    try:
        r = subprocess.run([sys.executable, str(child), str(tmp_path), str(SEED), str(MUTANTS)],
                           preexec_fn=_bounded, capture_output=True, text=True, errors="replace",
                           timeout=TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired as e:
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        last = [ln for ln in err.splitlines() if ln.startswith("BEGIN")][-1:]
        raise AssertionError(f"fuzz run hung past {TIMEOUT_S} s at {last}") from None
    last = [ln for ln in r.stderr.splitlines() if ln.startswith("BEGIN")][-1:]
    assert r.returncode == 0, f"the fuzz process died ({r.returncode}) at {last}\n{r.stderr[-2000:]}"
    bad = [json.loads(ln) for ln in r.stdout.splitlines() if ln.startswith("{")]
    assert not bad, "\n".join(f"{b['case']}: {b['error']} ({b.get('where', '')})" for b in bad)
    done = [ln for ln in r.stdout.splitlines() if ln.startswith("DONE")]
    assert done == [f"DONE {READERS * MUTANTS}"], r.stdout[-2000:]


def test_a_huge_header_is_refused_by_the_guard_not_the_address_space(tmp_path):
    """AXIS_N 100000^3 under the bounded address space: the guard refuses it (an
    InputFileError), it never reaches numpy's MemoryError."""
    code = f"""
import shutil, sys
from pathlib import Path
sys.path.insert(0, {str(Path(__file__).parent)!r})
from _fuzz_child import build
from voxprospect.io import read_volume
from voxprospect.limits import MemoryLimitError
good = build(Path({str(tmp_path)!r}))
p = good["voxet"]
p.write_text(p.read_text(encoding="utf-8").replace("AXIS_N 4 3 5", "AXIS_N 100000 100000 100000"), encoding="utf-8")
try:
    read_volume(p)
except MemoryLimitError as e:
    print("REFUSED", e)
"""
    r = subprocess.run([sys.executable, "-c", code], preexec_fn=_bounded, capture_output=True, text=True,
                       errors="replace", timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "REFUSED" in r.stdout and "1,000,000,000,000,000 cells" in r.stdout and "v.vo" in r.stdout
