"""GOCAD TSurf (``.ts``): triangulated surfaces into pyvista meshes.

A file holds one or more ``GOCAD TSurf`` objects, each ending with ``END``. An object
has a ``HEADER { name: ... }``, optional ``PROPERTIES`` / ``NO_DATA_VALUES``, and one
or more ``TFACE`` parts made of ``VRTX id x y z`` or ``PVRTX id x y z p1 p2 ...``
vertices, ``ATOM id ref`` / ``PATOM id ref ...`` (a new id for an existing vertex)
and ``TRGL a b c`` triangles. Vertex ids are global to the object, so triangles may
refer to vertices of earlier parts. ``ZPOSITIVE Depth`` turns z into elevation.

Each object becomes one ``pyvista.PolyData`` with a ``part`` cell array (the TFACE
number) and one point array per property (no-data values as NaN). Closed surfaces
(:func:`is_closed`) are solids (orebodies, intrusions, pipes); open ones are surfaces
(faults, horizons).
"""

from __future__ import annotations

import shlex
from pathlib import Path

import numpy as np

from voxprospect.errors import InputFileError, VoxprospectError
from voxprospect.io import header_fields as hf
from voxprospect.io.gocad_text import significant_lines
from voxprospect.io.mesh_arrays import unique_name


def _check_format(path) -> Path:
    return hf.require_format(path, "gocad-tsurf", "GOCAD TSurf", hint=False)


class SurfaceBuilder:
    """One TSurf object as it is read: vertices, triangles, parts, properties."""

    def __init__(self, index: int):
        self.name = f"surface_{index}"
        self.points: list[list[float]] = []
        self.props: list[list[float]] = []
        self.id_to_row: dict[int, int] = {}
        self.triangles: list[tuple[int, int, int]] = []
        self.parts: list[int] = []
        self.part = -1
        self.prop_names: list[str] = []
        self.no_data: list[float] = []
        self.zsign = 1.0


def read_tsurf(path) -> dict:
    """Read every surface of a GOCAD TSurf file.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    dict of str to pyvista.PolyData
        In file order, keyed by each object's header name (made unique with
        ``_2``, ``_3``... when repeated).

    Raises
    ------
    InputFileError
        If the file is not a TSurf, is truncated (an object without ``END``), has a
        malformed line, or a triangle refers to an undefined vertex.
    """
    p = _check_format(path)
    surfaces: dict = {}
    cur: SurfaceBuilder | None = None
    count = 0
    for ln in significant_lines(hf.read_header_text(p).splitlines()):
        lineno, line = ln.lineno, ln.text
        if ln.block is not None and not ln.opens:
            if cur is not None and line.lower().startswith("name:"):
                cur.name = line.split(":", 1)[1].strip() or cur.name
            continue
        toks = line.split()
        key = toks[0].upper()
        if key == "GOCAD":
            if cur is not None:
                raise InputFileError(p, f"line {lineno}: a new GOCAD object starts before END of {cur.name!r}")
            if len(toks) < 2 or toks[1].upper() != "TSURF":
                raise InputFileError(p, f"line {lineno}: {' '.join(toks[:2])} objects are not read; "
                                        "only GOCAD TSurf")
            count += 1
            cur = SurfaceBuilder(count)
            continue
        if cur is None:
            raise InputFileError(p, f"line {lineno}: {toks[0]} outside a GOCAD TSurf object")
        if ln.opens:
            continue
        add_surface_line(cur, p, lineno, line)
        if key == "END":
            surfaces[unique_name(cur.name, surfaces)] = surface_polydata(cur, p)
            cur = None
    if cur is not None:
        raise InputFileError(p, f"surface {cur.name!r} has no END (truncated file?)")
    if not surfaces:
        raise InputFileError(p, "no GOCAD TSurf object in the file")
    return surfaces


def add_surface_line(cur: SurfaceBuilder, path, lineno: int, line: str) -> None:
    """Add one line of a TSurf object's body to ``cur``.

    Raises
    ------
    InputFileError
        A malformed line, or a vertex id that is not defined (naming the line).
    """
    toks = line.split()
    try:
        _line(cur, toks[0].upper(), toks, line)
    except (ValueError, IndexError):
        raise InputFileError(path, f"line {lineno}: malformed {toks[0]} line: {line[:80]!r}") from None
    except KeyError as e:
        raise InputFileError(path, f"line {lineno}: {toks[0]} refers to vertex {e.args[0]}, "
                                   "which is not defined") from None


def _line(cur: SurfaceBuilder, key: str, toks: list[str], line: str) -> None:
    if key in ("VRTX", "PVRTX"):
        vid = int(toks[1])
        xyz = [float(toks[2]), float(toks[3]), float(toks[4]) * cur.zsign]
        if not all(np.isfinite(xyz)):
            raise ValueError("not finite")
        cur.id_to_row[vid] = len(cur.points)
        cur.points.append(xyz)
        vals = [float(v) for v in toks[5:5 + len(cur.prop_names)]] if key == "PVRTX" else []
        cur.props.append(vals + [np.nan] * (len(cur.prop_names) - len(vals)))
    elif key in ("ATOM", "PATOM"):
        cur.id_to_row[int(toks[1])] = cur.id_to_row[int(toks[2])]
    elif key == "TRGL":
        if len(toks) < 4:
            raise ValueError("a triangle needs three vertices")
        cur.triangles.append(tuple(cur.id_to_row[int(t)] for t in toks[1:4]))
        cur.parts.append(max(cur.part, 0))
    elif key == "TFACE":
        cur.part += 1
    elif key == "PROPERTIES":
        cur.prop_names = shlex.split(line)[1:]
    elif key == "NO_DATA_VALUES":
        cur.no_data = [float(v) for v in toks[1:]]
    elif key == "ZPOSITIVE":
        cur.zsign = -1.0 if toks[1].lower() == "depth" else 1.0


def surface_polydata(cur: SurfaceBuilder, path):
    import pyvista as pv
    if not cur.triangles:
        raise InputFileError(path, f"surface {cur.name!r} has no triangles (TRGL)")
    pts = np.asarray(cur.points, dtype=float)
    tri = np.asarray(cur.triangles, dtype=np.int64)
    faces = np.hstack([np.full((len(tri), 1), 3, np.int64), tri]).ravel()
    mesh = pv.PolyData(pts, faces)
    mesh.cell_data["part"] = np.asarray(cur.parts, dtype=np.int32)
    if cur.prop_names:
        vals = np.asarray(cur.props, dtype=float).reshape(len(pts), len(cur.prop_names))
        for c, name in enumerate(cur.prop_names):
            col = vals[:, c]
            if c < len(cur.no_data):
                col = np.where(np.isclose(col, cur.no_data[c]), np.nan, col)
            mesh.point_data[name] = col
    mesh.field_data["name"] = np.array([cur.name])
    return mesh


def read_tsurf_one(path, name: str | None = None):
    """One surface of a TSurf file: the one named ``name``, or the only one.

    Raises
    ------
    InputFileError
        If ``name`` is not in the file, or the file holds several surfaces and no
        ``name`` is given.
    """
    surfaces = read_tsurf(path)
    if name is None:
        if len(surfaces) > 1:
            raise InputFileError(path, f"holds {len(surfaces)} surfaces ({', '.join(surfaces)}); name one")
        return next(iter(surfaces.values()))
    if name not in surfaces:
        raise InputFileError(path, f"no surface {name!r}; the file has: {', '.join(surfaces)}")
    return surfaces[name]


def _edges(mesh) -> np.ndarray:
    faces = np.asarray(mesh.faces).reshape(-1, 4)
    if np.any(faces[:, 0] != 3):
        raise VoxprospectError("only triangle meshes can be checked for closure; triangulate first")
    tri = faces[:, 1:]
    e = np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]])
    return np.sort(e, axis=1)


def is_closed(mesh) -> bool:
    """True when a triangle mesh is watertight: every edge is shared by exactly two
    triangles (no border and no non-manifold edge), so it bounds a solid."""
    e = _edges(mesh)
    if e.size == 0:
        return False
    _, counts = np.unique(e, axis=0, return_counts=True)
    return bool(np.all(counts == 2))


def enclosed_volume(mesh) -> float:
    """Volume (m^3) enclosed by a closed triangle mesh, by the divergence theorem.

    Coordinates are taken relative to the mesh's centre so UTM-sized numbers keep
    their precision.

    Raises
    ------
    VoxprospectError
        If the mesh is not closed.
    """
    if not is_closed(mesh):
        raise VoxprospectError("the surface is not closed: it encloses no volume")
    pts = np.asarray(mesh.points, dtype=float)
    pts = pts - pts.mean(axis=0)
    tri = np.asarray(mesh.faces).reshape(-1, 4)[:, 1:]
    a, b, c = pts[tri[:, 0]], pts[tri[:, 1]], pts[tri[:, 2]]
    return float(abs(np.einsum("ij,ij->i", a, np.cross(b, c)).sum()) / 6.0)


def describe_mesh(mesh) -> dict:
    """Point and cell counts, bounds, closure and arrays of one mesh (for ``info``)."""
    d = {"points": int(mesh.n_points), "cells": int(mesh.n_cells),
         "bounds": [float(v) for v in mesh.bounds], "type": type(mesh).__name__}
    try:
        closed = is_closed(mesh)
        d["closed"] = closed
        if closed:
            d["enclosed_volume_m3"] = enclosed_volume(mesh)
    except (VoxprospectError, AttributeError):
        pass
    arrays = {}
    for where, data in (("point", mesh.point_data), ("cell", mesh.cell_data)):
        for n in data.keys():
            a = np.asarray(data[n])
            if a.dtype.kind in "biuf" and a.size:
                f = a[np.isfinite(a)] if a.dtype.kind == "f" else a
                arrays[n] = {"on": where, "dtype": str(a.dtype),
                             **({"min": float(f.min()), "max": float(f.max())} if f.size else {})}
    d["arrays"] = arrays
    return d


def _register():
    from voxprospect.io import register_mesh_reader
    register_mesh_reader("gocad-tsurf", read_tsurf)


_register()
