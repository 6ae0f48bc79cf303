"""Rotated GOCAD voxets and GOCAD ASCII files holding several objects.

**Rotated voxets.** ``io.gocad.read_voxet`` reads voxets whose axes are parallel to x,
y and z. A voxet whose ``AXIS_U/V/W`` are rotated is resampled here onto an
axis-aligned grid (default: the rotated box's bounding box, with each world axis
taking the step of the voxet axis nearest to it): every grid cell centre is mapped
into the voxet's node indices; continuous properties are interpolated trilinearly
between nodes, class properties take the nearest node; centres outside the voxet's
cell box are inactive. ``meta["rotation"]`` records the axes, the rotation about z
and the method.

**Multi-object files.** Exports often put a TSurf, a Voxet header and a PLine in one
file. :func:`read_gocad_objects` reads every TSurf and PLine as pyvista meshes, the
voxet when its property files are beside the file, and lists every object it skipped
with the reason. ``read_mesh`` returns the meshes; ``read_volume`` the voxet.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voxprospect.errors import InputFileError
from voxprospect.data.grid import VoxelGrid
from voxprospect.data.volume import Volume
from voxprospect.io.gocad_text import object_name, significant_lines, split_objects
from voxprospect.io.mesh_arrays import unique_name

_ROTATED = "rotated voxet"


# -- rotated voxets -------------------------------------------------------------------------
def _steps(hdr) -> tuple[np.ndarray, np.ndarray]:
    """World position of node (0, 0, 0) and the world step of each voxet axis (rows U, V, W)."""
    axes = hdr.axes.astype(float).copy()
    origin = hdr.origin.astype(float).copy()
    if hdr.zpositive.lower() == "depth":
        axes[:, 2] *= -1
        origin[2] *= -1
    n = np.asarray(hdr.n)
    steps = np.zeros((3, 3))
    for a in range(3):
        if hdr.axis_d is not None and np.allclose(hdr.axis_min, 0) and np.allclose(hdr.axis_max, 1) \
                and hdr.axis_d[a] > 0:
            steps[a] = axes[a] / np.linalg.norm(axes[a]) * hdr.axis_d[a]
        elif n[a] > 1:
            steps[a] = axes[a] * (hdr.axis_max[a] - hdr.axis_min[a]) / (n[a] - 1)
        else:
            span = hdr.axis_max[a] - hdr.axis_min[a]
            steps[a] = axes[a] * (span if span > 0 else 1.0)
    return origin + hdr.axis_min @ axes, steps


def rotated_voxet_grid(hdr, crs=None) -> VoxelGrid:
    """The axis-aligned grid covering a rotated voxet's cell box."""
    node0, steps = _steps(hdr)
    n = np.asarray(hdr.n)
    corners = np.array([node0 + ((np.array(c) * n) - 0.5) @ steps
                        for c in np.ndindex(2, 2, 2)])
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    cell = np.array([np.linalg.norm(steps[int(np.argmax(np.abs(steps[:, d])))]) for d in range(3)])
    shape = np.maximum(1, np.ceil((hi - lo) / cell - 1e-9)).astype(int)
    return VoxelGrid(tuple(lo), tuple(cell), tuple(shape), crs if crs is not None else hdr.crs)


def read_rotated_voxet(path, grid: VoxelGrid | None = None, properties=None, crs=None, byteorder="big",
                       hdr=None, **_) -> Volume:
    """Read a rotated voxet resampled onto ``grid`` (default :func:`rotated_voxet_grid`).

    Raises
    ------
    InputFileError
        As ``read_voxet`` (header, missing or short property files), or if the axes
        are degenerate.
    """
    from scipy.ndimage import map_coordinates

    from voxprospect.io import gocad

    hdr = gocad.parse_voxet_header(path) if hdr is None else hdr
    node0, steps = _steps(hdr)
    if abs(np.linalg.det(steps)) < 1e-12 * np.prod(np.linalg.norm(steps, axis=1)):
        raise InputFileError(path, "the voxet's axes are degenerate (parallel or zero length)")
    target = grid if grid is not None else rotated_voxet_grid(hdr, crs)
    n = np.asarray(hdr.n)
    # node index of every grid cell centre: centre = node0 + idx @ steps
    idx = np.linalg.solve(steps.T, (target.cell_centres() - node0).T)  # (3, cells)
    inside = np.all((idx >= -0.5) & (idx <= n[:, None] - 0.5), axis=0)
    props = sorted(hdr.properties.values(), key=lambda q: q.index)
    if properties is not None:
        props = [q for q in props if q.name in properties or q.name == gocad.ACTIVE_PROPERTY]
    n_nodes = int(np.prod(n))
    layers, classes, has_data, active = {}, {}, np.zeros(target.n_cells, bool), None
    for prop in props:
        raw = gocad.read_property(prop, hdr, n_nodes, byteorder)
        arr = raw.reshape(hdr.n[::-1]).T  # (nu, nv, nw)
        arr = arr.astype(arr.dtype.newbyteorder("="), copy=False)
        nearest = np.clip(np.rint(idx).astype(int), 0, (n - 1)[:, None])
        if prop.name == gocad.ACTIVE_PROPERTY:
            active = arr[tuple(nearest)].astype(bool) & inside
            continue
        if gocad.is_class_property(prop, arr):
            vals = arr[tuple(nearest)]
            valid = inside if prop.no_data is None else inside & (vals != prop.no_data)
            classes[prop.name] = gocad.class_table(hdr, prop, np.unique(arr))
            out = np.where(inside, vals, prop.no_data if prop.no_data is not None else 0).astype(arr.dtype)
        else:
            f = arr.astype(np.float64)
            if prop.no_data is not None:
                f[np.isclose(f, prop.no_data, rtol=1e-6, atol=0)] = np.nan
            coords = np.clip(idx, 0, (n - 1)[:, None])
            out = map_coordinates(f, coords, order=1, mode="nearest")
            out[~inside] = np.nan
            valid = np.isfinite(out)
        has_data |= valid
        layers[prop.name] = out.reshape(target.shape, order="F")
    u = steps[0] / np.linalg.norm(steps[0])
    meta = {"source": {"format": "gocad-voxet", "path": str(Path(path)), "name": hdr.name,
                       "nodes": list(hdr.n), "zpositive": hdr.zpositive},
            "rotation": {"axes": hdr.axes.tolist(), "steps": steps.tolist(),
                         "azimuth_of_u_deg": float(np.degrees(np.arctan2(u[0], u[1]))),
                         "rotation_about_z_deg": float(np.degrees(np.arctan2(u[1], u[0]))),
                         "method": "trilinear between nodes (classes: nearest node)"}}
    mask = (active if active is not None else has_data).reshape(target.shape, order="F")
    return Volume(target, layers, mask, classes, meta)


def read_voxet_any(path, grid: VoxelGrid | None = None, **kwargs) -> Volume:
    """``read_voxet`` for axis-aligned voxets, :func:`read_rotated_voxet` for rotated ones."""
    from voxprospect.io import gocad

    if grid is None:
        try:
            return gocad.read_voxet(path, **kwargs)
        except InputFileError as e:
            if _ROTATED not in str(e):
                raise
    vol = read_rotated_voxet(path, grid=grid, **kwargs)
    return vol


# -- multi-object files ----------------------------------------------------------------------
@dataclass
class GocadObjects:
    """What a GOCAD ASCII file holds: meshes by name, the voxet (if read), and the skipped
    objects as ``(line, type, name, reason)``."""

    meshes: dict = field(default_factory=dict)
    volume: Volume | None = None
    skipped: list = field(default_factory=list)


def _tsurf(lines, p, first_line, index):
    from voxprospect.io import tsurf

    cur = tsurf.SurfaceBuilder(index)
    for ln in significant_lines(lines[1:], start=first_line + 1):
        if ln.block is not None:
            if not ln.opens and ln.text.lower().startswith("name:"):
                cur.name = ln.text.split(":", 1)[1].strip() or cur.name
            continue
        tsurf.add_surface_line(cur, p, ln.lineno, ln.text)
    return cur.name, tsurf.surface_polydata(cur, p)


def _pline(lines, p, first_line, index):
    """A GOCAD PLine: ``ILINE`` parts of ``VRTX``/``PVRTX``/``ATOM`` vertices joined by ``SEG a b``."""
    import pyvista as pv

    name, zsign = object_name(lines) or f"pline_{index}", 1.0
    points, ids, segs, parts, part = [], {}, [], [], -1
    for off, raw in enumerate(lines[1:], start=1):
        toks = raw.split()
        if not toks:
            continue
        key = toks[0].upper()
        try:
            if key in ("VRTX", "PVRTX"):
                ids[int(toks[1])] = len(points)
                points.append([float(toks[2]), float(toks[3]), float(toks[4]) * zsign])
            elif key in ("ATOM", "PATOM"):
                ids[int(toks[1])] = ids[int(toks[2])]
            elif key == "ILINE":
                part += 1
            elif key == "SEG":
                segs.append((ids[int(toks[1])], ids[int(toks[2])]))
                parts.append(max(part, 0))
            elif key == "ZPOSITIVE":
                zsign = -1.0 if toks[1].lower() == "depth" else 1.0
        except (ValueError, IndexError):
            raise InputFileError(p, f"line {first_line + off}: malformed {toks[0]} line") from None
        except KeyError as e:
            raise InputFileError(p, f"line {first_line + off}: SEG refers to vertex {e.args[0]}, "
                                    "which is not defined") from None
    if not segs:
        raise InputFileError(p, f"line {first_line}: PLine {name!r} has no segments (SEG)")
    seg = np.asarray(segs, np.int64)
    mesh = pv.PolyData(np.asarray(points, float), lines=np.hstack([np.full((len(seg), 1), 2), seg]).ravel())
    mesh.cell_data["part"] = np.asarray(parts, np.int32)
    return name, mesh


def _voxet(lines, p: Path, first_line, grid=None, read=True, **kwargs):
    """Parse an embedded voxet header; property files are looked for beside ``p``."""
    from voxprospect.io import gocad

    fixed = []
    for raw in lines:
        m = re.match(r"(\s*PROP_FILE\s+\d+\s+)(.+?)\s*$", raw)
        if m:
            target = (p.parent / m.group(2).strip().strip('"')).resolve()
            raw = f"{m.group(1)}{target}\n"
        fixed.append(raw)
    with tempfile.TemporaryDirectory() as tmp:
        vo = Path(tmp) / "embedded.vo"
        vo.write_text("".join(fixed), encoding="latin-1")
        hdr = gocad.parse_voxet_header(vo)
        missing = [str(p.parent / (q.file or "?")) for q in hdr.properties.values()
                   if not q.file or not (p.parent / q.file).is_file()]
        if missing:
            return None, f"its property files are missing: {', '.join(Path(m).name for m in missing)}"
        if not read:
            return None, "only the first readable voxet is read"
        hdr.path = p
        try:
            gocad.voxet_grid(hdr)
            rotated = False
        except InputFileError as e:
            if _ROTATED not in str(e):
                raise
            rotated = True
        if rotated or grid is not None:
            vol = read_rotated_voxet(p, grid=grid, hdr=hdr, **kwargs)
        else:
            vol = gocad.read_voxet(vo, **kwargs).with_meta(source={"format": "gocad-voxet", "path": str(p),
                                                                    "line": first_line, "name": hdr.name})
    return vol, None


def read_gocad_objects(path, grid: VoxelGrid | None = None, **kwargs) -> GocadObjects:
    """Read every object of a GOCAD ASCII file that voxprospect can read.

    Returns
    -------
    GocadObjects
        ``meshes`` (TSurfs and PLines by unique name, in file order), ``volume`` (the
        first voxet whose property files are present), ``skipped``: one
        ``(line, type, name, reason)`` per object not read.

    Raises
    ------
    InputFileError
        If the file is truncated, has a line outside an object, or a TSurf/PLine is
        malformed (with the line number).
    """
    p = Path(path)
    out = GocadObjects()
    for i, (first, kind, lines) in enumerate(split_objects(p), start=1):
        k = kind.upper()
        if k == "TSURF":
            name, mesh = _tsurf(lines, p, first, i)
        elif k == "PLINE":
            name, mesh = _pline(lines, p, first, i)
        elif k == "VOXET":
            name = object_name(lines) or f"voxet_{i}"
            vol, reason = _voxet(lines, p, first, grid=grid, read=out.volume is None, **kwargs)
            if vol is None:
                out.skipped.append((first, kind, name, reason))
            else:
                out.volume = vol
            continue
        else:
            out.skipped.append((first, kind, object_name(lines) or "", f"GOCAD {kind} objects are not read"))
            continue
        out.meshes[unique_name(name, out.meshes)] = mesh
    return out


def read_gocad_meshes(path, **_kwargs) -> dict:
    """TSurfs and PLines of any GOCAD ASCII file (``read_mesh``); the skipped objects are
    listed in each mesh's ``field_data["gocad_skipped"]``.

    A file of TSurfs only is read by ``io.tsurf.read_tsurf`` as before."""
    from voxprospect.io import tsurf

    try:
        return tsurf.read_tsurf(path)
    except InputFileError as e:
        if "objects are not read" not in str(e) and "not a GOCAD TSurf" not in str(e) \
                and "no GOCAD TSurf" not in str(e):
            raise
    objs = read_gocad_objects(path)
    if not objs.meshes:
        raise InputFileError(path, "holds no GOCAD TSurf or PLine; skipped: " + _skipped_text(objs.skipped))
    text = np.array([f"line {ln}: {kind} {name!r}: {why}" for ln, kind, name, why in objs.skipped] or [""])
    for mesh in objs.meshes.values():
        mesh.field_data["gocad_skipped"] = text
    return objs.meshes


def read_gocad_volume(path, grid: VoxelGrid | None = None, **kwargs) -> Volume:
    """The voxet of a multi-object GOCAD file (``read_volume``)."""
    objs = read_gocad_objects(path, grid=grid, **kwargs)
    if objs.volume is None and not any(kind.upper() == "VOXET" for _, kind, _, _ in objs.skipped):
        from voxprospect.io import sniff_format
        raise InputFileError(path, f"is a {sniff_format(path)} file (a mesh, not a volume): read it with "
                             "voxprospect.io.read_mesh, or voxelise it onto a grid")
    if objs.volume is None:
        raise InputFileError(path, "holds no readable GOCAD Voxet (surfaces and lines are read with "
                             "voxprospect.io.read_mesh); skipped: " + _skipped_text(objs.skipped))
    vol = objs.volume
    return vol.with_meta(gocad_objects={"meshes": list(objs.meshes),
                                        "skipped": [list(s) for s in objs.skipped]})


def _skipped_text(skipped) -> str:
    return "; ".join(f"line {ln}: {kind} {name!r} ({why})" for ln, kind, name, why in skipped) or "nothing"


def _register():
    from voxprospect.io import register_mesh_reader, register_reader
    register_reader("gocad-voxet", read_voxet_any)
    register_mesh_reader("gocad-voxet", read_gocad_meshes)
    for kind in ("tsurf", "pline"):
        register_mesh_reader(f"gocad-{kind}", read_gocad_meshes)
        register_reader(f"gocad-{kind}", read_gocad_volume)


_register()
