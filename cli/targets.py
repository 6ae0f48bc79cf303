"""``voxprospect targets PROSPECTIVITY.vti -o OUTDIR``."""

from __future__ import annotations

import click

from .options import min_voxels_option, threshold_option
from .progress import cli_progress
from .summary import emit_summary, json_option


@click.command(short_help="P-A threshold and 3D targets.")
@click.argument("prospectivity", type=click.Path(dir_okay=False))
@click.option("-o", "--outdir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--orebodies", type=click.Path(dir_okay=False), default=None,
              help="Known orebodies (volume with an 'orebody' layer) for the P-A plot and containment.")
@threshold_option
@min_voxels_option
@click.option("--pa-layer", type=click.Choice(("mean", "q10", "rank")), default="mean", show_default=True,
              help="Layer of the P-A plot, its threshold and the voxel selection: the members' mean, their 10% "
                   "quantile, or the mean's percentile rank (saturated probabilities).")
@json_option
def targets(prospectivity, outdir, orebodies, threshold, min_voxels, pa_layer, as_json):
    """Pick the threshold from the prediction-area plot and group the voxels above it
    into 26-connected 3D targets (label volume, CSV table, GeoPackage)."""
    from voxprospect.workflows.pipeline import run_targets

    bar = cli_progress()
    try:
        s = run_targets(prospectivity, outdir, orebody_path=orebodies, threshold=threshold, min_voxels=min_voxels,
                        progress=bar, pa_layer=pa_layer)
    finally:
        bar.close()
    emit_summary(s, as_json, bar.elapsed_s, quiet=bar.quiet)
