"""3D drill targets: prospective voxels grouped into connected bodies.

Voxels of the study volume at or above a threshold (usually the prediction-area
crossing, :func:`voxprospect.learn.evaluate.prediction_area`) are grouped into bodies that
are 26-connected: two voxels belong to the same target when they share a face, an
edge or a corner. Targets are numbered 1, 2, ... by descending maximum prospectivity
(ties by mean prospectivity, then size), so target 1 holds the most prospective voxel.

Each target records its voxel count, volume (m3), top and bottom elevation (the top
of its highest cell and the bottom of its lowest cell, metres, positive up), its
centroid (mean of its cell centres, world coordinates), its depth below the surface,
mean and max prospectivity, and the known deposits with at least one voxel inside it.
The members' spread inside each target (``std_mean``, ``std_max``) is added to the
rows by :func:`voxprospect.mapping.target_spread.spread_columns`; the writers carry
those columns (empty cells without a spread layer).

Depth is measured below the topography surface of the study volume: in every
``(i, j)`` column the surface is the top of the column's highest active cell
(:func:`surface_elevation`). ``top_depth_m`` is the shallowest depth of the
target's cell tops (surface of the cell's column minus the cell's top);
``centroid_depth_m`` the mean depth of its cell centres below their columns'
surface, i.e. the depth of its centroid measured column by column.

Writers: :func:`write_targets_csv` (one row per target), :func:`targets_volume` (an
integer ``target_id`` label volume, 0 = no target, for ``.vti`` or GeoTIFF slices),
and :func:`write_targets_gpkg` (GeoPackage with outlines per elevation level and 3D
centroids). An empty target set still gives valid files with zero rows or features,
so a pipeline downstream never trips over a missing file; the caller reports it.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voxprospect.errors import LayerError, VoxprospectError
from voxprospect.data.grid import VoxelGrid
from voxprospect.io.safe_write import safe_output, verify_sqlite
from voxprospect.data.volume import Volume

#: Columns of the target table, in order (``deposits`` is a list in the table and
#: a ``"; "``-joined string in files).
TARGET_COLUMNS = ("target_id", "n_voxels", "volume_m3", "top_elevation_m", "bottom_elevation_m",
                  "top_depth_m", "centroid_depth_m",
                  "centroid_x", "centroid_y", "centroid_z", "mean_prospectivity",
                  "max_prospectivity", "std_mean", "std_max", "n_deposits", "deposits")

_STRUCTURE_26 = np.ones((3, 3, 3), dtype=bool)


@dataclass
class TargetSet:
    """Connected 3D targets on a grid.

    Attributes
    ----------
    grid : VoxelGrid
    labels : ndarray of int32, shape (nx, ny, nz)
        Target id per voxel; 0 = not in a target.
    table : list of dict
        One dict per target, ordered by id, with the keys of :data:`TARGET_COLUMNS`.
    threshold : float
    layer : str
        The prospectivity layer the targets were drawn from.
    active : ndarray of bool
        The study volume (carried into the label volume).
    """

    grid: VoxelGrid
    labels: np.ndarray
    table: list
    threshold: float
    layer: str = "prospectivity"
    active: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.table)

    def __len__(self) -> int:
        return len(self.table)

    def summary(self) -> dict:
        """Plain numbers for ``report.json``'s ``targets``."""
        return {"count": self.count, "threshold": float(self.threshold), "layer": self.layer,
                "total_voxels": int(sum(t["n_voxels"] for t in self.table)),
                "total_volume_m3": float(sum(t["volume_m3"] for t in self.table)),
                "with_deposits": [t["target_id"] for t in self.table if t["deposits"]],
                "deposits_found": sorted({d for t in self.table for d in t["deposits"]})}


def find_targets(prospectivity: Volume, threshold: float, layer: str = "prospectivity",
                 deposits=None, deposit_names=None, min_voxels: int = 1, select_layer: str | None = None) -> TargetSet:
    """Group the active voxels at or above ``threshold`` into 26-connected targets.

    Parameters
    ----------
    prospectivity : Volume
        Holds ``layer``; its active mask bounds the study volume.
    threshold : float
        Voxels with prospectivity ``>= threshold`` are prospective.
    layer : str
    deposits : Volume or ndarray, optional
        Known deposits: an integer label array (0 = none, one id per deposit), a
        boolean mask (each 26-connected body is one deposit), or a Volume holding
        such a layer (``"deposits"``, or its only layer; names from its class table).
    deposit_names : dict or list, optional
        ``{id: name}``, or names of ids 1, 2, ... in order. Default ``"deposit <id>"``
        (or the Volume's class table).
    min_voxels : int
        Targets with fewer voxels are dropped.
    select_layer : str, optional
        Select the voxels on this layer (``select_layer >= threshold``: the members'
        10 % quantile, the mean's percentile rank) instead of ``layer``; the targets'
        statistics are still those of ``layer``.

    Returns
    -------
    TargetSet

    Raises
    ------
    LayerError
        If the layer is missing or has no value in the study volume.
    GridMismatchError
        If the deposits Volume is on another grid.
    """
    from scipy import ndimage

    grid = prospectivity.grid
    values = np.asarray(prospectivity[layer], dtype=float)
    active = prospectivity.active
    finite = active & np.isfinite(values)
    if not finite.any():
        raise LayerError(f"layer {layer!r} has no value inside the study volume")
    if not math.isfinite(float(threshold)):
        raise VoxprospectError(f"the target threshold must be a number, got {threshold}")
    deposit_labels, names = _deposit_labels(deposits, deposit_names, grid)

    if select_layer is None or select_layer == layer:
        mask = finite & (values >= threshold)
    else:
        chosen = np.asarray(prospectivity[select_layer], dtype=float)
        mask = finite & np.isfinite(chosen) & (chosen >= threshold)
    raw, n_raw = ndimage.label(mask, structure=_STRUCTURE_26)
    idx = np.nonzero(raw)
    lab = raw[idx]
    counts, sums, vmax, kmin, kmax, centre_index, first = _body_stats(lab, idx, values[idx], n_raw, grid.shape)

    keep = [t for t in range(1, n_raw + 1) if counts[t] >= max(1, int(min_voxels))]
    means = {t: sums[t] / counts[t] for t in keep}
    # most prospective first; the first voxel's flat index settles exact ties reproducibly
    keep.sort(key=lambda t: (-vmax[t], -means[t], -counts[t], first[t]))
    new_id = np.zeros(n_raw + 1, dtype=np.int32)
    new_id[keep] = np.arange(1, len(keep) + 1, dtype=np.int32)
    labels = new_id[raw]

    contained = _deposits_inside(raw, keep, deposit_labels, names)
    dz, z0 = grid.cell_size[2], grid.origin[2]
    min_top_depth, sum_centre_depth = _depths(active, grid, idx, lab, n_raw)
    table = []
    for t in keep:
        centroid = grid.index_to_world(centre_index[t] / counts[t])
        table.append({
            "target_id": int(new_id[t]),
            "n_voxels": int(counts[t]),
            "volume_m3": float(counts[t] * grid.cell_volume),
            "top_elevation_m": float(z0 + (kmax[t] + 1) * dz),
            "bottom_elevation_m": float(z0 + kmin[t] * dz),
            "top_depth_m": float(min_top_depth[t]),
            "centroid_depth_m": float(sum_centre_depth[t] / counts[t]),
            "centroid_x": float(centroid[0]),
            "centroid_y": float(centroid[1]),
            "centroid_z": float(centroid[2]),
            "mean_prospectivity": float(means[t]),
            "max_prospectivity": float(vmax[t]),
            "n_deposits": len(contained[t]),
            "deposits": sorted(contained[t]),
        })
    meta = {"threshold": float(threshold), "connectivity": 26, "min_voxels": int(min_voxels),
            "selected_on": select_layer or layer,
            "dropped_small": int(n_raw - len(keep)),
            "depth": "below the top of each column's highest active cell (the study volume's surface)"}
    return TargetSet(grid=grid, labels=labels, table=table, threshold=float(threshold),
                     layer=layer, active=active, meta=meta)


def _body_stats(lab, idx, v, n_raw: int, shape):
    """Per raw body: voxel count, sum and max of the values, lowest and highest level,
    summed indices (for the centroid) and first voxel's flat index (for ties)."""
    counts = np.bincount(lab, minlength=n_raw + 1)
    sums = np.bincount(lab, weights=v, minlength=n_raw + 1)
    vmax = np.full(n_raw + 1, -np.inf)
    np.maximum.at(vmax, lab, v)
    kmin = np.full(n_raw + 1, np.iinfo(np.int64).max)
    kmax = np.full(n_raw + 1, -1)
    np.minimum.at(kmin, lab, idx[2])
    np.maximum.at(kmax, lab, idx[2])
    centre_index = np.column_stack([np.bincount(lab, weights=idx[a], minlength=n_raw + 1)
                                    for a in range(3)])
    first = np.full(n_raw + 1, np.iinfo(np.int64).max)
    np.minimum.at(first, lab, np.ravel_multi_index(idx, shape))
    return counts, sums, vmax, kmin, kmax, centre_index, first


def _deposits_inside(raw, keep, deposit_labels, names) -> dict[int, set]:
    """Names of the known deposits each kept raw body touches."""
    contained: dict[int, set] = {t: set() for t in keep}
    if deposit_labels is not None:
        in_both = (raw > 0) & (deposit_labels > 0)
        for t_raw, d in set(zip(raw[in_both].tolist(), deposit_labels[in_both].tolist())):
            if t_raw in contained:
                contained[t_raw].add(names.get(int(d), f"deposit {int(d)}"))
    return contained


def _depths(active, grid, idx, lab, n_raw: int):
    """Per raw body: the least depth of a voxel's top and the summed depth of the voxel
    centres, below each column's surface."""
    dz, z0 = grid.cell_size[2], grid.origin[2]
    surf = surface_elevation(active, grid)[idx[0], idx[1]]
    top_depth = surf - (z0 + (idx[2] + 1) * dz)
    centre_depth = surf - (z0 + (idx[2] + 0.5) * dz)
    min_top_depth = np.full(n_raw + 1, np.inf)
    np.minimum.at(min_top_depth, lab, top_depth)
    return min_top_depth, np.bincount(lab, weights=centre_depth, minlength=n_raw + 1)


def surface_elevation(active, grid: VoxelGrid) -> np.ndarray:
    """Topography of the study volume: per ``(i, j)`` column, the top of its highest active cell.

    Returns
    -------
    ndarray of float64, shape (nx, ny); NaN for columns without an active cell.
    """
    active = np.asarray(active, bool)
    nz = active.shape[2]
    any_active = active.any(axis=2)
    # index of the highest active cell: the last True along k
    kmax = nz - 1 - np.argmax(active[:, :, ::-1], axis=2)
    out = grid.origin[2] + (kmax + 1) * grid.cell_size[2]
    return np.where(any_active, out, np.nan).astype(np.float64)


def _deposit_labels(deposits, deposit_names, grid):
    """Integer deposit labels (or None) and ``{id: name}``."""
    from scipy import ndimage

    names: dict[int, str] = {}
    if deposits is None:
        return None, names
    if isinstance(deposits, Volume):
        grid.require_same(deposits.grid, "the prospectivity and deposit volumes")
        if "deposits" in deposits:
            name = "deposits"
        elif len(deposits.names) == 1:
            name = deposits.names[0]
        else:
            raise LayerError("the deposit volume has several layers and none named 'deposits': "
                             + ", ".join(deposits.names))
        names.update({i: n for i, n in deposits.classes.get(name, {}).items() if i > 0})
        arr = np.asarray(deposits[name])
    else:
        arr = np.asarray(deposits)
    if arr.shape != grid.shape:
        raise VoxprospectError(f"deposit labels have shape {arr.shape}, the grid has {grid.shape}")
    if arr.dtype == bool:
        arr, _ = ndimage.label(arr, structure=_STRUCTURE_26)
    elif np.issubdtype(arr.dtype, np.floating):
        arr = np.where(np.isfinite(arr), arr, 0)
    arr = arr.astype(np.int64, copy=False)
    if isinstance(deposit_names, dict):
        names.update({int(k): str(v) for k, v in deposit_names.items()})
    elif deposit_names is not None:
        names.update({i + 1: str(n) for i, n in enumerate(deposit_names)})
    return arr, names


# -- writers ------------------------------------------------------------------------

def extra_columns(table) -> list:
    """Columns a later step added to the target rows (``std_mean``, ``top_channels``...), in
    first-seen order, with their file types: ``[(name, "str" | "int" | "float")]``."""
    names: dict = {}
    for t in table:
        for k, v in t.items():
            if k in TARGET_COLUMNS:
                continue
            kinds = names.setdefault(k, set())
            kinds.add("str" if isinstance(v, str) else "int" if isinstance(v, (int, np.integer))
                      and not isinstance(v, bool) else "float")
    return [(k, "str" if "str" in kinds else "float" if "float" in kinds else "int") for k, kinds in names.items()]


def _row_for_file(t: dict) -> dict:
    row = dict(t)
    row["deposits"] = "; ".join(t["deposits"])
    for key in ("std_mean", "std_max"):
        # no spread measured: an empty cell (NULL in the GeoPackage), not a number
        if not (row.get(key) is not None and math.isfinite(row[key])):
            row[key] = None
    return row


def write_targets_csv(targets: TargetSet, path, inputs=()) -> Path:
    """One row per target with the columns of :data:`TARGET_COLUMNS`.

    Known deposits are joined with ``"; "``. An empty set gives the header alone.
    """
    with safe_output(path, inputs) as tmp:
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(TARGET_COLUMNS) + [c for c, _ in extra_columns(targets.table)])
            w.writeheader()
            for t in targets.table:
                w.writerow(_row_for_file(t))
    return Path(path)


def targets_volume(targets: TargetSet, grid: VoxelGrid | None = None) -> Volume:
    """The targets as an integer ``target_id`` layer (0 = none) on their grid.

    Raises
    ------
    GridMismatchError
        If ``grid`` is given and differs from the targets' grid.
    """
    if grid is not None:
        targets.grid.require_same(grid, "the targets and the requested grid")
    classes = {0: "none", **{t["target_id"]: f"target {t['target_id']}" for t in targets.table}}
    return Volume(targets.grid, {"target_id": targets.labels.astype(np.int32)}, targets.active,
                  {"target_id": classes}, {"targets": {"threshold": targets.threshold,
                                                       "layer": targets.layer,
                                                       "count": targets.count}})


_TARGET_SCHEMA = [("n_voxels", "int"), ("volume_m3", "float"), ("top_elevation_m", "float"),
                  ("bottom_elevation_m", "float"), ("top_depth_m", "float"), ("centroid_depth_m", "float"),
                  ("centroid_x", "float"), ("centroid_y", "float"),
                  ("centroid_z", "float"), ("mean_prospectivity", "float"),
                  ("max_prospectivity", "float"), ("std_mean", "float"), ("std_max", "float"),
                  ("n_deposits", "int"), ("deposits", "str")]


def write_targets_gpkg(targets: TargetSet, grid: VoxelGrid | None, path, prospectivity=None,
                       inputs=()) -> Path:
    """GeoPackage of the targets, in the grid's CRS.

    Layers
    ------
    ``target_outlines``
        MultiPolygon per target per elevation level: the level's cells of the target
        dissolved into exact cell-edge outlines. Attributes ``target_id``,
        ``elevation_m`` (level's cell-centre elevation), ``level`` (k, 0 = deepest),
        ``n_voxels_level``, ``area_m2``, with ``prospectivity`` also
        ``mean_prospectivity_level`` and ``max_prospectivity_level``, then the
        target's attributes.
    ``target_centroids``
        3D Point (PointZ) at each target's centroid with all its attributes (a
        ring-shaped target's centroid lies in its hole).
    ``target_drill_points``
        With ``prospectivity``: 3D Point at each target's most prospective voxel
        (:func:`voxprospect.mapping.drill.drill_points`), always inside the target.
    ``layer_styles``
        QGIS's default style of each layer (:mod:`voxprospect.io.gpkg_styles`).

    Outline features are sorted by target, then from the top level down.

    Parameters
    ----------
    targets : TargetSet
    grid : VoxelGrid or None
        Default the targets' grid; checked against it when given.
    path : path-like
        Output ``.gpkg``, written atomically.
    prospectivity : Volume or ndarray, optional
        Adds per-level prospectivity statistics to the outlines.
    inputs : iterable of path-like

    Returns
    -------
    Path

    Raises
    ------
    GridMismatchError
        If ``grid`` differs from the targets' grid.
    """
    import fiona
    from fiona.crs import CRS

    from voxprospect.io.gpkg_styles import outline_qml, point_qml, write_layer_styles

    if grid is None:
        grid = targets.grid
    else:
        targets.grid.require_same(grid, "the targets and the GeoPackage grid")
    values = None
    if prospectivity is not None:
        values = np.asarray(prospectivity[targets.layer] if isinstance(prospectivity, Volume)
                            else prospectivity, dtype=float)
        if values.shape != grid.shape:
            raise VoxprospectError(f"prospectivity has shape {values.shape}, the grid has {grid.shape}")
    by_id = {t["target_id"]: _row_for_file(t) for t in targets.table}
    schema = _TARGET_SCHEMA + extra_columns(targets.table)
    crs = CRS.from_user_input(grid.crs) if grid.crs else None

    outline_props = [("target_id", "int"), ("elevation_m", "float"), ("level", "int"),
                     ("n_voxels_level", "int"), ("area_m2", "float")]
    if values is not None:
        outline_props += [("mean_prospectivity_level", "float"), ("max_prospectivity_level", "float")]
    outline_schema = {"geometry": "MultiPolygon", "properties": dict(outline_props + schema)}
    centroid_schema = {"geometry": "3D Point",
                       "properties": dict([("target_id", "int")] + schema)}

    features = _outline_features(targets, grid, values, by_id, schema)
    # by target, then from the top down: a target's levels read together in the table
    features.sort(key=lambda f: (f["properties"]["target_id"], -f["properties"]["level"]))

    with safe_output(path, inputs, verify=verify_sqlite) as tmp:
        with fiona.open(tmp, "w", driver="GPKG", layer="target_outlines", schema=outline_schema,
                        crs=crs) as dst:
            dst.writerecords(features)
        with fiona.open(tmp, "w", driver="GPKG", layer="target_centroids", schema=centroid_schema,
                        crs=crs) as dst:
            for t in targets.table:
                row = by_id[t["target_id"]]
                dst.write({"geometry": {"type": "Point",
                                        "coordinates": (t["centroid_x"], t["centroid_y"], t["centroid_z"])},
                           "properties": {"target_id": t["target_id"],
                                          **{name: row.get(name) for name, _ in schema}}})
        styles = {"target_outlines": ("voxprospect outlines", outline_qml()),
                  "target_centroids": ("voxprospect centroids", point_qml("65,182,196,255", 2.6, None))}
        if values is not None:
            _write_drill_points(tmp, targets, values, by_id, crs)
            styles["target_drill_points"] = ("voxprospect drill points", point_qml())
        write_layer_styles(tmp, styles)
    return Path(path)


def _outline_features(targets: TargetSet, grid: VoxelGrid, values, by_id, schema) -> list[dict]:
    """The ``target_outlines`` features: per level, each target's cells dissolved into
    exact cell-edge MultiPolygons, with the level's statistics and the target's attributes."""
    from affine import Affine
    from rasterio.features import shapes

    xmin, _, _, ymax, _, _ = grid.bounds
    # north-up, built directly: rasterio's from_origin multiplies Affines with `*`, which
    # affine >= 2.4 reports as a PendingDeprecationWarning (QGIS logs it on every run)
    transform = Affine(grid.cell_size[0], 0.0, xmin, 0.0, -grid.cell_size[1], ymax)
    cell_area = grid.cell_size[0] * grid.cell_size[1]
    labels = targets.labels
    levels = np.flatnonzero(labels.reshape(-1, grid.shape[2]).any(axis=0)) if targets.count else []

    features = []
    for k in levels:
        # rasters run north to south, so flip y
        raster = np.ascontiguousarray(labels[:, :, k].T[::-1, :], dtype=np.int32)
        pieces: dict[int, list] = {}
        for geom, value in shapes(raster, mask=raster > 0, transform=transform, connectivity=4):
            pieces.setdefault(int(value), []).append(geom["coordinates"])
        for tid in sorted(pieces):
            in_level = labels[:, :, k] == tid
            n_level = int(in_level.sum())
            props = {"target_id": tid, "elevation_m": float(grid.elevations[k]),
                     "level": int(k), "n_voxels_level": n_level,
                     "area_m2": float(n_level * cell_area)}
            if values is not None:
                lv = values[:, :, k][in_level]
                props["mean_prospectivity_level"] = float(np.nanmean(lv))
                props["max_prospectivity_level"] = float(np.nanmax(lv))
            props.update({name: by_id[tid].get(name) for name, _ in schema})
            # GeoJSON straight from rasterio's polygons: no shapely round trip (inside QGIS,
            # a pip shapely's GEOS can clash with the GEOS QGIS loaded)
            features.append({"geometry": {"type": "MultiPolygon", "coordinates": pieces[tid]},
                             "properties": props})
    return features


def _write_drill_points(tmp, targets: TargetSet, values, by_id, crs) -> None:
    """The ``target_drill_points`` layer: each target's most prospective voxel."""
    import fiona

    from voxprospect.mapping.drill import drill_points

    drill_schema = {"geometry": "3D Point", "properties": {
        "target_id": "int", "i": "int", "j": "int", "k": "int", "prospectivity": "float",
        "depth_below_top_m": "float", "max_prospectivity": "float", "deposits": "str"}}
    with fiona.open(tmp, "w", driver="GPKG", layer="target_drill_points", schema=drill_schema,
                    crs=crs) as dst:
        for d in drill_points(targets, values):
            row = by_id[d["target_id"]]
            dst.write({"geometry": {"type": "Point", "coordinates": (d["x"], d["y"], d["z"])},
                       "properties": {**{c: d[c] for c in ("target_id", "i", "j", "k", "prospectivity",
                                                           "depth_below_top_m")},
                                      "max_prospectivity": row["max_prospectivity"],
                                      "deposits": row["deposits"]}})
