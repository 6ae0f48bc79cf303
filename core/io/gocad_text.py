"""The text of GOCAD ASCII files: significant lines, ``{...}`` blocks, objects.

Every GOCAD reader (voxet headers, TSurfs, multi-object files) walks its lines through
:func:`significant_lines`, so blank lines, ``#`` comments and ``HEADER {...}`` blocks
are handled one way; :func:`split_objects` cuts a file into its ``GOCAD <type> ... END``
objects.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Iterator, NamedTuple

from voxprospect.errors import InputFileError

__all__ = ["GocadLine", "object_name", "significant_lines", "split_objects"]


class GocadLine(NamedTuple):
    """One non-blank, non-comment line, stripped.

    ``block`` is the name of the ``{...}`` block the line belongs to (None outside one);
    ``opens`` is True for the line that opens it (``HEADER {``). Closing ``}`` lines are
    not given.
    """

    lineno: int
    text: str
    block: str | None
    opens: bool


def significant_lines(lines: Iterable[str], start: int = 1) -> Iterator[GocadLine]:
    """The lines that carry content, numbered from ``start``, with their block."""
    block = None
    for lineno, raw in enumerate(lines, start=start):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if block is not None:
            if line.startswith("}"):
                block = None
            else:
                yield GocadLine(lineno, line, block, False)
            continue
        if line.endswith("{"):
            block = line.split()[0]
            yield GocadLine(lineno, line, block, True)
            continue
        yield GocadLine(lineno, line, None, False)


def split_objects(path) -> list[tuple[int, str, list[str]]]:
    """``[(first line number, type, [lines])]`` for every ``GOCAD <type> ... END`` object.

    Raises
    ------
    InputFileError
        An object that starts before the previous one ends, content outside an object,
        or an object without ``END``.
    """
    p = Path(path)
    objs, cur = [], None
    with open(p, encoding="latin-1") as fh:
        for lineno, raw in enumerate(fh, start=1):
            toks = raw.split()
            if toks and toks[0].upper() == "GOCAD":
                if cur is not None:
                    raise InputFileError(p, f"line {lineno}: a new GOCAD object starts before END of the "
                                            f"{cur[1]} at line {cur[0]}")
                cur = (lineno, toks[1] if len(toks) > 1 else "?", [raw])
                continue
            if cur is None:
                if toks and not raw.lstrip().startswith("#"):
                    raise InputFileError(p, f"line {lineno}: {toks[0]} outside a GOCAD object")
                continue
            cur[2].append(raw)
            if toks and toks[0].upper() == "END":
                objs.append(cur)
                cur = None
    if cur is not None:
        raise InputFileError(p, f"the GOCAD {cur[1]} starting at line {cur[0]} has no END (truncated file?)")
    return objs


def object_name(lines) -> str | None:
    """The ``name:`` an object's header gives, or None."""
    for ln in lines:
        m = re.match(r"\s*name\s*:\s*(.+)", ln, re.IGNORECASE)
        if m:
            return m.group(1).strip()
    return None
