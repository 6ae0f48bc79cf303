"""``voxprospect info FILE``: grid, CRS, layers and per-layer statistics."""

from __future__ import annotations

import json

import click


@click.command(short_help="Describe a volume, mesh or project file.")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def info(path, as_json):
    """Print what a file holds. Volumes (.vti, GOCAD Voxet, VTK): the grid (origin,
    cell sizes, shape, CRS), the active cells and each layer's statistics. UBC-GIF
    meshes and .vtr files: the rectilinear mesh (cell-width ranges) and layers.
    Meshes (GOCAD TSurf, VTK surfaces and unstructured grids): point and cell counts,
    bounds, closure. GeoTIFFs: size, CRS, bounds and band statistics. Project files:
    their inputs and the format of each."""
    from voxprospect.io import sniff_format

    fmt = sniff_format(path)
    kind = _kind(path, fmt)
    if kind != "volume":
        d = _describe_other(path, fmt, kind)
        d = {"path": path, "format": fmt, **d}
        if as_json:
            click.echo(json.dumps(d, indent=2, default=str))
        else:
            _echo_other(d)
        return
    from voxprospect.io import read_volume

    vol = read_volume(path)
    d = vol.describe()
    d["path"] = path
    d["format"] = fmt
    loop = vol.meta.get("loopstructural")
    if loop:
        d["loopstructural"] = loop
    if as_json:
        click.echo(json.dumps(d, indent=2, default=str))
        return
    click.echo(f"{path}")
    click.echo(f"  grid: {vol.grid.describe()}")
    click.echo(f"  active cells: {d['active_cells']:,} of {vol.grid.n_cells:,}")
    if loop:
        faults = ", ".join(f"{k} (displacement {v:g})" for k, v in loop.get("fault_displacements", {}).items())
        click.echo(f"  LoopStructural model: features {', '.join(loop['features']) or 'none'}; "
                   f"faults {faults or 'none'}")
    for name, s in d["layers"].items():
        if s["kind"] == "classes":
            cls = ", ".join(f"{k}: {v:,}" for k, v in s["classes"].items())
            click.echo(f"  {name} [{s['dtype']}] classes: {cls}")
        elif s.get("count", 0) == 0:
            click.echo(f"  {name} [{s['dtype']}] no finite value")
        else:
            click.echo(f"  {name} [{s['dtype']}] min {s['min']:.4g} max {s['max']:.4g} "
                       f"mean {s['mean']:.4g} std {s['std']:.4g} (NaN {s['nan']:,})")


def _kind(path, fmt) -> str:
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


def _echo_other(d) -> None:
    click.echo(f"{d['path']} ({d['format']})")
    if "mesh" in d:
        m = d["mesh"]
        w = m["cell_widths"]
        click.echo(f"  rectilinear mesh {' x '.join(map(str, m['shape']))} cells; widths "
                   + ", ".join(f"{a} {w[a]['min']:g}-{w[a]['max']:g} m" for a in "xyz"))
        b = m["bounds"]
        click.echo(f"  x {b[0]:.1f}..{b[1]:.1f}, y {b[2]:.1f}..{b[3]:.1f}, z {b[4]:.1f}..{b[5]:.1f}; "
                   f"CRS {m['crs'] or 'unknown'}")
        click.echo(f"  active cells: {d['active_cells']:,}")
        for name, s in d["layers"].items():
            if s.get("count"):
                click.echo(f"  {name} min {s['min']:.4g} max {s['max']:.4g} mean {s['mean']:.4g} "
                           f"(volume-weighted {s['volume_weighted_mean']:.4g})")
    for name, m in d.get("meshes", {}).items():
        b = m["bounds"]
        closed = {True: "closed", False: "open"}.get(m.get("closed"), "")
        click.echo(f"  {name}: {m['type']} {m['points']:,} points, {m['cells']:,} cells {closed}; "
                   f"x {b[0]:.1f}..{b[1]:.1f}, y {b[2]:.1f}..{b[3]:.1f}, z {b[4]:.1f}..{b[5]:.1f}")
        if "enclosed_volume_m3" in m:
            click.echo(f"    encloses {m['enclosed_volume_m3']:.4g} m^3")
    if "raster" in d:
        r = d["raster"]
        click.echo(f"  {r['width']} x {r['height']} pixels, {r['bands']} band(s) {r['dtype']}, "
                   f"CRS {r['crs'] or 'unknown'}, resolution {r['resolution'][0]:g} x {r['resolution'][1]:g}")
        for name, s in d["bands"].items():
            if s.get("count"):
                click.echo(f"  {name}: min {s['min']:.4g} max {s['max']:.4g} mean {s['mean']:.4g}")
    if "project" in d:
        click.echo(f"  sections: {', '.join(d['project']['sections'])}")
        for key, f in d["inputs"].items():
            click.echo(f"  {key}: {f['path']} ({f['format']})")
