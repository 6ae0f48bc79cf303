"""Layers on rectilinear grids, and resampling any grid onto a :class:`VoxelGrid`.

- :class:`RectilinearVolume`: layers on a grid whose cell widths vary along each axis
  (inversion meshes with padding cells).
- :func:`resample_to_grid`: a volume on another regular or rectilinear grid (an
  inversion mesh, a coarser geological model) resampled onto the grid; linear for
  continuous layers, containing-cell ("nearest") for class layers.

This is the one resampler: readers (UBC-GIF, VTK rectilinear) and the gridding
stage both use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from voxprospect.errors import GridMismatchError, LayerError, VoxprospectError
from voxprospect.data.grid import VoxelGrid, normalise_crs
from voxprospect.data.volume import Volume


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
    from voxprospect.limits import check_memory
    n_layers = len(getattr(source, "layers", None) or (source.get("layers", {}) if isinstance(source, dict) else {}))
    check_memory(grid.n_cells, 8 * n_layers + 9, f"resampling onto {' x '.join(map(str, grid.shape))} cells")

    if method not in ("linear", "nearest"):
        raise VoxprospectError(f"unknown resampling method {method!r}; use linear or nearest")
    src = _as_rectilinear(source)
    if src.crs and grid.crs and src.crs != grid.crs:
        raise GridMismatchError(f"the source is in {src.crs} and the grid in {grid.crs}; reproject first")
    names = list(src.layers) if layers is None else list(layers)
    for n in names:
        if n not in src.layers:
            raise LayerError(f"the source has no layer {n!r}; layers are: {', '.join(src.layers) or '(none)'}")

    idx = _containing_cells(src, grid)
    inside_xy = (idx[0] >= 0)[:, None] & (idx[1] >= 0)[None, :]
    if not (inside_xy.any() and (idx[2] >= 0).any()):
        raise GridMismatchError(f"the source does not overlap the grid ({grid.describe()})")
    ii = np.clip(idx[0], 0, None)[:, None]
    jj = np.clip(idx[1], 0, None)[None, :]

    src_centres = [src.centres(a) for a in range(3)]
    nx, ny, nz = grid.shape
    X, Y = np.meshgrid(grid.axis_centres(0), grid.axis_centres(1), indexing="ij")
    # clip to the outermost centres: constant hold in the half cell next to the box edge
    Xc = np.clip(X, src_centres[0][0], src_centres[0][-1])
    Yc = np.clip(Y, src_centres[1][0], src_centres[1][-1])

    linear, nearest, out = _output_layers(src, grid, names, method)
    interps = {n: _weighted_interpolators(src, n, src_centres) for n in linear}
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
            out[n][:, :, k], ok = _linear_level(interps[n], src.layers[n][ii, jj, kk], pts, (nx, ny))
            level_active &= ok
        active[:, :, k] = level_active
    for n in out:
        out[n][~active] = np.nan if np.issubdtype(out[n].dtype, np.floating) else 0
    classes = {n: src.classes[n] for n in names if n in src.classes}
    meta = {**src.meta, "resampled": {"method": method, "linear": linear, "nearest": nearest,
                                      "source_shape": list(src.shape)}}
    crs_grid = grid if grid.crs or not src.crs else VoxelGrid(grid.origin, grid.cell_size, grid.shape, src.crs)
    return Volume(crs_grid, {n: out[n] for n in names}, active, classes, meta)


def _as_rectilinear(source) -> RectilinearVolume:
    if isinstance(source, Volume):
        return RectilinearVolume.from_volume(source)
    if isinstance(source, RectilinearVolume):
        return source
    if isinstance(source, Mapping):
        return RectilinearVolume.from_dict(source)
    raise VoxprospectError(f"cannot resample a {type(source).__name__}; give a Volume or a RectilinearVolume")


def _output_layers(src: RectilinearVolume, grid: VoxelGrid, names, method: str):
    """``(linear, nearest, out)``: the layers interpolated and those taken from the
    containing cell (class layers always), and their empty target arrays."""
    linear, nearest = [], []
    for n in names:
        (nearest if method == "nearest" or _is_class_layer(src, n) else linear).append(n)
    out = {n: np.full(grid.shape, np.nan, np.float32) for n in linear}
    for n in nearest:
        arr = src.layers[n]
        dtype = arr.dtype if _is_class_layer(src, n) else np.float32
        out[n] = np.full(grid.shape, np.nan if np.issubdtype(dtype, np.floating) else 0, dtype)
    return linear, nearest, out


def _containing_cells(src: RectilinearVolume, grid: VoxelGrid) -> list[np.ndarray]:
    """The containing source cell of each target centre, per axis (-1 = outside the box)."""
    idx = []
    for a in range(3):
        e, c = src.edges(a), grid.axis_centres(a)
        i = np.searchsorted(e, c, side="right") - 1
        i[(c < e[0]) | (c > e[-1])] = -1
        i[c == e[-1]] = e.size - 2
        idx.append(i)
    return idx


def _weighted_interpolators(src: RectilinearVolume, name: str, src_centres):
    """Trilinear interpolators of a layer's valid values (NaN and inactive as 0) and of
    their weights (1 where valid): their ratio leaves invalid cells out of the weights."""
    from scipy.interpolate import RegularGridInterpolator

    vals = np.asarray(src.layers[name], dtype=np.float64)
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
    return (RegularGridInterpolator(grid_axes, v, bounds_error=False, fill_value=None),
            RegularGridInterpolator(grid_axes, w, bounds_error=False, fill_value=None))


def _linear_level(interps, containing, pts, shape):
    """One target level of a linear layer, and where it has a value: NaN where the
    containing source cell is NaN (so the air boundary stays sharp) or no weight reaches."""
    v_interp, w_interp = interps
    containing = np.asarray(containing, dtype=np.float64)
    w = w_interp(pts).reshape(shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        level = v_interp(pts).reshape(shape) / w
    ok = np.isfinite(containing) & (w > 1e-9)
    level[~ok] = np.nan
    return level, ok
