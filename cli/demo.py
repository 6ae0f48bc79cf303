"""``voxprospect demo OUTDIR``: the synthetic district, end to end."""

from __future__ import annotations

import click

from .options import (attributions_option, buffer_option, echo, ensemble_option, importance_option, preset_option,
                      seed_option)
from .progress import cli_progress
from .summary import emit_summary, json_option


@click.command(short_help="Synthetic district to drill targets, end to end.")
@click.argument("outdir", type=click.Path(file_okay=False))
@preset_option
@seed_option
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="CNN epochs (default: the preset's, recorded in report.json).")
@buffer_option
@importance_option
@attributions_option
@ensemble_option
@json_option
def demo(outdir, preset, seed, epochs, buffer_m, importance, attributions, ensemble, as_json):
    """Build the synthetic district, its evidence, train DL4 and the random forest,
    predict, pick the P-A threshold and delineate targets; summary in OUTDIR/summary.md."""
    from voxprospect.workflows.pipeline import run_demo

    bar = cli_progress()
    try:
        s = run_demo(outdir, preset=preset, seed=seed, epochs=epochs, progress=bar, buffer_m=buffer_m,
                     importance=importance, attributions=attributions, ensemble=ensemble)
    finally:
        bar.close()
    emit_summary(s, as_json, bar.elapsed_s, quiet=bar.quiet)
    if not as_json:
        echo(None, f"summary: {s['summary']}")
