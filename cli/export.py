"""``voxprospect export-targets`` and ``voxprospect export-results``: a prediction's targets as
one GeoPackage, and a prediction with its targets for Geoscience ANALYST (geoh5) or
Leapfrog (OMF). The same core steps as the QGIS algorithms ``voxprospect:exporttargets``
and ``voxprospect:exportresults``."""

from __future__ import annotations

import click

from .options import echo, min_voxels_option, threshold_option


@click.command(short_help="Targets of a prediction as one GeoPackage.")
@click.argument("prospectivity", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="GeoPackage to write (.gpkg): outlines per level, centroids, drill points.")
@threshold_option
@click.option("--orebodies", type=click.Path(dir_okay=False), default=None,
              help="Known orebodies, to pick the threshold from the prediction-area plot when none is given.")
@click.option("--layer", default=None, help="Layer the targets are found on (default prospectivity).")
@min_voxels_option
def export_targets(prospectivity, output, threshold, orebodies, layer, min_voxels):
    """Find the 3D targets of PROSPECTIVITY above the threshold and write them as
    GeoPackage layers a GIS reads directly; ``OUT.report.json`` beside it."""
    from voxprospect.workflows.export import run_export_targets

    result = run_export_targets(prospectivity, output, threshold=threshold, orebody_path=orebodies, layer=layer,
                                min_voxels=min_voxels)
    echo(None, f"{output}: {result.get('count', 0)} targets above {result.get('threshold', threshold):.4g}")


@click.command(short_help="A prediction and its targets as geoh5 or OMF.")
@click.argument("prospectivity", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="File to write: .geoh5 (Geoscience ANALYST) or .omf (Leapfrog).")
@click.option("--layer", "layers", multiple=True, help="Layer to write (repeat; default all).")
@click.option("--targets", "targets_path", type=click.Path(dir_okay=False), default=None,
              help="A target label volume (target_id) to write beside the prediction.")
@threshold_option
@min_voxels_option
def export_results(prospectivity, output, layers, targets_path, threshold, min_voxels):
    """Write PROSPECTIVITY (its uncertainty layers too) and its targets, from --targets or
    found at --threshold, into one geoh5 or OMF file; ``OUT.report.json`` beside it."""
    from voxprospect.workflows.export_results import run_export_results

    result = run_export_results(prospectivity, output, layers=list(layers) or None, targets_path=targets_path,
                                threshold=threshold, min_voxels=min_voxels)
    echo(None, f"{result.get('output', output)}: {result.get('format')}, layers "
               f"{', '.join(result.get('layers') or [])}; {result.get('count', 0)} targets")
