"""``voxprospect demo OUTDIR``: the synthetic district, end to end."""

from __future__ import annotations

import click

from .options import buffer_option, echo, preset_option, seed_option


@click.command(short_help="Synthetic district to drill targets, end to end.")
@click.argument("outdir", type=click.Path(file_okay=False))
@preset_option
@seed_option
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="CNN epochs (default: the preset's, recorded in report.json).")
@buffer_option
def demo(outdir, preset, seed, epochs, buffer_m):
    """Build the synthetic district, its evidence, train DL4 and the random forest,
    predict, pick the P-A threshold and delineate targets; summary in OUTDIR/summary.md."""
    from voxprospect.workflows.pipeline import run_demo

    s = run_demo(outdir, preset=preset, seed=seed, epochs=epochs, buffer_m=buffer_m)
    echo(None, f"summary: {s['summary']}")
