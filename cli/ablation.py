"""``voxprospect ablation PROJECT.toml -o OUTDIR``: Table 1."""

from __future__ import annotations

import click

from .options import buffer_option, echo, epochs_option
from .progress import cli_progress
from .summary import emit_summary, json_option


@click.command(short_help="DL1-DL4 + RF under every protocol (Table 1).")
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("-o", "--outdir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@epochs_option
@click.option("--models", default="DL1,DL2,DL3,DL4,RF", show_default=True,
              help="Comma-separated models. The default is the paper's Table 1, whatever the project's "
                   "[training] models says.")
@buffer_option
@json_option
def ablation(project, outdir, epochs, models, buffer_m, as_json):
    """Train and evaluate every model under every protocol; write ablation.md and
    ablation.json with our measured parameter counts and FLOPs."""
    from voxprospect.workflows.pipeline import run_ablation

    bar = cli_progress()
    try:
        s = run_ablation(project, outdir, epochs=epochs, models=[m.strip() for m in models.split(",") if m.strip()],
                         progress=bar, buffer_m=buffer_m)
    finally:
        bar.close()
    if not as_json:
        echo(None, s["table_markdown"])
    emit_summary(s, as_json, bar.elapsed_s, quiet=bar.quiet)
