"""Readers and writers.

:func:`read_volume` and :func:`write_volume` dispatch on the file's content (readers)
or extension (writers). The native format is VTK ImageData (``.vti``), which carries
the grid, CRS, layer names, class tables, the active mask and provenance losslessly.
"""

from __future__ import annotations

from pathlib import Path

from voxprospect.errors import InputFileError
from voxprospect.io.vti import read_vti, write_vti
from voxprospect.io.geotiff import write_geotiff_levels

__all__ = ["read_volume", "write_volume", "read_vti", "write_vti", "write_geotiff_levels", "sniff_format",
           "read_mesh", "reader_for", "register_format", "register_reader", "register_writer", "register_mesh_reader",
           "check_volume_output"]


def sniff_format(path) -> str:
    """Recognise a file's format by its content, not its extension.

    Returns one of ``"vti"``, ``"vtk-xml"``, ``"vtk-legacy"``, ``"geotiff"``,
    ``"gocad-voxet"``, ``"gocad-tsurf"``, ``"ubc-mesh"``, ``"toml"``, ``"csv"``.

    Raises
    ------
    InputFileError
        If the file does not exist, is empty, or is of no known format.
    """
    p = Path(path)
    if not p.exists():
        raise InputFileError(p, "file not found")
    if p.is_dir():
        raise InputFileError(p, "is a folder, not a file")
    with open(p, "rb") as f:
        head = f.read(4096)
    if not head:
        raise InputFileError(p, "file is empty")
    text = head.decode("latin-1")
    stripped = text.lstrip()
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "geotiff"
    if head[:4] == b"PK\x03\x04":
        return _sniff_zip(p)
    if stripped.startswith("<?xml") or stripped.startswith("<VTKFile"):
        if 'type="ImageData"' in text:
            return "vti"
        return "vtk-xml"
    if stripped.startswith("# vtk DataFile"):
        return "vtk-legacy"
    if stripped.startswith("GOCAD Voxet") or stripped.startswith("GOCAD VOXET"):
        return "gocad-voxet"
    if stripped.startswith("GOCAD TSurf") or stripped.startswith("GOCAD TSURF"):
        return "gocad-tsurf"
    if stripped.upper().startswith("GOCAD"):
        words = stripped.split()
        if len(words) < 2:
            raise InputFileError(p, "a GOCAD file without an object type (truncated header?)")
        return "gocad-" + words[1].lower()
    from voxprospect.io import _sniff_extra
    fmt = _sniff_extra.sniff_text(text, p)
    if fmt:
        return fmt
    raise InputFileError(p, "unrecognised file format (expected .vti/VTK, GeoTIFF, GOCAD, UBC-GIF mesh, ...)")


_READERS = {"vti": read_vti}


def register_reader(fmt: str, func) -> None:
    """Register a reader ``func(path, **kwargs) -> Volume`` for a sniffed format."""
    _READERS[fmt] = func


def reader_for(fmt: str):
    """The registered volume reader of a sniffed format, or None (the optional format
    modules are imported first, so every reader that can register has)."""
    _load_optional_readers()
    return _READERS.get(fmt)


def read_volume(path, **kwargs):
    """Read any supported volume file into a :class:`~voxprospect.data.volume.Volume`.

    Raises
    ------
    InputFileError
        If the format is unknown, unsupported as a volume, or the file is corrupt.
    """
    fmt = sniff_format(path)
    _load_optional_readers()
    if fmt not in _READERS:
        if fmt in _MESH_READERS:
            raise InputFileError(path, f"is a {fmt} file (a mesh, not a volume): read it with "
                                 "voxprospect.io.read_mesh, or voxelise it onto a grid")
        raise InputFileError(path, f"a {fmt} file cannot be read as a volume")
    return _READERS[fmt](path, **kwargs)


_MESH_READERS = {}


def register_mesh_reader(fmt: str, func) -> None:
    """Register ``func(path, **kwargs) -> {name: pyvista mesh}`` for a sniffed format."""
    _MESH_READERS[fmt] = func


def read_mesh(path, **kwargs) -> dict:
    """Read the meshes of a file (GOCAD TSurf, VTK PolyData / structured / unstructured).

    Returns
    -------
    dict of str to pyvista.DataSet
        One entry per surface or dataset in the file, in file order.

    Raises
    ------
    InputFileError
        If the format is unknown or holds no mesh.
    """
    fmt = sniff_format(path)
    _load_optional_readers()
    if fmt not in _MESH_READERS:
        raise InputFileError(path, f"a {fmt} file holds no mesh that voxprospect reads")
    return _MESH_READERS[fmt](path, **kwargs)


_WRITERS = {".vti": write_vti}


def register_writer(suffix: str, func) -> None:
    """Register ``func(volume, path, **kwargs)`` for an output extension."""
    _WRITERS[suffix.lower()] = func


def register_format(fmt: str, *, reader=None, mesh_reader=None, suffix: str | None = None, writer=None) -> None:
    """Register what a format module offers in one call: its volume reader and mesh
    reader for the sniffed ``fmt``, its writer for the extension ``suffix``."""
    if reader is not None:
        register_reader(fmt, reader)
    if mesh_reader is not None:
        register_mesh_reader(fmt, mesh_reader)
    if writer is not None:
        register_writer(suffix, writer)


def check_volume_output(path, inputs=()) -> None:
    """Check an output volume path before any work: a known extension, a writable
    folder, and no file the writer would create is an input or a file an input
    references (voxet ``@@`` files, colour tables, UBC models).

    Raises
    ------
    OutputError
        Naming the output and the problem.
    """
    from voxprospect.errors import OutputError
    from voxprospect.io.safe_write import check_folder_writable, check_outputs_not_inputs
    _load_optional_readers()
    suffix = Path(path).suffix.lower()
    if suffix not in _WRITERS and suffix not in (".tif", ".tiff"):
        raise OutputError(f"{path}: no writer for {suffix or 'extension-less'!r} files; use one of "
                          + ", ".join(sorted(set(_WRITERS) | {'.tif'})))
    check_folder_writable(path)
    check_outputs_not_inputs(path, inputs)


def write_volume(volume, path, inputs=(), **kwargs):
    """Write a volume; the format follows the extension (``.vti``, ``.tif``, ...).

    Every writer goes through :mod:`voxprospect.io.safe_write`: nothing an input
    references is replaced, and a failed write leaves no file and raises OutputError.
    """
    from voxprospect.errors import OutputError
    _load_optional_readers()
    suffix = Path(path).suffix.lower()
    if suffix in (".tif", ".tiff"):
        return write_geotiff_levels(volume, path, inputs=inputs, **kwargs)
    if suffix not in _WRITERS:
        raise OutputError(f"{path}: no writer for {suffix or 'extension-less'!r} files; use one of "
                          + ", ".join(sorted(set(_WRITERS) | {'.tif'})))
    return _WRITERS[suffix](volume, path, inputs=inputs, **kwargs)


def _sniff_zip(p: Path) -> str:
    """A zip archive: gempy's saved models are zips holding its JSON model description."""
    import zipfile
    try:
        with zipfile.ZipFile(p) as z:
            names = z.namelist()
    except zipfile.BadZipFile:
        raise InputFileError(p, "truncated or corrupt zip archive") from None
    if p.suffix.lower() == ".gempy" or any("gempy" in n.lower() for n in names):
        return "gempy"
    raise InputFileError(p, "a zip archive that is not a gempy model; unzip it and read its files")


def _load_optional_readers():
    """Import the format modules that register themselves (GOCAD, UBC, ...)."""
    import importlib
    for mod in ("gocad", "ubc", "vtk_any", "tsurf", "gempy_model", "points",
                "loop", "geoh5", "omf_io", "octree", "gocad_multi"):
        try:
            importlib.import_module(f"{__name__}.{mod}")
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{mod}":
                raise
