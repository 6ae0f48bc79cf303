"""OMF (Open Mining Format 1.x, exported by Leapfrog, Deswik and others) through ``omf``.

Read:

- **volumes** (``VolumeElement`` on a tensor grid) with their cell data -> a
  :class:`~voxprospect.data.volume.Volume`, volume-weighted onto a grid; default grid: the
  element's box at its smallest cell;
- **surfaces**, **line sets** and **drillholes** (line sets of subtype ``borehole``,
  OMF 1's only drillhole form) -> pyvista meshes via :func:`read_mesh`.

Write: :func:`write_omf` writes a volume as a ``VolumeElement`` (continuous layers as
scalar cell data, NaN outside the active cells; class layers as mapped data with a
legend of class names, and a second legend ``ids`` so the ids survive) plus optional surfaces and outlines.

Quirks: OMF 1 stores cell data C-ordered over ``(u, v, w)`` (w fastest), as omfvista
reads it; the element's ``origin`` is the corner of the first cell. Axes other than
+x, +y, +z (rotated volumes) are refused.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import numpy as np

from voxprospect.errors import InputFileError
from voxprospect.data.grid import VoxelGrid
from voxprospect.io.safe_write import safe_output
from voxprospect.data.volume import Volume
from voxprospect.io._mesh_average import average_mesh_onto_grid, single_volume
from voxprospect.io.mesh_arrays import segment_arrays, triangle_arrays, unique_name
from voxprospect.io._optional import require

MAX_AUTO_CELLS = 50_000_000


def load_omf_project(path):
    """The ``omf.Project`` of a file, read by omf's own reader."""
    p = Path(path)
    omf = require("omf", p)
    if not p.exists():
        raise InputFileError(p, "file not found")
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            return omf.OMFReader(str(p)).get_project()
    except Exception as e:
        raise InputFileError(p, f"omf cannot read it ({type(e).__name__}: {e})") from None


def _kind(element) -> str:
    name = type(element).__name__
    if name == "LineSetElement":
        return "drillhole" if getattr(element, "subtype", "line") == "borehole" else "line set"
    return {"VolumeElement": "volume", "SurfaceElement": "surface", "PointSetElement": "point set"}.get(name, name)


def list_elements(path) -> list[dict]:
    """``[{"name", "kind"}]`` for every element of an OMF file."""
    return [{"name": e.name, "kind": _kind(e)} for e in load_omf_project(path).elements]


def _data_arrays(element, n, path):
    layers, classes = {}, {}
    for d in element.data or []:
        if getattr(d, "location", None) not in ("cells", "faces", "segments"):
            continue
        kind = type(d).__name__
        arr = np.asarray(d.array.array if hasattr(d.array, "array") else d.array)
        if arr.shape[0] != n:
            raise InputFileError(path, f"{element.name}: data {d.name!r} has {arr.shape[0]} values for {n} cells")
        if kind == "ScalarData":
            layers[d.name] = arr.astype(float)
        elif kind == "MappedData":
            legends = {lg.name: np.asarray(lg.values.array) for lg in d.legends or []}
            names_legend = next((v for k, v in legends.items() if k != "ids"), np.array([]))
            names = [str(v) for v in names_legend]
            # our writer adds an "ids" legend so class ids survive; else ids are 1 + legend index
            ids_of = [int(v) for v in legends["ids"]] if "ids" in legends and len(legends["ids"]) == len(names) \
                else list(range(1, len(names) + 1))
            pos = arr.astype(int)
            lut = np.asarray(ids_of, float)
            layers[d.name] = np.where((pos >= 0) & (pos < len(lut)), lut[np.clip(pos, 0, max(len(lut) - 1, 0))]
                                      if len(lut) else np.nan, np.nan)
            classes[d.name] = dict(zip(ids_of, names))
    return layers, classes


def read_omf_volume(path, grid: VoxelGrid | None = None, element: str | None = None, crs=None,
                    **_kwargs) -> Volume:
    """Read one volume element of an OMF file onto ``grid``.

    Raises
    ------
    InputFileError
        No volume (or several without ``element``), a rotated volume, or data of
        the wrong size.
    """
    p = Path(path)
    discretize = require("discretize", p)
    project = load_omf_project(p)
    vols = [e for e in project.elements if _kind(e) == "volume"]
    if element is not None:
        vols = [e for e in vols if e.name == element] or \
            _missing(p, element, [e.name for e in project.elements if _kind(e) == "volume"])
    vol = single_volume(p, vols, "volume element (surfaces, line sets and drillholes are read with "
                                 "voxprospect.io.read_mesh)", "element")
    g = vol.geometry
    for axis, want in zip((g.axis_u, g.axis_v, g.axis_w), np.eye(3)):
        if not np.allclose(np.asarray(axis, float) / np.linalg.norm(axis), want, atol=1e-9):
            raise InputFileError(p, f"volume {vol.name!r} has axes {np.asarray(g.axis_u).tolist()}, "
                                 f"{np.asarray(g.axis_v).tolist()}, {np.asarray(g.axis_w).tolist()}; only "
                                 "axis-aligned volumes are read (rotated ones: resample them in the exporter)")
    h = [np.asarray(t, float) for t in (g.tensor_u, g.tensor_v, g.tensor_w)]
    origin = np.asarray(g.origin, float) + np.asarray(getattr(project, "origin", [0, 0, 0]), float)
    mesh = discretize.TensorMesh(h, origin=origin)
    shape = tuple(len(t) for t in h)
    layers, classes = _data_arrays(vol, int(np.prod(shape)), p)
    # OMF (u, v, w) C order -> discretize / our x-fastest order
    layers = {k: v.reshape(shape).ravel(order="F") for k, v in layers.items()}
    active = np.any([np.isfinite(v) for v in layers.values()], axis=0) if layers else None
    if grid is None:
        cell = tuple(float(t.min()) for t in h)
        ext = [float(t.sum()) for t in h]
        n = tuple(int(round(e / c)) for e, c in zip(ext, cell))
        grid = VoxelGrid(tuple(origin), cell, n, crs)
        if grid.n_cells > MAX_AUTO_CELLS:
            raise InputFileError(p, f"at its finest cell the volume is {grid.n_cells:,} cells; give a grid")
    meta = {"source": {"format": "omf", "file": str(p), "element": vol.name},
            "resampled": {"from": "OMF volume", "method": "volume-weighted mean"}}
    return average_mesh_onto_grid(mesh, layers, grid, active=active, classes=classes, meta=meta)


def _missing(p, name, have):
    raise InputFileError(p, f"has no volume named {name!r}; volumes: {', '.join(have) or 'none'}")


def read_omf_meshes(path, **_kwargs) -> dict:
    """Surfaces, line sets, drillholes and point sets of an OMF file as pyvista meshes.

    Each mesh carries ``field_data["omf_kind"]``; drillholes are the line sets of subtype
    ``borehole``.
    """
    import pyvista as pv

    p = Path(path)
    project = load_omf_project(p)
    offset = np.asarray(getattr(project, "origin", [0, 0, 0]), float)
    out = {}
    for e in project.elements:
        kind = _kind(e)
        if kind == "volume":
            continue
        g = e.geometry
        verts = np.asarray(g.vertices, float) + np.asarray(getattr(g, "origin", [0, 0, 0]), float) + offset
        if kind == "surface" and hasattr(g, "triangles"):
            tris = np.asarray(g.triangles, int)
            mesh = pv.PolyData(verts, np.hstack([np.full((len(tris), 1), 3), tris]).ravel())
        elif kind in ("line set", "drillhole"):
            seg = np.asarray(g.segments, int)
            mesh = pv.PolyData(verts, lines=np.hstack([np.full((len(seg), 1), 2), seg]).ravel())
        elif kind == "point set":
            mesh = pv.PolyData(verts)
        else:
            continue
        for d in e.data or []:
            if type(d).__name__ != "ScalarData":
                continue
            arr = np.asarray(d.array.array if hasattr(d.array, "array") else d.array, float)
            if d.location == "vertices" and len(arr) == mesh.n_points:
                mesh.point_data[d.name] = arr
            elif len(arr) == mesh.n_cells:
                mesh.cell_data[d.name] = arr
        mesh.field_data["omf_kind"] = np.array([kind])
        out[unique_name(e.name or kind, out)] = mesh
    if not out:
        raise InputFileError(p, "holds no surface, line set, drillhole or point set")
    return out


def write_omf(volume: Volume, path, inputs=(), surfaces: dict | None = None, lines: dict | None = None,
              name: str = "voxprospect", **_kwargs) -> Path:
    """Write a volume (and optional surfaces / outlines) as an OMF 1 project, atomically.

    Parameters
    ----------
    surfaces : dict of str to pyvista.PolyData, optional
        Triangulated surfaces (target bodies).
    lines : dict of str to pyvista.PolyData, optional
        Polylines (outlines), written as line sets.
    """
    omf = require("omf", path)
    grid = volume.grid
    shape = grid.shape
    data = []
    active = volume.active
    for layer in volume.names:
        values = np.asarray(volume[layer])
        table = volume.classes.get(layer)
        if table:
            ids = sorted(int(k) for k in table)
            pos = {k: i for i, k in enumerate(ids)}
            idx = np.vectorize(lambda v, pos=pos: pos.get(int(v), -1), otypes=[int])(values)
            idx[~active] = -1
            data.append(omf.MappedData(name=layer, location="cells", array=idx.ravel(order="C"),
                                       legends=[omf.Legend(name="classes", values=[str(table[k]) for k in ids]),
                                                omf.Legend(name="ids", values=np.asarray(ids, float))]))
        else:
            v = values.astype(np.float64)
            v[~active] = np.nan
            data.append(omf.ScalarData(name=layer, location="cells", array=v.ravel(order="C")))
    geometry = omf.VolumeGridGeometry(origin=list(grid.origin),
                                      tensor_u=np.full(shape[0], grid.cell_size[0]),
                                      tensor_v=np.full(shape[1], grid.cell_size[1]),
                                      tensor_w=np.full(shape[2], grid.cell_size[2]))
    elements = [omf.VolumeElement(name=name, geometry=geometry, data=data)]
    for sname, mesh in (surfaces or {}).items():
        vertices, faces = triangle_arrays(mesh)
        elements.append(omf.SurfaceElement(name=str(sname), geometry=omf.SurfaceGeometry(
            vertices=vertices, triangles=faces)))
    for lname, mesh in (lines or {}).items():
        vertices, segs = segment_arrays(mesh)
        elements.append(omf.LineSetElement(name=str(lname), geometry=omf.LineSetGeometry(
            vertices=vertices, segments=segs)))
    project = omf.Project(name=name, description="written by voxprospect", elements=elements)
    project.validate()
    with safe_output(path, inputs) as tmp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            omf.OMFWriter(project, str(tmp))
    return Path(path)


def _register():
    from voxprospect.io import register_format
    register_format("omf", reader=read_omf_volume, mesh_reader=read_omf_meshes, suffix=".omf", writer=write_omf)


_register()
