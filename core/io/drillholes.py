"""Drillholes: collar, survey and interval tables, desurveyed and put on a voxel grid.

Tables are CSV files with a header row (a UTF-8 byte-order mark, as Excel writes, is
accepted). Column names are matched case-insensitively against common names
(:data:`COLUMN_ALIASES`); other names are given with ``columns``, e.g.
``{"hole_id": "BHID", "from": "FROM_M"}``.

Conventions (documented in ``docs/case-studies/copper-creek.md`` too):

- **Depths** are measured along the hole from the collar (metres).
- **Dip** is negative downwards by default (``-90`` = vertically down, ``0`` =
  horizontal, positive = upward, as underground holes drilled up are logged).
  Files that log downward dips as positive are read with
  ``dip_convention="positive_down"``. A file where most stations point up under the
  default convention is refused, because that is almost always the other convention.
- **Azimuth** is degrees clockwise from the grid's north. No magnetic declination or
  grid convergence is applied; give ``azimuth_offset_deg`` if the survey azimuths
  are magnetic or true and the difference matters at your cell size.
- **Desurvey** is by minimum curvature: between two stations the hole follows the
  circular arc tangent to both station directions. The dogleg angle ``beta`` is the
  angle between the two direction vectors and the segment's displacement is
  ``dMD / 2 * (t1 + t2) * RF`` with the ratio factor ``RF = 2 / beta * tan(beta / 2)``
  (``RF = 1`` for a straight segment). Points inside a segment lie on the same arc.
  Above the first station the hole keeps the first station's direction, below the
  last station (down to the deepest interval) the last station's direction.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from voxprospect.errors import InputFileError, NoPositivesError, VoxprospectError

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
}

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


@dataclass
class _Trace:
    """A desurveyed hole: stations with depth, position and unit direction."""

    depth: np.ndarray      # (n,)
    position: np.ndarray   # (n, 3)
    direction: np.ndarray  # (n, 3) unit vectors (east, north, up)
    length_m: float


@dataclass
class DrillholeSet:
    """Collars, desurveyed traces and interval tables of a set of drillholes.

    Build it with :func:`read_drillholes`. Positions are in the collar file's
    coordinates (a projected CRS, metres; elevation positive up).

    Attributes
    ----------
    collars : dict of str to ndarray (3,)
    tables : dict of str to IntervalTable
    crs : str or None
    sources : dict of str to str
        The files read, by role (provenance for reports).
    """

    collars: dict[str, np.ndarray]
    traces: dict[str, _Trace]
    tables: dict[str, IntervalTable] = field(default_factory=dict)
    crs: str | None = None
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def hole_ids(self) -> list[str]:
        return list(self.collars)

    def __len__(self) -> int:
        return len(self.collars)

    def length(self, hole_id: str) -> float:
        """Length of a hole (m): the deepest survey station or interval."""
        return self._trace(hole_id).length_m

    def table(self, name: str) -> IntervalTable:
        try:
            return self.tables[name]
        except KeyError:
            raise VoxprospectError(f"no interval table {name!r}; tables are: "
                                   f"{', '.join(self.tables) or '(none)'}") from None

    def _trace(self, hole_id) -> _Trace:
        try:
            return self.traces[hole_id]
        except KeyError:
            raise VoxprospectError(f"no drillhole {hole_id!r}") from None

    def xyz_at(self, hole_id: str, depths) -> np.ndarray:
        """World coordinates at depths along one hole (on its minimum-curvature path).

        Parameters
        ----------
        hole_id : str
        depths : array_like of float
            Depths along the hole, 0 to the hole's length.

        Returns
        -------
        ndarray, shape (..., 3)

        Raises
        ------
        VoxprospectError
            If a depth lies outside the hole.
        """
        tr = self._trace(hole_id)
        d = np.asarray(depths, dtype=float)
        if d.size and (np.nanmin(d) < -1e-6 or np.nanmax(d) > tr.length_m + 1e-6):
            raise VoxprospectError(f"drillhole {hole_id!r} is {tr.length_m:g} m long; depths asked run "
                                   f"from {np.nanmin(d):g} to {np.nanmax(d):g} m")
        return _arc_points(tr, np.clip(d, 0.0, tr.length_m))

    def trace_points(self, hole_id: str, step_m: float) -> np.ndarray:
        """Points along a whole hole, collar to end, at most ``step_m`` apart."""
        n = max(1, int(math.ceil(self.length(hole_id) / step_m)))
        return self.xyz_at(hole_id, np.linspace(0.0, self.length(hole_id), n + 1))

    def midpoints(self, table: str) -> np.ndarray:
        """World coordinates of each interval's mid-depth, shape ``(N, 3)``."""
        t = self.table(table)
        return self._points(t, 0.5 * (t.depth_from + t.depth_to), np.arange(len(t)))

    def sample_intervals(self, table: str, step_m: float, which=None) -> tuple[np.ndarray, np.ndarray]:
        """Points along intervals, at most ``step_m`` apart.

        Each interval of length ``L`` is cut into ``n = ceil(L / step_m)`` equal
        pieces and sampled at their mid-depths, so every part of the interval is
        within ``step_m / 2`` of a sample.

        Parameters
        ----------
        table : str
        step_m : float
            Largest spacing between samples along the hole (m).
        which : array_like of bool, optional
            Sample only these intervals.

        Returns
        -------
        xyz : ndarray, shape (M, 3)
        interval : ndarray of int, shape (M,)
            Row of the table each sample belongs to.
        """
        if not step_m > 0:
            raise VoxprospectError(f"the sampling step must be positive, got {step_m}")
        t = self.table(table)
        idx = np.arange(len(t)) if which is None else np.flatnonzero(np.asarray(which, dtype=bool))
        if idx.size == 0:
            return np.empty((0, 3)), np.empty(0, dtype=np.int64)
        lengths = t.length_m[idx]
        n = np.maximum(1, np.ceil(lengths / step_m - 1e-9).astype(np.int64))
        interval = np.repeat(idx, n)
        # position of each piece within its interval: 0..n-1
        within = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
        depth = t.depth_from[interval] + (within + 0.5) * (t.length_m[interval] / np.repeat(n, n))
        return self._points(t, depth, interval), interval

    def _points(self, t: IntervalTable, depth: np.ndarray, interval: np.ndarray) -> np.ndarray:
        out = np.empty((len(depth), 3))
        holes = t.hole_id[interval]
        order = np.argsort(holes, kind="stable")
        sorted_holes = holes[order]
        bounds = np.flatnonzero(np.r_[True, sorted_holes[1:] != sorted_holes[:-1], True])
        for a, b in zip(bounds[:-1], bounds[1:]):
            sel = order[a:b]
            out[sel] = self.xyz_at(sorted_holes[a], depth[sel])
        return out

    def describe(self) -> dict:
        lengths = [tr.length_m for tr in self.traces.values()]
        return {"holes": len(self), "total_length_m": float(np.sum(lengths)),
                "max_length_m": float(np.max(lengths)) if lengths else 0.0,
                "tables": {n: {"intervals": len(t), "overlaps_kept": t.n_overlaps,
                               "columns": list(t.columns)} for n, t in self.tables.items()},
                "crs": self.crs, "sources": dict(self.sources)}


# -- minimum curvature ------------------------------------------------------------------

def direction_vectors(azimuth_deg, dip_deg) -> np.ndarray:
    """Unit vectors (east, north, up) of holes with azimuth and dip (negative down)."""
    az = np.radians(np.asarray(azimuth_deg, dtype=float))
    dip = np.radians(np.asarray(dip_deg, dtype=float))
    return np.stack([np.cos(dip) * np.sin(az), np.cos(dip) * np.cos(az), np.sin(dip)], axis=-1)


def _dogleg(t1: np.ndarray, t2: np.ndarray) -> np.ndarray:
    # atan2 of |cross| and dot is accurate for small and large angles alike
    cross = np.linalg.norm(np.cross(t1, t2), axis=-1)
    dot = np.sum(t1 * t2, axis=-1)
    return np.arctan2(cross, dot)


def ratio_factor(dogleg_rad) -> np.ndarray:
    """Minimum-curvature ratio factor ``2 / beta * tan(beta / 2)`` (1 when straight)."""
    b = np.asarray(dogleg_rad, dtype=float)
    small = b < 1e-6
    safe = np.where(small, 1.0, b)
    # Taylor series 1 + b^2/12 near 0 avoids 0/0
    return np.where(small, 1.0 + b * b / 12.0, 2.0 / safe * np.tan(safe / 2.0))


def minimum_curvature(depths, azimuth_deg, dip_deg, collar) -> tuple[np.ndarray, np.ndarray]:
    """Station positions of a hole by minimum curvature.

    Parameters
    ----------
    depths : array_like, shape (n,)
        Station depths along the hole, increasing, the first at the collar (0).
    azimuth_deg, dip_deg : array_like, shape (n,)
        Station orientation; dip negative downwards.
    collar : (x, y, z)

    Returns
    -------
    positions : ndarray, shape (n, 3)
    directions : ndarray, shape (n, 3)
    """
    md = np.asarray(depths, dtype=float)
    t = direction_vectors(azimuth_deg, dip_deg)
    pos = np.empty((len(md), 3))
    pos[0] = collar
    if len(md) > 1:
        dmd = np.diff(md)
        rf = ratio_factor(_dogleg(t[:-1], t[1:]))
        steps = 0.5 * dmd[:, None] * (t[:-1] + t[1:]) * rf[:, None]
        pos[1:] = np.asarray(collar, dtype=float) + np.cumsum(steps, axis=0)
    return pos, t


def _arc_points(tr: _Trace, d: np.ndarray) -> np.ndarray:
    """Points at depths ``d`` on the circular arcs between a trace's stations."""
    shape = d.shape
    d = d.ravel()
    seg = np.clip(np.searchsorted(tr.depth, d, side="right") - 1, 0, max(len(tr.depth) - 2, 0))
    if len(tr.depth) == 1:
        return (tr.position[0] + d[:, None] * tr.direction[0]).reshape(shape + (3,))
    d1, d2 = tr.depth[seg], tr.depth[seg + 1]
    seg_len = d2 - d1
    s = d - d1
    f = np.where(seg_len > 0, s / np.where(seg_len > 0, seg_len, 1.0), 0.0)
    t1, t2 = tr.direction[seg], tr.direction[seg + 1]
    beta = _dogleg(t1, t2)
    out = np.empty((len(d), 3))
    straight = beta < 1e-6
    # nearly straight: integrate a linearly varying direction (exact as beta -> 0)
    if straight.any():
        ff = f[straight, None]
        out[straight] = (tr.position[seg[straight]]
                         + s[straight, None] * ((1 - ff / 2) * t1[straight] + (ff / 2) * t2[straight]))
    curved = ~straight
    if curved.any():
        b = beta[curved]
        ff = f[curved]
        # integral of the slerp between t1 and t2 over the first f of the arc, i.e.
        # (cos((1-f)b) - cos b) / sin b and (1 - cos fb) / sin b, written as products
        # of sines so that small doglegs lose no precision to cancellation
        c1 = 2 * np.sin((2 - ff) * b / 2) * np.sin(ff * b / 2) / np.sin(b)
        c2 = 2 * np.sin(ff * b / 2) ** 2 / np.sin(b)
        scale = (seg_len[curved] / b)[:, None]
        out[curved] = tr.position[seg[curved]] + scale * (c1[:, None] * t1[curved] + c2[:, None] * t2[curved])
    return out.reshape(shape + (3,))


# -- reading ----------------------------------------------------------------------------

def _read_collars(path, columns):
    header, rows = _read_csv(path)
    cid = _find_column(path, header, "hole_id", columns)
    ids = _hole_ids(path, rows, cid, header)
    xyz = np.column_stack([_numbers(path, rows, _find_column(path, header, r, columns), header)
                           for r in ("x", "y", "z")])
    seen = {}
    for n, h in enumerate(ids):
        if h in seen:
            raise InputFileError(path, f"rows {seen[h]} and {n + 2}: hole {h!r} has two collars")
        seen[h] = n + 2
    return {h: xyz[n] for n, h in enumerate(ids)}


def _read_surveys(path, columns, collars, dip_convention, azimuth_offset_deg):
    header, rows = _read_csv(path)
    ids = _hole_ids(path, rows, _find_column(path, header, "hole_id", columns), header)
    depth = _numbers(path, rows, _find_column(path, header, "depth", columns), header)
    az = _numbers(path, rows, _find_column(path, header, "azimuth", columns), header)
    dip = _numbers(path, rows, _find_column(path, header, "dip", columns), header)
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
    out = {}
    order = np.lexsort((depth, ids.astype(str)))
    for n in order:
        st = out.setdefault(ids[n], [])
        if st and st[-1][0] == depth[n]:
            raise InputFileError(path, f"row {n + 2}: hole {ids[n]!r} has two survey stations at {depth[n]:g} m")
        st.append((depth[n], az[n], dip[n]))
    return {h: np.array(v) for h, v in out.items()}


def _read_intervals(name, path, columns, collars, overlaps) -> IntervalTable:
    header, rows = _read_csv(path)
    c_id = _find_column(path, header, "hole_id", columns)
    c_from = _find_column(path, header, "from", columns)
    c_to = _find_column(path, header, "to", columns)
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
            import logging
            logging.getLogger(__name__).warning("%s: %d overlapping interval pairs kept (overlaps='keep')",
                                                path, ov.size)
    return IntervalTable(name, Path(path), ids, d_from, d_to, other, file_rows, int(ov.size))


def read_drillholes(collar, survey=None, intervals: Mapping[str, object] | None = None, *,
                    columns: Mapping[str, str] | None = None, crs=None, overlaps: str = "error",
                    dip_convention: str = "negative_down", azimuth_offset_deg: float = 0.0) -> DrillholeSet:
    """Read collar, survey and interval tables and desurvey the holes.

    Parameters
    ----------
    collar : path
        CSV with hole id, x, y, z (collar elevation).
    survey : path, optional
        CSV with hole id, depth, azimuth, dip. Holes without stations (or every hole
        when omitted) are vertical.
    intervals : mapping of str to path, optional
        Interval tables by name, e.g. ``{"lithology": "lith.csv", "assay": "assay.csv"}``;
        each has hole id, from and to and any other columns.
    columns : mapping of str to str, optional
        Column names for the roles ``hole_id, x, y, z, depth, azimuth, dip, from, to``
        where they are not among :data:`COLUMN_ALIASES` (same names in every table).
    crs : str or int, optional
        CRS of the collar coordinates (kept for the grid).
    overlaps : {"error", "keep"}
        Overlapping intervals in one hole are refused (naming the rows) or kept
        (each labels what it passes through; the count is logged and kept in
        ``IntervalTable.n_overlaps``).
    dip_convention : {"negative_down", "positive_down"}
    azimuth_offset_deg : float
        Added to every azimuth (declination or grid convergence).

    Returns
    -------
    DrillholeSet

    Raises
    ------
    InputFileError
        Missing file or column, truncated row, non-numeric value, a hole in a survey
        or interval table without a collar, ``from >= to``, overlapping intervals
        (with ``overlaps="error"``), duplicate collars or stations; the message names
        the file, and the row and column where there is one.
    """
    if overlaps not in OVERLAP_POLICIES:
        raise VoxprospectError(f"overlaps must be one of {', '.join(OVERLAP_POLICIES)}, got {overlaps!r}")
    if dip_convention not in DIP_CONVENTIONS:
        raise VoxprospectError(f"dip_convention must be one of {', '.join(DIP_CONVENTIONS)}, got {dip_convention!r}")
    if columns:
        unknown = set(columns) - set(COLUMN_ALIASES)
        if unknown:
            raise VoxprospectError(f"unknown column roles {', '.join(sorted(unknown))}; "
                                   f"roles are: {', '.join(COLUMN_ALIASES)}")
    collars = _read_collars(collar, columns)
    surveys = _read_surveys(survey, columns, collars, dip_convention, azimuth_offset_deg) if survey else {}
    tables = {str(n): _read_intervals(str(n), p, columns, collars, overlaps) for n, p in (intervals or {}).items()}

    deepest = {h: 0.0 for h in collars}
    for h, st in surveys.items():
        deepest[h] = max(deepest[h], float(st[-1, 0]))
    for t in tables.values():
        for h, d in zip(t.hole_id, t.depth_to):
            if d > deepest[h]:
                deepest[h] = float(d)
    traces = {}
    for h, xyz in collars.items():
        st = surveys.get(h)
        if st is None:
            st = np.array([[0.0, 0.0, -90.0]])
        if st[0, 0] > 0:  # no station at the collar: the first one's direction holds above it
            st = np.vstack([[0.0, st[0, 1], st[0, 2]], st])
        length = deepest[h]
        if length > st[-1, 0]:  # intervals below the last station: straight on
            st = np.vstack([st, [length, st[-1, 1], st[-1, 2]]])
        pos, t = minimum_curvature(st[:, 0], st[:, 1], st[:, 2], xyz)
        traces[h] = _Trace(st[:, 0].copy(), pos, t, float(length))
    sources = {"collar": str(collar)}
    if survey:
        sources["survey"] = str(survey)
    sources.update({n: str(p) for n, p in (intervals or {}).items()})
    from voxprospect.data.grid import normalise_crs
    return DrillholeSet(collars, traces, tables, normalise_crs(crs), sources)


# -- voxel labels -----------------------------------------------------------------------

def at_or_above(column: str, cutoff: float) -> Callable[[IntervalTable], np.ndarray]:
    """Predicate for :func:`label_intervals`: ``column >= cutoff`` (empty cells never qualify)."""
    def predicate(table: IntervalTable) -> np.ndarray:
        values = table.column(column)
        if values.dtype == object:
            raise InputFileError(table.path, f"column {column!r} of table {table.name!r} is not numeric")
        with np.errstate(invalid="ignore"):
            return np.asarray(values >= cutoff) & np.isfinite(values)
    predicate.description = f"{column} >= {cutoff:g}"
    return predicate


def _default_step(grid) -> float:
    return 0.5 * min(grid.cell_size)


def _flat_cells(grid, xyz) -> np.ndarray:
    """Fortran-order flat index of the cell of each point; -1 outside the grid."""
    ijk = grid.world_to_index(xyz)
    inside = np.all((ijk >= 0) & (ijk < np.asarray(grid.shape)), axis=1)
    flat = np.full(len(xyz), -1, dtype=np.int64)
    if inside.any():
        flat[inside] = np.ravel_multi_index(ijk[inside].T, grid.shape, order="F")
    return flat


def label_intervals(holes: DrillholeSet, grid, table: str, predicate, step_m: float | None = None) -> np.ndarray:
    """Voxels that a qualifying interval passes through.

    Each qualifying interval is sampled along the hole at most ``step_m`` apart
    (default half the smallest cell size, so no cell the hole crosses is skipped
    by more than a corner) and every cell holding a sample is labelled.

    Parameters
    ----------
    holes : DrillholeSet
    grid : VoxelGrid
    table : str
        Interval table name, e.g. ``"assay"``.
    predicate : callable or (column, cutoff)
        ``predicate(IntervalTable) -> bool array`` per interval, e.g.
        ``at_or_above("Cu_pct", 0.3)``; a ``(column, cutoff)`` pair means the same.
    step_m : float, optional

    Returns
    -------
    ndarray of bool, shape ``grid.shape``
    """
    if isinstance(predicate, (tuple, list)):
        predicate = at_or_above(*predicate)
    t = holes.table(table)
    which = np.asarray(predicate(t), dtype=bool)
    if which.shape != (len(t),):
        raise VoxprospectError(f"the predicate gave {which.shape} values for {len(t)} intervals")
    xyz, _ = holes.sample_intervals(table, step_m or _default_step(grid), which)
    out = np.zeros(grid.n_cells, dtype=bool)
    flat = _flat_cells(grid, xyz)
    out[flat[flat >= 0]] = True
    return out.reshape(grid.shape, order="F")


def _codes(holes: DrillholeSet, table: str, column: str, ignore):
    t = holes.table(table)
    values = t.column(column)
    if values.dtype != object:
        values = np.array(["" if not np.isfinite(v) else f"{v:g}" for v in values], dtype=object)
    keep = np.array([bool(v) for v in values])
    if ignore:
        ign = {str(c).lower() for c in ignore}
        keep &= np.array([str(v).lower() not in ign for v in values])
    names = sorted({str(v) for v in values[keep]}, key=str.lower)
    lookup = {n: i for i, n in enumerate(names)}
    ids = np.array([lookup.get(str(v), -1) for v in values], dtype=np.int64)
    return ids, keep, {i: n for i, n in enumerate(names)}


def lithology_samples(holes: DrillholeSet, grid, table: str = "lithology", column: str = "rock code",
                      step_m: float | None = None, ignore: Sequence[str] = ()) -> tuple[np.ndarray, dict]:
    """Class of each voxel a logged interval passes through; -1 elsewhere.

    Where several intervals cross one voxel, the class logged over the longest
    length inside it wins (counted in samples along the hole).

    Parameters
    ----------
    holes, grid, table, step_m
        As :func:`label_intervals`.
    column : str
        The code column (``"rock code"``, ``"rock class"``).
    ignore : sequence of str
        Codes that are not geology (not recorded, no core, void): left out.

    Returns
    -------
    classes : ndarray of int16, shape ``grid.shape`` (-1 = not drilled)
    table : dict of int to str
    """
    xyz, cls, names = _class_samples(holes, grid, table, column, step_m, ignore)
    flat = _flat_cells(grid, xyz)
    ok = flat >= 0
    out = np.full(grid.n_cells, -1, dtype=np.int16)
    if ok.any():
        n_cls = max(len(names), 1)
        key = flat[ok] * n_cls + cls[ok]
        uniq, counts = np.unique(key, return_counts=True)
        cell, c = uniq // n_cls, uniq % n_cls
        # per cell, the class with most samples: sort by (cell, count) and take the last
        order = np.lexsort((counts, cell))
        last = np.r_[cell[order][1:] != cell[order][:-1], True]
        out[cell[order][last]] = c[order][last]
    return out.reshape(grid.shape, order="F"), names


def _class_samples(holes, grid, table, column, step_m, ignore, with_interval=False):
    ids, keep, names = _codes(holes, table, column, ignore)
    if not keep.any():
        raise NoPositivesError(f"{holes.table(table).path}: column {column!r} has no usable code")
    xyz, interval = holes.sample_intervals(table, step_m or _default_step(grid), keep)
    if with_interval:
        return xyz, ids[interval], names, interval
    return xyz, ids[interval], names


def hole_distance(holes: DrillholeSet, grid, step_m: float | None = None) -> np.ndarray:
    """Distance (m) from each cell centre to the nearest point of any hole trace.

    Returns
    -------
    ndarray of float32, shape ``grid.shape``
    """
    from scipy.spatial import cKDTree

    step = step_m or _default_step(grid)
    pts = np.vstack([holes.trace_points(h, step) for h in holes.hole_ids])
    dist, _ = cKDTree(pts).query(grid.cell_centres(), k=1)
    return dist.astype(np.float32).reshape(grid.shape, order="F")


def interpolate_lithology(holes: DrillholeSet, grid, search_radius_m: float, method: str = "nearest",
                          table: str = "lithology", column: str = "rock code", *,
                          anisotropy=(1.0, 1.0, 1.0), ignore: Sequence[str] = (), step_m: float | None = None,
                          active=None, layer: str = "lithology", extra_columns: Mapping[str, str] | None = None):
    """Lithology between holes: the nearest logged interval within a search radius.

    Every logged interval is sampled along the hole (at most ``step_m`` apart,
    default half the smallest cell). Each cell takes the code of the nearest sample
    when that sample is within ``search_radius_m``; cells farther from every logged
    interval get -1 (no data). With ``anisotropy = (ax, ay, az)`` distances along x,
    y and z are divided by these relative ranges before the search, so ``(1, 1, 0.5)``
    reaches half as far vertically as horizontally (the search region is an
    axis-aligned ellipsoid with semi-axes ``search_radius_m * a``).

    Parameters
    ----------
    holes : DrillholeSet
    grid : VoxelGrid
    search_radius_m : float
    method : {"nearest"}
        The only method implemented (nearest neighbour: no smoothing, every
        filled cell carries a code that was really logged).
    table, column, ignore, step_m
        As :func:`lithology_samples`.
    anisotropy : (ax, ay, az)
    active : ndarray of bool, optional
        Study-volume mask of the returned volume (e.g. below topography).
    layer : str
        Name of the class layer.
    extra_columns : mapping of str to str, optional
        More code columns of the same table filled from the same nearest sample,
        ``{layer_name: column}``, e.g. ``{"rock_class": "rock class"}``, so the
        layers always agree with each other.

    Returns
    -------
    Volume
        ``layer`` (int16 class ids, -1 beyond the radius, with the class table),
        ``distance_to_nearest_hole_m`` (float32, to any hole trace, in true metres)
        and ``distance_to_logged_m`` (float32, to the nearest logged sample, the
        distance the fill used, isotropic metres).

    Raises
    ------
    VoxprospectError
        Unknown method, non-positive radius or anisotropy.
    NoPositivesError
        If the column holds no usable code.
    """
    from scipy.spatial import cKDTree

    from voxprospect.data.volume import Volume

    if method != "nearest":
        raise VoxprospectError(f"unknown lithology interpolation {method!r}; use 'nearest'")
    if not search_radius_m > 0:
        raise VoxprospectError(f"search_radius_m must be positive, got {search_radius_m}")
    aniso = np.asarray(anisotropy, dtype=float)
    if aniso.shape != (3,) or not np.all(aniso > 0):
        raise VoxprospectError(f"anisotropy must be three positive ratios, got {anisotropy}")
    xyz, cls, names, interval = _class_samples(holes, grid, table, column, step_m, ignore, with_interval=True)
    centres = grid.cell_centres()
    tree = cKDTree(xyz / aniso)
    d_scaled, nearest = tree.query(centres / aniso, k=1, distance_upper_bound=float(search_radius_m))
    found = np.isfinite(d_scaled)
    lith = np.full(grid.n_cells, -1, dtype=np.int16)
    lith[found] = cls[nearest[found]]
    d_logged, _ = cKDTree(xyz).query(centres, k=1)
    shape = grid.shape
    layers = {layer: lith.reshape(shape, order="F"),
              "distance_to_nearest_hole_m": hole_distance(holes, grid, step_m),
              "distance_to_logged_m": d_logged.astype(np.float32).reshape(shape, order="F")}
    classes = {layer: names}
    for extra_layer, extra_column in (extra_columns or {}).items():
        ids, _, extra_names = _codes(holes, table, extra_column, ())
        extra = np.full(grid.n_cells, -1, dtype=np.int16)
        extra[found] = ids[interval[nearest[found]]]
        layers[extra_layer] = extra.reshape(shape, order="F")
        classes[extra_layer] = extra_names
    meta = {"drillholes": {"interpolation": {"method": method, "search_radius_m": float(search_radius_m),
                                             "anisotropy": aniso.tolist(), "table": table, "column": column,
                                             "ignored_codes": list(ignore),
                                             "step_m": float(step_m or _default_step(grid))},
                           **holes.describe()}}
    return Volume(grid, layers, active, classes, meta)


def topography_from_collars(holes: DrillholeSet, grid, holes_used: Sequence[str] | None = None) -> np.ndarray:
    """Active mask below a surface interpolated through the collar elevations.

    The surface is linear between collars (Delaunay triangles) and takes the
    nearest collar's elevation outside their hull. A cell is active when its
    centre lies below the surface. This is a stand-in for a DEM: good where
    collars are dense, rough between sparse ones.

    Parameters
    ----------
    holes : DrillholeSet
    grid : VoxelGrid
    holes_used : sequence of str, optional
        Collars to use (leave out underground collars).

    Returns
    -------
    ndarray of bool, shape ``grid.shape``
    """
    from scipy.interpolate import LinearNDInterpolator, NearestNDInterpolator

    ids = list(holes_used) if holes_used is not None else holes.hole_ids
    pts = np.array([holes.collars[h] for h in ids])
    xs, ys = np.meshgrid(grid.axis_centres(0), grid.axis_centres(1), indexing="ij")
    q = np.column_stack([xs.ravel(), ys.ravel()])
    surf = LinearNDInterpolator(pts[:, :2], pts[:, 2])(q)
    miss = ~np.isfinite(surf)
    if miss.any():
        surf[miss] = NearestNDInterpolator(pts[:, :2], pts[:, 2])(q[miss])
    surf = surf.reshape(grid.shape[:2])
    return grid.elevations[None, None, :] < surf[:, :, None]


def drillhole_volume(holes: DrillholeSet, grid, *, search_radius_m: float, lithology_table: str = "lithology",
                     lithology_column: str = "rock code", extra_columns: Mapping[str, str] | None = None,
                     ignore: Sequence[str] = (), anisotropy=(1.0, 1.0, 1.0), grade_table: str | None = "assay",
                     grade_column: str | None = None, cutoff: float | None = None,
                     topography: str | None = "collars", restrict_to_logged: bool = True,
                     step_m: float | None = None):
    """Everything a project needs from drillholes, as one volume on ``grid``.

    Layers: ``lithology`` (class ids of ``lithology_column``, nearest logged
    interval within ``search_radius_m``, -1 beyond), one class layer per
    ``extra_columns`` entry, ``distance_to_nearest_hole_m``, ``distance_to_logged_m``
    and, with a cut-off, ``orebody`` (int8, 1 where an interval at or above the
    cut-off passes; the positives).

    The active mask (the study volume) is the cells below the collar surface
    (``topography="collars"``, see :func:`topography_from_collars`; ``None`` keeps
    every cell) and, with ``restrict_to_logged``, within ``search_radius_m`` of a
    logged interval: beyond it the lithology, and every evidence built on it, is
    unknown, and a model must neither learn from nor score those cells.

    Parameters
    ----------
    holes : DrillholeSet
    grid : VoxelGrid
    search_radius_m, lithology_table, lithology_column, extra_columns, ignore, anisotropy, step_m
        See :func:`interpolate_lithology`.
    grade_table, grade_column, cutoff
        Assay table, grade column and cut-off (same units) for the positives.
    topography : {"collars", None}
    restrict_to_logged : bool

    Returns
    -------
    Volume

    Raises
    ------
    NoPositivesError
        If a cut-off is given and no interval at or above it falls in the study volume.
    InputFileError
        Unknown grade column (naming the assay file).
    """
    vol = interpolate_lithology(holes, grid, search_radius_m, table=lithology_table, column=lithology_column,
                                anisotropy=anisotropy, ignore=ignore, step_m=step_m, extra_columns=extra_columns)
    active = np.ones(grid.shape, dtype=bool)
    if topography == "collars":
        active &= topography_from_collars(holes, grid)
    elif topography is not None:
        raise VoxprospectError(f"topography must be 'collars' or None, got {topography!r}")
    if restrict_to_logged:
        active &= vol["distance_to_logged_m"] <= search_radius_m
    if not active.any():
        raise VoxprospectError(f"no cell of the grid ({grid.describe()}) lies below the collars and within "
                               f"{search_radius_m:g} m of a logged interval; check the grid and the CRS")
    meta = dict(vol.meta)
    info = dict(meta.get("drillholes", {}))
    info["active"] = {"topography": topography, "restrict_to_logged": bool(restrict_to_logged),
                      "active_cells": int(active.sum())}
    if cutoff is not None:
        if not grade_column or not grade_table:
            raise VoxprospectError("a cut-off needs grade_table and grade_column")
        ore = label_intervals(holes, grid, grade_table, at_or_above(grade_column, cutoff), step_m)
        n_in = int((ore & active).sum())
        if n_in == 0:
            raise NoPositivesError(f"{holes.table(grade_table).path}: no interval with {grade_column} >= "
                                   f"{cutoff:g} passes through the study volume ({grid.describe()})")
        vol = vol.with_layer("orebody", ore.astype(np.int8))
        info["orebody"] = {"table": grade_table, "column": grade_column, "cutoff": float(cutoff),
                           "voxels": int(ore.sum()), "voxels_in_study_volume": n_in}
    meta["drillholes"] = info
    from voxprospect.data.volume import Volume
    return Volume(grid, vol.layers, active, vol.classes, meta)


# -- project files ------------------------------------------------------------------------

#: Keys of an ``[inputs.<name>]`` table with ``type = "drillholes"``.
PROJECT_KEYS = ("type", "description", "collar", "survey", "lithology", "assay", "columns", "crs", "overlaps",
                "dip_convention", "azimuth_offset_deg", "lithology_column", "extra_columns", "ignore_codes",
                "search_radius_m", "anisotropy", "grade_column", "cutoff", "topography", "restrict_to_logged",
                "step_m", "cell_size", "bounds")
_PROJECT_FILES = ("collar", "survey", "lithology", "assay")


def parse_project_input(project_path, name: str, table: Mapping) -> dict:
    """Validate a ``type = "drillholes"`` input of a project file.

    Parameters
    ----------
    project_path : Path
        The project file (paths are relative to its folder).
    name : str
        The input's name (``[inputs.<name>]``).
    table : mapping
        The input's table as parsed from TOML.

    Returns
    -------
    dict
        The settings with file paths resolved (``collar``, ``survey``, ``lithology``,
        ``assay``) and defaults filled in; :func:`load_project_input` takes it.

    Raises
    ------
    ProjectFileError
        Unknown key, wrong type, missing collar table, or a file that does not exist;
        the message names the project file and the key.
    """
    import difflib

    from voxprospect.errors import ProjectFileError

    project_path = Path(project_path)
    where = f"inputs.{name}"

    def fail(key, problem):
        raise ProjectFileError(project_path, f"{where}.{key}: {problem}" if key else f"{where}: {problem}")

    for key in table:
        if key not in PROJECT_KEYS:
            close = difflib.get_close_matches(str(key), PROJECT_KEYS, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            fail(key, f"unknown key{hint}; a drillholes input takes: {', '.join(PROJECT_KEYS)}")
    out = {"type": "drillholes"}
    for key in _PROJECT_FILES:
        if key not in table:
            if key == "collar":
                fail(key, "missing required key (the collar table)")
            out[key] = None
            continue
        if not isinstance(table[key], str):
            fail(key, f"must be a path (string), got {table[key]!r}")
        p = Path(table[key]).expanduser()
        p = (p if p.is_absolute() else project_path.parent / p).resolve()
        if not p.exists():
            fail(key, f"file not found: {p}")
        out[key] = p

    def get(key, types, default, check=None, what=""):
        if key not in table:
            return default
        v = table[key]
        allowed = types if isinstance(types, tuple) else (types,)
        if (isinstance(v, bool) and bool not in allowed) or not isinstance(v, allowed):
            fail(key, f"must be {what}, got {v!r}")
        if check is not None and not check(v):
            fail(key, f"must be {what}, got {v!r}")
        return v

    num = (int, float)
    three = lambda v: len(v) == 3 and all(isinstance(x, num) and not isinstance(x, bool) and x > 0 for x in v)
    out["columns"] = dict(get("columns", dict, {}, lambda v: all(isinstance(x, str) for x in v.values()),
                              "a table of role = \"column name\""))
    unknown_roles = set(out["columns"]) - set(COLUMN_ALIASES)
    if unknown_roles:
        fail("columns", f"unknown roles {', '.join(sorted(unknown_roles))}; roles are: {', '.join(COLUMN_ALIASES)}")
    out["crs"] = get("crs", (str, int), None, what="an EPSG code or \"EPSG:n\"")
    out["overlaps"] = get("overlaps", str, "error", lambda v: v in OVERLAP_POLICIES,
                          f"one of {', '.join(OVERLAP_POLICIES)}")
    out["dip_convention"] = get("dip_convention", str, "negative_down", lambda v: v in DIP_CONVENTIONS,
                                f"one of {', '.join(DIP_CONVENTIONS)}")
    out["azimuth_offset_deg"] = float(get("azimuth_offset_deg", num, 0.0, what="a number"))
    out["lithology_column"] = get("lithology_column", str, "rock code", what="a column name")
    out["extra_columns"] = dict(get("extra_columns", dict, {}, lambda v: all(isinstance(x, str) for x in v.values()),
                                    "a table of layer = \"column name\""))
    out["ignore_codes"] = list(get("ignore_codes", list, [], lambda v: all(isinstance(x, str) for x in v),
                                   "a list of codes"))
    out["search_radius_m"] = float(get("search_radius_m", num, 200.0, lambda v: v > 0, "a positive number"))
    out["anisotropy"] = list(get("anisotropy", list, [1.0, 1.0, 1.0], three, "three positive ratios"))
    out["grade_column"] = get("grade_column", str, None, what="a column name")
    out["cutoff"] = get("cutoff", num, None, what="a number")
    if (out["cutoff"] is None) != (out["grade_column"] is None):
        fail("cutoff", "grade_column and cutoff go together (the positives are grade_column >= cutoff)")
    if out["cutoff"] is not None and out["assay"] is None:
        fail("assay", "a cut-off needs the assay table")
    if out["lithology"] is None:
        fail("lithology", "missing required key (the lithology log the layers are filled from)")
    out["topography"] = get("topography", str, "collars", lambda v: v in ("collars", "none"),
                            "\"collars\" or \"none\"")
    out["restrict_to_logged"] = get("restrict_to_logged", bool, True, what="true or false")
    out["step_m"] = get("step_m", num, None, lambda v: v > 0, "a positive number")
    out["cell_size"] = get("cell_size", list, None, three, "three positive numbers")
    out["bounds"] = get("bounds", list, None, lambda v: len(v) == 6 and all(isinstance(x, num) for x in v),
                        "six numbers [xmin, xmax, ymin, ymax, zmin, zmax]")
    out["description"] = get("description", str, None, what="a string")
    return out


def project_input_files(settings: Mapping) -> list[Path]:
    """The files a drillholes input reads (for reports and the never-overwrite check)."""
    return [settings[k] for k in _PROJECT_FILES if settings.get(k) is not None]


def load_project_input(settings: Mapping, grid=None, project_path=None):
    """Build the drillhole volume of a project input (see :func:`drillhole_volume`).

    Parameters
    ----------
    settings : mapping
        Output of :func:`parse_project_input`.
    grid : VoxelGrid, optional
        The project's grid. Without one, the input's ``cell_size`` (and ``bounds``,
        default the holes' extent) defines it.
    project_path : path, optional
        Named in errors.

    Returns
    -------
    Volume
        Layers ``lithology``, the ``extra_columns`` layers, ``distance_to_nearest_hole_m``,
        ``distance_to_logged_m`` and, with a cut-off, ``orebody``.

    Raises
    ------
    ProjectFileError
        No grid and no ``cell_size``.
    InputFileError, NoPositivesError
        From reading the tables and labelling.
    """
    from voxprospect.errors import ProjectFileError
    from voxprospect.data.grid import VoxelGrid

    tables = {k: settings[k] for k in ("lithology", "assay") if settings.get(k) is not None}
    holes = read_drillholes(settings["collar"], settings.get("survey"), tables,
                            columns=settings.get("columns") or None, crs=settings.get("crs"),
                            overlaps=settings.get("overlaps", "error"),
                            dip_convention=settings.get("dip_convention", "negative_down"),
                            azimuth_offset_deg=settings.get("azimuth_offset_deg", 0.0))
    if grid is None:
        if settings.get("cell_size") is None:
            raise ProjectFileError(project_path, "a drillholes input needs the project's [grid] or its own "
                                                 "cell_size (and optionally bounds)")
        bounds = settings.get("bounds")
        if bounds is None:
            pts = np.vstack([tr.position for tr in holes.traces.values()])
            lo, hi = pts.min(axis=0), pts.max(axis=0)
            bounds = (lo[0], hi[0], lo[1], hi[1], lo[2], hi[2])
        grid = VoxelGrid.from_bounds(bounds, settings["cell_size"], holes.crs)
    elif grid.crs is None and holes.crs is not None:
        grid = VoxelGrid(grid.origin, grid.cell_size, grid.shape, holes.crs)
    vol = drillhole_volume(holes, grid, search_radius_m=settings.get("search_radius_m", 200.0),
                           lithology_column=settings.get("lithology_column", "rock code"),
                           extra_columns=settings.get("extra_columns") or None,
                           ignore=settings.get("ignore_codes", ()), anisotropy=settings.get("anisotropy", (1, 1, 1)),
                           grade_column=settings.get("grade_column"), cutoff=settings.get("cutoff"),
                           topography=None if settings.get("topography") == "none" else "collars",
                           restrict_to_logged=settings.get("restrict_to_logged", True),
                           step_m=settings.get("step_m"))
    return vol
