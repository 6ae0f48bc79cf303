"""The buffer sweep: one fixed spatial test set, training removed out to each buffer,
so a study shows how skill decays with distance from the training data.
"""

from __future__ import annotations

import numpy as np

from voxprospect.learn.folds import (DEFAULT_SWEEP, Split, as_cell_size, centres_m, nearest_distance_m,
                                     resolve_buffer)
from voxprospect.learn.scoring import fit_and_score, sample_fields
from voxprospect.learn.splitters import apply_buffer

# -------------------------------------------------------------- buffer sweep


def sweep_buffers(buffers, window: int, cell_size) -> list[tuple[str, float]]:
    """``[(label, metres)]`` of a sweep list (metres or ``"window"``), by increasing distance."""
    out = []
    for b in buffers:
        m = resolve_buffer(b, window, cell_size)
        label = "window" if isinstance(b, str) else f"{m:g} m"
        out.append((label, m))
    return sorted(out, key=lambda t: t[1])


def buffer_sweep(make_estimator, X_windows, samples, base: Split, buffers=DEFAULT_SWEEP, cell_size=None,
                 progress=None) -> list[dict]:
    """Scores on one fixed test set with training removed out to each buffer.

    Parameters
    ----------
    make_estimator : callable or estimator
    X_windows : ndarray, shape (N, C, k, k, k)
    samples : WindowSamples or dict
    base : Split
        The split whose test set is kept (normally the spatial protocol's); its
        training candidates (``train`` plus ``dropped``) are filtered anew per buffer.
    buffers : iterable of float or "window"
    cell_size : (dx, dy, dz), optional
        Default the samples'.

    Returns
    -------
    list of dict
        One row per buffer: ``label``, ``buffer_m``, ``n_train``, ``n_dropped``,
        ``n_test``, ``min_train_test_distance_m`` and the metrics (or ``skipped``).
    """
    centres, labels, _, window, cs = sample_fields(samples)
    cs = as_cell_size(cell_size if cell_size is not None else cs)
    pts = centres_m(centres, cs)
    X = np.asarray(X_windows)
    cand = base.candidates
    plan = sweep_buffers(buffers, window, cs)
    rows = []
    for i, (label, b) in enumerate(plan):
        train, dropped = apply_buffer(pts, cand, base.test, b)
        split = Split(train, base.test, dropped, info={"buffer_m": b})
        row, _ = fit_and_score(make_estimator, X, labels, split)
        gap = nearest_distance_m(pts, train, base.test)
        row = {"label": label, "buffer_m": float(b), "n_dropped": row.pop("n_dropped_gap"),
               "min_train_test_distance_m": float(gap.min()) if len(gap) else None, **row}
        rows.append(row)
        if progress is not None:
            progress((i + 1) / len(plan), f"buffer sweep: {label}")
    return rows


def sweep_table_markdown(sweeps: dict) -> str:
    """The sweep as Markdown: one row per buffer, one AUC column per model."""
    names = list(sweeps)
    if not names:
        return ""
    first = sweeps[names[0]]
    head = ["buffer", "metres", "training windows"] + [f"{n} AUC" for n in names]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, r in enumerate(first):
        row = [r["label"], f"{r['buffer_m']:.0f}", str(r["n_train"])]
        for n in names:
            s = sweeps[n][i]
            row.append("skipped" if "skipped" in s else _fmt(s.get("auc")))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def plot_buffer_sweep(sweeps: dict, path, title: str | None = None, inputs=()):
    """AUC against buffer distance, one line per model (PNG, written atomically)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from voxprospect.io.safe_write import safe_output

    fig = Figure(figsize=(6.4, 4.4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(111)
    for name, rows in sweeps.items():
        xs = [r["buffer_m"] for r in rows if r.get("auc") is not None]
        ys = [r["auc"] for r in rows if r.get("auc") is not None]
        ax.plot(xs, ys, "o-", label=name)
    ax.axhline(0.5, color="grey", lw=0.8, ls="--", label="chance")
    ax.set_xlabel("Buffer: minimum distance from test to training windows (m)")
    ax.set_ylabel("ROC AUC on the fixed spatial test set")
    ax.set_ylim(0.0, 1.0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or "Skill against distance from training data")
    fig.tight_layout()
    with safe_output(path, inputs) as tmp:
        fig.savefig(tmp, format="png", dpi=130)
    return path


def _fmt(v):
    return "n/a" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{v:.3f}"
