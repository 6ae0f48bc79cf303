"""GOCAD Voxet (``.vo`` header + one raw ``@@`` file per property): reader and writer.

Geometry, as GOCAD defines it
-----------------------------
A voxet samples its properties at *nodes*: node ``(i, j, k)`` lies at::

    AXIS_O + (AXIS_MIN[0] + i * su) * AXIS_U + (AXIS_MIN[1] + j * sv) * AXIS_V
           + (AXIS_MIN[2] + k * sw) * AXIS_W,    su = (AXIS_MAX[0] - AXIS_MIN[0]) / (AXIS_N[0] - 1)

(``AXIS_MIN``/``AXIS_MAX`` select a sub-box of the ``AXIS_U/V/W`` box; 0..1 is the whole
box). voxprospect puts one cell *centred* on each node, so the grid's box reaches half a
step beyond the first and last nodes. The property file lists nodes with ``i`` fastest,
then ``j``, then ``k``. Axis vectors may be negative (Claudius' ``AXIS_W`` points down)
or permuted (``AXIS_U`` along y); both are turned into our convention (x, y, z
increasing, ``k = 0`` deepest). ``ZPOSITIVE Depth`` turns z into elevation ``-z``.
Axes that are not parallel to x, y and z are refused (we never resample silently).

Property files are raw binary, big-endian as GOCAD writes them, of ``PROP_ESIZE`` bytes
per value (1, 2, 4 or 8) and ``PROP_ETYPE`` ``IEEE`` (floats for 4 and 8 bytes,
integers for 1 and 2 bytes, as GOCAD stores short and octet properties), ``INT`` or
``OCTET``; ``PROP_SIGNED`` and ``PROP_STORAGE_TYPE`` are honoured, ``PROP_OFFSET`` skips
a header, ``PROP_FORMAT ASCII`` reads a text file of values. A stated byte order
(``PROP_BYTE_ORDER n LITTLE``/``PROP_ENDIANNESS n LITTLE``, or the reader's
``byteorder`` argument) overrides big-endian.

The ``.vo`` header is parsed by :mod:`voxprospect.io.voxet_header`.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voxprospect.errors import InputFileError, OutputError, VoxprospectError
from voxprospect.data.grid import VoxelGrid
from voxprospect.io.header_fields import read_header_text
from voxprospect.io.voxet_header import VoxetHeader, VoxetProperty, parse_voxet_header, voxet_bytes_per_node
from voxprospect.limits import check_memory
from voxprospect.io.safe_write import check_outputs_not_inputs, safe_output, verify_size
from voxprospect.data.volume import Volume

log = logging.getLogger(__name__)

NO_DATA_FLOAT = -99999.0
ACTIVE_PROPERTY = "_active"
_ALIGN_TOL = 1e-6

#: the header's parser lives in voxet_header; these names stay importable from here
__all__ = ["ACTIVE_PROPERTY", "NO_DATA_FLOAT", "VoxetHeader", "VoxetProperty", "class_table", "colour_table_paths",
           "is_class_property", "parse_voxet_header", "read_header_text", "read_property", "read_voxet",
           "voxet_bytes_per_node", "voxet_file_names", "voxet_grid", "write_voxet"]


# -- geometry ---------------------------------------------------------------------------
@dataclass
class _Placement:
    grid: VoxelGrid
    perm: tuple[int, int, int]  # world axis d takes voxet axis perm[d]
    flip: tuple[bool, bool, bool]  # flip along world axis d after permuting


def voxet_grid(hdr: VoxetHeader, crs=None) -> _Placement:
    """Our grid for a voxet header and how its arrays map onto it.

    Raises
    ------
    InputFileError
        If an axis is not parallel to x, y or z, two axes are parallel, or a step is 0.
    """
    p = hdr.path
    axes = hdr.axes.copy()
    origin = hdr.origin.copy()
    if hdr.zpositive.lower() == "depth":
        # z is depth below datum: elevation = -z
        axes[:, 2] *= -1
        origin[2] *= -1
    n = np.array(hdr.n, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        return _placement(hdr, p, axes, origin, n, crs)


def _placement(hdr, p, axes, origin, n, crs) -> _Placement:
    node0 = origin + hdr.axis_min @ axes
    steps = np.zeros((3, 3))
    for a in range(3):
        if hdr.axis_d is not None and np.allclose(hdr.axis_min, 0) and np.allclose(hdr.axis_max, 1) \
                and hdr.axis_d[a] > 0:
            unit = axes[a] / np.linalg.norm(axes[a])
            steps[a] = unit * hdr.axis_d[a]
        elif n[a] > 1:
            steps[a] = axes[a] * (hdr.axis_max[a] - hdr.axis_min[a]) / (n[a] - 1)
        else:
            # one node: a cell as thick as the declared (sub-)box
            span = hdr.axis_max[a] - hdr.axis_min[a]
            steps[a] = axes[a] * (span if span > 0 else 1.0)
    perm = [None, None, None]
    for a, name in enumerate("UVW"):
        norm = np.linalg.norm(steps[a])
        if norm == 0:
            raise InputFileError(p, f"AXIS_{name} has zero length (or AXIS_MIN = AXIS_MAX): no cell size")
        d = int(np.argmax(np.abs(steps[a])))
        off = np.delete(np.abs(steps[a]), d)
        if np.any(off > _ALIGN_TOL * norm):
            raise InputFileError(
                p, f"AXIS_{name} = {tuple(hdr.axes[a])} is not parallel to x, y or z (a rotated voxet); "
                   "voxprospect grids are axis-aligned: rotate or resample the voxet in GOCAD first")
        if perm[d] is not None:
            raise InputFileError(p, f"AXIS_{name} is parallel to AXIS_{'UVW'[perm[d]]}: the voxet is degenerate")
        perm[d] = a
    far = node0 + steps.T @ (n - 1)
    if not (np.all(np.isfinite(node0)) and np.all(np.isfinite(far)) and np.all(np.isfinite(steps))):
        raise InputFileError(p, "AXIS_O and AXIS_U/V/W are too large: the voxet's box overflows a float")
    cell = np.zeros(3)
    grid_origin = np.zeros(3)
    flip = [False, False, False]
    for d in range(3):
        a = perm[d]
        step = steps[a][d]
        cell[d] = abs(step)
        first, last = node0[d], node0[d] + step * (n[a] - 1)
        flip[d] = step < 0
        grid_origin[d] = min(first, last) - cell[d] / 2
    shape = tuple(int(n[perm[d]]) for d in range(3))
    try:
        grid = VoxelGrid(tuple(grid_origin), tuple(cell), shape, crs if crs is not None else hdr.crs)
    except VoxprospectError as e:  # axis vectors so large that the box overflows
        raise InputFileError(p, f"the axes give no usable grid ({e})") from None
    return _Placement(grid, tuple(perm), tuple(flip))


def _to_grid_order(arr_uvw: np.ndarray, plc: _Placement) -> np.ndarray:
    arr = np.transpose(arr_uvw, plc.perm)
    for d in range(3):
        if plc.flip[d]:
            arr = np.flip(arr, axis=d)
    return np.ascontiguousarray(arr)


# -- property files -----------------------------------------------------------------------
def _dtype(prop: VoxetProperty, path, byteorder: str) -> np.dtype:
    e, t, st = prop.esize, prop.etype, (prop.storage or "")
    order = ">" if (prop.byteorder or byteorder) == "big" else "<"
    is_int = (t in ("INT", "INTEGER", "OCTET", "SIGNED", "UNSIGNED") or e in (1, 2)
              or st in ("short", "octet", "int", "integer", "long", "unsignedshort", "ushort", "uint", "char"))
    if t == "IEEE" and e in (4, 8) and st not in ("int", "integer", "long", "uint"):
        is_int = False
    if not is_int:
        return np.dtype(f"{order}f{e}")
    if prop.signed is not None:
        signed = prop.signed
    else:
        signed = not (t in ("OCTET", "UNSIGNED") or st.startswith("u") or e == 1)
    return np.dtype(f"{order}{'i' if signed else 'u'}{e}")


def read_property(prop: VoxetProperty, hdr: VoxetHeader, n_nodes: int, byteorder: str) -> np.ndarray:
    vo = hdr.path
    if not prop.file:
        raise InputFileError(vo, f"property {prop.index} ({prop.name}) has no PROP_FILE")
    f = vo.parent / prop.file
    if not f.is_file():
        raise InputFileError(vo, f"property {prop.name!r}: its file {f} is missing "
                             f"(expected {n_nodes * prop.esize + prop.offset} bytes)")
    if prop.format == "ASCII" or (prop.format is None and hdr.ascii_header):
        try:
            return _read_ascii_property(f, prop, n_nodes)
        except InputFileError as e:
            raise InputFileError(f, f"{e.problem} (a property of {vo.name})") from None
    dt = _dtype(prop, vo, byteorder)
    expected = prop.offset + n_nodes * dt.itemsize
    actual = f.stat().st_size
    if actual != expected:
        raise InputFileError(
            f, f"property {prop.name!r} of {vo.name}: the file has {actual} bytes, the header "
               f"(AXIS_N {' x '.join(map(str, hdr.n))} nodes of {dt.itemsize} bytes"
               f"{f' after a {prop.offset}-byte offset' if prop.offset else ''}) needs {expected} bytes"
               + (" (truncated?)" if actual < expected else ""))
    return np.fromfile(f, dtype=dt, count=n_nodes, offset=prop.offset)


def _read_ascii_property(f: Path, prop: VoxetProperty, n_nodes: int) -> np.ndarray:
    rows = []
    for line in f.read_text(encoding="latin-1").splitlines():
        line = line.strip()
        if not line or line[0] in "#*" or line[0].isalpha():
            continue  # comments and column titles
        rows.append(line.split())
    if not rows:
        raise InputFileError(f, f"property {prop.name!r}: no values in the ASCII file (expected {n_nodes})")
    try:
        if len(rows) == n_nodes and len(rows[0]) >= 4:  # "x y z value" or "i j k value" per node
            vals = np.array([float(r[3]) for r in rows])
        else:
            vals = np.array([float(v) for r in rows for v in r])
    except (ValueError, IndexError) as e:
        raise InputFileError(f, f"property {prop.name!r}: unreadable ASCII value ({e})") from None
    if vals.size != n_nodes:
        raise InputFileError(f, f"property {prop.name!r}: the ASCII file has {vals.size} values, "
                                f"the header needs {n_nodes}")
    if prop.esize in (1, 2) or prop.etype in ("INT", "OCTET"):
        return vals.astype(np.int32)
    return vals.astype(np.float32 if prop.esize == 4 else np.float64)


def is_class_property(prop: VoxetProperty, arr: np.ndarray) -> bool:
    if prop.subclass in ("ROCK", "CATEGORICAL", "CLASS"):
        return True
    # integer properties are classes unless declared a quantity (counts, ids of nothing)
    return np.issubdtype(arr.dtype, np.integer) and prop.subclass != "QUANTITY"


def colour_table_paths(hdr: VoxetHeader, prop: VoxetProperty) -> list[Path]:
    """The colour tables beside a property file that exist (``<file stem>_colours.csv``)."""
    if not prop.file:
        return []
    stem = prop.file[:-2] if prop.file.endswith("@@") else Path(prop.file).stem
    cands = (hdr.path.parent / f"{stem}_colours.csv", hdr.path.parent / f"{stem}_colors.csv")
    return [c for c in cands if c.is_file()]


def class_table(hdr: VoxetHeader, prop: VoxetProperty, ids) -> dict[int, str]:
    """Class names from a ``<property file>_colours.csv`` beside the voxet
    (``id,"name",r,g,b``, as geomodel-2-3dweb ships for the Yilgarn model), else ids."""
    table = {}
    for cand in colour_table_paths(hdr, prop)[:1]:
        text = read_header_text(cand)
        for row in csv.reader(text.splitlines()):
            if len(row) >= 2 and row[0].strip().lstrip("-").isdigit():
                table[int(row[0])] = row[1].strip()
    for i in ids:
        table.setdefault(int(i), str(int(i)))
    return table


# -- reader -------------------------------------------------------------------------------
def read_voxet(path, properties=None, crs=None, byteorder: str = "big", **_) -> Volume:
    """Read a GOCAD Voxet into a :class:`Volume` (one layer per property).

    Parameters
    ----------
    path : path-like
        The ``.vo`` header; property files are found beside it.
    properties : list of str, optional
        Names of the properties to read (all when omitted).
    crs : str, optional
        CRS of the voxet (GOCAD headers rarely carry an EPSG code).
    byteorder : {"big", "little"}
        Byte order of raw files whose header states none (GOCAD writes big-endian).

    Returns
    -------
    Volume
        Float properties with their ``PROP_NO_DATA_VALUE`` as NaN; integer (class)
        properties keep their values (no-data included) and get a class table. A cell
        is active where at least one property has data (or where the ``_active``
        property written by :func:`write_voxet` is 1).

    Raises
    ------
    InputFileError
        If the header is invalid, an axis is rotated, a property is unknown, or a
        property file is missing or of the wrong size (expected and actual sizes given).
    """
    hdr = parse_voxet_header(path)
    n_nodes = hdr.n[0] * hdr.n[1] * hdr.n[2]  # Python ints: no overflow
    check_memory(n_nodes, voxet_bytes_per_node(hdr), f"AXIS_N {hdr.n[0]} {hdr.n[1]} {hdr.n[2]}", path)
    plc = voxet_grid(hdr, crs)
    props = sorted(hdr.properties.values(), key=lambda q: q.index)
    if properties is not None:
        names = [q.name for q in props]
        missing = [n for n in properties if n not in names]
        if missing:
            raise InputFileError(path, f"no property {missing[0]!r}; the voxet has: {', '.join(names)}")
        props = [q for q in props if q.name in properties or q.name == ACTIVE_PROPERTY]
    layers, classes, has_data = {}, {}, np.zeros(plc.grid.shape, bool)
    active = None
    no_data = {}
    for prop in props:
        raw = read_property(prop, hdr, n_nodes, byteorder)
        arr = _to_grid_order(raw.reshape(hdr.n[::-1]).T, plc)
        arr = arr.astype(arr.dtype.newbyteorder("="), copy=False)
        if prop.name == ACTIVE_PROPERTY:
            active = arr.astype(bool)
            continue
        if is_class_property(prop, arr):
            valid = np.ones(arr.shape, bool) if prop.no_data is None else arr != prop.no_data
            ids = np.unique(arr[valid])
            classes[prop.name] = class_table(hdr, prop, ids)
            if prop.no_data is not None:
                no_data[prop.name] = prop.no_data
        else:
            valid = np.isfinite(arr)
            if prop.no_data is not None:
                valid &= ~np.isclose(arr, prop.no_data, rtol=1e-6, atol=0)
                arr = np.where(valid, arr, np.nan).astype(arr.dtype)
        has_data |= valid
        layers[prop.name] = arr
    meta = {"source": {"format": "gocad-voxet", "path": str(Path(path)), "name": hdr.name,
                       "nodes": list(hdr.n), "zpositive": hdr.zpositive}}
    if no_data:
        meta["no_data"] = no_data
    return Volume(plc.grid, layers, active if active is not None else has_data, classes, meta)


# -- writer -------------------------------------------------------------------------------
def _safe(name: str) -> str:
    return re.sub(r"[^\w.\-]+", "_", name).strip("_") or "layer"


def _int_no_data(arr: np.ndarray):
    info = np.iinfo(arr.dtype)
    for cand in (-99999, -9999, info.min, info.max):
        if info.min <= cand <= info.max and not np.any(arr == cand):
            return cand
    return None


def _layer_bases(names: list[str]) -> list[str]:
    used, out = set(), []
    for name in names:
        base = _safe(name)
        while base in used:
            base += "_"
        used.add(base)
        out.append(base)
    return out


def voxet_file_names(stem: str, layer_names: list[str], with_colours: bool = False) -> list[str]:
    """Names of the side files :func:`write_voxet` writes for ``<stem>.vo``: one
    ``<stem>_<layer>@@`` per layer and ``_active`` (and, when ``with_colours``, the
    ``<stem>_<layer>_colours.csv`` any class layer would get)."""
    bases = _layer_bases(list(layer_names) + [ACTIVE_PROPERTY])
    out = [f"{stem}_{b}@@" for b in bases]
    if with_colours:
        out += [f"{stem}_{b}_colours.csv" for b in bases[:-1]]
    return out


def _quoted(name: str) -> str:
    """Double quotes (as GOCAD writes names with spaces) when needed; inside them only
    ``\\`` and ``"`` are escaped, which is what the reader's shlex undoes."""
    if not re.search(r"[\s\"'\\]", name):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_voxet(volume: Volume, path, inputs=(), layers=None, **_) -> Path:
    """Write a volume as a GOCAD Voxet: ``path`` (``.vo``) + ``<stem>_<layer>@@`` files.

    Values are big-endian in each layer's own type (float32/float64 as ``IEEE``,
    integers as signed or unsigned ``INT`` of 1, 2, 4 or 8 bytes; booleans as octets);
    NaN becomes ``PROP_NO_DATA_VALUE -99999``. Class tables go to
    ``<stem>_<layer>_colours.csv`` and the active mask to an ``_active`` octet
    property, so :func:`read_voxet` gives the volume back identically.

    Parameters
    ----------
    volume : Volume
    path : path-like
        The ``.vo`` header to write.
    inputs : iterable of path-like
        The run's inputs, never overwritten.
    layers : list of str, optional
        Layers to write (all when omitted).

    Returns
    -------
    Path

    Raises
    ------
    OutputError
        If an output file would overwrite an input.
    """
    path = Path(path)
    names = volume.names if layers is None else list(layers)
    g = volume.grid
    stem = path.stem
    # node-centred: the first node is the first cell centre
    node0 = np.asarray(g.origin) + np.asarray(g.cell_size) / 2
    span = [g.cell_size[d] * (g.shape[d] - 1) if g.shape[d] > 1 else g.cell_size[d] for d in range(3)]
    lines = ["GOCAD Voxet 1", "HEADER {", f"name: {stem}", "}",
             "GOCAD_ORIGINAL_COORDINATE_SYSTEM",
             f"NAME {json.dumps(g.crs) if g.crs and g.crs.upper().startswith('EPSG') else 'Default'}",
             "AXIS_NAME X Y Z", "AXIS_UNIT m m m", "ZPOSITIVE Elevation",
             "END_ORIGINAL_COORDINATE_SYSTEM",
             "AXIS_O {:.10g} {:.10g} {:.10g}".format(*node0),
             f"AXIS_U {span[0]:.10g} 0 0", f"AXIS_V 0 {span[1]:.10g} 0", f"AXIS_W 0 0 {span[2]:.10g}",
             "AXIS_MIN 0 0 0", "AXIS_MAX 1 1 1", "AXIS_N {} {} {}".format(*g.shape),
             "AXIS_NAME \"X\" \"Y\" \"Z\"", "AXIS_UNIT \"m\" \"m\" \"m\"", "AXIS_TYPE even even even", ""]
    check_outputs_not_inputs(path, inputs, layer_names=names)
    files = []  # (path, bytes)
    entries = [(n, volume[n]) for n in names] + [(ACTIVE_PROPERTY, volume.active.astype(np.uint8))]
    bases = _layer_bases([e[0] for e in entries])
    for idx, ((name, arr), base) in enumerate(zip(entries, bases, strict=True), start=1):
        arr = np.asarray(arr)
        fname = f"{stem}_{base}@@"
        if arr.dtype == bool:
            arr = arr.astype(np.uint8)
        lines += [f"PROPERTY {idx} {_quoted(name)}"]
        if np.issubdtype(arr.dtype, np.floating):
            arr = arr.astype(arr.dtype if arr.itemsize in (4, 8) else np.float32)
            nd = NO_DATA_FLOAT
            data = np.where(np.isnan(arr), nd, arr).astype(arr.dtype.newbyteorder(">"))
            lines += [f"PROPERTY_SUBCLASS {idx} QUANTITY Float",
                      f"PROP_NO_DATA_VALUE {idx} {nd:g}", f"PROP_ESIZE {idx} {arr.itemsize}",
                      f"PROP_ETYPE {idx} IEEE",
                      f"PROP_STORAGE_TYPE {idx} {'Float' if arr.itemsize == 4 else 'Double'}"]
        elif np.issubdtype(arr.dtype, np.integer):
            signed = np.issubdtype(arr.dtype, np.signedinteger)
            nd = _int_no_data(arr) if name != ACTIVE_PROPERTY else None
            data = arr.astype(arr.dtype.newbyteorder(">"))
            lines += [f"PROPERTY_SUBCLASS {idx} ROCK 0" if name in volume.classes else
                      f"PROPERTY_SUBCLASS {idx} QUANTITY Int"]
            if nd is not None and name in volume.classes:
                lines += [f"PROP_NO_DATA_VALUE {idx} {nd}"]
            lines += [f"PROP_ESIZE {idx} {arr.itemsize}", f"PROP_SIGNED {idx} {int(signed)}",
                      f"PROP_ETYPE {idx} {'OCTET' if arr.itemsize == 1 else 'INT'}",
                      f"PROP_STORAGE_TYPE {idx} "
                      + {1: "Octet", 2: "Short", 4: "Integer", 8: "Long"}[arr.itemsize]]
        else:
            raise OutputError(f"{path}: layer {name!r} has type {arr.dtype}, which a voxet cannot store")
        lines += [f"PROP_FORMAT {idx} RAW", f"PROP_OFFSET {idx} 0", f"PROP_FILE {idx} {_quoted(fname)}", ""]
        files.append((path.parent / fname, np.ascontiguousarray(data).ravel(order="F").tobytes()))
        if name in volume.classes:
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\n").writerows(
                [i, n, 0.5, 0.5, 0.5] for i, n in sorted(volume.classes[name].items()))
            files.append((path.parent / f"{stem}_{base}_colours.csv", buf.getvalue().encode("utf-8")))
    lines.append("END")
    files.append((path, ("\n".join(lines) + "\n").encode("utf-8")))
    _write_all(files, inputs)
    return path


def _write_all(files, inputs) -> None:
    """Write every file through the safe path; property files first, the header last (a
    reader never finds a header whose files are missing). If one fails, the files this
    call already wrote are removed, so no half voxet is left."""
    done = []
    header = files[-1][0]
    try:
        for f, blob in files:
            size = len(blob)
            with safe_output(f, inputs, verify=lambda t, n=size: verify_size(t, n)) as tmp:
                with open(tmp, "wb") as fh:
                    fh.write(blob)
            done.append(f)
    except BaseException as e:
        for f in done:
            Path(f).unlink(missing_ok=True)
        if isinstance(e, OutputError) and f != header and "would replace" not in str(e):
            raise OutputError(f"{header}: writing its property file {Path(f).name} failed "
                              f"({str(e).split(': ', 1)[-1]})") from None
        raise


def _register():
    from voxprospect.io import register_reader, register_writer
    register_reader("gocad-voxet", read_voxet)
    register_writer(".vo", write_voxet)


_register()
