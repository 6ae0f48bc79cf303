"""``voxprospect convert IN OUT``: between volume formats (.vti, GOCAD .vo, UBC .msh, GeoTIFF)."""

from __future__ import annotations

import click

from .options import _volume_output, cell_size_option, echo


@click.command(short_help="Convert between volume formats.")
@click.argument("src", metavar="IN", type=click.Path(dir_okay=False))
@click.argument("dst", metavar="OUT", type=click.Path(dir_okay=False), callback=_volume_output)
@click.option("--layer", "layers", multiple=True, help="Layer to keep (repeat for several; default all).")
@click.option("--like", type=click.Path(dir_okay=False),
              help="Resample onto the grid of this volume file (needed for irregular meshes).")
@cell_size_option
@click.option("--method", type=click.Choice(["mean", "linear", "nearest"]), default="mean", show_default=True,
              help="Resampling of rectilinear inputs (UBC meshes, .vtr).")
@click.option("--crs", default=None, metavar="CRS",
              help="CRS of IN when it carries none (GOCAD voxets, UBC meshes), e.g. EPSG:32750: written into "
                   "OUT so GeoTIFFs and targets are placed. Not a reprojection.")
def convert(src, dst, layers, like, cell_size, method, crs):
    """Read IN (format recognised by content: .vti, GOCAD Voxet, UBC-GIF mesh + model,
    VTK, OcTree, geoh5, OMF, LoopStructural recipe, multi-object GOCAD) and write OUT
    in the format of its extension: .vti, .vo (GOCAD Voxet + @@ property files),
    .msh (UBC-GIF mesh + one .mod per layer), .tif (GeoTIFF depth slices, one layer),
    .geoh5 (a block model, for Geoscience ANALYST), .omf (a volume, for Leapfrog), .csv (a point table:
    x, y, z of each active cell's centre, its i, j, k and its values). OUT is written atomically
    and may never be IN. A report
    ``OUT.report.json`` records the inputs and the grid."""
    from voxprospect.workflows.export import run_convert

    result = run_convert(src, dst, layers=layers, like=like, cell_size=cell_size, method=method, crs=crs)
    for warning in result["warnings"]:
        click.echo(f"Warning: {warning}", err=True)
    echo(False, f"{dst}: {result['describe']}; layers {', '.join(result['layers']) or '(none)'}")
