"""``voxprospect evidence PROJECT.toml -o evidence.vti``: build the evidence stack."""

from __future__ import annotations

import click

from .options import _volume_output, cap_option, echo, project_argument


@click.command(short_help="Build the evidence stack from a project file.")
@project_argument
@click.option("-o", "--output", "out_path", type=click.Path(dir_okay=False), callback=_volume_output,
              help="Evidence volume to write (.vti). Default: <output_dir>/evidence.vti of the project.")
@cap_option
def evidence(project, out_path, cap_at_length):
    """Read the project's inputs, build every [[evidence]] channel (3D buffers of
    geological objects, standardised geophysics) and write them as one volume,
    with report.json (channels, standardisation statistics, input hashes) beside it."""
    from voxprospect.workflows.project import run_evidence

    quiet = bool((click.get_current_context().find_root().obj or {}).get("quiet"))

    from .progress import cli_progress
    progress = cli_progress()

    try:
        summary = run_evidence(project, out_path, progress=progress, cap_at_length=cap_at_length)
    finally:
        progress.close()
    out = summary["outputs"][0]["path"]
    metrics = summary["metrics"]
    echo(quiet, f"wrote {out}: {len(metrics['channels'])} channels ({', '.join(metrics['channels'])}), "
                f"{metrics['active_cells']:,} active cells")
