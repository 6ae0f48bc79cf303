"""Options shared by several commands."""

from __future__ import annotations

import click

from voxprospect.vocabulary import DEVICES, DISTRICT_PRESETS

seed_option = click.option("--seed", type=int, default=42, show_default=True,
                           help="Random seed (recorded in report.json).")
outdir_argument = click.argument("outdir", type=click.Path(file_okay=False))
project_argument = click.argument("project", type=click.Path(exists=True, dir_okay=False))
preset_option = click.option("--preset", type=click.Choice(DISTRICT_PRESETS), default="small",
                             show_default=True, help="Size of the synthetic district.")
device_option = click.option("--device", type=click.Choice(DEVICES), default="auto",
                             show_default=True, help="Torch device for the CNN.")


def echo(ctx_or_quiet, message: str) -> None:
    """Print unless -q was given."""
    quiet = ctx_or_quiet if isinstance(ctx_or_quiet, bool) else \
        bool((click.get_current_context().find_root().obj or {}).get("quiet"))
    if not quiet:
        click.echo(message)
