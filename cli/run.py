"""``voxprospect run PROJECT.toml``: the whole pipeline."""

from __future__ import annotations

import click

from .options import buffer_option, recalibrate_option
from .progress import cli_progress
from .summary import emit_summary, json_option


@click.command(short_help="Run the whole pipeline from a project file.")
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("-o", "--outdir", type=click.Path(file_okay=False), default=None,
              help="Output folder (default: the project's output_dir).")
@buffer_option
@recalibrate_option
@json_option
def run(project, outdir, buffer_m, as_json):
    """Evidence -> samples -> models (with every evaluation protocol) -> prediction ->
    P-A threshold -> targets, as the project file says."""
    from voxprospect.workflows.pipeline import run_project

    bar = cli_progress()
    try:
        s = run_project(project, outdir, progress=bar, buffer_m=buffer_m)
    finally:
        bar.close()
    emit_summary(s, as_json, bar.elapsed_s, quiet=bar.quiet)
