"""Bring meshes and other grids onto the voxel grid.

- :func:`solid_mask`: cells whose centres lie inside a closed surface (an intrusion,
  an orebody wireframe, a kimberlite pipe).
- :func:`surface_distance`: exact distance in metres from each cell centre to an open
  surface (a fault) or to polylines / points (fault traces, dyke axes), capped.
- resampling other grids lives in :mod:`voxprospect.data.rectilinear`
  (:func:`~voxprospect.data.rectilinear.resample_to_grid`), re-exported here.

Meshes must be in the grid's CRS and units (metres, elevation positive up); nothing
here reprojects. Cell-centre tests are used throughout, so a cell belongs to a body
when its centre does (the usual voxelisation of geological models).
"""

from __future__ import annotations


import numpy as np

from voxprospect.errors import VoxprospectError
from voxprospect.data.grid import VoxelGrid
from voxprospect.data.rectilinear import RectilinearVolume, resample_to_grid

__all__ = ["solid_mask", "surface_distance", "RectilinearVolume", "resample_to_grid"]


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
            "or use voxprospect.gridding.voxelise.surface_distance for an open surface such as a fault")
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
