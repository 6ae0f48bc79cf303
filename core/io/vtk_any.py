"""VTK files of any kind (``.vtr``, ``.vts``, ``.vtu``, ``.vtp``, legacy ``.vtk``) via VTK/pyvista.

The reader is chosen from the file's content (the XML ``type=`` attribute, or the
legacy header's ``DATASET`` line), never from its extension.

- ``RectilinearGrid`` (``.vtr``) becomes a :class:`voxprospect.gridding.voxelise.RectilinearVolume`
  (cell arrays as layers; point arrays averaged onto cells when there are no cell
  arrays); as a volume it is kept as is when its spacing is uniform, else resampled
  (see :func:`read_vtk_volume`).
- Legacy ``STRUCTURED_POINTS`` (ImageData) becomes a :class:`Volume` directly
  (``.vti`` has its own lossless reader, :mod:`voxprospect.io.vti`).
- ``StructuredGrid``, ``UnstructuredGrid`` (and legacy equivalents) are meshes:
  :func:`read_vtk_mesh` returns them, and :func:`mesh_to_volume` samples them at the
  cell centres of a target grid (cell arrays: the value of the containing mesh cell;
  point arrays: interpolated). ``PolyData`` are surfaces: meshes only.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from voxprospect.errors import InputFileError, VoxprospectError
from voxprospect.data.grid import VoxelGrid
from voxprospect.data.volume import Volume

_XML_READERS = {
    "RectilinearGrid": ("vtkIOXML", "vtkXMLRectilinearGridReader"),
    "StructuredGrid": ("vtkIOXML", "vtkXMLStructuredGridReader"),
    "UnstructuredGrid": ("vtkIOXML", "vtkXMLUnstructuredGridReader"),
    "PolyData": ("vtkIOXML", "vtkXMLPolyDataReader"),
    "ImageData": ("vtkIOXML", "vtkXMLImageDataReader"),
}


def vtk_data_type(path) -> str:
    """The VTK dataset type a file holds (``"RectilinearGrid"``, ``"UnstructuredGrid"``...).

    Raises
    ------
    InputFileError
        If the file is not a VTK file or its type is not one voxprospect reads.
    """
    p = Path(path)
    from voxprospect.io import sniff_format
    fmt = sniff_format(p)
    with open(p, "rb") as f:
        head = f.read(4096).decode("latin-1")
    if fmt in ("vti", "vtk-xml"):
        m = re.search(r'<VTKFile[^>]*\stype="(\w+)"', head)
        if not m:
            raise InputFileError(p, "VTK XML file without a type= attribute (truncated header?)")
        kind = m.group(1)
        if kind not in _XML_READERS:
            raise InputFileError(p, f"VTK XML {kind} files are not read; use ImageData, RectilinearGrid, "
                                    "StructuredGrid, UnstructuredGrid or PolyData")
        return kind
    if fmt == "vtk-legacy":
        m = re.search(r"^\s*DATASET\s+(\w+)", head, re.MULTILINE)
        if not m:
            raise InputFileError(p, "legacy VTK file without a DATASET line (truncated or field-only?)")
        return {"STRUCTURED_POINTS": "ImageData", "RECTILINEAR_GRID": "RectilinearGrid",
                "STRUCTURED_GRID": "StructuredGrid", "UNSTRUCTURED_GRID": "UnstructuredGrid",
                "POLYDATA": "PolyData"}.get(m.group(1).upper(), m.group(1))
    raise InputFileError(p, f"not a VTK file (its content is {fmt})")


def check_vtk_size(path) -> None:
    """Refuse a VTK file whose header declares more points than memory allows, before VTK
    allocates them (:func:`~voxprospect.limits.check_memory`).

    Extents and counts that are not whole numbers are refused naming the attribute.
    """
    from voxprospect.io import header_fields as hf
    from voxprospect.limits import check_memory

    p = Path(path)
    with open(p, "rb") as f:
        head = f.read(1 << 16).decode("latin-1")
    n_arrays = max(1, head.count("<DataArray") + len(re.findall(r"^\s*(SCALARS|VECTORS|FIELD|COLOR_SCALARS)\b",
                                                                 head, re.MULTILINE | re.IGNORECASE)))
    points = 0
    for m in re.finditer(r'WholeExtent="([^"]*)"', head):
        e = hf.numbers(p, "WholeExtent", m.group(1).split(), 6, integer=True)
        sizes = [e[1] - e[0] + 1 for e in (e[0:2], e[2:4], e[4:6])]
        if min(sizes) < 1:
            raise InputFileError(p, f"WholeExtent {m.group(1)!r} is empty or inverted")
        points = max(points, sizes[0] * sizes[1] * sizes[2])
    for attr in ("NumberOfPoints", "NumberOfCells"):
        for m in re.finditer(attr + r'="([^"]*)"', head):
            points = max(points, hf.number(p, attr, m.group(1), integer=True, minimum=0))
    m = re.search(r"^\s*DIMENSIONS\s+(.*)$", head, re.MULTILINE | re.IGNORECASE)
    if m:
        d = hf.numbers(p, "DIMENSIONS", m.group(1).split(), 3, integer=True, minimum=1)
        points = max(points, d[0] * d[1] * d[2])
    for key in ("POINTS", "CELLS", "POLYGONS", "CELL_TYPES", "POINT_DATA", "CELL_DATA"):
        for m in re.finditer(r"^\s*" + key + r"\s+(\S+)", head, re.MULTILINE):
            points = max(points, hf.number(p, key, m.group(1), integer=True, minimum=0))
    for m in re.finditer(r"^\s*[XYZ]_COORDINATES\s+(\S+)", head, re.MULTILINE):
        hf.number(p, "X/Y/Z_COORDINATES", m.group(1), integer=True, minimum=0)
    components = [hf.number(p, "NumberOfComponents", m.group(1), integer=True, minimum=1)
                  for m in re.finditer(r'NumberOfComponents="([^"]*)"', head)]
    for m in re.finditer(r"^\s*(SCALARS|COLOR_SCALARS)\s+\S+\s+(\S+)(?:[ \t]+(\S+))?", head, re.MULTILINE):
        if m.group(1) == "SCALARS" and m.group(3) is not None:
            components.append(hf.number(p, "SCALARS components", m.group(3), integer=True, minimum=1, maximum=4))
        elif m.group(1) == "COLOR_SCALARS":
            components.append(hf.number(p, "COLOR_SCALARS components", m.group(2), integer=True, minimum=1,
                                        maximum=4))
    per_point = 8 * (sum(components) + max(0, n_arrays - len(components)) + 3)
    check_memory(points, per_point, f"the VTK header's {points:,} points or cells", p)


def _read_dataset(path):
    """The file's dataset as a pyvista object; VTK's errors become InputFileError."""
    import importlib

    import pyvista as pv

    from voxprospect.io.safe_write import vtk_errors

    p = Path(path)
    kind = vtk_data_type(p)
    check_vtk_size(p)
    from voxprospect.io import sniff_format
    if sniff_format(p) == "vtk-legacy":
        from vtkmodules.vtkIOLegacy import vtkDataSetReader
        reader = vtkDataSetReader()
        reader.ReadAllScalarsOn()
        reader.ReadAllVectorsOn()
        reader.ReadAllFieldsOn()
    else:
        mod, cls = _XML_READERS[kind]
        reader = getattr(importlib.import_module(f"vtkmodules.{mod}"), cls)()
    reader.SetFileName(str(p))
    message = vtk_errors(reader)
    if message:
        raise InputFileError(p, f"cannot read VTK {kind} ({message})")
    data = pv.wrap(reader.GetOutput())
    if data is None or data.n_points == 0:
        raise InputFileError(p, f"the VTK {kind} has no points (truncated or empty file?)")
    _check_declared_arrays(p, data)
    return data


def _check_declared_arrays(p: Path, data) -> None:
    """Every array a legacy header declares was read (VTK drops a truncated one silently)."""
    with open(p, "rb") as f:
        head = f.read(1 << 20).decode("latin-1")
    if not head.lstrip().startswith("# vtk DataFile"):
        return
    have = set(data.point_data.keys()) | set(data.cell_data.keys()) | set(data.field_data.keys())
    for m in re.finditer(r"^\s*(SCALARS|VECTORS|NORMALS|TENSORS|COLOR_SCALARS)\s+(\S+)", head, re.MULTILINE):
        if m.group(2) not in have:
            raise InputFileError(p, f"the header declares {m.group(1)} {m.group(2)} but its values could "
                                    "not be read (truncated file?)")


def read_vtk_mesh(path, **_) -> dict:
    """Read a VTK file as a mesh: ``{file stem: pyvista dataset}`` (``read_mesh``'s reader).

    Raises
    ------
    InputFileError
        If the file is not VTK, is corrupt or empty.
    """
    return {Path(path).stem: _read_dataset(path)}


def _cell_arrays(data) -> dict:
    if not data.cell_data.keys() and data.point_data.keys():
        data = data.point_data_to_cell_data()
    return {n: np.asarray(data.cell_data[n]) for n in data.cell_data.keys()
            if not n.startswith("vtk") and np.asarray(data.cell_data[n]).ndim == 1}


def rectilinear_from_vtk(data, path=None):
    """A pyvista RectilinearGrid as a :class:`~voxprospect.gridding.voxelise.RectilinearVolume`.

    Decreasing coordinate arrays are flipped so edges increase (k = 0 deepest).
    """
    from voxprospect.data.rectilinear import RectilinearVolume
    edges = [np.asarray(data.x, float), np.asarray(data.y, float), np.asarray(data.z, float)]
    shape = tuple(e.size - 1 for e in edges)
    if min(shape) < 1:
        raise InputFileError(path, f"the rectilinear grid has {tuple(e.size for e in edges)} points per axis: "
                                   "a volume needs at least two along each")
    layers = {}
    for n, a in _cell_arrays(data).items():
        arr = a.reshape(shape, order="F")
        for axis, e in enumerate(edges):
            if e[0] > e[-1]:
                arr = np.flip(arr, axis)
        layers[n] = arr
    active = None
    if "_active" in layers:
        active = layers.pop("_active").astype(bool)
    edges = [e[::-1] if e[0] > e[-1] else e for e in edges]
    return RectilinearVolume(x_edges=edges[0], y_edges=edges[1], z_edges=edges[2], layers=layers,
                             active=active, meta={"source": {"format": "vtk-rectilinear", "path": str(path)}})


def read_vtk_rectilinear(path):
    """Read a ``.vtr`` (or legacy RECTILINEAR_GRID) file as a RectilinearVolume.

    Raises
    ------
    InputFileError
        If the file holds another dataset type.
    """
    data = _read_dataset(path)
    if vtk_data_type(path) != "RectilinearGrid":
        raise InputFileError(path, f"holds a {vtk_data_type(path)}, not a RectilinearGrid")
    return rectilinear_from_vtk(data, path)


def mesh_to_volume(mesh, grid: VoxelGrid, layers=None) -> Volume:
    """Sample a volumetric mesh's arrays at the cell centres of ``grid``.

    Parameters
    ----------
    mesh : pyvista.DataSet
        A structured or unstructured grid in the grid's CRS.
    grid : VoxelGrid
    layers : list of str, optional
        Arrays to sample (all point and cell arrays when omitted).

    Returns
    -------
    Volume
        Active where the cell centre falls inside a mesh cell; continuous layers
        NaN elsewhere, integer layers keep their type (0 outside).

    Raises
    ------
    VoxprospectError
        If the mesh has no 3D cells (a surface), or no cell centre falls inside it.
    """
    import pyvista as pv
    if isinstance(mesh, pv.PolyData):
        raise VoxprospectError("a surface (PolyData) has no inside to sample: use voxelise.solid_mask "
                               "for closed surfaces or voxelise.surface_distance for open ones")
    from voxprospect.limits import check_memory
    n_arrays = len(mesh.cell_data.keys()) + len(mesh.point_data.keys())
    check_memory(grid.n_cells, 24 * 3 + 8 * n_arrays + 2, f"sampling the mesh at {grid.n_cells:,} cell centres")
    probe = pv.PolyData(grid.cell_centres())
    sampled = probe.sample(mesh)
    valid = np.asarray(sampled["vtkValidPointMask"]).astype(bool).reshape(grid.shape, order="F")
    if not valid.any():
        raise VoxprospectError(f"no cell centre of the grid ({grid.describe()}) lies inside the mesh")
    names = [n for n in list(mesh.cell_data.keys()) + list(mesh.point_data.keys())
             if not n.startswith("vtk") and (layers is None or n in layers)]
    out = {}
    for n in dict.fromkeys(names):
        a = np.asarray(sampled[n])
        if a.ndim != 1:
            continue  # vectors and tensors are not layers
        a = a.reshape(grid.shape, order="F")
        out[n] = a if not np.issubdtype(a.dtype, np.floating) else np.where(valid, a, np.nan)
    active = valid
    if "_active" in out:
        active = valid & out.pop("_active").astype(bool)
    return Volume(grid, out, active, meta={"sampled_from": "VTK mesh"})


def read_vtk_volume(path, grid: VoxelGrid | None = None, cell_size=None, method: str = "mean", **_) -> Volume:
    """Read a VTK file (not ``.vti``) as a :class:`Volume` (``read_volume``'s reader).

    Parameters
    ----------
    path : path-like
    grid : VoxelGrid, optional
        Target grid. Needed for structured/unstructured meshes unless ``cell_size``
        is given; rectilinear grids without it keep their cells when uniform, else
        are resampled at their finest spacing.
    cell_size : float or (dx, dy, dz), optional
        Build the target grid over the mesh's bounds with this cell size.
    method : {"mean", "linear", "nearest"}
        Resampling of rectilinear grids (see :func:`voxprospect.io.ubc.resample_rectilinear`).

    Raises
    ------
    InputFileError
        If the file is corrupt, a surface, or a mesh without a target grid.
    """
    from voxprospect.io.ubc import mesh_bounds, rectilinear_to_volume
    kind = vtk_data_type(path)
    data = _read_dataset(path)
    if kind == "ImageData":  # legacy STRUCTURED_POINTS (.vti files go to io.vti)
        dims = tuple(int(d) - 1 for d in data.dimensions)
        arrays = _cell_arrays(data)
        if min(dims) < 1 or not arrays:
            raise InputFileError(path, f"the STRUCTURED_POINTS dataset has {tuple(data.dimensions)} points and "
                                       f"{len(arrays)} data arrays: no volume to read (truncated file?)")
        g = VoxelGrid(tuple(data.origin), tuple(data.spacing), dims)
        vol = Volume(g, {n: a.reshape(g.shape, order="F") for n, a in arrays.items()})
        if grid is None and cell_size is not None:
            grid = VoxelGrid.from_bounds(g.bounds, cell_size)
        if grid is None:
            return vol
        from voxprospect.data.rectilinear import resample_to_grid
        return resample_to_grid(vol, grid, "nearest" if method == "nearest" else "linear")
    if kind == "PolyData":
        raise InputFileError(path, "holds a surface (PolyData), not a volume: read it with "
                                   "voxprospect.io.read_mesh and voxelise it")
    if kind == "RectilinearGrid":
        rect = rectilinear_from_vtk(data, path)
        if grid is None and cell_size is not None:
            grid = VoxelGrid.from_bounds(mesh_bounds(rect), cell_size)
        return rectilinear_to_volume(rect, path, grid, method)
    if grid is None:
        if cell_size is None:
            raise InputFileError(path, f"holds a {kind} (an irregular mesh): give a target grid "
                                       "(grid=..., or --like/--cell-size on the command line)")
        grid = VoxelGrid.from_bounds(data.bounds, cell_size)
    try:
        return mesh_to_volume(data, grid).with_meta(source={"format": f"vtk-{kind}", "path": str(path)})
    except VoxprospectError as e:
        raise InputFileError(path, str(e)) from None


def _register():
    from voxprospect.io import register_mesh_reader, register_reader
    register_reader("vtk-xml", read_vtk_volume)
    register_reader("vtk-legacy", read_vtk_volume)
    register_mesh_reader("vtk-xml", read_vtk_mesh)
    register_mesh_reader("vtk-legacy", read_vtk_mesh)
    register_mesh_reader("vti", read_vtk_mesh)


_register()
