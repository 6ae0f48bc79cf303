"""Drillhole desurvey: minimum curvature and the desurveyed set of holes.

Conventions:

- **Depths** are measured along the hole from the collar (metres).
- **Dip** is negative downwards (``-90`` = vertically down, ``0`` = horizontal,
  positive = upward); files logging downward dips as positive are flipped on read.
- **Azimuth** is degrees clockwise from the grid's north.
- **Desurvey** is by minimum curvature: between two stations the hole follows the
  circular arc tangent to both station directions. The dogleg angle ``beta`` is the
  angle between the two direction vectors and the segment's displacement is
  ``dMD / 2 * (t1 + t2) * RF`` with the ratio factor ``RF = 2 / beta * tan(beta / 2)``
  (``RF = 1`` for a straight segment). Points inside a segment lie on the same arc.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from voxprospect.errors import VoxprospectError
from voxprospect.io.drillhole_tables import IntervalTable

@dataclass
class Trace:
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
    qa : dict
        The QA table of the read (:mod:`voxprospect.io.drillhole_qa`).
    columns_used : dict
        ``{table: {role: CSV column}}``: which column was read for each role.
    """

    collars: dict[str, np.ndarray]
    traces: dict[str, Trace]
    tables: dict[str, IntervalTable] = field(default_factory=dict)
    crs: str | None = None
    sources: dict[str, str] = field(default_factory=dict)
    qa: dict = field(default_factory=dict)
    columns_used: dict = field(default_factory=dict)

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

    def _trace(self, hole_id) -> Trace:
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
                "crs": self.crs, "sources": dict(self.sources), "columns": dict(self.columns_used),
                "qa": dict(self.qa)}


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


def _arc_points(tr: Trace, d: np.ndarray) -> np.ndarray:
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

