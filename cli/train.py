"""``voxprospect train PROJECT.toml -o OUTDIR``."""

from __future__ import annotations

import click

from .options import buffer_option, device_option, echo, fmt_score


@click.command(short_help="Train a model on evidence windows.")
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("-o", "--outdir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--model", "model_name", type=click.Choice(["DL1", "DL2", "DL3", "DL4", "RF"]), default="DL4",
              show_default=True, help="RCNN-LAM preset (Table 1) or the random forest.")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Override the project's epochs.")
@click.option("--seed", type=int, default=None, help="Override the project's seed.")
@click.option("--tune", is_flag=True, help="RF only: nested, seeded Bayesian hyper-parameter search (optuna TPE) "
                                         "inside every training fold with spatial inner folds.")
@buffer_option
@device_option
def train(project, outdir, model_name, epochs, seed, tune, buffer_m, device):
    """Train MODEL on the windows around the project's orebodies, evaluate it under
    the project's protocols, and write the checkpoint, training curves and report."""
    from voxprospect.pipeline import run_train

    summary = run_train(project, outdir, model=model_name, seed=seed, epochs=epochs, tune=tune, device=device,
                        buffer_m=buffer_m)
    echo(None, f"checkpoint: {summary['checkpoint']}")
    base = summary.get("baselines", {})
    for protocol, m in summary.get("metrics", {}).items():
        if "skipped" in m:
            echo(None, f"  {protocol:8s} skipped: {m['skipped']}")
            continue
        line = (f"  {protocol:8s} accuracy {fmt_score(m.get('accuracy'))}  AUC {fmt_score(m.get('auc'))}  "
                f"F1 {fmt_score(m.get('f1'))}")
        for b, bm in base.items():
            line += f"  | {b} AUC {fmt_score(bm['metrics'].get(protocol, {}).get('auc'))}"
        echo(None, line)
