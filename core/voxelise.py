"""Bring meshes and other grids onto the voxel grid.

- :func:`solid_mask`: cells whose centres lie inside a closed surface (an intrusion,
  an orebody wireframe, a kimberlite pipe).
- :func:`surface_distance`: exact distance in metres from each cell centre to an open
  surface (a fault) or to polylines / points (fault traces, dyke axes), capped.
- :func:`resample_to_grid`: a volume on another regular or rectilinear grid (an
  inversion mesh, a coarser geological model) resampled onto the grid; linear for
  continuous layers, containing-cell ("nearest") for class layers.

Meshes must be in the grid's CRS and units (metres, elevation positive up); nothing
here reprojects. Cell-centre tests are used throughout, so a cell belongs to a body
when its centre does (the usual voxelisation of geological models).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from .errors import GridMismatchError, LayerError, VoxprospectError
from .grid import VoxelGrid, normalise_crs
from .volume import Volume


_POINTS_PER_CALL = 1_000_000


# -- helpers --------------------------------------------------------------------------

def _as_polydata(geometry, what: str):
    """A pyvista PolyData from a pyvista/vtk object or a list of them."""
    import pyvista as pv

    if isinstance(geometry, (list, tuple)):
        if not geometry:
            raise VoxprospectError(f"the {what} list is empty")
        parts = [_as_polydata(g, what) for g in geometry]
        merged = parts[0]
        for p in parts[1:]:
            merged = merged.merge(p)
        return merged if isinstance(merged, pv.PolyData) else merged.extract_surface()
    try:
        mesh = pv.wrap(geometry)
    except Exception:  # pyvista raises several types for unsupported objects
        mesh = None
    if mesh is None or not hasattr(mesh, "n_points"):
        raise VoxprospectError(f"the {what} must be a pyvista/VTK mesh, got {type(geometry).__name__}")
    if not isinstance(mesh, pv.PolyData):
        mesh = mesh.extract_surface()
    if mesh.n_points == 0:
        raise VoxprospectError(f"the {what} has no points")
    return mesh


def _index_range(grid: VoxelGrid, axis: int, lo: float, hi: float) -> slice:
    """Cells along ``axis`` whose centres lie in ``[lo, hi]`` (possibly empty)."""
    c = grid.axis_centres(axis)
    return slice(int(np.searchsorted(c, lo, side="left")), int(np.searchsorted(c, hi, side="right")))


# -- solids ---------------------------------------------------------------------------

def solid_mask(mesh, grid: VoxelGrid, method: str = "columns", tolerance: float = 1e-6) -> np.ndarray:
    """Cells whose centres lie inside a closed triangulated surface.

    Only cells inside the mesh's bounding box are tested, so a small body on a large
    grid is cheap.

    Parameters
    ----------
    mesh : pyvista.PolyData (or any pyvista/VTK dataset, or a list of them)
        Closed surface(s) in the grid's CRS. Several disjoint closed bodies in one
        mesh are fine.
    grid : VoxelGrid
    method : {"columns", "vtk"}
        ``"columns"`` (default): a vertical ray up every column of cell centres;
        a centre is inside when an odd number of triangles lie below it (the
        parity rule), all columns at once in numpy: fast on large bodies.
        ``"vtk"``: ``vtkSelectEnclosedPoints`` on every centre, an independent
        but much slower check.
    tolerance : float
        ``"vtk"`` only: relative tolerance of the inside test.

    Returns
    -------
    ndarray of bool, shape ``grid.shape``

    Raises
    ------
    VoxprospectError
        If the surface is open (has boundary edges): an open surface has no inside;
        use :func:`surface_distance` for faults and other open surfaces.
    """
    if method not in ("columns", "vtk"):
        raise VoxprospectError(f"unknown solid_mask method {method!r}; use columns or vtk")
    surface = _as_polydata(mesh, "solid").triangulate()
    if surface.n_cells == 0 or not surface.n_faces:
        raise VoxprospectError("the solid has no faces; a closed triangulated surface is needed")
    n_open = surface.n_open_edges
    if n_open:
        raise VoxprospectError(
            f"the surface is not closed ({n_open} boundary edges), so it has no inside; close it, "
            "or use voxprospect.voxelise.surface_distance for an open surface such as a fault")
    out = np.zeros(grid.shape, dtype=bool)
    b = surface.bounds
    box = tuple(_index_range(grid, a, b[2 * a], b[2 * a + 1]) for a in range(3))
    if any(s.stop <= s.start for s in box):
        return out
    if method == "vtk":
        out[box] = _enclosed_vtk(surface, grid, box, tolerance)
    else:
        out[box] = _enclosed_columns(surface, grid, box)
    return out


def _enclosed_columns(surface, grid: VoxelGrid, box) -> np.ndarray:
    """Parity of triangle crossings below each cell centre, for the cells of ``box``."""
    tris = np.asarray(surface.points, dtype=np.float64)[surface.regular_faces]  # (T, 3, 3)
    # shift the column positions by a tiny, irrational fraction of a cell so that no
    # column passes exactly through a vertex or a shared edge (which would count
    # one crossing twice or not at all)
    xs = grid.axis_centres(0)[box[0]] + 0.7071067811 * 1e-7 * grid.cell_size[0]
    ys = grid.axis_centres(1)[box[1]] + 0.5772156649 * 1e-7 * grid.cell_size[1]
    zs = grid.axis_centres(2)[box[2]]
    ax, ay, bx, by, cx, cy = (tris[:, v, a] for v in range(3) for a in range(2))
    det = (bx - ax) * (cy - ay) - (cx - ax) * (by - ay)
    # vertical triangles have no area seen from above; their neighbours decide
    keep = np.abs(det) > 1e-12 * (np.ptp(tris[:, :, 0], axis=1) * np.ptp(tris[:, :, 1], axis=1) + 1e-30)
    tris, det = tris[keep], det[keep]
    i0 = np.searchsorted(xs, tris[:, :, 0].min(1), side="left")
    i1 = np.searchsorted(xs, tris[:, :, 0].max(1), side="right")
    j0 = np.searchsorted(ys, tris[:, :, 1].min(1), side="left")
    j1 = np.searchsorted(ys, tris[:, :, 1].max(1), side="right")
    ni, nj = np.maximum(i1 - i0, 0), np.maximum(j1 - j0, 0)
    counts = ni * nj
    # crossings toggle the parity of every centre above them; uint8 wraps at 256,
    # which keeps the parity
    toggles = np.zeros((xs.size, ys.size, zs.size + 1), dtype=np.uint8)
    cum = np.concatenate([[0], np.cumsum(counts)])
    start = 0
    while start < len(counts):
        # chunk the triangles so that about a million candidate columns are tested at once
        stop = max(start + 1, int(np.searchsorted(cum, cum[start] + _POINTS_PER_CALL, side="right")) - 1)
        stop = min(stop, len(counts))
        t = np.repeat(np.arange(start, stop), counts[start:stop])
        if t.size:
            local = np.arange(t.size) - np.repeat(cum[start:stop] - cum[start], counts[start:stop])
            ii = i0[t] + local // nj[t]
            jj = j0[t] + local % nj[t]
            px, py = xs[ii], ys[jj]
            T = tris[t]
            l1 = ((T[:, 1, 0] - px) * (T[:, 2, 1] - py) - (T[:, 2, 0] - px) * (T[:, 1, 1] - py)) / det[t]
            l2 = ((T[:, 2, 0] - px) * (T[:, 0, 1] - py) - (T[:, 0, 0] - px) * (T[:, 2, 1] - py)) / det[t]
            l3 = 1.0 - l1 - l2
            hit = (l1 >= 0) & (l2 >= 0) & (l3 >= 0)
            z = l1[hit] * T[hit, 0, 2] + l2[hit] * T[hit, 1, 2] + l3[hit] * T[hit, 2, 2]
            k = np.searchsorted(zs, z, side="right")
            np.add.at(toggles, (ii[hit], jj[hit], k), 1)
        start = stop
    return (np.cumsum(toggles[:, :, :-1], axis=2, dtype=np.uint8) & 1).astype(bool)


def _enclosed_vtk(surface, grid: VoxelGrid, box, tolerance: float) -> np.ndarray:
    """``vtkSelectEnclosedPoints`` on the cell centres of ``box``."""
    import pyvista as pv
    import vtk
    from vtk.util.numpy_support import vtk_to_numpy

    xs, ys = grid.axis_centres(0)[box[0]], grid.axis_centres(1)[box[1]]
    zc = grid.axis_centres(2)[box[2]]
    X, Y = np.meshgrid(xs, ys, indexing="ij")
    out = np.zeros(X.shape + (zc.size,), dtype=bool)
    select = vtk.vtkSelectEnclosedPoints()
    select.SetSurfaceData(surface)
    select.SetTolerance(tolerance)
    select.CheckSurfaceOff()  # already checked, with a clearer message
    # each Update rebuilds the surface's locator, so test many levels per call
    step = max(1, _POINTS_PER_CALL // X.size)
    for k0 in range(0, zc.size, step):
        ks = np.arange(k0, min(k0 + step, zc.size))
        pts = np.column_stack([np.tile(X.ravel(), ks.size), np.tile(Y.ravel(), ks.size),
                               np.repeat(zc[ks], X.size)])
        cloud = pv.PolyData()
        cloud.SetPoints(pv.vtk_points(pts, deep=True))
        select.SetInputData(cloud)
        select.Update()
        inside = vtk_to_numpy(select.GetOutput().GetPointData().GetArray("SelectedPoints"))
        out[:, :, ks[0]:ks[-1] + 1] = np.moveaxis(inside.reshape((ks.size,) + X.shape).astype(bool), 0, -1)
    return out


# -- distances to open geometry -------------------------------------------------------

def _segments(mesh) -> np.ndarray:
    """Line segments (S, 2, 3) of a PolyData's lines and vertices (a vertex = a
    zero-length segment)."""
    pts = np.asarray(mesh.points, dtype=float)
    segs = []
    for ids in _cell_point_ids(mesh.lines if mesh.n_lines else ()):
        if ids.size == 1:
            segs.append(np.stack([pts[ids], pts[ids]], axis=1))
        else:
            segs.append(np.stack([pts[ids[:-1]], pts[ids[1:]]], axis=1))
    for ids in _cell_point_ids(mesh.verts if mesh.n_verts else ()):
        segs.append(np.stack([pts[ids], pts[ids]], axis=1))
    return np.concatenate(segs) if segs else np.zeros((0, 2, 3))


def _cell_point_ids(cells):
    """Point ids of each cell of a VTK connectivity array ``[n, id0, ..., id(n-1), n, ...]``."""
    cells = np.asarray(cells)
    i = 0
    while i < cells.size:
        n = int(cells[i])
        yield cells[i + 1:i + 1 + n]
        i += n + 1


def _segment_distance_into(out: np.ndarray, segs: np.ndarray, grid: VoxelGrid, cap: float) -> None:
    """Lower ``out`` to the exact point-to-segment distances, segment by segment on
    each segment's bounding box grown by the cap."""
    cx, cy, cz = (grid.axis_centres(a) for a in range(3))
    for a, b in segs:
        lo, hi = np.minimum(a, b) - cap, np.maximum(a, b) + cap
        box = tuple(_index_range(grid, ax, lo[ax], hi[ax]) for ax in range(3))
        if any(s.stop <= s.start for s in box):
            continue
        dx = cx[box[0]][:, None, None] - a[0]
        dy = cy[box[1]][None, :, None] - a[1]
        dz = cz[box[2]][None, None, :] - a[2]
        ab = b - a
        L2 = float(ab @ ab)
        if L2 > 0:
            t = np.clip((dx * ab[0] + dy * ab[1] + dz * ab[2]) / L2, 0.0, 1.0)
            d2 = (dx - t * ab[0]) ** 2 + (dy - t * ab[1]) ** 2 + (dz - t * ab[2]) ** 2
        else:
            d2 = dx ** 2 + dy ** 2 + dz ** 2
        sub = out[box]
        np.minimum(sub, np.sqrt(d2), out=sub)


def surface_distance(geometry, grid: VoxelGrid, max_distance_m: float) -> np.ndarray:
    """Exact distance in metres from each cell centre to a surface, polylines or points.

    Faces are measured with ``vtkImplicitPolyDataDistance`` (closest point on the
    triangles, so an open fault surface ends where it ends); lines and vertices with
    exact point-to-segment distances. Only cells within the cap of the geometry's
    bounding box are evaluated; the rest are at the cap.

    Parameters
    ----------
    geometry : pyvista.PolyData (faces and/or lines and/or vertices), or a list
    grid : VoxelGrid
    max_distance_m : float
        Cap in metres (positive).

    Returns
    -------
    ndarray of float32, shape ``grid.shape``, values in ``[0, max_distance_m]``

    Raises
    ------
    VoxprospectError
        If the geometry has no faces, lines or vertices, or the cap is not positive.
    """
    import pyvista as pv
    import vtk
    from vtk.util.numpy_support import numpy_to_vtk, vtk_to_numpy

    cap = float(max_distance_m)
    if not cap > 0 or not np.isfinite(cap):
        raise VoxprospectError(f"max_distance_m must be a positive number, got {max_distance_m}")
    mesh = _as_polydata(geometry, "surface or line geometry")
    out = np.full(grid.shape, cap, dtype=np.float64)
    has_faces = bool(mesh.n_faces or mesh.n_strips)
    if has_faces:
        # lines and vertices would confuse the implicit distance; they are measured below
        tri = mesh.triangulate()
        faces = pv.PolyData(tri.points, faces=tri.faces)
        implicit = vtk.vtkImplicitPolyDataDistance()
        implicit.SetInput(faces)
        b = faces.bounds
        box = tuple(_index_range(grid, a, b[2 * a] - cap, b[2 * a + 1] + cap) for a in range(3))
        if all(s.stop > s.start for s in box):
            X, Y = np.meshgrid(grid.axis_centres(0)[box[0]], grid.axis_centres(1)[box[1]], indexing="ij")
            for k in range(box[2].start, box[2].stop):
                pts = np.column_stack([X.ravel(), Y.ravel(), np.full(X.size, grid.axis_centres(2)[k])])
                values = vtk.vtkDoubleArray()
                implicit.EvaluateFunction(numpy_to_vtk(pts, deep=True), values)
                d = np.abs(vtk_to_numpy(values)).reshape(X.shape)
                sub = out[box[0], box[1], k]
                out[box[0], box[1], k] = np.minimum(sub, d)
    segs = _segments(mesh)
    if len(segs):
        _segment_distance_into(out, segs, grid, cap)
    elif not has_faces:
        raise VoxprospectError("the geometry has no faces, lines or points to measure a distance to")
    np.minimum(out, cap, out=out)
    return out.astype(np.float32)


# -- resampling -----------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class RectilinearVolume:
    """Layers on a rectilinear grid (cell widths vary along each axis).

    Inversion meshes (UBC-GIF tensor meshes with padding cells) are rectilinear.
    Edges are world coordinates, increasing; arrays are ``(nx, ny, nz)`` with
    ``k = 0`` the deepest level, as on a :class:`VoxelGrid`.

    Parameters
    ----------
    x_edges, y_edges, z_edges : array_like
        Cell edges (n + 1 values each), strictly increasing.
    layers : mapping of str to ndarray
    active : ndarray of bool, optional
    classes : mapping, optional
        Class tables of the integer layers.
    crs : str, optional
    meta : dict, optional

    Raises
    ------
    VoxprospectError
        If edges are not strictly increasing or a layer has the wrong shape.
    """

    x_edges: np.ndarray
    y_edges: np.ndarray
    z_edges: np.ndarray
    layers: Mapping[str, np.ndarray] = field(default_factory=dict)
    active: np.ndarray | None = None
    classes: Mapping[str, Mapping[int, str]] = field(default_factory=dict)
    crs: str | None = None
    meta: Mapping = field(default_factory=dict)

    def __post_init__(self):
        for axis in "xyz":
            e = np.asarray(getattr(self, f"{axis}_edges"), dtype=float)
            if e.ndim != 1 or e.size < 2 or not np.all(np.diff(e) > 0) or not np.isfinite(e).all():
                raise VoxprospectError(f"{axis}_edges must be at least two strictly increasing finite values")
            object.__setattr__(self, f"{axis}_edges", e)
        shape = self.shape
        layers = {}
        for name, arr in dict(self.layers).items():
            arr = np.asarray(arr)
            if arr.shape != shape:
                raise VoxprospectError(f"layer {name!r} has shape {arr.shape}, the rectilinear grid has {shape}")
            layers[str(name)] = arr
        object.__setattr__(self, "layers", layers)
        active = np.ones(shape, bool) if self.active is None else np.asarray(self.active, dtype=bool)
        if active.shape != shape:
            raise VoxprospectError(f"active mask has shape {active.shape}, the rectilinear grid has {shape}")
        object.__setattr__(self, "active", active)
        object.__setattr__(self, "classes", {str(k): {int(i): str(n) for i, n in v.items()}
                                             for k, v in dict(self.classes).items()})
        object.__setattr__(self, "crs", normalise_crs(self.crs))
        object.__setattr__(self, "meta", dict(self.meta))

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.x_edges.size - 1, self.y_edges.size - 1, self.z_edges.size - 1)

    def edges(self, axis: int) -> np.ndarray:
        return (self.x_edges, self.y_edges, self.z_edges)[axis]

    def centres(self, axis: int) -> np.ndarray:
        e = self.edges(axis)
        return 0.5 * (e[:-1] + e[1:])

    @classmethod
    def from_volume(cls, volume: Volume) -> "RectilinearVolume":
        g = volume.grid
        return cls(g.axis_edges(0), g.axis_edges(1), g.axis_edges(2), volume.layers, volume.active,
                   volume.classes, g.crs, volume.meta)

    @classmethod
    def from_dict(cls, d: Mapping) -> "RectilinearVolume":
        try:
            return cls(d["x_edges"], d["y_edges"], d["z_edges"], d.get("layers", {}), d.get("active"),
                       d.get("classes", {}), d.get("crs"), d.get("meta", {}))
        except KeyError as exc:
            raise VoxprospectError(f"a rectilinear description needs x_edges, y_edges and z_edges; missing {exc}") \
                from None


def _is_class_layer(src: RectilinearVolume, name: str) -> bool:
    arr = src.layers[name]
    return name in src.classes or arr.dtype == bool or np.issubdtype(arr.dtype, np.integer)


def resample_to_grid(source, grid: VoxelGrid, method: str = "linear",
                     layers: Sequence[str] | None = None) -> Volume:
    """Resample a volume from another regular or rectilinear grid onto ``grid``.

    Continuous layers with ``method="linear"`` are interpolated trilinearly between
    source cell centres (``scipy.interpolate.RegularGridInterpolator``); NaN source
    cells are left out of the weights, so valid cells next to air keep their values.
    Class layers (integer/bool or with a class table) always, and every layer with
    ``method="nearest"``, take the value of the source cell that contains the
    target centre; class tables are kept.

    A target cell is active only where its centre lies inside the source's box, the
    containing source cell is active, and every resampled continuous layer has a
    value there (the containing source cell is not NaN/air). Continuous layers are
    NaN outside the active cells; class layers are 0 there. Between the outermost
    source centres and the source's box edge, linear values are held constant.

    Work is done level by level, so memory stays near one target level per layer.

    Parameters
    ----------
    source : Volume, RectilinearVolume, or dict
        A dict needs ``x_edges``, ``y_edges``, ``z_edges`` and ``layers`` (and may
        give ``active``, ``classes``, ``crs``).
    grid : VoxelGrid
        Target grid.
    method : {"linear", "nearest"}
    layers : sequence of str, optional
        Layers to resample (all when omitted).

    Returns
    -------
    Volume

    Raises
    ------
    GridMismatchError
        If the source and target CRSs differ (nothing is reprojected).
    LayerError
        If a requested layer is missing.
    VoxprospectError
        Unknown method, or the grids do not overlap.
    """
    from .io.memory_guard import check_memory
    n_layers = len(getattr(source, "layers", None) or (source.get("layers", {}) if isinstance(source, dict) else {}))
    check_memory(grid.n_cells, 8 * n_layers + 9, f"resampling onto {' x '.join(map(str, grid.shape))} cells")
    from scipy.interpolate import RegularGridInterpolator

    if method not in ("linear", "nearest"):
        raise VoxprospectError(f"unknown resampling method {method!r}; use linear or nearest")
    if isinstance(source, Volume):
        src = RectilinearVolume.from_volume(source)
    elif isinstance(source, RectilinearVolume):
        src = source
    elif isinstance(source, Mapping):
        src = RectilinearVolume.from_dict(source)
    else:
        raise VoxprospectError(f"cannot resample a {type(source).__name__}; give a Volume or a RectilinearVolume")
    if src.crs and grid.crs and src.crs != grid.crs:
        raise GridMismatchError(f"the source is in {src.crs} and the grid in {grid.crs}; reproject first")
    names = list(src.layers) if layers is None else list(layers)
    for n in names:
        if n not in src.layers:
            raise LayerError(f"the source has no layer {n!r}; layers are: {', '.join(src.layers) or '(none)'}")

    # containing source cell of each target centre, per axis (-1 = outside the box)
    idx = []
    for a in range(3):
        e, c = src.edges(a), grid.axis_centres(a)
        i = np.searchsorted(e, c, side="right") - 1
        i[(c < e[0]) | (c > e[-1])] = -1
        i[c == e[-1]] = e.size - 2
        idx.append(i)
    inside_xy = (idx[0] >= 0)[:, None] & (idx[1] >= 0)[None, :]
    if not (inside_xy.any() and (idx[2] >= 0).any()):
        raise VoxprospectError(f"the source does not overlap the grid ({grid.describe()})")
    ii = np.clip(idx[0], 0, None)[:, None]
    jj = np.clip(idx[1], 0, None)[None, :]

    src_centres = [src.centres(a) for a in range(3)]
    nx, ny, nz = grid.shape
    X, Y = np.meshgrid(grid.axis_centres(0), grid.axis_centres(1), indexing="ij")
    # clip to the outermost centres: constant hold in the half cell next to the box edge
    Xc = np.clip(X, src_centres[0][0], src_centres[0][-1])
    Yc = np.clip(Y, src_centres[1][0], src_centres[1][-1])

    linear, nearest = [], []
    for n in names:
        (nearest if method == "nearest" or _is_class_layer(src, n) else linear).append(n)
    interps = {}
    for n in linear:
        vals = np.asarray(src.layers[n], dtype=np.float64)
        valid = np.isfinite(vals) & src.active
        # a RegularGridInterpolator needs >= 2 points per axis; repeat single levels
        grid_axes = []
        v, w = np.where(valid, vals, 0.0), valid.astype(np.float64)
        for a in range(3):
            ax = src_centres[a]
            if ax.size == 1:
                ax = np.array([ax[0] - 0.5, ax[0] + 0.5])
                v, w = np.repeat(v, 2, axis=a), np.repeat(w, 2, axis=a)
            grid_axes.append(ax)
        interps[n] = (RegularGridInterpolator(grid_axes, v, bounds_error=False, fill_value=None),
                      RegularGridInterpolator(grid_axes, w, bounds_error=False, fill_value=None))

    out = {n: np.full(grid.shape, np.nan, np.float32) for n in linear}
    for n in nearest:
        arr = src.layers[n]
        dtype = arr.dtype if _is_class_layer(src, n) else np.float32
        out[n] = np.full(grid.shape, np.nan if np.issubdtype(dtype, np.floating) else 0, dtype)
    active = np.zeros(grid.shape, bool)

    for k in range(nz):
        kk = idx[2][k]
        if kk < 0:
            continue
        level_active = inside_xy & src.active[ii, jj, kk]
        zc = float(np.clip(grid.axis_centres(2)[k], src_centres[2][0], src_centres[2][-1]))
        pts = np.column_stack([Xc.ravel(), Yc.ravel(), np.full(Xc.size, zc)])
        for n in nearest:
            level = src.layers[n][ii, jj, kk]
            if np.issubdtype(out[n].dtype, np.floating):
                level = level.astype(np.float32)
                level_active &= np.isfinite(level)
            out[n][:, :, k] = level
        for n in linear:
            v_interp, w_interp = interps[n]
            containing = np.asarray(src.layers[n][ii, jj, kk], dtype=np.float64)
            w = w_interp(pts).reshape(nx, ny)
            with np.errstate(invalid="ignore", divide="ignore"):
                level = v_interp(pts).reshape(nx, ny) / w
            # the containing cell decides air vs rock, so the air boundary stays sharp
            ok = np.isfinite(containing) & (w > 1e-9)
            level[~ok] = np.nan
            level_active &= ok
            out[n][:, :, k] = level
        active[:, :, k] = level_active
    for n in out:
        if np.issubdtype(out[n].dtype, np.floating):
            out[n][~active] = np.nan
        else:
            out[n][~active] = 0
    classes = {n: src.classes[n] for n in names if n in src.classes}
    meta = {**src.meta, "resampled": {"method": method, "linear": linear, "nearest": nearest,
                                      "source_shape": list(src.shape)}}
    crs_grid = grid if grid.crs or not src.crs else VoxelGrid(grid.origin, grid.cell_size, grid.shape, src.crs)
    return Volume(crs_grid, {n: out[n] for n in names}, active, classes, meta)
