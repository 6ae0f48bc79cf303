"""Options shared by several commands."""

from __future__ import annotations

import click

seed_option = click.option("--seed", type=int, default=42, show_default=True,
                           help="Random seed (recorded in report.json).")
outdir_argument = click.argument("outdir", type=click.Path(file_okay=False))
project_argument = click.argument("project", type=click.Path(exists=True, dir_okay=False))
preset_option = click.option("--preset", type=click.Choice(["small", "paper"]), default="small",
                             show_default=True, help="Size of the synthetic district.")
buffer_option = click.option(
    "--buffer-m", "buffer_m", type=click.FloatRange(min=0), default=None,
    help="Metric buffer between training and test windows in metres (default: the project's buffer_m, "
         "else the window's extent plus smoothing_m; recorded in report.json).")
device_option = click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
                             show_default=True, help="Torch device for the CNN.")


def echo(ctx_or_quiet, message: str) -> None:
    """Print unless -q was given."""
    quiet = ctx_or_quiet if isinstance(ctx_or_quiet, bool) else \
        bool((click.get_current_context().find_root().obj or {}).get("quiet"))
    if not quiet:
        click.echo(message)


def fmt_score(v) -> str:
    """A score for the terminal: three decimals, n/a when undefined (an AUC on one class)."""
    return "n/a" if v is None else f"{v:.3f}"
