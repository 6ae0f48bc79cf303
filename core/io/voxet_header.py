"""The GOCAD Voxet ``.vo`` header: axes, node counts and the properties' file settings.

:func:`parse_voxet_header` gives a :class:`VoxetHeader`; the reader and writer are in
:mod:`voxprospect.io.gocad` (geometry and file layout explained there), the rotated and
embedded voxets in :mod:`voxprospect.io.gocad_multi`.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voxprospect.errors import InputFileError
from voxprospect.io import header_fields as hf
from voxprospect.io.gocad_text import significant_lines

__all__ = ["VoxetHeader", "VoxetProperty", "parse_voxet_header", "voxet_bytes_per_node"]


@dataclass
class VoxetProperty:
    """One ``PROPERTY n`` of a voxet header (what is needed to read its file)."""

    index: int
    name: str
    file: str | None = None
    esize: int = 4
    etype: str = "IEEE"
    signed: bool | None = None
    storage: str | None = None
    subclass: str | None = None
    no_data: float | None = None
    offset: int = 0
    format: str | None = None  # RAW or ASCII; None when the header does not say
    byteorder: str | None = None


@dataclass
class VoxetHeader:
    """The parsed ``.vo`` header."""

    path: Path
    name: str | None = None
    origin: np.ndarray = field(default_factory=lambda: np.zeros(3))
    axes: np.ndarray = field(default_factory=lambda: np.eye(3))  # rows U, V, W
    axis_min: np.ndarray = field(default_factory=lambda: np.zeros(3))
    axis_max: np.ndarray = field(default_factory=lambda: np.ones(3))
    axis_d: np.ndarray | None = None
    n: tuple[int, int, int] | None = None
    zpositive: str = "Elevation"
    crs: str | None = None
    ascii_header: bool = False
    properties: dict[int, VoxetProperty] = field(default_factory=dict)


def _floats(path, key, toks, count):
    return np.array(hf.numbers(path, key, toks, count), dtype=float)


_RE_PROP_FILE = re.compile(r"^\S+\s+\S+\s+(.*?)\s*$")


def _file_name(line: str, toks: list[str]) -> str:
    """``PROP_FILE n name``: quoted names as written, unquoted ones verbatim (two spaces kept)."""
    m = _RE_PROP_FILE.match(line)
    rest = m.group(1) if m else " ".join(toks[2:])
    if rest[:1] in "\"'":
        try:
            parts = shlex.split(rest, posix=True)
            if len(parts) == 1:
                return parts[0]
        except ValueError:
            pass
    return rest


def parse_voxet_header(path) -> VoxetHeader:
    """Parse a GOCAD Voxet ``.vo`` header.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    VoxetHeader

    Raises
    ------
    InputFileError
        If the file is not a voxet header or a required keyword is missing or invalid.
    """
    p = hf.require_format(path, "gocad-voxet", "GOCAD Voxet header")
    hdr = VoxetHeader(path=p)
    for ln in significant_lines(hf.read_header_text(p).splitlines()):
        if ln.block is not None:
            if ln.block == "HEADER" and not ln.opens:
                key, _, val = ln.text.partition(":")
                key, val = key.strip().lower(), val.strip()
                if key == "name":
                    hdr.name = val
                elif key == "ascii":
                    hdr.ascii_header = val.lower() in ("on", "true", "1")
            continue
        line = ln.text
        try:
            toks = shlex.split(line, posix=True)
        except ValueError:
            toks = line.split()
        if not toks:
            continue
        key, rest = toks[0].upper(), toks[1:]
        if key == "AXIS_O":
            hdr.origin = _floats(p, key, rest, 3)
        elif key in ("AXIS_U", "AXIS_V", "AXIS_W"):
            hdr.axes["UVW".index(key[-1])] = _floats(p, key, rest, 3)
        elif key == "AXIS_MIN":
            hdr.axis_min = _floats(p, key, rest, 3)
        elif key == "AXIS_MAX":
            hdr.axis_max = _floats(p, key, rest, 3)
        elif key == "AXIS_D":
            hdr.axis_d = _floats(p, key, rest, 3)
        elif key == "AXIS_N":
            hdr.n = tuple(hf.numbers(p, key, rest, 3, integer=True, minimum=1))
        elif key == "ZPOSITIVE" and rest:
            hdr.zpositive = hf.choice(p, key, rest[0], ("ELEVATION", "DEPTH")).capitalize()
        elif key in ("NAME", "PROJECTION", "DATUM") and rest:
            m = re.search(r"EPSG[:\s]*(\d+)", " ".join(rest), re.IGNORECASE)
            if m and hdr.crs is None:
                hdr.crs = f"EPSG:{m.group(1)}"
        elif key == "PROPERTY" and len(rest) >= 2:
            idx = _prop_index(p, key, rest)
            prop = hdr.properties.setdefault(idx, VoxetProperty(idx, rest[1]))
            prop.name = " ".join(rest[1:])
        elif key.startswith("PROP") and len(rest) >= 1 and rest[0].lstrip("-").isdigit():
            idx = _prop_index(p, key, rest)
            prop = hdr.properties.setdefault(idx, VoxetProperty(idx, f"property_{idx}"))
            val = rest[1:]
            if key == "PROP_FILE":
                val = [_file_name(line, toks)]
            _set_property_key(p, prop, key, val)
    if hdr.n is None:
        raise InputFileError(p, "voxet header has no AXIS_N (number of nodes along each axis)")
    if not hdr.properties:
        raise InputFileError(p, "voxet header declares no PROPERTY")
    return hdr


def voxet_bytes_per_node(hdr: VoxetHeader) -> int:
    """Memory a read takes per node: each property's raw values and its native copy, plus masks."""
    return sum(q.esize + max(q.esize, 4) for q in hdr.properties.values()) + 2


def _prop_index(path, key, rest) -> int:
    try:
        return int(rest[0])
    except ValueError:
        raise InputFileError(path, f"{key} needs a property number, got {rest[0]!r}") from None


_ETYPES = ("IEEE", "INT", "INTEGER", "OCTET", "SIGNED", "UNSIGNED")
_KNOWN_PROP_KEYS = ("PROP_FILE", "PROP_ESIZE", "PROP_ETYPE", "PROP_SIGNED", "PROP_STORAGE_TYPE",
                    "PROPERTY_SUBCLASS", "PROP_NO_DATA_VALUE", "PROP_OFFSET", "PROP_FORMAT",
                    "PROP_BYTE_ORDER", "PROP_ENDIANNESS", "PROP_ENDIAN")


def _set_property_key(path, prop: VoxetProperty, key: str, val: list[str]) -> None:
    if not val:
        return
    field_name = f"{key} {prop.index}"
    if key == "PROP_FILE":
        prop.file = val[0]
    elif key == "PROP_ESIZE":
        prop.esize = int(hf.choice(path, field_name, val[0], ("1", "2", "4", "8")))
    elif key == "PROP_ETYPE":
        prop.etype = hf.choice(path, field_name, val[0], _ETYPES)
    elif key == "PROP_SIGNED":
        prop.signed = hf.choice(path, field_name, val[0], ("0", "1", "TRUE", "FALSE", "ON", "OFF")) \
            in ("1", "TRUE", "ON")
    elif key == "PROP_STORAGE_TYPE":
        prop.storage = val[0].lower()
    elif key == "PROPERTY_SUBCLASS":
        prop.subclass = val[0].upper()
    elif key == "PROP_NO_DATA_VALUE":
        prop.no_data = hf.number(path, field_name, val[0], finite=False)
    elif key == "PROP_OFFSET":
        prop.offset = hf.number(path, field_name, val[0], integer=True, minimum=0)
    elif key == "PROP_FORMAT":
        prop.format = hf.choice(path, field_name, val[0], ("RAW", "ASCII"))
    elif key in ("PROP_BYTE_ORDER", "PROP_ENDIANNESS", "PROP_ENDIAN"):
        word = val[0].lower()
        prop.byteorder = "little" if word in ("little", "lsb", "lsbfirst", "intel") else "big"
