"""VTK ImageData (``.vti``): the native, lossless volume format.

Layers are VTK cell arrays (Fortran order, x fastest) in their own dtype; the active
mask is the cell array ``_active`` (uint8). Grid, CRS, layer
order, class tables and provenance ride in a JSON string field
``voxprospect_meta``, so ParaView and pyvista users see ordinary cell arrays while
voxprospect gets everything back bit for bit.
"""

from __future__ import annotations

import json

import numpy as np

from voxprospect.errors import InputFileError
from voxprospect.data.grid import VoxelGrid
from voxprospect.io.safe_write import safe_output, verify_vtk_xml, vtk_errors
from voxprospect.data.volume import Volume

META_KEY = "voxprospect_meta"
ACTIVE_KEY = "_active"
FORMAT_VERSION = 1


def volume_to_imagedata(volume: Volume):
    """The volume as a ``pyvista.ImageData`` with cell arrays and JSON metadata."""
    import pyvista as pv

    g = volume.grid
    img = pv.ImageData(dimensions=tuple(n + 1 for n in g.shape), spacing=g.cell_size, origin=g.origin)
    for name, arr in volume.layers.items():
        img.cell_data[name] = np.ascontiguousarray(arr).ravel(order="F")
    img.cell_data[ACTIVE_KEY] = volume.active.ravel(order="F").astype(np.uint8)
    meta = {"format_version": FORMAT_VERSION, "grid": g.to_dict(), "layers": volume.names,
            "classes": {k: {str(i): n for i, n in v.items()} for k, v in volume.classes.items()},
            "meta": volume.meta}
    img.field_data[META_KEY] = np.array([json.dumps(meta)])
    return img


def write_vti(volume: Volume, path, inputs=()):
    """Write ``volume`` to a ``.vti`` file through the validated write path.

    VTK reports a failed write only through its error events; they are captured and,
    like a file that does not end with ``</VTKFile>``, make the write fail.

    Raises
    ------
    OutputError
        If ``path`` is one of ``inputs`` (or a file one references), or the write
        failed (file-size limit, full disk...): nothing is left at ``path``.
    """
    from vtkmodules.vtkIOXML import vtkXMLImageDataWriter

    img = volume_to_imagedata(volume)
    with safe_output(path, inputs, verify=verify_vtk_xml) as tmp:
        writer = vtkXMLImageDataWriter()
        writer.SetFileName(str(tmp))
        writer.SetInputData(img)
        writer.SetDataModeToBinary()  # as pyvista's save(binary=True): base64, zlib-compressed
        writer.SetCompressorTypeToZLib()
        message = vtk_errors(writer)
        if message:
            raise OSError(message)
    return path


def read_vti(path, **_):
    """Read a ``.vti`` file into a :class:`Volume`.

    Files written by other programs (ParaView, pyvista) are accepted: cell arrays
    become layers, point arrays are averaged onto cells, the grid comes from the
    file's origin and spacing, and the CRS is unknown.

    Raises
    ------
    InputFileError
        If the file is truncated or not valid ImageData.
    """
    import pyvista as pv

    from voxprospect.io.vtk_any import check_vtk_size
    check_vtk_size(path)
    try:
        img = _quiet_read(pv, path)
    except Exception as e:  # VTK raises many kinds on corrupt XML
        raise InputFileError(path, f"cannot read VTK ImageData ({e})") from None
    if not isinstance(img, pv.ImageData) or img.n_cells == 0:
        raise InputFileError(path, "not a VTK ImageData file with cells (truncated or empty?)")
    dims = tuple(int(d) - 1 for d in img.dimensions)
    if min(dims) < 1:
        raise InputFileError(path, f"the image has {tuple(img.dimensions)} points: no cells "
                                   "(a volume needs at least two points along each axis)")
    meta = None
    if META_KEY in img.field_data:
        try:
            meta = json.loads(str(np.asarray(img.field_data[META_KEY]).ravel()[0]))
        except (ValueError, IndexError) as e:
            raise InputFileError(path, f"corrupt voxprospect metadata ({e})") from None
    if meta is not None:
        grid = VoxelGrid.from_dict(meta["grid"])
        if grid.shape != dims:
            raise InputFileError(path, f"metadata says shape {grid.shape}, the image has {dims}")
        header = VoxelGrid(tuple(img.origin), tuple(img.spacing), dims, None)
        moved = grid.differences(header)  # the header has no CRS, which matches any
        if moved:
            # edited in another program (ParaView) after voxprospect wrote it: which is right?
            raise InputFileError(path, "the image's Origin/Spacing and voxprospect's metadata disagree ("
                                       + "; ".join(moved) + "): the file was edited after it was written; "
                                       "write it again from its source, or drop the voxprospect_meta field")
        names = [n for n in meta["layers"]]
    else:
        if img.direction_matrix is not None and not np.allclose(np.asarray(img.direction_matrix), np.eye(3)):
            raise InputFileError(path, "rotated ImageData (direction matrix) is not supported; resample it first")
        grid = VoxelGrid(tuple(img.origin), tuple(img.spacing), dims, None)
        if img.n_cells and not img.cell_data.keys() and img.point_data.keys():
            img = img.point_data_to_cell_data()
        names = [n for n in img.cell_data.keys() if n != ACTIVE_KEY and not n.startswith("vtk")]
    layers = {}
    for n in names:
        if n not in img.cell_data:
            raise InputFileError(path, f"layer {n!r} listed in the metadata is missing")
        a = np.asarray(img.cell_data[n])
        if a.ndim != 1 or a.size != grid.n_cells:
            raise InputFileError(path, f"layer {n!r} has {a.size} values for {grid.n_cells} cells")
        layers[n] = a.reshape(grid.shape, order="F")
    active = None
    if ACTIVE_KEY in img.cell_data:
        active = np.asarray(img.cell_data[ACTIVE_KEY]).reshape(grid.shape, order="F").astype(bool)
    classes = {}
    extra = {}
    if meta is not None:
        classes = {k: {int(i): n for i, n in v.items()} for k, v in meta.get("classes", {}).items()}
        extra = meta.get("meta", {})
    return Volume(grid, layers, active, classes, extra)


def _quiet_read(pv, path):
    """Read with VTK's error output captured, so corrupt files raise instead of printing."""
    from vtkmodules.vtkIOXML import vtkXMLImageDataReader

    reader = vtkXMLImageDataReader()
    reader.SetFileName(str(path))
    message = vtk_errors(reader)
    if message:
        raise ValueError(message)
    return pv.wrap(reader.GetOutput())


def update_quietly(reader) -> str | None:
    """Run a VTK reader with its error output captured (see :func:`~voxprospect.io.safe_write.vtk_errors`)."""
    return vtk_errors(reader)
