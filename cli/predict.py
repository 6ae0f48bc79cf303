"""``voxprospect predict MODEL EVIDENCE -o OUT.vti``."""

from __future__ import annotations

import click

from voxprospect.vocabulary import DEFAULT_CHUNK_VOXELS

from .options import echo


@click.command(short_help="Predict a prospectivity volume.")
@click.argument("model", type=click.Path(dir_okay=False))
@click.argument("evidence", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Prospectivity volume (.vti).")
@click.option("--geotiff", type=click.Path(dir_okay=False), default=None,
              help="Also write GeoTIFF depth slices (band per elevation level).")
@click.option("--chunk-voxels", type=click.IntRange(min=1), default=DEFAULT_CHUNK_VOXELS, show_default=True,
              help="Voxels per prediction chunk (bounds memory).")
def predict(model, evidence, output, geotiff, chunk_voxels):
    """Probability of mineralisation on every active voxel of EVIDENCE with a trained MODEL."""
    from voxprospect.workflows.pipeline import run_predict

    summary = run_predict(model, evidence, output, geotiff=geotiff, chunk_voxels=chunk_voxels)
    echo(None, f"prospectivity: {summary['output']} ({summary['active_voxels']:,} voxels)")
