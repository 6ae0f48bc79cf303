"""geoh5 workspaces (Geoscience ANALYST, SimPEG/mira workflows) through ``geoh5py``.

Read:

- **block models** and **octree meshes** with their cell data -> a
  :class:`~voxprospect.data.volume.Volume`, volume-weighted onto a grid
  (:mod:`._mesh_average`); default grid: the object's box at its smallest cell;
- **surfaces** -> pyvista ``PolyData`` (vertex and cell data kept) via :func:`read_mesh`;
- **drillholes** -> pyvista lines along their surveyed trajectories (``read_mesh``).

Write: :func:`write_geoh5` puts a volume into a new workspace as one block model whose
cell data are the volume's layers (NaN outside the active cells), plus optional
surfaces (target bodies, outlines); ANALYST opens it.

Geometry: geoh5 stores an object's ``origin`` and cell *delimiters* relative to it; a
block model's z delimiters are often negative (downward). Values are matched to cells
by their centroids as geoh5py reports them, so the file's cell order never matters.
Rotated objects (``rotation`` other than 0) are refused: the grid is axis-aligned.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import numpy as np

from voxprospect.errors import InputFileError, VoxprospectError
from voxprospect.data.grid import VoxelGrid
from voxprospect.io.safe_write import safe_output
from voxprospect.data.volume import Volume
from voxprospect.io._mesh_average import average_mesh_onto_grid, single_volume, tensor_containing
from voxprospect.io.mesh_arrays import triangle_arrays, unique_name
from voxprospect.io._optional import require

MAX_AUTO_CELLS = 50_000_000


@contextlib.contextmanager
def _workspace(path, mode="r"):
    require("geoh5py", path)
    from geoh5py.workspace import Workspace

    p = Path(path)
    if mode == "r" and not p.exists():
        raise InputFileError(p, "file not found")
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            ws = Workspace(str(p), mode=mode) if mode == "r" else Workspace.create(str(p))
        except Exception as e:
            raise InputFileError(p, f"geoh5py cannot open it ({type(e).__name__}: {e})") from None
        try:
            yield ws
        finally:
            ws.close()


def _kind(obj) -> str:
    from geoh5py.objects import BlockModel, Drillhole, Octree, Surface
    for cls, name in ((BlockModel, "block model"), (Octree, "octree"), (Surface, "surface"),
                      (Drillhole, "drillhole")):
        if isinstance(obj, cls):
            return name
    return type(obj).__name__


def list_objects(path) -> list[dict]:
    """``[{"name", "kind", "cells"}]`` for every object of a workspace."""
    with _workspace(path) as ws:
        return [{"name": o.name, "kind": _kind(o), "cells": int(getattr(o, "n_cells", 0) or 0)}
                for o in ws.objects]


def _cell_data(obj) -> dict:
    from geoh5py.data import FloatData, IntegerData, ReferencedData
    out = {}
    for child in obj.children:
        if not isinstance(child, (FloatData, IntegerData, ReferencedData)):
            continue
        values = getattr(child, "values", None)
        if values is None or np.size(values) != obj.n_cells:
            continue
        v = np.asarray(values, dtype=float)
        ndv = getattr(child.entity_type, "no_data_value", None)
        if isinstance(child, (IntegerData, ReferencedData)) and ndv is not None:
            v[v == float(ndv)] = np.nan
        out[child.name] = (v, isinstance(child, ReferencedData), child)
    return out


def _check_unrotated(obj, path):
    rot = float(getattr(obj, "rotation", 0.0) or 0.0)
    if abs(rot) > 1e-9:
        raise InputFileError(path, f"{_kind(obj)} {obj.name!r} is rotated by {rot} degrees; voxprospect grids "
                             "are axis-aligned: unrotate it in ANALYST (or read the data as points)")


def _block_model_mesh(obj, path):
    discretize = require("discretize", path)
    _check_unrotated(obj, path)
    o = obj.origin
    origin = np.array([o["x"], o["y"], o["z"]], float)
    edges = [np.unique(origin[a] + np.asarray(d, float)) for a, d in
             enumerate((obj.u_cell_delimiters, obj.v_cell_delimiters, obj.z_cell_delimiters))]
    mesh = discretize.TensorMesh([np.diff(e) for e in edges], origin=[e[0] for e in edges])
    order = tensor_containing(mesh, np.asarray(obj.centroids, float))
    return mesh, order


def _octree_mesh(obj, path):
    discretize = require("discretize", path)
    _check_unrotated(obj, path)
    o = obj.origin
    origin = np.array([o["x"], o["y"], o["z"]], float)
    counts = np.array([obj.u_count, obj.v_count, obj.w_count], int)
    sizes = np.array([obj.u_cell_size, obj.v_cell_size, obj.w_cell_size], float)
    lo = origin + np.minimum(0.0, counts * sizes)
    h = [np.full(n, abs(s)) for n, s in zip(counts, sizes)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        try:
            mesh = discretize.TreeMesh(h, origin=lo, diagonal_balance=False)
        except Exception as e:
            raise InputFileError(path, f"octree {obj.name!r}: base cell counts {counts.tolist()} are not "
                                 f"powers of two ({e})") from None
    cells = obj.octree_cells
    n_base = np.asarray(cells["NCells"], float)
    levels = (mesh.max_level - np.rint(np.log2(n_base))).astype(int)
    centres = np.asarray(obj.centroids, float)
    mesh.insert_cells(centres, levels, finalize=True)
    if mesh.n_cells != len(centres):
        raise InputFileError(path, f"octree {obj.name!r}: its {len(centres)} cells do not tile a tree "
                             f"(discretize built {mesh.n_cells})")
    order = np.asarray(mesh.get_containing_cells(centres), int)
    return mesh, order


def read_geoh5_volume(path, grid: VoxelGrid | None = None, object: str | None = None, crs=None,
                      **_kwargs) -> Volume:
    """Read a block model or octree (and its cell data) from a workspace onto ``grid``.

    Parameters
    ----------
    object : str, optional
        Name of the block model or octree; needed when the workspace has several.

    Raises
    ------
    InputFileError
        No (or more than one, without ``object``) block model/octree, a rotated
        one, or an unreadable file.
    """
    p = Path(path)
    with _workspace(p) as ws:
        meshes = [o for o in ws.objects if _kind(o) in ("block model", "octree")]
        if object is not None:
            chosen = [o for o in meshes if o.name == object]
            if not chosen:
                raise InputFileError(p, f"has no block model or octree named {object!r}; it has: "
                                     + (", ".join(o.name for o in meshes) or "none"))
        else:
            chosen = meshes
        obj = single_volume(p, chosen, "block model or octree mesh (surfaces and drillholes are read with "
                                       "voxprospect.io.read_mesh)", "object")
        kind = _kind(obj)
        mesh, order = (_block_model_mesh if kind == "block model" else _octree_mesh)(obj, p)
        data = _cell_data(obj)
        layers, classes = {}, {}
        for name, (values, referenced, child) in data.items():
            v = np.full(mesh.n_cells, np.nan)
            v[order] = values
            layers[name] = v
            if referenced:
                vmap = getattr(child.entity_type, "value_map", None)
                table = dict(vmap.map) if vmap is not None and hasattr(vmap, "map") else {}
                classes[name] = _value_map(table)
        active = np.zeros(mesh.n_cells, bool)
        active[order] = True
        if "active" in layers and not classes.get("active"):
            # the mask written by write_geoh5
            active &= np.nan_to_num(layers.pop("active")) > 0
        if layers:
            active &= np.any([np.isfinite(v) for v in layers.values()], axis=0)
        if grid is None:
            h = [float(np.min(mesh.h[a])) for a in range(3)]
            lo = mesh.nodes.min(axis=0)
            hi = mesh.nodes.max(axis=0)
            shape = tuple(int(round((hi[a] - lo[a]) / h[a])) for a in range(3))
            grid = VoxelGrid(tuple(lo), tuple(h), shape, crs)
            if grid.n_cells > MAX_AUTO_CELLS:
                raise InputFileError(p, f"at its finest cell {kind} {obj.name!r} is {grid.n_cells:,} cells; give "
                                     "a grid (grid=..., or convert --like/--cell-size)")
        meta = {"source": {"format": "geoh5", "file": str(p), "object": obj.name, "kind": kind},
                "resampled": {"from": f"geoh5 {kind}", "method": "volume-weighted mean"}}
        vol = average_mesh_onto_grid(mesh, layers, grid, active=active, classes=classes, meta=meta)
    return vol


def _value_map(table) -> dict[int, str]:
    out = {}
    if isinstance(table, np.ndarray) and table.dtype.names:
        for row in table:
            out[int(row[0])] = row[1].decode() if isinstance(row[1], bytes) else str(row[1])
        return out
    for k, v in dict(table).items():
        out[int(k)] = v.decode() if isinstance(v, bytes) else str(v)
    return out


def read_geoh5_meshes(path, **_kwargs) -> dict:
    """Surfaces and drillholes of a workspace as pyvista meshes, by object name."""
    import pyvista as pv

    p = Path(path)
    out = {}
    with _workspace(p) as ws:
        for obj in ws.objects:
            kind = _kind(obj)
            if kind == "surface":
                verts = np.asarray(obj.vertices, float)
                tris = np.asarray(obj.cells, int)
                faces = np.hstack([np.full((len(tris), 1), 3), tris]).ravel()
                mesh = pv.PolyData(verts, faces)
                for child in obj.children:
                    values = getattr(child, "values", None)
                    if values is None:
                        continue
                    if np.size(values) == len(verts):
                        mesh.point_data[child.name] = np.asarray(values)
                    elif np.size(values) == len(tris):
                        mesh.cell_data[child.name] = np.asarray(values)
            elif kind == "drillhole":
                # the trajectory desurveyed by geoh5py every 5 m from the collar to the
                # end of the hole (the survey stations alone cut the last leg short)
                surveys = np.asarray(obj.surveys) if obj.surveys is not None else np.zeros((1, 3))
                depth = max(float(obj.end_of_hole or 0.0), float(np.max(np.asarray(surveys)[:, 0])))
                if depth <= 0:
                    continue
                steps = np.unique(np.r_[np.linspace(0.0, depth, int(np.ceil(depth / 5.0)) + 1),
                                        np.asarray(surveys)[:, 0]])
                verts = np.asarray(obj.desurvey(steps), float)
                mesh = pv.PolyData(verts, lines=np.hstack([[len(verts)], np.arange(len(verts))]))
            else:
                continue
            out[unique_name(obj.name, out)] = mesh
    if not out:
        raise InputFileError(p, "holds no surface or drillhole")
    return out


def write_geoh5(volume: Volume, path, inputs=(), surfaces: dict | None = None, name: str = "voxprospect",
                **_kwargs) -> Path:
    """Write a volume as a geoh5 block model with one cell data per layer (atomically).

    Parameters
    ----------
    volume : Volume
    path : path-like
        The new ``.geoh5`` workspace (replaced if it exists and is not an input).
    surfaces : dict of str to pyvista.PolyData, optional
        Triangulated surfaces (target bodies, outlines) written beside the block model.
    name : str
        The block model's name.

    Returns
    -------
    Path
    """
    require("geoh5py", path)
    from geoh5py.objects import BlockModel, Surface

    grid = volume.grid
    edges = [np.arange(n + 1) * d for n, d in zip(grid.shape, grid.cell_size)]
    with safe_output(path, inputs) as tmp:
        with _workspace(tmp, mode="w") as ws:
            bm = BlockModel.create(ws, name=name, origin=list(grid.origin), u_cell_delimiters=edges[0],
                                   v_cell_delimiters=edges[1], z_cell_delimiters=edges[2])
            # geoh5py's cell order, matched through its centroids to our (i, j, k)
            ijk = np.floor((np.asarray(bm.centroids) - np.asarray(grid.origin)) / np.asarray(grid.cell_size))
            ijk = ijk.astype(int)
            if (ijk < 0).any() or (ijk >= np.asarray(grid.shape)).any():
                raise VoxprospectError("geoh5py placed block-model cells outside the grid")
            flat = ijk[:, 0] + grid.shape[0] * (ijk[:, 1] + grid.shape[1] * ijk[:, 2])
            active = volume.active.ravel(order="F")[flat]
            data = {}
            for layer in volume.names:
                values = np.asarray(volume[layer]).ravel(order="F")[flat]
                table = volume.classes.get(layer)
                if table:
                    ids = np.where(active, values, 0).astype(np.int32)
                    data[layer] = {"association": "CELL", "values": ids, "type": "referenced",
                                   "value_map": {int(k): str(v) for k, v in table.items() if int(k) > 0}}
                elif np.issubdtype(values.dtype, np.integer) or values.dtype == bool:
                    data[layer] = {"association": "CELL", "values": values.astype(np.int32)}
                else:
                    v = values.astype(np.float64)
                    v[~active] = np.nan
                    data[layer] = {"association": "CELL", "values": v}
            data["active"] = {"association": "CELL", "values": active.astype(np.int32)}
            bm.add_data(data)
            for sname, mesh in (surfaces or {}).items():
                vertices, faces = triangle_arrays(mesh)
                Surface.create(ws, name=str(sname), vertices=vertices, cells=faces)
    return Path(path)


def _register():
    from voxprospect.io import register_format
    register_format("geoh5", reader=read_geoh5_volume, mesh_reader=read_geoh5_meshes, suffix=".geoh5",
                    writer=write_geoh5)


_register()
