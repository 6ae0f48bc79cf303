"""The bad-input harness: every refusal is one clear ``Error:`` and leaves nothing behind.

Each test module in this folder is a table of cases. A case builds its bad input under
``tmp_path`` and calls :func:`refused` (the fixture ``refused``) with the command line;
the check is the same for every reader, command and the checkpoint loader:

- a non-zero exit, through click's own error path (no exception escapes the command);
- no traceback in the output;
- exactly one line starting ``Error:``, short, naming every string in ``mentions``
  (the file's name and a word for the problem);
- none of ``outputs`` exists afterwards (a folder: absent or as it was before);
- every file under ``inputs`` byte-for-byte unchanged.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

MAX_MESSAGE = 2000  # characters: a message a user can read, not a dump


def snapshot(paths) -> dict[str, str]:
    """SHA-256 of every file under ``paths`` (files or folders), by path."""
    digests = {}
    for p in map(Path, paths):
        files = [p] if p.is_file() else sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else []
        for f in files:
            digests[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
    return digests


def run_cli(args, cwd=None):
    """Run ``voxprospect ARGS`` in-process; returns click's ``Result``."""
    from click.testing import CliRunner

    from voxprospect_cli.main import cli

    runner = CliRunner()
    old = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        return runner.invoke(cli, [str(a) for a in args], catch_exceptions=True)
    finally:
        os.chdir(old)


def check_refused(args, *, mentions=(), inputs=(), outputs=(), cwd=None):
    """Run the command and assert it was refused cleanly; returns the ``Error:`` line."""
    before = snapshot(inputs)
    out_before = {str(o): snapshot([o]) for o in map(Path, outputs) if Path(o).is_dir()}
    result = run_cli(args, cwd=cwd)
    text = result.output
    assert result.exit_code not in (0, None), f"accepted: {args}\n{text}"
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__} escaped: {result.exception!r}\n{text}")
    assert "Traceback" not in text, text
    errors = [line for line in text.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, f"expected one Error: line, got {len(errors)}:\n{text}"
    line = errors[0]
    assert len(line) <= MAX_MESSAGE, f"message of {len(line)} characters"
    for word in mentions:
        assert str(word).lower() in line.lower(), f"{word!r} not named in: {line}"
    for o in map(Path, outputs):
        if str(o) in out_before:
            assert snapshot([o]) == out_before[str(o)], f"output folder {o} changed"
        else:
            assert not o.exists(), f"{o} left behind"
    assert snapshot(inputs) == before, "an input changed"
    return line


@pytest.fixture
def refused():
    return check_refused
