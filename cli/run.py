"""``voxprospect run PROJECT.toml``: the whole pipeline."""

from __future__ import annotations

import click

from .options import buffer_option, echo


@click.command(short_help="Run the whole pipeline from a project file.")
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("-o", "--outdir", type=click.Path(file_okay=False), default=None,
              help="Output folder (default: the project's output_dir).")
@buffer_option
def run(project, outdir, buffer_m):
    """Evidence -> samples -> models (with every evaluation protocol) -> prediction ->
    P-A threshold -> targets, as the project file says."""
    from voxprospect.workflows.pipeline import run_project

    s = run_project(project, outdir, buffer_m=buffer_m)
    echo(None, f"done: {s['outdir']}")
