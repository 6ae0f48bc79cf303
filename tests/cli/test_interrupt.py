"""Ctrl-C: a real ``voxprospect run`` subprocess sent SIGINT at several moments exits 130
with ``Aborted``, never crashes (SIGINT inside ``import vtk`` used to segfault about 3
times in 14), and leaves no output behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests_shared import command_district


# seconds after start: during the imports (vtk, torch, sklearn), reading, evidence, training
DELAYS = (0.4, 0.8, 1.2, 1.6, 2.2, 3.0)
START_TIMEOUT = 60


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    return command_district(tmp_path_factory)


def _voxprospect():
    code = "import sys; from voxprospect_cli.main import cli; sys.exit(cli(prog_name='voxprospect'))"
    return [sys.executable, "-c", code]


def signal_after(args, delay, cwd, sig=signal.SIGINT):
    """Run ``voxprospect ARGS`` in a subprocess and send it ``sig`` after ``delay`` seconds."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONFAULTHANDLER="1")
    proc = subprocess.Popen(_voxprospect() + [str(a) for a in args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"still running {START_TIMEOUT} s after {sig.name} at {delay} s\n{err[-2000:]}")
    return proc.returncode, out, err


def stopped_runs_leave_nothing(district, tmp_path, sig, delays, exit_code, last_line) -> list:
    """Stop a real ``voxprospect run`` with ``sig`` at each delay: each stopped run exits
    ``exit_code``, ends with ``last_line``, prints no traceback and leaves no output; the
    inputs are unchanged. Returns ``(delay, exit code)`` of every run."""
    before = {p: p.read_bytes() for p in district["dir"].rglob("*") if p.is_file()}
    outcomes = []
    for delay in delays:
        out_dir = tmp_path / f"run_{delay}"
        rc, _out, err = signal_after(["run", district["dir"] / "project.toml", "-o", out_dir], delay, tmp_path, sig)
        outcomes.append((delay, rc))
        if rc == 0:  # finished before the signal: nothing to check about stopping
            continue
        assert rc == exit_code, f"{sig.name} at {delay} s: exit {rc}\n{err[-3000:]}"
        assert "Traceback" not in err, err[-3000:]
        assert err.strip().splitlines()[-1] == last_line, err[-3000:]
        assert not out_dir.exists(), f"{sig.name} at {delay} s left {sorted(p.name for p in out_dir.rglob('*'))}"
    assert {p: p.read_bytes() for p in district["dir"].rglob("*") if p.is_file()} == before
    return outcomes


def test_sigint_during_run_aborts_cleanly(district, tmp_path):
    outcomes = stopped_runs_leave_nothing(district, tmp_path, signal.SIGINT, DELAYS, 130, "Aborted")
    # the signals did interrupt runs (the tiny run takes several seconds)
    assert sum(rc == 130 for _, rc in outcomes) >= len(DELAYS) - 1, outcomes


def test_deferred_section_delivers_the_interrupt_on_leaving():
    """In-process: Ctrl-C inside deferred() waits for the section, then raises."""
    from voxprospect.interrupt import deferred, install_signal_handlers

    old = signal.getsignal(signal.SIGINT)
    try:
        assert install_signal_handlers()
        done = []
        with pytest.raises(KeyboardInterrupt), deferred():
            signal.raise_signal(signal.SIGINT)
            done.append("the section finished")
        assert done == ["the section finished"]
    finally:
        signal.signal(signal.SIGINT, old)
