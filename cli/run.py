"""``voxprospect run PROJECT.toml``: the whole pipeline."""

from __future__ import annotations

import click

from .options import (attributions_option, buffer_option, calibration_option, cap_option, ensemble_option,
                      importance_option, recalibrate_option)
from .progress import cli_progress
from .summary import emit_summary, json_option


@click.command(short_help="Run the whole pipeline from a project file.")
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("-o", "--outdir", type=click.Path(file_okay=False), default=None,
              help="Output folder (default: the project's output_dir).")
@buffer_option
@importance_option
@attributions_option
@cap_option
@ensemble_option
@calibration_option
@recalibrate_option
@json_option
def run(project, outdir, buffer_m, importance, attributions, cap_at_length, ensemble, calibration, as_json):
    """Evidence -> samples -> models (with every evaluation protocol) -> prediction ->
    P-A threshold -> targets, as the project file says."""
    from voxprospect.workflows.pipeline import run_project

    bar = cli_progress()
    try:
        s = run_project(project, outdir, progress=bar, buffer_m=buffer_m, importance=importance,
                        attributions=attributions, cap_at_length=cap_at_length, ensemble=ensemble,
                        calibration=calibration)
    finally:
        bar.close()
    emit_summary(s, as_json, bar.elapsed_s, quiet=bar.quiet)
