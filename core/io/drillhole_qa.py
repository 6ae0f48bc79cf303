"""Drillhole QA on read: survey and length problems found, counted and reported.

Nothing here changes the data (capping holes at their collar LENGTH is an option of
:func:`voxprospect.io.drillholes.read_drillholes`); each finding is a kind of problem
with the number of holes and items affected and a few example hole ids. The table
goes into ``report.json`` under ``drillhole_qa`` and one warning line per kind found
is logged.

Kinds (:data:`QA_KINDS`):

``dip_sign_flip``
    A hole's survey dips point both up and down (beyond ``flip_tolerance_deg`` of
    horizontal): a hole cannot turn through the horizontal between two stations
    tens of metres apart, so one sign is almost always a logging error.
``turns_upward``
    The desurveyed hole climbs more than ``rise_tolerance_m`` back up after its lowest
    point (a hole drilled upward from underground from the start is not flagged).
``station_beyond_logged``
    Survey stations deeper than the hole's deepest logged interval (any table) by
    more than ``depth_tolerance_m``: dummy end-of-hole stations make the desurveyed
    hole longer than the drilling.
``station_beyond_length``, ``interval_beyond_length``
    Stations or intervals deeper than the collar LENGTH by more than ``depth_tolerance_m``.
``duplicate_station``
    Two or more stations at one depth; the first in the file is kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

log = logging.getLogger("voxprospect.io.drillholes")

#: What each kind of finding means (the QA table's ``meaning``).
QA_KINDS = {
    "dip_sign_flip": "survey dips point both up and down in one hole",
    "turns_upward": "the desurveyed hole climbs back up after going down",
    "station_beyond_logged": "survey stations deeper than the deepest logged interval",
    "station_beyond_length": "survey stations deeper than the collar LENGTH",
    "interval_beyond_length": "intervals deeper than the collar LENGTH",
    "duplicate_station": "survey stations at one depth (the first in the file is kept)",
}

#: Depth slack (m) before a station or interval counts as beyond the log or LENGTH.
DEPTH_TOLERANCE_M = 10.0
#: Dips within this many degrees of horizontal are not counted as up or down.
FLIP_TOLERANCE_DEG = 5.0
#: A desurveyed hole climbing less than this (m) after its lowest point is not flagged.
RISE_TOLERANCE_M = 1.0
#: Example hole ids listed per kind.
N_EXAMPLES = 5

_WARNED: set = set()


@dataclass
class DrillholeQA:
    """Findings of one read, by kind: ``{kind: {hole_id: n_items}}``."""

    findings: dict = field(default_factory=lambda: {k: {} for k in QA_KINDS})
    depth_tolerance_m: float = DEPTH_TOLERANCE_M
    flip_tolerance_deg: float = FLIP_TOLERANCE_DEG
    rise_tolerance_m: float = RISE_TOLERANCE_M

    def add(self, kind: str, hole_id: str, n: int = 1) -> None:
        if n > 0:
            by_hole = self.findings[kind]
            by_hole[hole_id] = by_hole.get(hole_id, 0) + int(n)

    def count(self, kind: str) -> int:
        """Holes with this kind of problem."""
        return len(self.findings[kind])

    def table(self, n_holes: int, *, cap_at_length: bool = False, columns: Mapping | None = None) -> dict:
        """The QA table for reports: per kind the holes and items affected and example ids."""
        kinds = {}
        for kind, meaning in QA_KINDS.items():
            by_hole = self.findings[kind]
            kinds[kind] = {"holes": len(by_hole), "items": int(sum(by_hole.values())),
                           "examples": sorted(by_hole, key=str)[:N_EXAMPLES], "meaning": meaning}
        return {"holes_checked": int(n_holes), "problems": int(sum(1 for k in kinds.values() if k["holes"])),
                "kinds": kinds, "depth_tolerance_m": self.depth_tolerance_m,
                "flip_tolerance_deg": self.flip_tolerance_deg, "rise_tolerance_m": self.rise_tolerance_m,
                "cap_at_length": bool(cap_at_length), "columns": dict(columns or {})}

    def warning_lines(self, source: str = "") -> list[str]:
        """One line per kind of problem found, with counts and example hole ids."""
        lines = []
        where = f"{source}: " if source else ""
        for kind, meaning in QA_KINDS.items():
            by_hole = self.findings[kind]
            if not by_hole:
                continue
            ex = ", ".join(sorted(by_hole, key=str)[:N_EXAMPLES])
            n, items = len(by_hole), sum(by_hole.values())
            lines.append(f"{where}drillhole QA {kind}: {n} hole{'s' if n != 1 else ''} "
                         f"({items} item{'s' if items != 1 else ''}), {meaning}; e.g. {ex}")
        return lines

    def warn(self, source: str = "") -> None:
        """Log :meth:`warning_lines` once per source and finding (a project reads its holes more than once)."""
        for line in self.warning_lines(source):
            if line not in _WARNED:
                _WARNED.add(line)
                log.warning("%s", line)


def check_stations(qa: DrillholeQA, surveys: Mapping[str, np.ndarray], deepest_logged: Mapping[str, float],
                   lengths: Mapping[str, float]) -> None:
    """Dip sign flips and stations beyond the log or the LENGTH (stations ``(depth, az, dip)``, dip negative down)."""
    tol = qa.depth_tolerance_m
    for h, st in surveys.items():
        dip = st[:, 2]
        if (dip > qa.flip_tolerance_deg).any() and (dip < -qa.flip_tolerance_deg).any():
            qa.add("dip_sign_flip", h, int(np.sum(np.sign(dip[1:]) != np.sign(dip[:-1]))))
        logged = deepest_logged.get(h)
        if logged is not None:
            qa.add("station_beyond_logged", h, int(np.sum(st[:, 0] > logged + tol)))
        length = lengths.get(h, np.nan)
        if np.isfinite(length):
            qa.add("station_beyond_length", h, int(np.sum(st[:, 0] > length + tol)))


def check_intervals(qa: DrillholeQA, hole_id: np.ndarray, depth_to: np.ndarray, lengths: Mapping[str, float]) -> None:
    """Intervals deeper than their hole's collar LENGTH."""
    cap = np.array([lengths.get(h, np.nan) for h in hole_id], dtype=float)
    with np.errstate(invalid="ignore"):
        beyond = np.isfinite(cap) & (depth_to > cap + qa.depth_tolerance_m)
    for h in hole_id[beyond]:
        qa.add("interval_beyond_length", h)


def check_rise(qa: DrillholeQA, hole_id: str, elevations: np.ndarray) -> None:
    """Flag a desurveyed hole that climbs back up after its lowest point."""
    z = np.asarray(elevations, dtype=float)
    low = int(np.argmin(z))
    # the lowest point below the collar and above the end: down, then up
    if 0 < low < len(z) - 1 and float(z[low + 1:].max() - z[low]) > qa.rise_tolerance_m:
        qa.add("turns_upward", hole_id)
