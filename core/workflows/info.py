"""What a file holds, for ``voxprospect info`` and the plugin: one description per kind of file.

:func:`describe_file` recognises the format by content (:func:`voxprospect.io.sniff_format`),
sorts it into a kind (a volume on a regular grid, a rectilinear mesh, a surface or
unstructured mesh, a raster, a project file) and returns a JSON-ready dict: for volumes
the grid, the active cells and per-layer statistics; for meshes point and cell counts,
bounds and closure; for rasters size, CRS, bounds and band statistics; for project files
their sections and every file they name, with its format.
"""

from __future__ import annotations

__all__ = ["describe_file", "file_kind"]


def describe_file(path) -> dict:
    """``{"path", "format", "kind", ...}`` of any file voxprospect reads.

    Raises
    ------
    InputFileError, ProjectFileError
        A file that cannot be read, naming it.
    """
    from voxprospect.io import sniff_format

    fmt = sniff_format(path)
    kind = file_kind(path, fmt)
    if kind == "volume":
        from voxprospect.io import read_volume
        d = read_volume(path).describe()
    else:
        d = _describe_other(path, fmt, kind)
    return {"path": str(path), "format": fmt, "kind": kind, **d}


def file_kind(path, fmt) -> str:
    """volume, rectilinear, mesh, raster or project."""
    if fmt == "ubc-mesh":
        return "rectilinear"
    if fmt == "gocad-tsurf":
        return "mesh"
    if fmt == "geotiff":
        return "raster"
    if fmt == "toml":
        return "project"
    if fmt in ("vtk-xml", "vtk-legacy"):
        from voxprospect.io.vtk_any import vtk_data_type
        t = vtk_data_type(path)
        return {"RectilinearGrid": "rectilinear", "ImageData": "volume"}.get(t, "mesh")
    return "volume"


def _describe_other(path, fmt, kind) -> dict:
    if kind == "rectilinear":
        if fmt == "ubc-mesh":
            from voxprospect.io.ubc import describe_rectilinear, read_ubc
            return describe_rectilinear(read_ubc(path))
        from voxprospect.io.ubc import describe_rectilinear
        from voxprospect.io.vtk_any import read_vtk_rectilinear
        return describe_rectilinear(read_vtk_rectilinear(path))
    if kind == "mesh":
        from voxprospect.io import read_mesh
        from voxprospect.io.tsurf import describe_mesh
        return {"meshes": {name: describe_mesh(m) for name, m in read_mesh(path).items()}}
    if kind == "raster":
        from voxprospect.io.rasters import describe_raster
        return describe_raster(path)
    return _describe_project(path)


def _describe_project(path) -> dict:
    """The project file's sections and every file it names, with its format."""
    from pathlib import Path

    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    from voxprospect.errors import ProjectFileError
    from voxprospect.io import sniff_format

    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ProjectFileError(path, f"not valid TOML ({e})") from None
    base = Path(path).parent
    files = {}

    def walk(obj, key):
        if isinstance(obj, dict):
            for k, v in obj.items():
                walk(v, f"{key}.{k}" if key else k)
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                walk(v, f"{key}[{i}]")
        elif isinstance(obj, str) and (base / obj).is_file():
            try:
                files[key] = {"path": obj, "format": sniff_format(base / obj)}
            except Exception as e:  # an unreadable input is worth reporting, not failing on
                files[key] = {"path": obj, "format": None, "problem": str(e)}
    walk(data, "")
    return {"project": {"sections": list(data)}, "inputs": files}
