"""SIGTERM (``kill``, a batch scheduler) stops a run like Ctrl-C: a real ``voxprospect
run`` subprocess sent SIGTERM exits 143 with ``Aborted (terminated)``, no traceback,
and leaves no output behind; in-process, a SIGTERM inside ``deferred()`` waits for the
section, and one held inside an import is re-delivered by the watchdog as SIGTERM."""

from __future__ import annotations

import importlib.util
import signal
import time
from pathlib import Path

import pytest
from voxprospect.errors import Terminated

from tests_shared import command_district

_spec = importlib.util.spec_from_file_location("cli_interrupt", Path(__file__).parent / "test_interrupt.py")
ti = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ti)  # the subprocess and the checks the SIGINT test uses

# seconds after start: importing the command's libraries, then reading and evidence
DELAYS = (1.5, 3.0)
EXIT_TERMINATED = 143


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    return command_district(tmp_path_factory)


@pytest.fixture
def restore_handlers():
    """The pytest process's own SIGINT and SIGTERM handlers, back after the test."""
    old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for s, h in old.items():
        signal.signal(s, h)


def test_sigterm_during_run_aborts_cleanly(district, tmp_path):
    outcomes = ti.stopped_runs_leave_nothing(district, tmp_path, signal.SIGTERM, DELAYS, EXIT_TERMINATED,
                                             "Aborted (terminated)")
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
