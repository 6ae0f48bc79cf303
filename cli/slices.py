"""``voxprospect slices VOLUME -l LAYER -o OUT.tif``: GeoTIFF depth slices."""

from __future__ import annotations

import click

from .options import echo, geotiff_output


@click.command(short_help="Export a volume layer as GeoTIFF depth slices.")
@click.argument("volume", type=click.Path(dir_okay=False))
@click.option("-l", "--layer", default=None, help="Layer to export (needed when the volume has several).")
@geotiff_output
def slices(volume, layer, output):
    """Write one layer of VOLUME as a multi-band GeoTIFF, one band per elevation level, top
    first, each band described as z=<elevation> m (what the QGIS Depth slices panel scrolls)."""
    from voxprospect.workflows.export import run_slices

    result = run_slices(volume, output, layer=layer)
    lv = result["levels"]
    echo(None, f"{output}: {result['layer']}, {lv['count']} levels "
               f"(z {lv['top_elevation_m']:g} m at band 1 to {lv['bottom_elevation_m']:g} m at band {lv['count']})")
