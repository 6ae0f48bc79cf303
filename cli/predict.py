"""``voxprospect predict MODEL EVIDENCE -o OUT.vti``."""

from __future__ import annotations

import click

from .options import chunk_voxels_option, recalibrate_option, suffix_callback, volume_output
from .progress import cli_progress
from .summary import emit_summary, json_option


@click.command(short_help="Predict a prospectivity volume.")
@click.argument("model", type=click.Path(dir_okay=False))
@click.argument("evidence", type=click.Path(dir_okay=False))
@volume_output
@click.option("--geotiff", type=click.Path(dir_okay=False), default=None,
              callback=suffix_callback((".tif", ".tiff"), "--geotiff"),
              help="Also write GeoTIFF depth slices (.tif, band per elevation level).")
@chunk_voxels_option
@recalibrate_option
@json_option
def predict(model, evidence, output, geotiff, chunk_voxels, as_json):
    """Probability of mineralisation on every active voxel of EVIDENCE with a trained MODEL."""
    from voxprospect.workflows.pipeline import run_predict

    bar = cli_progress()
    try:
        summary = run_predict(model, evidence, output, geotiff=geotiff, chunk_voxels=chunk_voxels, progress=bar)
    finally:
        bar.close()
    emit_summary(summary, as_json, bar.elapsed_s, quiet=bar.quiet)
