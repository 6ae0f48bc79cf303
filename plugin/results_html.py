"""The HTML page the Processing results viewer shows after a targets or pipeline run.

It reads only what the library wrote (``report.json``, the P-A plot, the target
table CSV), so the page says what the files say: the P-A plot, the threshold and
the rates at it, every score beside its baselines on the same folds when the report
has several models, and the target table.
"""

from __future__ import annotations

import base64
import csv
import html
import json
from pathlib import Path


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if v is None:
        return "–"
    return html.escape(str(v))


def _table(header, rows) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table border='1' cellspacing='0' cellpadding='3'><tr>{head}</tr>{body}</table>"


def _flatten(d, prefix=""):
    for k, v in (d or {}).items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            yield from _flatten(v, key + " · ")
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            yield key, v


def scores_section(report: dict) -> str:
    """Scores, models side by side (the first is the paper's model, the others its baselines)."""
    models = report.get("models") if isinstance(report.get("models"), dict) else None
    if models:
        names = list(models)
        per_model = {m: dict(_flatten((models[m] or {}).get("metrics"))) for m in names}
        keys = sorted({k for m in names for k in per_model[m]})
        if keys:
            rows = [[k] + [per_model[m].get(k) for m in names] for k in keys]
            return "<h2>Scores (same folds; baselines beside)</h2>" + _table(["score"] + names, rows)
    flat = list(_flatten(report.get("metrics") if isinstance(report.get("metrics"), dict) else {}))
    if flat:
        return "<h2>Scores</h2>" + _table(["score", "value"], flat)
    return ""


def results_html(outdir, report: dict | None = None) -> str:
    """The page for a run folder (``report.json`` read when ``report`` is not given)."""
    outdir = Path(outdir)
    if report is None:
        path = outdir / "report.json"
        report = json.loads(path.read_text()) if path.is_file() else {}
    parts = [f"<h1>voxprospect: {html.escape(str(report.get('command', 'results')))}</h1>"]
    pa = report.get("pa") if isinstance(report.get("pa"), dict) else {}
    threshold = report.get("threshold", pa.get("threshold"))
    if threshold is not None:
        parts.append(f"<p><b>Threshold</b>: {float(threshold):.3g}")
        at = pa.get("at_threshold") or {}
        if at.get("prediction_rate") is not None:
            parts.append(f" · prediction rate {100 * at['prediction_rate']:.1f}% of the known orebody voxels"
                         f" in {100 * at['volume_share']:.1f}% of the volume")
        parts.append("</p>")
    plot = pa.get("plot")
    plots = [outdir / plot] if plot else sorted(outdir.rglob("pa_*.png"))
    for p in plots[:1]:
        if p.is_file():
            data = base64.b64encode(p.read_bytes()).decode()
            parts.append(f"<h2>Prediction-area plot</h2><img src='data:image/png;base64,{data}' width='560'/>")
    parts.append(scores_section(report))
    t = report.get("targets") if isinstance(report.get("targets"), dict) else {}
    csvs = [outdir / f for f in t.get("files", []) if f.endswith(".csv")] or sorted(outdir.rglob("targets_*.csv"))
    for c in csvs[:1]:
        if c.is_file():
            with open(c, newline="") as f:
                rows = list(csv.reader(f))
            if rows:
                parts.append(f"<h2>Targets ({len(rows) - 1})</h2>")
                parts.append(_table(rows[0], [[_num(x) for x in r] for r in rows[1:]]))
    if t.get("warning"):
        parts.append(f"<p><b>{html.escape(t['warning'])}</b></p>")
    return "<html><body>" + "".join(parts) + "</body></html>"


def _num(text):
    try:
        return float(text) if "." in text or "e" in text.lower() else int(text)
    except ValueError:
        return text


def write_results_html(outdir, report: dict | None = None) -> str:
    """Write ``results.html`` in ``outdir``; returns its path."""
    path = Path(outdir) / "results.html"
    path.write_text(results_html(outdir, report), encoding="utf-8")
    return str(path)
