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

from typing import Mapping

import numpy as np

from voxprospect.errors import VoxprospectError
from voxprospect.io.desurvey import (DrillholeSet, Trace, direction_vectors, minimum_curvature,
                                     ratio_factor)
from voxprospect.io.drillhole_project import PROJECT_KEYS, parse_project_input, project_input_files
from voxprospect.io.drillhole_qa import QA_KINDS, DrillholeQA, check_intervals, check_rise, check_stations
from voxprospect.io.drillhole_tables import (COLUMN_ALIASES, DIP_CONVENTIONS, OVERLAP_POLICIES, TABLE_ROLES,
                                             IntervalTable, collar_dips_down, read_collars, read_intervals,
                                             read_surveys)

__all__ = ["COLUMN_ALIASES", "DIP_CONVENTIONS", "OVERLAP_POLICIES", "PROJECT_KEYS", "QA_KINDS", "TABLE_ROLES",
           "DrillholeQA", "DrillholeSet",
           "IntervalTable", "Trace", "direction_vectors", "minimum_curvature", "parse_project_input",
           "project_input_files", "ratio_factor", "read_drillholes"]


def read_drillholes(collar, survey=None, intervals: Mapping[str, object] | None = None, *,
                    columns: Mapping[str, str] | None = None, crs=None, overlaps: str = "error",
                    dip_convention: str = "negative_down", azimuth_offset_deg: float = 0.0,
                    cap_at_length: bool = False) -> DrillholeSet:
    """Read collar, survey and interval tables, check them and desurvey the holes.

    Parameters
    ----------
    collar : path
        CSV with hole id, x, y, z (collar elevation) and, when present, AZ, DIP and
        LENGTH (roles ``azimuth``, ``dip``, ``length``).
    survey : path, optional
        CSV with hole id, depth, azimuth, dip. A hole without stations (every hole
        when omitted) is straight along its collar AZ and DIP, or vertical without them.
    intervals : mapping of str to path, optional
        Interval tables by name, e.g. ``{"lithology": "lith.csv", "assay": "assay.csv"}``;
        each has hole id, from and to and any other columns.
    columns : mapping of str to str, optional
        Column names for the roles of :data:`COLUMN_ALIASES` where the file's names
        are not among the common ones (same names in every table).
    crs : str or int, optional
        CRS of the collar coordinates (kept for the grid).
    overlaps : {"error", "keep"}
        Overlapping intervals in one hole are refused (naming the rows) or kept
        (each labels what it passes through; the count is logged and kept in
        ``IntervalTable.n_overlaps``).
    dip_convention : {"negative_down", "positive_down"}
        Sign of the survey dips. Collar dips are read by majority
        (:func:`~voxprospect.io.drillhole_tables.collar_dips_down`).
    azimuth_offset_deg : float
        Added to every azimuth (declination or grid convergence).
    cap_at_length : bool
        Cut every hole with a collar LENGTH at it: deeper stations and intervals are
        dropped, an interval across it is shortened. Without it a hole is as long as
        its deepest station, interval or LENGTH.

    Returns
    -------
    DrillholeSet
        With ``qa`` (the QA table of :mod:`voxprospect.io.drillhole_qa`, one warning
        logged per kind of problem found) and ``columns_used`` (the CSV column read
        for each role, per table).

    Raises
    ------
    InputFileError
        Missing file or column, truncated row, non-numeric value, a hole in a survey
        or interval table without a collar, ``from >= to``, overlapping intervals
        (with ``overlaps="error"``), duplicate collars; the message names the file,
        and the row and column where there is one.
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
    used: dict = {"collar": {}}
    collars, orientation = read_collars(collar, columns, used["collar"])
    collar_dip = collar_dips_down(orientation)
    lengths = {h: float(v[2]) for h, v in orientation.items() if np.isfinite(v[2])}
    qa = DrillholeQA()
    surveys = {}
    if survey:
        used["survey"] = {}
        surveys, duplicates = read_surveys(survey, columns, collars, dip_convention, azimuth_offset_deg,
                                           used["survey"])
        for h, n in duplicates.items():
            qa.add("duplicate_station", h, n)
    tables = {}
    for n, p in (intervals or {}).items():
        used[str(n)] = {}
        tables[str(n)] = read_intervals(str(n), p, columns, collars, overlaps, used[str(n)])
    deepest_logged = _deepest(tables)
    for t in tables.values():
        check_intervals(qa, t.hole_id, t.depth_to, lengths)
    check_stations(qa, surveys, deepest_logged, lengths)
    if cap_at_length and lengths:
        tables = {n: t.capped(lengths) for n, t in tables.items()}
        surveys = {h: _stations_above(st, lengths.get(h)) for h, st in surveys.items()}
        deepest_logged = _deepest(tables)
    traces = {}
    for h, xyz in collars.items():
        traces[h] = _trace(xyz, surveys.get(h), orientation[h][0], collar_dip[h],
                           lengths.get(h) if cap_at_length else None,
                           max(deepest_logged.get(h, 0.0), lengths.get(h, 0.0)))
        check_rise(qa, h, traces[h].position[:, 2])
    sources = {"collar": str(collar)}
    if survey:
        sources["survey"] = str(survey)
    sources.update({n: str(p) for n, p in (intervals or {}).items()})
    qa.warn(str(collar))
    from voxprospect.data.grid import normalise_crs
    return DrillholeSet(collars, traces, tables, normalise_crs(crs), sources,
                        qa=qa.table(len(collars), cap_at_length=cap_at_length, columns=used), columns_used=used)


def _trace(collar, stations, collar_az, collar_dip, cap, deepest) -> Trace:
    """One hole desurveyed: its stations (or its collar AZ/DIP, else vertical), cut at
    ``cap`` when given, else as long as its deepest station, interval or LENGTH."""
    st = stations
    if st is None or len(st) == 0:
        st = np.array([[0.0, collar_az if np.isfinite(collar_az) else 0.0,
                        collar_dip if np.isfinite(collar_dip) else -90.0]])
    if st[0, 0] > 0:  # no station at the collar: the first one's direction holds above it
        st = np.vstack([[0.0, st[0, 1], st[0, 2]], st])
    length = cap if cap is not None else max(float(st[-1, 0]), deepest)
    if length > st[-1, 0]:  # below the last station: straight on
        st = np.vstack([st, [length, st[-1, 1], st[-1, 2]]])
    pos, t = minimum_curvature(st[:, 0], st[:, 1], st[:, 2], collar)
    return Trace(st[:, 0].copy(), pos, t, float(length))


def _deepest(tables) -> dict:
    """The deepest logged depth of each hole over every interval table."""
    out: dict = {}
    for t in tables.values():
        for h, d in zip(t.hole_id, t.depth_to):
            out[h] = max(out.get(h, 0.0), float(d))
    return out


def _stations_above(stations: np.ndarray, length: float | None) -> np.ndarray:
    """Stations no deeper than ``length`` (all of them without one)."""
    if length is None:
        return stations
    return stations[stations[:, 0] <= length]
