"""Drillholes on the voxel grid: interval labels, lithology fill, distance layers, the drillhole volume.

The desurveyed holes (:class:`voxprospect.io.drillholes.DrillholeSet`) become cells
here: :func:`label_intervals` marks the cells an interval passes through,
:func:`interpolate_lithology` fills the lithology between holes from the nearest
logged interval within a search radius, and :func:`drillhole_volume` puts it all on
one volume (the ``[inputs.<name>] type = "drillholes"`` of a project, built by
:func:`load_project_input`).
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from voxprospect.errors import InputFileError, NoPositivesError, VoxprospectError
from voxprospect.io.drillholes import DrillholeSet, IntervalTable, read_drillholes

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


def has_value(column: str) -> Callable[[IntervalTable], np.ndarray]:
    """Predicate for :func:`label_intervals`: the interval has a grade in ``column`` (not empty)."""
    def predicate(table: IntervalTable) -> np.ndarray:
        values = table.column(column)
        if values.dtype == object:
            raise InputFileError(table.path, f"column {column!r} of table {table.name!r} is not numeric")
        return np.isfinite(values)
    predicate.description = f"{column} not empty"
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
                     step_m: float | None = None, data_reach_m: float | None = None):
    """Everything a project needs from drillholes, as one volume on ``grid``.

    Layers: ``lithology`` (class ids of ``lithology_column``, nearest logged
    interval within ``search_radius_m``, -1 beyond), one class layer per
    ``extra_columns`` entry, ``distance_to_nearest_hole_m``, ``distance_to_logged_m``
    and, with a cut-off, ``orebody`` (int8, 1 where an interval at or above the
    cut-off passes; the positives) and ``drilled_waste`` (int8, 1 where assay
    intervals with a grade pass and none reaches the cut-off; cells without an
    assayed interval are 0: not drilled waste, merely unknown).

    The active mask (the study volume) is the cells below the collar surface
    (``topography="collars"``, see :func:`topography_from_collars`; ``None`` keeps
    every cell) and, with ``restrict_to_logged``, within the data's reach,
    ``data_reach_m`` (default ``search_radius_m``) of a logged interval. Beyond it the
    lithology, and every evidence built on it, is unknown: a value there would only
    say how far the cell is from the drilling, so a model neither learns from nor
    scores those cells (they are NaN in the evidence and in the prospectivity).

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
    data_reach_m : float, optional
        The data's reach (m from the nearest logged sample); at most ``search_radius_m``,
        since lithology is filled no farther.

    Returns
    -------
    Volume

    Raises
    ------
    NoPositivesError
        If a cut-off is given and no interval at or above it falls in the study volume.
    InputFileError
        Unknown grade column (naming the assay file).
    VoxprospectError
        ``data_reach_m`` not positive or beyond ``search_radius_m``.
    """
    reach = float(search_radius_m if data_reach_m is None else data_reach_m)
    if not 0 < reach <= float(search_radius_m):
        raise VoxprospectError(f"data_reach_m must be positive and at most search_radius_m ({search_radius_m:g} m: "
                               f"the lithology is filled no farther), got {data_reach_m}")
    vol = interpolate_lithology(holes, grid, search_radius_m, table=lithology_table, column=lithology_column,
                                anisotropy=anisotropy, ignore=ignore, step_m=step_m, extra_columns=extra_columns)
    active = np.ones(grid.shape, dtype=bool)
    if topography == "collars":
        active &= topography_from_collars(holes, grid)
    elif topography is not None:
        raise VoxprospectError(f"topography must be 'collars' or None, got {topography!r}")
    if restrict_to_logged:
        active &= vol["distance_to_logged_m"] <= reach
    if not active.any():
        raise VoxprospectError(f"no cell of the grid ({grid.describe()}) lies below the collars and within "
                               f"{reach:g} m of a logged interval; check the grid and the CRS")
    meta = dict(vol.meta)
    info = dict(meta.get("drillholes", {}))
    info["active"] = {"topography": topography, "restrict_to_logged": bool(restrict_to_logged),
                      "data_reach_m": reach if restrict_to_logged else None, "active_cells": int(active.sum())}
    if cutoff is not None:
        if not grade_column or not grade_table:
            raise VoxprospectError("a cut-off needs grade_table and grade_column")
        ore = label_intervals(holes, grid, grade_table, at_or_above(grade_column, cutoff), step_m)
        n_in = int((ore & active).sum())
        if n_in == 0:
            raise NoPositivesError(f"{holes.table(grade_table).path}: no interval with {grade_column} >= "
                                   f"{cutoff:g} passes through the study volume ({grid.describe()})")
        waste = label_intervals(holes, grid, grade_table, has_value(grade_column), step_m) & ~ore
        vol = vol.with_layer("orebody", ore.astype(np.int8)).with_layer("drilled_waste", waste.astype(np.int8))
        info["orebody"] = {"table": grade_table, "column": grade_column, "cutoff": float(cutoff),
                           "voxels": int(ore.sum()), "voxels_in_study_volume": n_in}
        info["drilled_waste"] = {"rule": f"assayed ({grade_column} not empty), every interval below {cutoff:g}",
                                 "voxels": int(waste.sum()), "voxels_in_study_volume": int((waste & active).sum())}
    meta["drillholes"] = info
    from voxprospect.data.volume import Volume
    return Volume(grid, vol.layers, active, vol.classes, meta)


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
                            azimuth_offset_deg=settings.get("azimuth_offset_deg", 0.0),
                            cap_at_length=bool(settings.get("cap_at_length", False)))
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
    elif holes.crs is not None:
        from voxprospect.io.crs import adopt_crs
        labelled = adopt_crs(grid, holes.crs)
        if labelled is None:
            from voxprospect.errors import GridMismatchError
            # metres of one system read as another's put every hole somewhere else, silently
            raise GridMismatchError(f"{settings['collar']}: the drillholes are in {holes.crs} and the project's "
                                    f"grid in {grid.crs} ({project_path}); give the collars in the grid's CRS "
                                    "(reproject them) or correct the crs")
        grid = labelled
    vol = drillhole_volume(holes, grid, search_radius_m=settings.get("search_radius_m", 200.0),
                           lithology_column=settings.get("lithology_column", "rock code"),
                           extra_columns=settings.get("extra_columns") or None,
                           ignore=settings.get("ignore_codes", ()), anisotropy=settings.get("anisotropy", (1, 1, 1)),
                           grade_column=settings.get("grade_column"), cutoff=settings.get("cutoff"),
                           topography=None if settings.get("topography") == "none" else "collars",
                           restrict_to_logged=settings.get("restrict_to_logged", True),
                           step_m=settings.get("step_m"), data_reach_m=settings.get("data_reach_m"))
    return vol
