"""Limits on what a user may ask for, checked before any work: seeds, window sizes, memory.

Every reader and step that allocates from numbers a user gave (a grid shape, a header's
axis counts, a window) asks :func:`check_memory` first, so a typo is one clear error
stating the cells and bytes it would need, never a MemoryError after minutes.
"""

from __future__ import annotations

from voxprospect.errors import ProjectFileError, VoxprospectError

__all__ = ["SEED_MAX", "WINDOW_MAX", "check_seed", "available_memory_bytes", "check_memory", "format_bytes"]


def format_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 KiB'`` (the one byte formatter of every size message)."""
    n = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"


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


def available_memory_bytes() -> int | None:
    """Memory the system can give this process now (Linux MemAvailable; else physical memory)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import os
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(path, what: str, n_cells: int, n_bytes: int) -> None:
    """Refuse, before allocating, a request larger than the memory the machine has.

    Parameters
    ----------
    path : path-like
        The file that asks for it (named in the message).
    what : str
        What it is ("the grid with 4 evidence channels").
    n_cells, n_bytes : int
        Its size in cells and its rough memory in bytes.

    Raises
    ------
    ProjectFileError
    """
    avail = available_memory_bytes()
    if avail is not None and n_bytes > avail:
        raise ProjectFileError(path, f"{what}: {n_cells:,} cells need about {format_bytes(n_bytes)} of memory, "
                                     f"more than the {format_bytes(avail)} available; use a smaller grid or "
                                     "coarser cells")
