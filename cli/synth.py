"""``voxprospect synth OUTDIR``: build the built-in synthetic gold district."""

from __future__ import annotations

import time

import click

from voxprospect.vocabulary import DISTRICT_PRESETS

from .options import echo, outdir_argument, seed_option


@click.command(short_help="Build the built-in synthetic gold district.")
@outdir_argument
@click.option("--preset", type=click.Choice(DISTRICT_PRESETS), default="small", show_default=True,
              help="small: 100 m cells to 2 km depth (under 2 minutes); paper: 50 m cells to 5 km depth.")
@seed_option
@click.option("--overwrite", is_flag=True,
              help="Replace the district files already in OUTDIR (other files are never touched).")
def synth(outdir, preset, seed, overwrite):
    """Build a Wulong-like intrusion-related gold district with gempy and write it
    to OUTDIR: geology.vti, geophysics.vti, orebodies.vti, truth.vti, README.md, a
    ready project.toml and report.json.

    OUTDIR is created if missing. A folder that already holds a district is
    refused unless --overwrite is given; files of other names are left alone.
    """
    from voxprospect.synth.district import run_synth

    t0 = time.perf_counter()
    quiet = bool((click.get_current_context().find_root().obj or {}).get("quiet"))

    from .progress import cli_progress
    progress = cli_progress()

    try:
        summary = run_synth(outdir, preset=preset, seed=seed, progress=progress, overwrite=overwrite)
    finally:
        progress.close()
    district = summary["district"]
    echo(quiet, f"wrote {outdir} ({preset}, seed {seed}) in {time.perf_counter() - t0:.0f} s")
    echo(quiet, f"  {district['active_voxels']:,} active voxels, {district['orebody_voxels']:,} orebody voxels")
    for name, info in district["deposits"].items():
        echo(quiet, f"  {name}: {info['voxels']} voxels")
    echo(quiet, f"next: voxprospect info {outdir}/geology.vti; "
                f"voxprospect evidence {outdir}/project.toml -o {outdir}/run/evidence.vti")
