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
    from voxprospect.io import read_volume, write_geotiff_levels
    from voxprospect.io.outputs import GEOTIFF_SUFFIXES, check_output_file, step_outputs

    check_output_file(output, GEOTIFF_SUFFIXES, what="GeoTIFF", inputs=[volume])
    vol = read_volume(volume)
    if layer is not None and layer not in vol:
        from voxprospect.errors import LayerError
        raise LayerError(f"{volume}: no layer {layer!r}; layers are: {', '.join(vol.names) or '(none)'}")
    with step_outputs(files=[output]):
        write_geotiff_levels(vol, output, layer=layer, inputs=[volume])
    nz = vol.grid.shape[2]
    echo(None, f"{output}: {layer or vol.names[0]}, {nz} levels "
               f"(z {vol.grid.elevations[-1]:g} m at band 1 to {vol.grid.elevations[0]:g} m at band {nz})")
