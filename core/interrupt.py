"""Ctrl-C that stops a run cleanly, never in the middle of an import or a write.

Python turns SIGINT into ``KeyboardInterrupt`` between any two bytecodes. Raised while
a compiled extension is being initialised (``import vtk`` runs thousands of lines of
Python between its C parts), it leaves the extension half built, and the process can
crash with a segmentation fault instead of stopping. So the handler installed by
:func:`install_sigint_handler` defers the interrupt while the main thread is inside
an import, or inside a :func:`deferred` section (a write being renamed into place);
a small watchdog thread re-delivers it as soon as the main thread has left those
sections. Everywhere else Ctrl-C raises ``KeyboardInterrupt`` at once, and each
step's :func:`voxprospect.io.outputs.step_outputs` removes what it had created.

The CLI turns the interrupt (or a :class:`~voxprospect.errors.Cancelled` raised by a
progress callback) into ``Aborted`` and exit code 130.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time

_state = {"depth": 0, "pending": False, "installed": False, "watchdog": None}
_IMPORT_FILES = ("<frozen importlib._bootstrap>", "<frozen importlib._bootstrap_external>")
_POLL_S = 0.02


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


def _handler(signum, frame):
    if _unsafe(frame):
        _state["pending"] = True
        _start_watchdog()
        return
    _state["pending"] = False
    raise KeyboardInterrupt


def _start_watchdog():
    w = _state["watchdog"]
    if w is not None and w.is_alive():
        return

    def watch():
        import _thread
        while _state["pending"]:
            if not _unsafe(_main_frame()):
                _state["pending"] = False
                _thread.interrupt_main()  # runs _handler in the main thread, now at a safe point
                return
            time.sleep(_POLL_S)

    w = threading.Thread(target=watch, name="voxprospect-sigint", daemon=True)
    _state["watchdog"] = w
    w.start()


def install_sigint_handler() -> bool:
    """Make Ctrl-C wait for imports and :func:`deferred` sections to finish.

    Returns
    -------
    bool
        False when it cannot be installed (not the main thread).
    """
    if threading.current_thread() is not threading.main_thread():
        return False
    signal.signal(signal.SIGINT, _handler)
    _state["installed"] = True
    return True


@contextlib.contextmanager
def deferred():
    """A section Ctrl-C may not interrupt; a pending interrupt is raised on leaving it."""
    _state["depth"] += 1
    try:
        yield
    finally:
        _state["depth"] -= 1
    if _state["depth"] == 0 and _state["pending"] and threading.current_thread() is threading.main_thread() \
            and not _inside_import(sys._getframe()):
        _state["pending"] = False
        raise KeyboardInterrupt
