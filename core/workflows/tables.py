"""Markdown tables of a study: Table 1 (models, protocols, baselines, skill over the
baselines) and the buffer sweep."""

from __future__ import annotations


import numpy as np




def fmt_score(v):
    return "n/a" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{v:.3f}"


def ablation_table(models: dict, baselines: dict | None = None, evaluation: dict | None = None) -> str:
    """Table 1 as Markdown: our measured NP and FLOPs, every protocol's scores, the
    baselines on the same folds, and what each model adds over them (AUC difference)."""
    from voxprospect.learn.baselines import skill_over_baselines
    from voxprospect.learn.protocols import neighbour_overlap

    baselines = baselines or {}
    protocols = []
    for m in list(models.values()) + list(baselines.values()):
        for p in m.get("metrics", {}):
            if p not in protocols:
                protocols.append(p)
    head = ["model", "NP (ours)", "FLOPs/window (ours)"]
    for p in protocols:
        label = f"{p} (leaky)" if p == "random" else p
        head += [f"{label} acc", f"{label} AUC", f"{label} F1"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def scores(metrics):
        row = []
        for p in protocols:
            s = metrics.get(p, {})
            if "skipped" in s:
                row += ["skipped", "", ""]
            else:
                row += [fmt_score(s.get("accuracy")), fmt_score(s.get("auc")), fmt_score(s.get("f1"))]
        return row

    for name, m in models.items():
        flops = f"{m['flops']:,}" + (" comparisons" if name.upper() == "RF" else "")
        lines.append("| " + " | ".join([name, f"{m['n_params']:,}", flops] + scores(m.get("metrics", {}))) + " |")
    for name, b in baselines.items():
        lines.append("| " + " | ".join([f"baseline: {name}", "", ""] + scores(b.get("metrics", {}))) + " |")
    lines.append("")
    if baselines:
        skill = skill_over_baselines({k: v.get("metrics", {}) for k, v in models.items()},
                                     {k: v.get("metrics", {}) for k, v in baselines.items()})
        honest = [p for p in protocols if p != "random"]
        head2 = ["model"] + [f"{p} AUC - {b}" for p in honest for b in baselines]
        lines += ["What each model adds over the baselines (ROC AUC difference on the same folds; "
                  "positive = the model adds skill):", "",
                  "| " + " | ".join(head2) + " |", "|" + "---|" * len(head2)]
        for name in models:
            row = [name]
            for p in honest:
                for b in baselines:
                    v = skill[name].get(p, {}).get(b)
                    row.append("n/a" if v is None else f"{v:+.3f}")
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    k = int((evaluation or {}).get("window", 3))
    ov = neighbour_overlap(k)
    buf = ""
    if evaluation:
        buf = (f" with a metric buffer of {evaluation['buffer_m']:.0f} m (window extent "
               f"{evaluation['window_extent_m']:.0f} m + smoothing {evaluation['smoothing_m']:.0f} m) between "
               "training and test window centres")
    lines.append(f"`random` is the paper's 7:3 split of stride-1 windows: a test window's face, edge and corner "
                 f"neighbours in training share {ov['face']}, {ov['edge']} and {ov['corner']} of its "
                 f"{ov['window_voxels']} voxels, so it leaks and flatters every model. `spatial` (blocks held out "
                 f"whole, orebodies never cut) and `deposit` (leave one deposit group out) are the honest "
                 f"numbers{buf}. Baselines see only the centre voxels and are fitted on each training fold. "
                 "NP and FLOPs are measured from our modules (FLOPs by torch's counter, 2 x multiply-adds per "
                 "window); for the random forest the cost column counts node comparisons, not FLOPs.")
    return "\n".join(lines) + "\n"


def sweep_section(rep: dict) -> list:
    """Markdown lines of the buffer sweep (empty when it did not run)."""
    sw = rep.get("buffer_sweep") or {}
    if "rows" not in sw:
        return ["## Buffer sweep", "", f"Not run: {sw.get('skipped', 'no spatial protocol')}.", ""] if sw else []
    return ["## Buffer sweep: skill against distance from training data", "",
            "One fixed spatial test set; training windows closer than each buffer to any test window are "
            "removed and the model refitted.", "", sw["table_markdown"], f"![buffer sweep]({sw['plot']})", ""]



def _flat(v) -> list:
    return [int(x) for x in (v if isinstance(v, list) else [v]) if isinstance(x, int)]


def training_section(rep: dict) -> list:
    """A line a CNN: its epoch schedule, and the epochs each fit ran and kept (early stopping)."""
    t = (rep.get("parameters") or {}).get("training") or {}
    lines = []
    for name, m in rep.get("models", {}).items():
        if "history" not in m:
            continue
        runs, folds = [], 0
        for r in (m.get("metrics") or {}).values():
            if isinstance(r, dict):
                for row in r.get("folds") or [r]:
                    got = _flat(row.get("epochs_run"))
                    runs += got
                    folds += bool(got)
        stop = (f", each fit stopped once its inner validation loss had not improved for "
                f"{t['early_stopping_patience']} epochs and kept its best epoch"
                if t.get("early_stopping_patience") and t.get("validation_fraction") else "")
        kept = ", ".join(str(b) for b in _flat(m.get("best_epoch")))
        n = t.get("epochs", len(m["history"]))
        text = (f"{name}: up to {n} epoch{'s' if n != 1 else ''} in batches of {t.get('batch_size')}"
                f"{stop}. The final fit ran {len(m['history'])} and kept epoch {kept or 'n/a'}")
        if runs:
            fits = "1 protocol fit" if folds == 1 else f"{folds} protocol fits"
            if len(runs) > folds:  # an ensemble: every member is a network fitted
                fits += f" ({len(runs) // folds} networks each)"
            text += (f"; the {fits} ran {min(runs)}-{max(runs)} epochs" if min(runs) != max(runs)
                     else f"; the {fits} ran {runs[0]} epoch{'s' if runs[0] != 1 else ''}"
                     + (" each" if len(runs) > 1 else ""))
        lines += [text + ".", ""]
    return lines
