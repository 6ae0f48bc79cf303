"""UBC-GIF tensor mesh (``.msh``) and model (``.mod``/``.den``/``.sus``/``.con``) files.

The mesh file (UBC-GIF 3D tensor mesh)::

    nx ny nz
    x0 y0 z0                 top-south-west corner; z0 is the top's elevation
    dx_1 ... dx_nx           west to east       (``n*w`` repeats n cells of width w)
    dy_1 ... dy_ny           south to north
    dz_1 ... dz_nz           top to bottom (z downwards from z0)

A model file lists one value per cell, ``z`` fastest from top to bottom, then ``x``
(west to east), then ``y`` (south to north). Air and no-data cells hold NaN (Laguna del
Maule), ``-99999``, ``-100`` (UBC's inactive-cell value) or, in conductivity models,
``1e-8``; they become inactive.

Because the cell widths vary (padding cells, finer cells near the surface), a UBC mesh
is *rectilinear*, not a regular voxel grid. It is read as a
:class:`voxprospect.gridding.voxelise.RectilinearVolume`; :func:`resample_rectilinear` brings it
onto a :class:`~voxprospect.data.grid.VoxelGrid` (volume-weighted means by default, so mean
properties are conserved; ``"linear"``/``"nearest"`` go through
:func:`voxprospect.gridding.voxelise.resample_to_grid`).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Mapping

import numpy as np

from voxprospect.errors import InputFileError, OutputError, VoxprospectError
from voxprospect.data.grid import VoxelGrid
from voxprospect.io import header_fields as hf
from voxprospect.limits import check_memory
from voxprospect.io.safe_write import check_outputs_not_inputs, safe_output
from voxprospect.data.volume import Volume
from voxprospect.data.rectilinear import RectilinearVolume, resample_to_grid

log = logging.getLogger(__name__)

MODEL_SUFFIXES = (".mod", ".den", ".sus", ".con", ".cond", ".chg", ".mag", ".res")
LAYER_NAMES = {".den": "density", ".sus": "susceptibility", ".con": "conductivity",
               ".cond": "conductivity", ".chg": "chargeability", ".res": "resistivity"}
NO_DATA_VALUES = (-99999.0, -100.0)
CONDUCTIVITY_AIR = 1e-8
MAX_AUTO_CELLS = 50_000_000
_UNIFORM_RTOL = 1e-6


# -- the rectilinear volume (voxelise.RectilinearVolume) helpers ---------------------------
def cell_widths(rect: RectilinearVolume, axis: int) -> np.ndarray:
    """Cell widths along one axis (0 = x, 1 = y, 2 = z bottom to top)."""
    return np.diff(rect.edges(axis))


def cell_volumes(rect: RectilinearVolume) -> np.ndarray:
    """Volume of every cell (m^3), shape ``(nx, ny, nz)``."""
    return np.einsum("i,j,k->ijk", *(cell_widths(rect, a) for a in range(3)))


def mesh_bounds(rect: RectilinearVolume) -> tuple[float, ...]:
    """``(xmin, xmax, ymin, ymax, zmin, zmax)`` of the mesh's box."""
    return tuple(float(v) for a in range(3) for v in (rect.edges(a)[0], rect.edges(a)[-1]))


def is_uniform(rect: RectilinearVolume) -> bool:
    """True when every axis has equal cell widths (the mesh is a regular voxel grid)."""
    return all(np.allclose(w, w[0], rtol=_UNIFORM_RTOL, atol=0)
               for w in (cell_widths(rect, a) for a in range(3)))


def to_volume(rect: RectilinearVolume) -> Volume:
    """The same cells as a :class:`Volume` (only for uniform meshes).

    Raises
    ------
    VoxprospectError
        If the cell widths vary; use :func:`resample_rectilinear` instead.
    """
    if not is_uniform(rect):
        raise VoxprospectError("the mesh has variable cell widths; resample it onto a voxel grid")
    grid = VoxelGrid(tuple(rect.edges(a)[0] for a in range(3)),
                     tuple(float(np.mean(cell_widths(rect, a))) for a in range(3)), rect.shape, rect.crs)
    return Volume(grid, rect.layers, rect.active, rect.classes, rect.meta)


def finest_grid(rect: RectilinearVolume) -> VoxelGrid:
    """The regular grid over the mesh's box at its smallest cell width along each axis."""
    cs = tuple(float(cell_widths(rect, a).min()) for a in range(3))
    return VoxelGrid.from_bounds(mesh_bounds(rect), cs, rect.crs)


def describe_rectilinear(rect: RectilinearVolume) -> dict:
    """Mesh, active cells and layer statistics (volume-weighted means) for ``info``."""
    vol = cell_volumes(rect)
    out = {"mesh": {"kind": "rectilinear", "shape": list(rect.shape), "bounds": list(mesh_bounds(rect)),
                    "crs": rect.crs,
                    "cell_widths": {a: {"min": float(cell_widths(rect, i).min()),
                                        "max": float(cell_widths(rect, i).max())} for i, a in enumerate("xyz")}},
           "active_cells": int(rect.active.sum()), "layers": {}, "meta": dict(rect.meta)}
    for n, a in rect.layers.items():
        ok = rect.active & (np.isfinite(a) if np.issubdtype(a.dtype, np.floating) else True)
        v, w = a[ok], vol[ok]
        stats = {"kind": "continuous", "dtype": str(a.dtype), "count": int(v.size)}
        if v.size:
            stats.update(min=float(v.min()), max=float(v.max()), mean=float(v.mean()),
                         volume_weighted_mean=float(np.sum(v * w) / np.sum(w)))
        out["layers"][n] = stats
    return out


def _overlap(src_edges: np.ndarray, dst_edges: np.ndarray) -> np.ndarray:
    """Length of overlap of each destination interval with each source interval."""
    lo = np.maximum(dst_edges[:-1, None], src_edges[None, :-1])
    hi = np.minimum(dst_edges[1:, None], src_edges[None, 1:])
    return np.clip(hi - lo, 0, None)


def _apply(w, arr):
    out = np.tensordot(w[0], arr, axes=(1, 0))
    out = np.tensordot(w[1], out, axes=(1, 1)).transpose(1, 0, 2)
    return np.tensordot(out, w[2], axes=(2, 1))


def _nearest_index(src_edges, centres):
    idx = np.searchsorted(src_edges, centres, side="right") - 1
    inside = (idx >= 0) & (idx < src_edges.size - 1)
    return np.clip(idx, 0, src_edges.size - 2), inside


def resample_rectilinear(rect: RectilinearVolume, grid: VoxelGrid, method: str = "mean") -> Volume:
    """Bring a rectilinear volume onto a regular voxel grid.

    Parameters
    ----------
    rect : RectilinearVolume
    grid : VoxelGrid
        The target grid (same CRS; not checked when either is unknown).
    method : {"mean", "nearest", "linear"}
        ``"mean"``: volume-weighted mean of the active source cells overlapping each
        target cell (conserves the mean of a property); ``"nearest"``: the source cell
        containing the target cell's centre; ``"linear"``: trilinear between source
        cell centres. Class (integer) layers always use ``"nearest"``.

    Returns
    -------
    Volume
        A target cell is active when at least half of it lies in active source cells
        (``"mean"``) or its centre lies in an active source cell (the others).

    Raises
    ------
    GridMismatchError
        If both have a CRS and they differ.
    VoxprospectError
        If ``method`` is unknown.
    """
    from voxprospect.errors import GridMismatchError
    if method not in ("mean", "nearest", "linear"):
        raise VoxprospectError(f"unknown resampling method {method!r}; use mean, nearest or linear")
    if rect.crs and grid.crs and rect.crs != grid.crs:
        raise GridMismatchError(f"the mesh's CRS {rect.crs} differs from the target grid's {grid.crs}")
    # index grids, cover and mask, then per layer the sums, weights and result
    check_memory(grid.n_cells, 24 + 8 * 3 + 2 + 24 * len(rect.layers),
                 f"resampling onto {' x '.join(map(str, grid.shape))} cells")
    meta = dict(rect.meta)
    meta["resampled"] = {"from": "rectilinear mesh", "shape": list(rect.shape), "method": method}
    if method != "mean":
        return resample_to_grid(rect, grid, method).with_meta(resampled=meta["resampled"])
    near = [_nearest_index(rect.edges(a), grid.axis_centres(a)) for a in range(3)]
    ii, jj, kk = np.meshgrid(*(n[0] for n in near), indexing="ij")
    inside = near[0][1][:, None, None] & near[1][1][None, :, None] & near[2][1][None, None, :]
    w = [_overlap(rect.edges(a), grid.axis_edges(a)) for a in range(3)]
    cover = _apply(w, rect.active.astype(float)) / grid.cell_volume
    active = cover >= 0.5 - 1e-9
    layers = {}
    for name, arr in rect.layers.items():
        if np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool or name in rect.classes:
            # classes are not averaged: the class of the cell holding the target centre
            layers[name] = np.where(inside, arr[ii, jj, kk], 0).astype(arr.dtype)
            continue
        valid = rect.active & np.isfinite(arr)
        num = _apply(w, np.where(valid, arr, 0.0).astype(float))
        den = _apply(w, valid.astype(float))
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
        out = np.where(active, out, np.nan)
        layers[name] = out.astype(arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.float64)
    return Volume(VoxelGrid(grid.origin, grid.cell_size, grid.shape, grid.crs or rect.crs),
                  layers, active, rect.classes, meta)


# -- reading ------------------------------------------------------------------------------
def _expand_widths(path, tokens: list[str], need: int) -> list[float]:
    """Cell widths, ``n*w`` expanded; never more than ``need`` (a huge ``n`` is refused, not allocated)."""
    out = []
    for t in tokens:
        if "*" in t:
            n, w = t.split("*", 1)
            count = hf.number(path, "cell widths (n*width)", n, integer=True, minimum=1)
            width = hf.number(path, "cell widths", w)
            if len(out) + count > need:
                raise InputFileError(path, f"the mesh lists more cell widths than its {need} "
                                           f"(nx + ny + nz) cells need (at {t!r})")
            out += [width] * count
        else:
            out.append(hf.number(path, "cell widths", t))
            if len(out) > need:
                break
    return out


def read_ubc_mesh(path, crs=None) -> RectilinearVolume:
    """Read a UBC-GIF 3D tensor mesh (``.msh``) into a layer-less :class:`RectilinearVolume`.

    Raises
    ------
    InputFileError
        If the file is of another format (named in the message), is truncated, has a
        count, origin or width that is not a number (the field named), or a width
        count that does not match ``nx ny nz``.
    """
    p = hf.require_format(path, "ubc-mesh", "UBC-GIF tensor mesh")
    text = hf.read_header_text(p)
    lines = [ln.split("!")[0].strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    if len(lines) < 2:
        raise InputFileError(p, "a UBC-GIF mesh needs the cell counts, the origin and the cell widths "
                                "(truncated?)")
    n = hf.numbers(p, "cell counts (nx ny nz, line 1)", lines[0].split(), 3, integer=True, minimum=1)
    x0, y0, z0 = hf.numbers(p, "origin (x0 y0 z0, line 2)", lines[1].split(), 3)
    need = sum(n)
    widths = _expand_widths(p, " ".join(lines[2:]).split(), need)
    if len(widths) != need:
        raise InputFileError(p, f"the mesh lists {len(widths)}{'+' if len(widths) > need else ''} cell widths, "
                                f"{n[0]} x {n[1]} x {n[2]} cells need {need} ({n[0]} + {n[1]} + {n[2]})"
                                + (" (truncated?)" if len(widths) < need else ""))
    w = np.array(widths)
    if np.any(w <= 0) or not np.all(np.isfinite(w)):
        raise InputFileError(p, "cell widths must be positive numbers")
    wx, wy, wz_top_down = w[:n[0]], w[n[0]:n[0] + n[1]], w[n[0] + n[1]:]
    x_edges = x0 + np.concatenate([[0.0], np.cumsum(wx)])
    y_edges = y0 + np.concatenate([[0.0], np.cumsum(wy)])
    z_edges = (z0 - np.concatenate([[0.0], np.cumsum(wz_top_down)]))[::-1]
    if not all(np.all(np.isfinite(e)) for e in (x_edges, y_edges, z_edges)):
        raise InputFileError(p, "the origin plus the cell widths overflow (numbers too large)")
    # the volume holds an active mask, and info/resampling the cell volumes and a layer
    check_memory(n[0] * n[1] * n[2], 1 + 8 + 8, f"the mesh's {n[0]} x {n[1]} x {n[2]} cells", p)
    return RectilinearVolume(x_edges=x_edges, y_edges=y_edges, z_edges=z_edges, crs=crs,
                             meta={"source": {"format": "ubc-mesh", "mesh": str(p)}})


def read_ubc_model(mesh: RectilinearVolume, path, no_data=None) -> tuple[np.ndarray, np.ndarray]:
    """Read a UBC-GIF model file onto its mesh.

    Parameters
    ----------
    mesh : RectilinearVolume
        From :func:`read_ubc_mesh`.
    path : path-like
        One value per cell, z fastest (top to bottom), then x, then y.
    no_data : sequence of float, optional
        Values meaning air or no data (NaN always does). Default ``-99999`` and
        ``-100``, plus ``1e-8`` for conductivity files (``.con``/``.cond``).

    Returns
    -------
    values : ndarray, float64, shape ``(nx, ny, nz)``, NaN where no data
    valid : ndarray of bool

    Raises
    ------
    InputFileError
        If the file has another number of values than the mesh has cells, or a
        value that is not a number.
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError(p, "model file not found" if not p.is_dir() else "is a folder, not a model file")
    nx, ny, nz = mesh.shape
    n = nx * ny * nz
    # a token takes about 60 bytes as a Python string; the arrays 8 + 8 + 1 + 1 per cell
    check_memory(n, 18, f"the mesh's {nx} x {ny} x {nz} cells", p)
    check_memory(p.stat().st_size, 60, "the model's text", p)
    tokens = p.read_text(encoding="latin-1").split()
    if len(tokens) != n:
        cols = ""
        if len(tokens) == 3 * n:
            cols = " (three values per cell: a vector model, which voxprospect does not read)"
        raise InputFileError(p, f"the model has {len(tokens)} values, its mesh {nx} x {ny} x {nz} has {n} cells"
                                + (cols or (" (truncated?)" if len(tokens) < n else "")))
    try:
        vals = np.array(tokens, dtype=float)
    except ValueError as e:
        raise InputFileError(p, f"a value is not a number ({e})") from None
    if no_data is None:
        no_data = NO_DATA_VALUES + ((CONDUCTIVITY_AIR,) if p.suffix.lower() in (".con", ".cond") else ())
    valid = np.isfinite(vals)
    for v in no_data:
        valid &= ~np.isclose(vals, v, rtol=1e-6, atol=0)
    vals = np.where(valid, vals, np.nan)
    # file order: z top->bottom fastest, then x, then y
    arr = vals.reshape(ny, nx, nz).transpose(1, 0, 2)[:, :, ::-1]
    ok = valid.reshape(ny, nx, nz).transpose(1, 0, 2)[:, :, ::-1]
    return np.ascontiguousarray(arr), np.ascontiguousarray(ok)


def layer_name_for(model_path, mesh_path=None) -> str:
    """Layer name of a model file: ``density`` for ``.den``, the part after the mesh's
    stem for ``<mesh>_<layer>.mod``, else the file's stem."""
    p = Path(model_path)
    if p.suffix.lower() in LAYER_NAMES:
        return LAYER_NAMES[p.suffix.lower()]
    if mesh_path is not None:
        stem = Path(mesh_path).stem
        if p.stem.startswith(stem + "_") and len(p.stem) > len(stem) + 1:
            return p.stem[len(stem) + 1:]
    return p.stem


def find_models(mesh_path) -> list[Path]:
    """Model files that belong to a mesh: ``<stem>.<ext>``/``<stem>_*.<ext>`` beside it,
    else the only model file in its folder."""
    mp = Path(mesh_path)
    cands = sorted(q for q in mp.parent.iterdir() if q.is_file() and q.suffix.lower() in MODEL_SUFFIXES)
    same = [q for q in cands if q.stem == mp.stem or q.stem.startswith(mp.stem + "_")]
    if same:
        return same
    return cands if len(cands) == 1 else []


def read_ubc(mesh_path, model=None, no_data=None, crs=None) -> RectilinearVolume:
    """Read a UBC-GIF mesh and its model(s) as a :class:`RectilinearVolume`.

    Parameters
    ----------
    mesh_path : path-like
    model : path-like, list of path-like or {layer: path}, optional
        Model files; found beside the mesh when omitted (:func:`find_models`).
    no_data : sequence of float, optional
        See :func:`read_ubc_model`.
    crs : str, optional

    Returns
    -------
    RectilinearVolume
        A cell is active where every model has a value (air and no-data excluded).

    Raises
    ------
    InputFileError
        See :func:`read_ubc_mesh` and :func:`read_ubc_model`.
    """
    mesh = read_ubc_mesh(mesh_path, crs)
    nx, ny, nz = mesh.shape
    check_memory(nx * ny * nz, 8 * 3 + 2, f"the mesh's {nx} x {ny} x {nz} cells", mesh_path)
    models = models_by_layer(mesh_path, model)
    layers, active = {}, np.ones(mesh.shape, bool)
    for name, q in models.items():
        arr, ok = read_ubc_model(mesh, q, no_data)
        layers[name] = arr
        active &= ok
    meta = {"source": {"format": "ubc-gif", "mesh": str(mesh_path), "models": {k: str(v) for k, v in models.items()}}}
    return RectilinearVolume(x_edges=mesh.x_edges, y_edges=mesh.y_edges, z_edges=mesh.z_edges,
                             layers=layers, active=active, meta=meta, crs=crs)


def read_ubc_volume(path, model=None, grid: VoxelGrid | None = None, method: str = "mean",
                    no_data=None, crs=None, **_) -> Volume:
    """Read a UBC-GIF mesh + model(s) as a :class:`Volume` (``read_volume``'s reader).

    Uniform meshes keep their cells. Variable widths are resampled (``method``) onto
    ``grid`` or, without one, onto the mesh's box at its smallest width per axis;
    ``meta["resampled"]`` records it.

    Raises
    ------
    InputFileError
        See :func:`read_ubc`; also when the automatic grid would exceed
        50 million cells (give ``grid``).
    """
    return rectilinear_to_volume(read_ubc(path, model, no_data, crs), path, grid, method)


def rectilinear_to_volume(rect, path, grid=None, method: str = "mean"):
    """A rectilinear volume on ``grid``, or on its own grid when no grid is given.

    Uniform widths convert exactly; variable widths are resampled at the finest
    width per axis (recorded in ``meta["resampled"]``).

    Raises
    ------
    InputFileError
        When that automatic grid would exceed ``MAX_AUTO_CELLS`` cells (naming ``path``).
    """
    if grid is not None:
        return resample_rectilinear(rect, grid, method)
    if is_uniform(rect):
        return to_volume(rect)
    auto = finest_grid(rect)
    if auto.n_cells > MAX_AUTO_CELLS:
        raise InputFileError(path, f"variable cell widths: resampling at the finest widths would make "
                                   f"{auto.n_cells:,} cells; give a target grid")
    log.info("%s: variable cell widths, resampled onto %s", path, auto.describe())
    return resample_rectilinear(rect, auto, method)


# -- writing ------------------------------------------------------------------------------
def _widths_line(w: np.ndarray) -> str:
    """Widths with runs compressed as ``n*w``."""
    out, i = [], 0
    while i < w.size:
        j = i
        while j + 1 < w.size and w[j + 1] == w[i]:
            j += 1
        out.append(f"{j - i + 1}*{w[i]:.10g}" if j > i else f"{w[i]:.10g}")
        i = j + 1
    return " ".join(out)


def _as_rect(volume) -> RectilinearVolume:
    if isinstance(volume, RectilinearVolume):
        return volume
    return RectilinearVolume.from_volume(volume)


def write_ubc(volume, msh_path, mod_path=None, layer: str | None = None, inputs=(),
              no_data: float = -99999.0) -> tuple[Path, Path | None]:
    """Write a UBC-GIF mesh and one model.

    Parameters
    ----------
    volume : Volume or RectilinearVolume
    msh_path : path-like
    mod_path : path-like, optional
        The model file; no model is written when omitted and the volume has no layer.
    layer : str, optional
        The layer to write (needed when the volume has several).
    inputs : iterable of path-like
        Never overwritten.
    no_data : float
        Written for inactive cells and NaN.

    Returns
    -------
    (mesh path, model path or None)

    Raises
    ------
    OutputError
        If an output is an input, or ``layer`` is needed and missing.
    """
    rect = _as_rect(volume)
    msh_path = Path(msh_path)
    x0, y0, ztop = rect.x_edges[0], rect.y_edges[0], rect.z_edges[-1]
    text = "\n".join([" ".join(map(str, rect.shape)), f"{x0:.10g} {y0:.10g} {ztop:.10g}",
                      _widths_line(cell_widths(rect, 0)), _widths_line(cell_widths(rect, 1)),
                      _widths_line(cell_widths(rect, 2)[::-1])]) + "\n"
    if mod_path is not None:
        if layer is None:
            if len(list(rect.layers)) != 1:
                raise OutputError(f"{mod_path}: name the layer to write "
                                  f"(the volume has {', '.join(list(rect.layers))})")
            layer = list(rect.layers)[0]
        if layer not in rect.layers:
            raise OutputError(f"{mod_path}: no layer {layer!r}; layers are {', '.join(list(rect.layers))}")
        check_outputs_not_inputs(mod_path, inputs, layer_names=[])
        _write_model(rect, layer, Path(mod_path), inputs, no_data)
    from voxprospect.io.safe_write import write_text
    write_text(msh_path, text, inputs)
    return msh_path, (Path(mod_path) if mod_path is not None else None)


def _write_model(rect, layer, path, inputs, no_data):
    arr = np.asarray(rect.layers[layer])
    vals = np.where(rect.active & ~np.isnan(arr.astype(float)), arr, no_data)
    vals = vals[:, :, ::-1].transpose(1, 0, 2).ravel()  # y slowest, x, z top->bottom fastest
    # 17 digits: float32 and float64 values both read back bit for bit as float64
    fmt = "%.17g" if np.issubdtype(arr.dtype, np.floating) else "%d"
    with safe_output(path, inputs, verify=lambda t: _verify_model(t, vals.size)) as tmp:
        np.savetxt(tmp, vals, fmt=fmt)
    return path


def _verify_model(tmp, n_values: int) -> None:
    """One value a line: the file must end with a newline after exactly ``n_values`` lines."""
    with open(tmp, "rb") as f:
        lines = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))
    if lines != n_values:
        raise OutputError(f"{lines} values written of {n_values}")


def write_ubc_volume(volume, path, inputs=(), layers=None, **_) -> Path:
    """``write_volume``'s writer for ``.msh``: the mesh plus ``<stem>_<layer>.mod`` per layer,
    which :func:`read_ubc` finds again by name."""
    path = Path(path)
    rect = _as_rect(volume)
    names = list(rect.layers) if layers is None else list(layers)
    check_outputs_not_inputs(path, inputs, layer_names=names)
    done = []
    try:
        for name in names:
            done.append(_write_model(rect, name, path.with_name(model_file_name(path, name)), inputs, -99999.0))
        write_ubc(rect, path, inputs=inputs)
    except BaseException as e:
        for f in done:  # no mesh without its models, no models without their mesh
            f.unlink(missing_ok=True)
        if isinstance(e, OutputError) and not str(e).startswith(str(path)):
            raise OutputError(f"{path}: writing its model file failed ({e})") from None
        raise
    return path


def models_by_layer(mesh_path, model=None) -> dict:
    """``{layer: model file}`` of a mesh: ``model`` is a path, a list of paths or
    ``{layer: path}``; without it, the models found beside the mesh (:func:`find_models`)."""
    if model is None:
        return {layer_name_for(q, mesh_path): q for q in find_models(mesh_path)}
    if isinstance(model, Mapping):
        return {str(k): Path(v) for k, v in model.items()}
    if isinstance(model, (list, tuple)):
        return {layer_name_for(q, mesh_path): Path(q) for q in model}
    return {layer_name_for(model, mesh_path): Path(model)}


def model_file_name(mesh_path, layer: str) -> str:
    """``<mesh stem>_<layer>.mod``: the model file :func:`write_ubc_volume` writes for a layer."""
    safe = re.sub(r"[^\w.\-]+", "_", layer)
    return f"{Path(mesh_path).stem}_{safe}.mod"


def _model_alone(path, **_):
    raise InputFileError(path, "is a UBC-GIF model (values only, no geometry): read its mesh (.msh) "
                               "instead; the model is found beside it, or pass model=")


def _register():
    from voxprospect.io import register_reader, register_writer
    register_reader("ubc-mesh", read_ubc_volume)
    register_reader("ubc-model", _model_alone)
    register_writer(".msh", write_ubc_volume)


_register()
