"""``voxprospect info FILE``: grid, CRS, layers and per-layer statistics."""

from __future__ import annotations

import json

import click


@click.command(short_help="Describe a volume, mesh or project file.")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def info(path, as_json):
    """Print the grid (origin, cell sizes, shape, CRS), the active cells and each
    layer's statistics of a volume file (any supported format)."""
    from voxprospect.io import read_volume

    vol = read_volume(path)
    d = vol.describe()
    d["path"] = path
    if as_json:
        click.echo(json.dumps(d, indent=2, default=str))
        return
    click.echo(f"{path}")
    click.echo(f"  grid: {vol.grid.describe()}")
    click.echo(f"  active cells: {d['active_cells']:,} of {vol.grid.n_cells:,}")
    for name, s in d["layers"].items():
        if s["kind"] == "classes":
            cls = ", ".join(f"{k}: {v:,}" for k, v in s["classes"].items())
            click.echo(f"  {name} [{s['dtype']}] classes: {cls}")
        elif s.get("count", 0) == 0:
            click.echo(f"  {name} [{s['dtype']}] no finite value")
        else:
            click.echo(f"  {name} [{s['dtype']}] min {s['min']:.4g} max {s['max']:.4g} "
                       f"mean {s['mean']:.4g} std {s['std']:.4g} (NaN {s['nan']:,})")
