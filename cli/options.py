"""Options shared by several commands, each with the callback that validates it.

A value is refused when the command line is parsed (click's ``Error: Invalid value for
'--seed'``, exit 2), before anything is read or computed: a seed numpy would reject, a
CUDA device torch cannot see, a zero cell size, a threshold that is not a
probability, an output whose suffix the command cannot write.
"""

from __future__ import annotations

import click

from voxprospect.limits import SEED_MAX
from voxprospect.vocabulary import ATTRIBUTION_MODES, DEVICES, DISTRICT_PRESETS



# -- callbacks ---------------------------------------------------------------------------

def _device(ctx, param, value):
    """cuda only where torch sees a CUDA device (torch is imported only then)."""
    if value == "cuda":
        import torch
        if not torch.cuda.is_available():
            raise click.BadParameter("torch sees no CUDA device on this machine; use cpu or auto")
    return value


def suffix_callback(suffixes, what):
    """A callback refusing a path whose suffix is not one of ``suffixes``."""
    allowed = tuple(s.lower() for s in suffixes)

    def check(ctx, param, value):
        if value is None:
            return value
        from pathlib import Path
        suffix = Path(value).suffix.lower()
        if suffix not in allowed:
            raise click.BadParameter(f"{value}: no writer for {suffix or 'no suffix'!r} here; {what} must end "
                                     f"in {' or '.join(allowed)}")
        return value
    return check


def _volume_output(ctx, param, value):
    """A volume file we have a writer for (.vti, .vo, .msh, .tif...)."""
    if value is None:
        return value
    from voxprospect.io.outputs import volume_suffixes
    return suffix_callback(volume_suffixes(), "a volume output")(ctx, param, value)


# -- the registry ------------------------------------------------------------------------

seed_option = click.option("--seed", type=click.IntRange(0, SEED_MAX), default=42, show_default=True,
                           help="Random seed, 0 to 2^32-1 (recorded in report.json).")
seed_override_option = click.option("--seed", type=click.IntRange(0, SEED_MAX), default=None,
                                    help="Override the project's seed (0 to 2^32-1).")
outdir_argument = click.argument("outdir", type=click.Path(file_okay=False))
project_argument = click.argument("project", type=click.Path(exists=True, dir_okay=False))
preset_option = click.option("--preset", type=click.Choice(DISTRICT_PRESETS), default="small",
                             show_default=True, help="Size of the synthetic district.")
buffer_option = click.option(
    "--buffer-m", "buffer_m", type=click.FloatRange(min=0), default=None,
    help="Metric buffer between training and test windows in metres (default: the project's buffer_m, "
         "else the window's extent plus smoothing_m; recorded in report.json).")
# evidence importance (docs/uncertainty.md): None leaves the project's [training] keys
importance_option = click.option(
    "--importance/--no-importance", "importance", default=None,
    help="Permutation importance per evidence channel on the spatial folds (default: the project's "
         "training.importance, else on).")
attributions_option = click.option(
    "--attributions", "attributions", type=click.Choice(ATTRIBUTION_MODES), default=None,
    help="Integrated-Gradients attributions of the CNNs: on the targets' voxels, the whole grid, or off "
         "(default: the project's training.attributions, else off; the demo: targets). Needs captum.")
# default None: left out, each drillholes input keeps its own cap_at_length
cap_option = click.option(
    "--cap-at-length/--no-cap-at-length", "cap_at_length", default=None,
    help="Cut every drillhole at its collar LENGTH (deeper stations and intervals dropped), overriding the "
         "drillholes inputs' cap_at_length; recorded in report.json (drillhole_qa).")
# default None: an option left out falls back to the project's [training] device (then "auto");
# only a --device given on the command line overrides the project file
device_option = click.option("--device", type=click.Choice(DEVICES), default=None, callback=_device,
                             help="Torch device for the CNN (default: the project's, else auto).")
epochs_option = click.option("--epochs", type=click.IntRange(min=1, max=100_000), default=None,
                             help="Override the project's epochs.")
ensemble_option = click.option("--ensemble", type=click.IntRange(1, 64), default=None,
                               help="CNN members trained from different seeds (deep ensemble; 1: a single network; "
                                    "default: the project's training.ensemble, 5).")
calibration_option = click.option("--calibration", type=click.Choice(("none", "isotonic", "temperature")),
                                  default=None, help="Calibrate held-out probabilities on inner spatial folds "
                                                     "(default: the project's training.calibration, none).")
def _finite(ctx, param, value):
    """click's FloatRange lets NaN through (every comparison with NaN is false)."""
    import math
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"must be a finite number, got {value:g}")
    return value


cell_size_option = click.option("--cell-size", type=click.FloatRange(min=0, min_open=True, max=1e7), default=None,
                                callback=_finite,
                                help="Resample onto a grid of this cell size (m, > 0) over IN's box.")
threshold_option = click.option("--threshold", type=click.FloatRange(0.0, 1.0), default=None,
                                help="Prospectivity threshold, a probability from 0 to 1; default: the P-A "
                                     "crossing (needs --orebodies).")
min_voxels_option = click.option("--min-voxels", type=click.IntRange(min=1), default=1, show_default=True,
                                 help="Drop targets smaller than this.")
chunk_voxels_option = click.option("--chunk-voxels", type=click.IntRange(min=1, max=2**31 - 1), default=262144,
                                   show_default=True, help="Voxels per prediction chunk (bounds memory).")
geotiff_output = click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
                              callback=suffix_callback((".tif", ".tiff"), "a GeoTIFF output"),
                              help="GeoTIFF to write (.tif).")
volume_output = click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
                             callback=_volume_output,
                             help="Volume to write: .vti keeps every layer; .vo, .msh, .omf, .geoh5 and .csv "
                                  "too; a .tif holds one layer (the mean) and cannot be read back as a volume.")


def _recalibrate(ctx, param, value):
    if value:
        from voxprospect.learn.fasttune import request_recalibration
        request_recalibration()
    return value


recalibrate_option = click.option(
    "--recalibrate", is_flag=True, default=False, expose_value=False, callback=_recalibrate,
    help="Measure this machine's fast-prediction settings again (batch, block, 5-point axes) "
         "and cache them; they are measured once per CPU model and torch version otherwise.")


def echo(ctx_or_quiet, message: str) -> None:
    """Print unless -q was given."""
    quiet = ctx_or_quiet if isinstance(ctx_or_quiet, bool) else \
        bool((click.get_current_context().find_root().obj or {}).get("quiet"))
    if not quiet:
        click.echo(message)


def fmt_score(v) -> str:
    """A score for the terminal: three decimals, n/a when undefined (an AUC on one class)."""
    return f"{v:.3f}" if isinstance(v, (int, float)) and v == v else "n/a"
