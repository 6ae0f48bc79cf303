"""Ctrl-C and SIGTERM that stop a run cleanly, never in the middle of an import or a write.

Python turns SIGINT into ``KeyboardInterrupt`` between any two bytecodes. Raised while
a compiled extension is being initialised (``import vtk`` runs thousands of lines of
Python between its C parts), it leaves the extension half built, and the process can
crash with a segmentation fault instead of stopping. So the handlers installed by
:func:`install_signal_handlers` defer the signal while the main thread is inside an
import, or inside a :func:`deferred` section (a write being renamed into place); a
small watchdog thread re-delivers it (``_thread.interrupt_main(signum)``, so the same
handler runs again) as soon as the main thread has left those sections. Everywhere
else the signal raises at once, and each step's
:func:`voxprospect.io.outputs.step_outputs` removes what it had created.

SIGINT raises ``KeyboardInterrupt``; SIGTERM (``kill``, a batch scheduler) raises
:class:`~voxprospect.errors.Terminated`, a subclass of it, so both take the same
clean-up path. A SIGTERM wins over a SIGINT held at the same time.

The CLI turns the interrupt (or a :class:`~voxprospect.errors.Cancelled` raised by a
progress callback) into ``Aborted`` and exit code 130, a SIGTERM into 143.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time

from voxprospect.errors import Terminated

# pending: the signal number held until the main thread is at a safe point, or None
_state = {"depth": 0, "pending": None, "installed": False, "watchdog": None}
_IMPORT_FILES = ("<frozen importlib._bootstrap>", "<frozen importlib._bootstrap_external>")
_POLL_S = 0.02
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _inside_import(frame) -> bool:
    while frame is not None:
        if frame.f_code.co_filename in _IMPORT_FILES:
            return True
        frame = frame.f_back
    return False


def _main_frame():
    main = threading.main_thread().ident
    return sys._current_frames().get(main)


def _unsafe(frame) -> bool:
    return _state["depth"] > 0 or _inside_import(frame)


def _exception(signum) -> KeyboardInterrupt:
    """What a signal raises: :class:`Terminated` for SIGTERM, ``KeyboardInterrupt`` otherwise."""
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _hold(signum) -> None:
    """Remember a signal to raise later; a held SIGTERM is never replaced by a SIGINT."""
    if _state["pending"] != signal.SIGTERM:
        _state["pending"] = signum


def _take_pending():
    """The held signal's exception, now no longer held."""
    signum, _state["pending"] = _state["pending"], None
    return _exception(signum)


def _handler(signum, frame):
    if _unsafe(frame):
        _hold(signum)
        _start_watchdog()
        return
    _hold(signum)
    raise _take_pending()


def _start_watchdog():
    w = _state["watchdog"]
    if w is not None and w.is_alive():
        return

    def watch():
        import _thread
        while _state["pending"] is not None:
            if not _unsafe(_main_frame()):
                signum, _state["pending"] = _state["pending"], None
                # a signal held again by the handler below needs a new watchdog, not this one
                _state["watchdog"] = None
                _thread.interrupt_main(signum)  # runs _handler in the main thread, now at a safe point
                return
            time.sleep(_POLL_S)

    w = threading.Thread(target=watch, name="voxprospect-signals", daemon=True)
    _state["watchdog"] = w
    w.start()


def install_signal_handlers() -> bool:
    """Make Ctrl-C (SIGINT) and SIGTERM wait for imports and :func:`deferred` sections.

    Returns
    -------
    bool
        False when they cannot be installed (not the main thread).
    """
    if threading.current_thread() is not threading.main_thread():
        return False
    for signum in _SIGNALS:
        signal.signal(signum, _handler)
    _state["installed"] = True
    return True


@contextlib.contextmanager
def deferred():
    """A section a signal may not interrupt; a held signal is raised on leaving it."""
    _state["depth"] += 1
    try:
        yield
    finally:
        _state["depth"] -= 1
    if _state["depth"] == 0 and _state["pending"] is not None \
            and threading.current_thread() is threading.main_thread() and not _inside_import(sys._getframe()):
        raise _take_pending()
