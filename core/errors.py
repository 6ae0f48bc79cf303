"""User-facing errors.

Every problem a user can cause (a wrong file, a mismatched grid, an empty label set)
raises a subclass of :class:`VoxprospectError`. The CLI and the QGIS plugin turn these
into one clear message and a non-zero exit; anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import os


class VoxprospectError(Exception):
    """Base class for errors caused by the user's input, not by a bug."""


class InputFileError(VoxprospectError):
    """A file is missing, truncated, of the wrong format or inconsistent.

    Parameters
    ----------
    path : str or os.PathLike
        The offending file; named first in the message.
    problem : str
        What is wrong with it.
    """

    def __init__(self, path, problem: str):
        self.path = os.fspath(path) if path is not None else None
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


class GridMismatchError(VoxprospectError):
    """Two volumes (or a volume and a model) are not on the same voxel grid."""


class LayerError(VoxprospectError):
    """A named layer or channel is missing, empty or all-NaN."""


class ProjectFileError(InputFileError):
    """A project TOML file has a missing, unknown or invalid key."""


class NoPositivesError(VoxprospectError):
    """A label set (orebody mask, assay cut-off) selects no voxel."""


class OutputError(VoxprospectError):
    """An output would overwrite an input or cannot be written."""


class Cancelled(VoxprospectError):
    """The user cancelled a running step (QGIS feedback, Ctrl-C)."""


class Terminated(KeyboardInterrupt):
    """The process was asked to stop with SIGTERM (``kill``, a batch scheduler, a service manager).

    A :class:`KeyboardInterrupt`, so whatever cleans up after Ctrl-C (each step's
    :func:`voxprospect.io.outputs.step_outputs`, the CLI's ``Aborted``) cleans up after
    a SIGTERM too; the CLI exits 143 (128 + 15) instead of 130. Not a
    :class:`VoxprospectError`: nothing about the input was wrong.
    """


# A message is for a person: one line they can read. Longer ones (a repr of a whole
# array, a list of 10,000 class names) are cut, saying how much was cut.
MAX_MESSAGE = 1000


def user_message(exc: BaseException, limit: int = MAX_MESSAGE) -> str:
    """``str(exc)`` on one line, at most ``limit`` characters."""
    text = " ".join(str(exc).split())
    if len(text) <= limit:
        return text
    cut = len(text) - (limit - 40)
    return f"{text[:limit - 40]} ... ({cut:,} characters cut)"
