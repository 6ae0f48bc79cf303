"""One parser for the numbers and words of text headers (GOCAD voxet and TSurf, UBC-GIF mesh).

Every field is parsed through :func:`number`, :func:`numbers` or :func:`choice`, so a
bad value is always refused the same way: an
:class:`~voxprospect.errors.InputFileError` naming the file, the field and the value
(``AXIS_N: '1e400' is not a finite number``), never a ``ValueError`` or an
``OverflowError`` from deep inside a reader, and never accepted silently.
"""

from __future__ import annotations

import math
from pathlib import Path

from voxprospect.errors import InputFileError

__all__ = ["choice", "number", "numbers", "read_header_text", "require_format"]


def read_header_text(path) -> str:
    """A text header's characters: UTF-8 (as voxprospect writes it), else Latin-1 (old GOCAD files)."""
    raw = Path(path).read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def require_format(path, fmt: str, what: str, hint: bool = True) -> Path:
    """``path`` as a Path when its content sniffs as ``fmt``.

    Raises
    ------
    InputFileError
        Naming ``what`` the reader wanted and what the file holds instead (with a
        pointer to ``read_volume``, which reads any format, when ``hint``).
    """
    from voxprospect.io import sniff_format

    p = Path(path)
    found = sniff_format(p)
    if found != fmt:
        raise InputFileError(p, f"not a {what} (its content is {found})"
                                + ("; voxprospect.io.read_volume reads any format by content" if hint else ""))
    return p


def _show(token) -> str:
    t = str(token)
    return repr(t if len(t) <= 40 else t[:37] + "...")


def number(path, field: str, token, *, integer: bool = False, finite: bool = True,
           minimum: float | None = None, maximum: float | None = None, positive: bool = False):
    """Parse one header value.

    Parameters
    ----------
    path : path-like
        The file, named in the error.
    field : str
        The field's name as the file spells it (``"AXIS_N"``, ``"PROP_OFFSET 2"``).
    token : str
    integer : bool
        The value must be a whole number (``"12"`` or ``"12.0"``); an ``int`` is returned.
    finite : bool
        Refuse NaN and infinities (and numbers too large for a float, like ``1e400``).
    minimum, maximum : float, optional
        Inclusive bounds.
    positive : bool
        The value must be > 0.

    Raises
    ------
    InputFileError
        Naming the file, the field and the value.
    """
    try:
        value = float(token)
    except (TypeError, ValueError):
        raise InputFileError(path, f"{field}: {_show(token)} is not a number") from None
    if finite and not math.isfinite(value):
        raise InputFileError(path, f"{field}: {_show(token)} is not a finite number")
    if integer:
        if not math.isfinite(value) or value != math.floor(value):
            raise InputFileError(path, f"{field}: {_show(token)} is not a whole number")
        value = int(value)
    if positive and not value > 0:
        raise InputFileError(path, f"{field}: {_show(token)} must be positive")
    if minimum is not None and value < minimum:
        raise InputFileError(path, f"{field}: {_show(token)} is below the smallest allowed value {minimum:g}")
    if maximum is not None and value > maximum:
        raise InputFileError(path, f"{field}: {_show(token)} is above the largest allowed value {maximum:g}")
    return value


def numbers(path, field: str, tokens, count: int, **kwargs) -> list:
    """Parse exactly ``count`` values (extra tokens are ignored, as GOCAD does).

    Raises
    ------
    InputFileError
        If there are fewer than ``count`` values or one is invalid (see :func:`number`).
    """
    tokens = list(tokens)
    if len(tokens) < count:
        raise InputFileError(path, f"{field} needs {count} numbers, got {_show(' '.join(map(str, tokens)))}")
    return [number(path, field, t, **kwargs) for t in tokens[:count]]


def choice(path, field: str, token, choices) -> str:
    """One of a fixed set of words (compared case-insensitively; returned upper-case).

    Raises
    ------
    InputFileError
        Naming the file, the field, the value and the words allowed.
    """
    word = str(token).upper()
    allowed = [c.upper() for c in choices]
    if word not in allowed:
        raise InputFileError(path, f"{field}: {_show(token)} is not one of {', '.join(allowed)}")
    return word
