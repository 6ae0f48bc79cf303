"""TOML text from plain Python tables: the one writer of project files.

The synthetic district's ``project.toml`` and the test suite's tiny projects are written
by :func:`toml_text`, so a project file is built as a dict (checked by the same schema
that reads it) and never kept as a hand-copied template. The output is the plain TOML a
person would write: one ``key = value`` a line, ``[table]`` and ``[[array of tables]]``
headers, a blank line between tables, so text edits on it (the bad-input tests) stay
simple.
"""

from __future__ import annotations

import json
import math
import re

__all__ = ["toml_text", "toml_value"]

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")

#: a table's key holding a comment written above its header
COMMENT = "#"


def _key(k: str) -> str:
    return k if _BARE_KEY.match(k) else json.dumps(k, ensure_ascii=False)


def toml_value(value) -> str:
    """One TOML value: a string, boolean, integer, float or a list of them (inline).

    Raises
    ------
    TypeError
        For a value TOML has no inline form for here (a dict, None, an object).
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        # JSON's escapes are a subset of TOML's basic-string escapes
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no inline TOML form for {type(value).__name__}: {value!r}")


def _is_table(value) -> bool:
    """A dict (a table) or a non-empty list of dicts (an array of tables)."""
    return isinstance(value, dict) or (isinstance(value, list) and bool(value)
                                       and all(isinstance(t, dict) for t in value))


def _comment_lines(text: str) -> list[str]:
    return [("# " + line).rstrip() for line in text.splitlines()]


def _table(header: str, table: dict, out: list[str]) -> None:
    """Append ``[header]`` (or ``[[header]]`` when ``header`` starts with ``[``), its
    scalar keys, then its sub-tables."""
    scalars = [(k, v) for k, v in table.items() if k != COMMENT and not _is_table(v)]
    subtables = [(k, v) for k, v in table.items() if k != COMMENT and _is_table(v)]
    if COMMENT in table:
        out.extend(_comment_lines(table[COMMENT]))
    if scalars or not subtables or header.startswith("["):
        out.append(f"[{header}]")  # a table of tables only needs no header of its own
    elif out and out[-1] == "":
        out.pop()
    out.extend(f"{_key(k)} = {toml_value(v)}" for k, v in scalars)
    name = header.strip("[]")
    for k, v in subtables:
        _emit(f"{name}.{_key(k)}", v, out)


def _emit(name: str, value, out: list[str]) -> None:
    if isinstance(value, dict):
        if out:
            out.append("")
        _table(name, value, out)
    else:  # a list of tables
        for t in value:
            if out:
                out.append("")
            _table(f"[{name}]", t, out)


def toml_text(tables: dict, header: str | None = None) -> str:
    """TOML text for ``tables``: dict values become ``[tables]``, lists of dicts
    ``[[arrays of tables]]``, everything else ``key = value``.

    Parameters
    ----------
    tables : dict
        Top-level keys in the order they are written. A table may hold a ``"#"`` key:
        a comment written on the lines above its header.
    header : str, optional
        A comment written at the top of the file (one ``#`` line per line of text).

    Returns
    -------
    str
        The text, ending in a newline; ``tomllib.loads`` gives back ``tables`` (without
        the comments).
    """
    out: list[str] = _comment_lines(header) if header else []
    for k, v in tables.items():
        if not _is_table(v):
            out.append(f"{_key(k)} = {toml_value(v)}")
    for k, v in tables.items():
        if _is_table(v):
            _emit(_key(k), v, out)
    return "\n".join(out) + "\n"
