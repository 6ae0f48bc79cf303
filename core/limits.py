"""Limits on what a user may ask for, checked before any work: seeds, windows, memory.

One memory guard: every reader calls :func:`check_memory` with the cells a header asks
for before it allocates them, and so do resampling onto a grid built from user numbers
(``convert --cell-size``), the project loader (``shape``, ``window``) and the training
windows. A request too large becomes one clear error stating the cells and bytes needed
instead of a ``MemoryError`` minutes later, or the machine swapping.

The limit is :func:`memory_limit`: a fraction of the memory available now (and of the
address-space limit, when one is set), or ``VOXPROSPECT_MEMORY_LIMIT`` (bytes, or with
a ``K``/``M``/``G``/``T`` suffix) when set. This module sits under every layer.
"""

from __future__ import annotations

import os

from voxprospect.errors import InputFileError, ProjectFileError, VoxprospectError

__all__ = ["AVAILABLE_FRACTION", "MemoryLimitError", "check_memory", "format_bytes", "memory_limit",
           "SEED_MAX", "WINDOW_MAX", "check_seed"]

SEED_MAX = 2**32 - 1  # numpy's and torch's seeds are unsigned 32-bit
# A training window holds window^3 voxels of every channel; 31 already means 29,791
# voxels a channel a window, far beyond the paper's 3, so larger is a typo, not a study.
WINDOW_MAX = 31


def check_seed(seed, what: str = "seed", path=None) -> int:
    """A seed numpy and torch accept: an integer in 0 .. 2**32 - 1.

    Raises
    ------
    VoxprospectError (ProjectFileError naming ``path`` when given)
    """
    ok = isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed <= SEED_MAX
    if not ok:
        problem = f"{what} must be an integer from 0 to {SEED_MAX:,}, got {seed!r}"
        raise ProjectFileError(path, problem) if path is not None else VoxprospectError(problem)
    return int(seed)


#: share of the available memory one allocation may take (the rest: copies, the OS, other programs)
AVAILABLE_FRACTION = 0.5


class MemoryLimitError(InputFileError):
    """A file or a setting asks for more memory than the machine can spare."""


def format_bytes(n: float) -> str:
    """``909.5 TiB``: binary units up to EiB."""
    n = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024:
            return f"{n:.0f} bytes" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} EiB"


def _parse_limit(text: str) -> int:
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    mult = {"K": 2 ** 10, "M": 2 ** 20, "G": 2 ** 30, "T": 2 ** 40}.get(t[-1:], 1)
    return int(float(t[:-1] if mult > 1 else t) * mult)


def memory_limit() -> int:
    """Bytes one allocation may take now (see the module's description)."""
    env = os.environ.get("VOXPROSPECT_MEMORY_LIMIT")
    if env:
        try:
            return _parse_limit(env)
        except ValueError:
            raise VoxprospectError(f"VOXPROSPECT_MEMORY_LIMIT={env!r} is not a size: give bytes or a number with "
                                   "K, M, G or T (e.g. 8G), or unset it") from None
    try:
        import psutil
        available = psutil.virtual_memory().available
    except Exception:  # psutil missing or no /proc: fall back to the page counts
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            available = 8 * 2 ** 30
    limit = AVAILABLE_FRACTION * available
    try:
        import resource
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            limit = min(limit, AVAILABLE_FRACTION * soft)
    except (ImportError, ValueError, OSError):
        pass
    return int(limit)


def check_memory(cells, bytes_per_cell: float, what: str, path=None, limit: int | None = None) -> int:
    """Refuse an allocation of ``cells`` x ``bytes_per_cell`` bytes that would not fit.

    Parameters
    ----------
    cells : int
        Cells (or nodes, values) to allocate; Python ints, so no overflow.
    bytes_per_cell : float
        Bytes per cell over everything allocated for them (all layers, masks, copies).
    what : str
        What asks for it, in the user's words (``"AXIS_N 100000 100000 100000"``).
    path : path-like, optional
        The file that asks for it, named first in the message.
    limit : int, optional
        Bytes allowed; :func:`memory_limit` when omitted.

    Returns
    -------
    int
        The bytes needed.

    Raises
    ------
    MemoryLimitError
        (an :class:`~voxprospect.errors.InputFileError`) stating the cells and the bytes
        needed and the limit.
    """
    cells = int(cells)
    need = int(cells * float(bytes_per_cell))
    allowed = memory_limit() if limit is None else int(limit)
    if cells < 0:
        raise MemoryLimitError(path, f"{what}: a negative number of cells ({cells:,})")
    if need > allowed:
        raise MemoryLimitError(path, f"{what}: {cells:,} cells x {bytes_per_cell:g} bytes would need "
                                     f"{format_bytes(need)} of memory, more than the {format_bytes(allowed)} "
                                     "available (set VOXPROSPECT_MEMORY_LIMIT to change the limit)")
    return need
