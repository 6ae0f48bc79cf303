"""Drillhole tables: CSV reading, column mapping and the interval table.

Tables are CSV files with a header row (a UTF-8 byte-order mark, as Excel writes, is
accepted). Column names are matched case-insensitively against common names
(:data:`COLUMN_ALIASES`, listed in docs/project-file.md); other names are given with
``columns``, e.g. ``{"hole_id": "BHID", "from": "FROM_M"}``. The column chosen for
each role is logged and kept (:func:`column_mapping`), so a report says which column
played which part.
"""

from __future__ import annotations

import csv
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from voxprospect.errors import InputFileError

log = logging.getLogger("voxprospect.io.drillholes")

#: Accepted column names (lower case) for each role; the first match wins.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "hole_id": ("hole_id", "holeid", "hole", "bhid", "dhid", "hole_name", "id"),
    "x": ("x", "easting", "east", "xcollar", "x_collar"),
    "y": ("y", "northing", "north", "ycollar", "y_collar"),
    "z": ("z", "elevation", "elev", "rl", "zcollar", "z_collar"),
    "depth": ("depth", "at", "md", "survey_depth", "distance"),
    "azimuth": ("azimuth", "azi", "az", "bearing", "brg"),
    "dip": ("dip", "inclination", "incl"),
    "from": ("from", "depth_from", "from_m", "from_depth", "mfrom"),
    "to": ("to", "depth_to", "to_m", "to_depth", "mto"),
    # collar table only, optional: the planned or drilled length of the hole
    "length": ("length", "hole_length", "length_m", "max_depth", "total_depth", "eoh", "td", "depth"),
}

#: Roles looked for in each kind of table (the optional ones in brackets are used when present).
TABLE_ROLES = {"collar": ("hole_id", "x", "y", "z", "[azimuth]", "[dip]", "[length]"),
               "survey": ("hole_id", "depth", "azimuth", "dip"),
               "interval": ("hole_id", "from", "to")}

OVERLAP_POLICIES = ("error", "keep")
DIP_CONVENTIONS = ("negative_down", "positive_down")
_OVERLAPS_WARNED: set = set()


# -- CSV reading ------------------------------------------------------------------------

def _read_csv(path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV file; a row with the wrong number of fields is refused."""
    p = Path(path)
    if not p.exists():
        raise InputFileError(p, "file not found")
    if p.is_dir():
        raise InputFileError(p, "is a folder, not a CSV table")
    try:
        with open(p, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            try:
                header = next(reader)
            except StopIteration:
                raise InputFileError(p, "file is empty (no header row)") from None
            rows = []
            for row in reader:
                if not row or all(not v.strip() for v in row):
                    continue  # blank lines are harmless
                if len(row) != len(header):
                    raise InputFileError(
                        p, f"row {reader.line_num} has {len(row)} fields, the header has {len(header)} "
                           "(truncated or malformed file?)")
                rows.append(row)
    except UnicodeDecodeError as exc:
        raise InputFileError(p, f"is not a UTF-8 text table ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise InputFileError(p, f"is not a valid CSV table: {exc}") from None
    header = [h.strip() for h in header]
    if not rows:
        raise InputFileError(p, "has a header but no data rows")
    return header, rows


def _find_column(path, header, role: str, columns: Mapping[str, str] | None, required: bool = True):
    """Index of the column playing ``role`` (hole_id, x, from, ...)."""
    lower = [h.lower() for h in header]
    if columns and role in columns:
        name = str(columns[role])
        if name.lower() in lower:
            return lower.index(name.lower())
        raise InputFileError(path, f"has no column {name!r} (mapped to {role!r}); columns are: {', '.join(header)}")
    for alias in COLUMN_ALIASES[role]:
        if alias in lower:
            return lower.index(alias)
    if not required:
        return None
    raise InputFileError(
        path, f"has no {role!r} column (looked for {', '.join(COLUMN_ALIASES[role])}); columns are: "
              f"{', '.join(header)}. Name it with columns={{{role!r}: 'YOUR_NAME'}}")


def _column(path, header, role, columns, used: dict, required: bool = True):
    """:func:`_find_column`, recording the column chosen for ``role`` in ``used``.

    An optional role whose mapped name is missing from this table falls back on the
    common names (``columns`` maps the same names in every table: a survey ``dip``
    column need not exist in the collar table).
    """
    try:
        c = _find_column(path, header, role, columns, required)
    except InputFileError:
        if required:
            raise
        c = _find_column(path, header, role, None, False)
    if c is not None:
        used[role] = header[c]
    return c


def log_mapping(path, used: Mapping[str, str]) -> None:
    """One log line naming the CSV column read for each role."""
    log.info("%s: columns %s", Path(path).name, ", ".join(f"{r}={c!r}" for r, c in used.items()))


def _numbers(path, rows, col: int, header, *, allow_empty: bool = False) -> np.ndarray:
    out = np.empty(len(rows))
    for n, row in enumerate(rows):
        text = row[col].strip()
        if not text:
            if allow_empty:
                out[n] = np.nan
                continue
            raise InputFileError(path, f"row {n + 2}: column {header[col]!r} is empty")
        try:
            out[n] = float(text)
        except ValueError:
            raise InputFileError(path, f"row {n + 2}: column {header[col]!r} is not a number: {text!r}") from None
        if not math.isfinite(out[n]) and not allow_empty:
            raise InputFileError(path, f"row {n + 2}: column {header[col]!r} is not finite: {text!r}")
    return out


def _hole_ids(path, rows, col: int, header) -> np.ndarray:
    ids = []
    for n, row in enumerate(rows):
        h = row[col].strip()
        if not h:
            raise InputFileError(path, f"row {n + 2}: column {header[col]!r} (hole id) is empty")
        ids.append(h)
    return np.array(ids, dtype=object)


# -- data objects ---------------------------------------------------------------------

@dataclass
class IntervalTable:
    """Intervals along holes (lithology log, assays), one row per interval.

    Attributes
    ----------
    name : str
        Table name (``"lithology"``, ``"assay"``).
    path : Path
        The file it was read from (named in error messages).
    hole_id, depth_from, depth_to : ndarray
        One value per interval, sorted by hole then depth.
    columns : dict of str to ndarray
        The other columns: float arrays (empty cells NaN) for numeric columns,
        object arrays of str for text columns.
    rows : ndarray of int
        Row number in the file (header = row 1) of each interval.
    n_overlaps : int
        Overlapping interval pairs kept (``overlaps="keep"``).
    """

    name: str
    path: Path
    hole_id: np.ndarray
    depth_from: np.ndarray
    depth_to: np.ndarray
    columns: dict[str, np.ndarray]
    rows: np.ndarray
    n_overlaps: int = 0

    def __len__(self) -> int:
        return len(self.hole_id)

    def column(self, name: str) -> np.ndarray:
        """A column by name (case-insensitive).

        Raises
        ------
        InputFileError
            If the table has no such column.
        """
        for k, v in self.columns.items():
            if k.lower() == str(name).lower():
                return v
        raise InputFileError(self.path, f"table {self.name!r} has no column {name!r}; "
                                        f"columns are: {', '.join(self.columns)}")

    @property
    def length_m(self) -> np.ndarray:
        return self.depth_to - self.depth_from

    def capped(self, lengths: Mapping[str, float]) -> "IntervalTable":
        """The table with every hole cut at its length: deeper intervals dropped, one across it shortened."""
        cap = np.array([lengths.get(h, np.inf) for h in self.hole_id], dtype=float)
        keep = self.depth_from < cap
        to = np.minimum(self.depth_to, cap)[keep]
        return IntervalTable(self.name, self.path, self.hole_id[keep], self.depth_from[keep], to,
                             {k: v[keep] for k, v in self.columns.items()}, self.rows[keep], self.n_overlaps)


# -- reading ----------------------------------------------------------------------------

def read_collars(path, columns, used: dict | None = None):
    """Collar positions and, where the table has them, AZ, DIP and LENGTH.

    Returns
    -------
    collars : dict of str to ndarray (3,)
    orientation : dict of str to ndarray (3,)
        ``(azimuth, dip, length)`` per hole, NaN where absent. Dips are returned as
        logged; :func:`collar_dips_down` reads their sign.
    """
    used = {} if used is None else used
    header, rows = _read_csv(path)
    cid = _column(path, header, "hole_id", columns, used)
    ids = _hole_ids(path, rows, cid, header)
    xyz = np.column_stack([_numbers(path, rows, _column(path, header, r, columns, used), header)
                           for r in ("x", "y", "z")])
    extra = []
    for role in ("azimuth", "dip", "length"):
        c = _column(path, header, role, columns, used, required=False)
        extra.append(np.full(len(rows), np.nan) if c is None else _numbers(path, rows, c, header, allow_empty=True))
    extra = np.column_stack(extra)
    seen = {}
    for n, h in enumerate(ids):
        if h in seen:
            raise InputFileError(path, f"rows {seen[h]} and {n + 2}: hole {h!r} has two collars")
        seen[h] = n + 2
        if np.isfinite(extra[n, 1]) and not -90.0 <= extra[n, 1] <= 90.0:
            raise InputFileError(path, f"row {n + 2}: collar dip {extra[n, 1]:g} is outside -90..90 degrees")
        if np.isfinite(extra[n, 2]) and extra[n, 2] <= 0:
            raise InputFileError(path, f"row {n + 2}: hole {h!r} has a collar length of {extra[n, 2]:g} m")
    log_mapping(path, used)
    return {h: xyz[n] for n, h in enumerate(ids)}, {h: extra[n] for n, h in enumerate(ids)}


def collar_dips_down(orientation: Mapping[str, np.ndarray]) -> dict:
    """Collar dips, negative downwards, read by majority.

    Collar and survey tables of one database often log dips with opposite signs
    (issue 12: survey positive down, collar negative down), so the collar's sign is
    read on its own: when most non-zero collar dips are positive, downward dips are
    positive in this table and every collar dip is negated.
    """
    dips = np.array([v[1] for v in orientation.values()], dtype=float)
    nz = dips[np.isfinite(dips) & (dips != 0)]
    flip = nz.size > 0 and np.mean(nz > 0) > 0.5
    if flip:
        log.info("collar dips are positive downwards in this table (most are > 0): read as negative down")
    return {h: (-v[1] if flip else v[1]) for h, v in orientation.items()}


def read_surveys(path, columns, collars, dip_convention, azimuth_offset_deg, used: dict | None = None):
    """Survey stations per hole as ``(depth, azimuth, dip)`` rows sorted by depth.

    Returns
    -------
    stations : dict of str to ndarray (n, 3)
        Dips negative downwards, azimuths with the offset added. Of two stations at
        one depth the first in the file is kept.
    duplicates : dict of str to int
        Stations dropped as duplicates, per hole (a QA finding).
    """
    used = {} if used is None else used
    header, rows = _read_csv(path)
    ids = _hole_ids(path, rows, _column(path, header, "hole_id", columns, used), header)
    depth = _numbers(path, rows, _column(path, header, "depth", columns, used), header)
    az = _numbers(path, rows, _column(path, header, "azimuth", columns, used), header)
    dip = _numbers(path, rows, _column(path, header, "dip", columns, used), header)
    log_mapping(path, used)
    for n in range(len(rows)):
        if ids[n] not in collars:
            raise InputFileError(path, f"row {n + 2}: hole {ids[n]!r} has no collar")
        if depth[n] < 0:
            raise InputFileError(path, f"row {n + 2}: negative survey depth {depth[n]:g}")
        if not -90.0 <= dip[n] <= 90.0:
            raise InputFileError(path, f"row {n + 2}: dip {dip[n]:g} is outside -90..90 degrees")
    if dip_convention == "positive_down":
        dip = -dip
    elif np.mean(dip > 0) > 0.5:
        raise InputFileError(path, f"{np.mean(dip > 0):.0%} of the survey stations point upward with dips "
                                   "negative downwards; if this file logs downward dips as positive, read it "
                                   "with dip_convention='positive_down'")
    az = az + azimuth_offset_deg
    out, duplicates = {}, {}
    # stable sort: of two stations at one depth the first in the file comes first
    order = np.lexsort((np.arange(len(depth)), depth, ids.astype(str)))
    for n in order:
        st = out.setdefault(ids[n], [])
        if st and st[-1][0] == depth[n]:
            duplicates[ids[n]] = duplicates.get(ids[n], 0) + 1
            continue
        st.append((depth[n], az[n], dip[n]))
    return {h: np.array(v) for h, v in out.items()}, duplicates


def read_intervals(name, path, columns, collars, overlaps, used: dict | None = None) -> IntervalTable:
    """An interval table (lithology log, assays), sorted by hole then depth."""
    used = {} if used is None else used
    header, rows = _read_csv(path)
    c_id = _column(path, header, "hole_id", columns, used)
    c_from = _column(path, header, "from", columns, used)
    c_to = _column(path, header, "to", columns, used)
    log_mapping(path, used)
    ids = _hole_ids(path, rows, c_id, header)
    d_from = _numbers(path, rows, c_from, header)
    d_to = _numbers(path, rows, c_to, header)
    for n in range(len(rows)):
        if ids[n] not in collars:
            raise InputFileError(path, f"row {n + 2}: hole {ids[n]!r} has no collar")
        if d_from[n] < 0:
            raise InputFileError(path, f"row {n + 2}: negative depth {d_from[n]:g} in column {header[c_from]!r}")
        if not d_from[n] < d_to[n]:
            raise InputFileError(path, f"row {n + 2}: hole {ids[n]!r} interval from {d_from[n]:g} m is not above "
                                       f"to {d_to[n]:g} m ({header[c_from]!r} must be less than {header[c_to]!r})")
    other = {}
    for c, h in enumerate(header):
        if c in (c_id, c_from, c_to):
            continue
        texts = [row[c].strip() for row in rows]
        try:
            other[h] = np.array([float(v) if v else np.nan for v in texts])
        except ValueError:
            other[h] = np.array(texts, dtype=object)
    order = np.lexsort((d_from, ids.astype(str)))
    ids, d_from, d_to = ids[order], d_from[order], d_to[order]
    other = {k: v[order] for k, v in other.items()}
    file_rows = order + 2
    same = ids[1:] == ids[:-1]
    ov = np.flatnonzero(same & (d_from[1:] < d_to[:-1] - 1e-6))
    if ov.size and overlaps == "error":
        a, b = ov[0], ov[0] + 1
        raise InputFileError(
            path, f"rows {file_rows[a]} and {file_rows[b]}: hole {ids[a]!r} intervals {d_from[a]:g}-{d_to[a]:g} m "
                  f"and {d_from[b]:g}-{d_to[b]:g} m overlap ({ov.size} overlapping pairs in all); fix the table or "
                  "read it with overlaps='keep'")
    if ov.size:
        # the user chose to keep them; the count is in DrillholeSet.describe() and the reports
        # a project reads its drillholes more than once (evidence, orebodies): say it once per file
        key = (str(Path(path).resolve()), int(ov.size))
        if key not in _OVERLAPS_WARNED:
            _OVERLAPS_WARNED.add(key)
            log.warning("%s: %d overlapping interval pairs kept (overlaps='keep')",
                                                path, ov.size)
    return IntervalTable(name, Path(path), ids, d_from, d_to, other, file_rows, int(ov.size))

