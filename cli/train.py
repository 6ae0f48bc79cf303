"""``voxprospect train PROJECT.toml -o OUTDIR``."""

from __future__ import annotations

import click

from voxprospect.vocabulary import DEFAULT_MODEL, MODELS

from .options import (buffer_option, calibration_option, device_option, ensemble_option, epochs_option, fmt_score,
                      seed_override_option)
from .progress import cli_progress
from .summary import emit_summary, json_option


@click.command(short_help="Train a model on evidence windows.")
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("-o", "--outdir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--model", "model_name", default=DEFAULT_MODEL, metavar=f"[{'|'.join(MODELS)}]",
              callback=lambda ctx, param, value: _model_name(value),
              show_default=True, help="RCNN-LAM preset (Table 1) or the random forest.")
@epochs_option
@seed_override_option
@click.option("--tune", is_flag=True, help="RF only: nested, seeded Bayesian hyper-parameter search (optuna TPE) "
                                         "inside every training fold with spatial inner folds.")
@buffer_option
@ensemble_option
@calibration_option
@device_option
@json_option
def train(project, outdir, model_name, epochs, seed, tune, buffer_m, ensemble, calibration, device, as_json):
    """Train MODEL on the windows around the project's orebodies, evaluate it under
    the project's protocols, and write the checkpoint, training curves and report."""
    from voxprospect.workflows.pipeline import run_train

    bar = cli_progress()
    try:
        summary = run_train(project, outdir, model=model_name, seed=seed, epochs=epochs, tune=tune, device=device,
                            progress=bar, buffer_m=buffer_m, ensemble=ensemble, calibration=calibration)
    finally:
        bar.close()
    emit_summary(summary, as_json, bar.elapsed_s, quiet=bar.quiet)


def protocol_line(m: dict) -> str:
    """One protocol's scores; a skipped protocol says why, a missing score is n/a."""
    if "skipped" in m:
        return f"skipped: {m['skipped']}"
    return f"accuracy {fmt_score(m.get('accuracy'))}  AUC {fmt_score(m.get('auc'))}  F1 {fmt_score(m.get('f1'))}"


def _model_name(value):
    """``--model`` in any case (``rf`` is ``RF``, as ``ablation --models`` takes it)."""
    name = str(value).strip().upper()
    if name not in MODELS:
        raise click.BadParameter(f"{value!r} is not one of {', '.join(MODELS)}", param_hint="'--model'")
    return name
