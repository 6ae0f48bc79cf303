"""``voxprospect predict MODEL EVIDENCE -o OUT.vti``."""

from __future__ import annotations

import click

from .options import chunk_voxels_option, echo, suffix_callback, volume_output


@click.command(short_help="Predict a prospectivity volume.")
@click.argument("model", type=click.Path(dir_okay=False))
@click.argument("evidence", type=click.Path(dir_okay=False))
@volume_output
@click.option("--geotiff", type=click.Path(dir_okay=False), default=None,
              callback=suffix_callback((".tif", ".tiff"), "--geotiff"),
              help="Also write GeoTIFF depth slices (.tif, band per elevation level).")
@chunk_voxels_option
def predict(model, evidence, output, geotiff, chunk_voxels):
    """Probability of mineralisation on every active voxel of EVIDENCE with a trained MODEL."""
    from voxprospect.workflows.pipeline import run_predict

    summary = run_predict(model, evidence, output, geotiff=geotiff, chunk_voxels=chunk_voxels)
    echo(None, f"prospectivity: {summary['output']} ({summary['active_voxels']:,} voxels)")
