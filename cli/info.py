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
    from voxprospect.workflows.info import describe_file

    d = describe_file(path)
    d["path"] = path
    if as_json:
        click.echo(json.dumps({k: v for k, v in d.items() if k != "kind"}, indent=2, default=str))
    elif d["kind"] == "volume":
        _echo_volume(d)
    else:
        _echo_other(d)


def _echo_volume(d) -> None:
    from voxprospect.data.grid import VoxelGrid

    grid = VoxelGrid.from_dict(d["grid"])
    click.echo(f"{d['path']}")
    click.echo(f"  grid: {grid.describe()}")
    click.echo(f"  active cells: {d['active_cells']:,} of {grid.n_cells:,}")
    for name, s in d["layers"].items():
        if s["kind"] == "classes":
            cls = ", ".join(f"{k}: {v:,}" for k, v in s["classes"].items())
            click.echo(f"  {name} [{s['dtype']}] classes: {cls}")
        elif s.get("count", 0) == 0:
            click.echo(f"  {name} [{s['dtype']}] no finite value")
        else:
            click.echo(f"  {name} [{s['dtype']}] min {s['min']:.4g} max {s['max']:.4g} "
                       f"mean {s['mean']:.4g} std {s['std']:.4g} (NaN {s['nan']:,})")


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
