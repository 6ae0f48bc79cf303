"""The way out, checked before the work, and cleaned up when the work fails.

Every pipeline step calls :func:`check_outputs` first, with every file and folder it
will write: the folders exist or can be created, are writable (probed by creating a
file, because permission bits lie to root and to read-only mounts), the suffixes are
ones we can write, and the disk has room for a rough estimate of the output. A
mistake is found in a second, not after an hour of training.

Then the step runs inside :func:`step_outputs`, which records what was there before
and, if the step fails (an error, Ctrl-C), removes every file and folder the step
created, so a failed run leaves nothing behind and never touches what was already
there.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from voxprospect.errors import OutputError
from voxprospect.interrupt import deferred
from voxprospect.limits import format_bytes

GEOTIFF_SUFFIXES = (".tif", ".tiff")
# Room left free beyond the estimate, so a step does not fill the disk to the last byte.
_FREE_MARGIN = 16 * 1024 * 1024


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists():
        if p.parent == p:
            break
        p = p.parent
    return p


def check_folder(folder, *, what: str = "output folder", need_bytes: int = 0) -> Path:
    """Check that ``folder`` exists or can be created, and can be written to.

    Nothing is created: the nearest existing ancestor must be a folder we can
    create files in (probed with a temporary file, removed at once).

    Parameters
    ----------
    folder : path-like
    what : str
        How the message calls it ("output folder", "folder of out.vti").
    need_bytes : int
        Rough size of what will be written; refused when the disk has less free.

    Returns
    -------
    Path
        ``folder``.

    Raises
    ------
    OutputError
        Naming the folder and the problem.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder}: the {what} exists and is not a folder")
    base = _nearest_existing(folder.absolute())
    if not base.is_dir():
        raise OutputError(f"{folder}: the {what} cannot be created: {base} is a file, not a folder")
    with deferred():  # Ctrl-C waits for the probe to be gone, not to leave it behind
        try:
            fd, probe = tempfile.mkstemp(prefix=".voxprospect-write-test-", dir=base)
        except OSError as e:
            reason = e.strerror or type(e).__name__
            raise OutputError(f"{folder}: the {what} is not writable ({reason} in {base})") from None
        os.close(fd)
        os.unlink(probe)
    if need_bytes:
        try:
            free = shutil.disk_usage(base).free
        except OSError:
            free = None
        if free is not None and free < need_bytes + _FREE_MARGIN:
            raise OutputError(f"{folder}: not enough free disk space for the {what}: about "
                              f"{format_bytes(need_bytes)} needed, {format_bytes(free)} free")
    return folder


def check_output_file(path, suffixes: Iterable[str] | None = None, *, what: str = "output",
                      inputs=(), need_bytes: int = 0) -> Path:
    """Check an output file before any work: suffix, folder, room, not an input.

    Parameters
    ----------
    path : path-like
    suffixes : iterable of str, optional
        Allowed suffixes (lower case, with the dot); None accepts any.
    what : str
        How the message calls the file ("prospectivity volume", "GeoTIFF").
    inputs : iterable of path-like
        The step's inputs, which the output may never replace.
    need_bytes : int
        Rough size of the file.

    Raises
    ------
    OutputError
    """
    path = Path(path)
    if suffixes is not None:
        allowed = tuple(s.lower() for s in suffixes)
        if path.suffix.lower() not in allowed:
            raise OutputError(f"{path}: the {what} must end in {' or '.join(allowed)} "
                              f"(got {path.suffix or 'no suffix'!r})")
    if path.is_dir():
        raise OutputError(f"{path}: the {what} is a folder; give a file name")
    from voxprospect.io.safe_write import check_not_input
    check_not_input(path, inputs)
    check_folder(path.parent if str(path.parent) else Path("."), what=f"folder of {path.name}",
                 need_bytes=need_bytes)
    return path


def volume_suffixes() -> tuple[str, ...]:
    """The suffixes :func:`voxprospect.io.write_volume` has a writer for."""
    from voxprospect import io

    io._load_optional_readers()
    return tuple(sorted(set(io._WRITERS) | set(GEOTIFF_SUFFIXES)))


def volume_bytes(n_cells: int, n_layers: int, bytes_per_value: int = 4) -> int:
    """Rough size of a volume file: every layer plus the active mask, uncompressed."""
    return int(n_cells) * (int(n_layers) * int(bytes_per_value) + 1)


class step_outputs:  # noqa: N801 - used as a function, like contextlib.suppress
    """Remove what a step created if it fails; keep everything that was there before.

    Use as ``with step_outputs(folders=[outdir]):``.

    Parameters
    ----------
    folders : iterable of path-like
        Folders the step writes into, created on entry (with their parents) when
        missing. On failure a folder the step created is removed whole; in a folder
        that was there before, only the entries that appeared during the step are.
    files : iterable of path-like
        Single files the step writes (their folders are created when missing).
        On failure each is removed if it did not exist before, and so is every
        folder created for it.

    Entering returns the list of folders, created. Every exception
    (``KeyboardInterrupt`` included) propagates unchanged after the clean-up.

    A class rather than a generator: Ctrl-C that lands between a generator's
    ``yield`` and the ``with`` body would skip the clean-up and leave the folders
    behind. Here the folders are made inside a :func:`~voxprospect.interrupt.deferred`
    section, so an interrupt waits until everything made is recorded, and one that
    arrives while entering is cleaned up before it propagates.
    """

    def __init__(self, folders=(), files=()):
        self.folders = [Path(f) for f in folders]
        self.files = [Path(f) for f in files]
        self._created: list[Path] = []
        self._before: dict[Path, set[str]] = {}
        self._existed = {f: f.exists() or f.is_symlink() for f in self.files}

    def _make(self, d: Path) -> None:
        missing, p = [], d.absolute()
        while not p.exists() and p.parent != p:
            missing.append(p)
            p = p.parent
        # recorded before mkdir: a folder made is always a folder known, to remove on failure
        self._created.extend(reversed(missing))
        try:
            d.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OutputError(f"{d}: cannot create the folder ({e.strerror or e})") from None

    def __enter__(self) -> list[Path]:
        try:
            with deferred():  # a pending Ctrl-C is raised on leaving, inside this try
                for d in self.folders:
                    self._make(d)
                    self._before[d.absolute()] = set(os.listdir(d))
                for f in self.files:
                    self._make(f.parent if str(f.parent) else Path("."))
        except BaseException:
            self._clean_up()
            raise
        return self.folders

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            self._clean_up()
        return False

    def _clean_up(self) -> None:
        with deferred():  # a second Ctrl-C does not cut the clean-up short
            for f, was in self._existed.items():
                if not was:
                    _remove(f)
            for d, names in self._before.items():
                if d in self._created:
                    continue
                if d.is_dir():
                    for name in set(os.listdir(d)) - names:
                        _remove(d / name)
            for d in reversed(self._created):
                if d.is_dir():
                    _remove(d) if d in self._before else _rmdir(d)


def _rmdir(d: Path) -> None:
    with contextlib.suppress(OSError):
        d.rmdir()


def _remove(p: Path) -> None:
    with contextlib.suppress(OSError):
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif p.exists() or p.is_symlink():
            p.unlink()
