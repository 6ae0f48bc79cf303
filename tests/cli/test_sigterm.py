"""SIGTERM (``kill``, a batch scheduler) stops a run like Ctrl-C: a real ``voxprospect
run`` subprocess sent SIGTERM exits 143 with ``Aborted (terminated)``, no traceback,
and leaves no output behind; in-process, a SIGTERM inside ``deferred()`` waits for the
section, and one held inside an import is re-delivered by the watchdog as SIGTERM."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from voxprospect.errors import Terminated

_spec = importlib.util.spec_from_file_location("badinput_commands",
                                               Path(__file__).parents[1] / "badinput" / "test_commands.py")
tc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tc)

# seconds after start: importing the command's libraries, then reading and evidence
DELAYS = (1.5, 3.0)
STOP_TIMEOUT = 60
EXIT_TERMINATED = 143


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    return tc.district.__wrapped__(tmp_path_factory)


@pytest.fixture
def restore_handlers():
    """The pytest process's own SIGINT and SIGTERM handlers, back after the test."""
    old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for s, h in old.items():
        signal.signal(s, h)


def _sigterm_after(args, delay, cwd):
    code = "import sys; from voxprospect_cli.main import cli; sys.exit(cli(prog_name='voxprospect'))"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONFAULTHANDLER="1")
    proc = subprocess.Popen([sys.executable, "-c", code] + [str(a) for a in args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"still running {STOP_TIMEOUT} s after SIGTERM at {delay} s\n{err[-2000:]}")
    return proc.returncode, out, err


def test_sigterm_during_run_aborts_cleanly(district, tmp_path):
    before = {p: p.read_bytes() for p in district["dir"].rglob("*") if p.is_file()}
    outcomes = []
    for delay in DELAYS:
        out_dir = tmp_path / f"run_{delay}"
        rc, _out, err = _sigterm_after(["run", district["dir"] / "project.toml", "-o", out_dir], delay, tmp_path)
        outcomes.append((delay, rc))
        if rc == 0:  # finished before the signal: nothing to check about aborting
            continue
        assert rc == EXIT_TERMINATED, f"SIGTERM at {delay} s: exit {rc}\n{err[-3000:]}"
        assert "Traceback" not in err, err[-3000:]
        assert err.strip().splitlines()[-1] == "Aborted (terminated)", err[-3000:]
        assert not out_dir.exists(), f"SIGTERM at {delay} s left {sorted(p.name for p in out_dir.rglob('*'))}"
    assert {p: p.read_bytes() for p in district["dir"].rglob("*") if p.is_file()} == before
    # the signals did stop runs (the tiny run takes several seconds)
    assert sum(rc == EXIT_TERMINATED for _, rc in outcomes) >= 1, outcomes


def test_terminated_is_a_keyboard_interrupt():
    """So every clean-up written for Ctrl-C (step_outputs, the CLI) runs for SIGTERM too."""
    assert issubclass(Terminated, KeyboardInterrupt)


def test_sigterm_inside_deferred_waits_for_the_section(restore_handlers):
    from voxprospect.interrupt import deferred, install_signal_handlers

    assert install_signal_handlers()
    done = []
    with pytest.raises(Terminated), deferred():
        signal.raise_signal(signal.SIGTERM)
        done.append("the section finished")
    assert done == ["the section finished"]


def test_sigterm_wins_over_a_held_sigint(restore_handlers):
    from voxprospect.interrupt import deferred, install_signal_handlers

    assert install_signal_handlers()
    with pytest.raises(Terminated), deferred():
        signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGINT)


def test_sigint_inside_deferred_stays_a_plain_keyboard_interrupt(restore_handlers):
    from voxprospect.interrupt import deferred, install_signal_handlers

    assert install_signal_handlers()
    with pytest.raises(KeyboardInterrupt) as info, deferred():
        signal.raise_signal(signal.SIGINT)
    assert not isinstance(info.value, Terminated)


def test_watchdog_redelivers_a_held_sigterm_as_sigterm(restore_handlers, monkeypatch):
    """A SIGTERM held while 'inside an import' comes back, as Terminated, once it is left."""
    from voxprospect import interrupt

    importing = [True]
    monkeypatch.setattr(interrupt, "_inside_import", lambda frame: importing[0])
    assert interrupt.install_signal_handlers()
    signal.raise_signal(signal.SIGTERM)  # held: the main thread is "importing"
    importing[0] = False
    deadline = time.monotonic() + 5
    with pytest.raises(Terminated):
        while time.monotonic() < deadline:
            time.sleep(interrupt._POLL_S)
    assert interrupt._state["pending"] is None
