"""Rendering a step's end summary (:func:`voxprospect.workflows.summary.build_summary`).

``--json`` prints the summary as one JSON document on stdout and nothing else (progress
goes to stderr); otherwise a short human summary goes to stdout unless ``-q``.
"""

from __future__ import annotations

import json

import click

json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print the end summary as JSON on stdout (nothing else on stdout).")


def _num(v, fmt="{:.3f}"):
    return fmt.format(v) if isinstance(v, (int, float)) and v == v else "n/a"


def render_summary(s: dict) -> str:
    """The human-readable end summary."""
    lines = [f"{s.get('command', 'step')} finished in {_num(s.get('elapsed_s'), '{:.1f}')} s"]
    for name, m in (s.get("models") or {}).items():
        lines.append(f"  {name}:")
        for p, sc in (m.get("protocols") or {}).items():
            if "skipped" in sc:
                lines.append(f"    {p:8s} skipped: {sc['skipped']}")
            else:
                lines.append(f"    {p:8s} AUC {_num(sc.get('auc'))}  accuracy {_num(sc.get('accuracy'))}  "
                             f"F1 {_num(sc.get('f1'))}")
        base = m.get("baselines")
        if isinstance(base, dict):
            for bname, b in base.items():
                if isinstance(b, dict):
                    aucs = "  ".join(f"{p} AUC {_num((v or {}).get('auc') if isinstance(v, dict) else v)}"
                                     for p, v in b.items())
                    lines.append(f"    baseline {bname}: {aucs}")
        if "target_count" in m:
            lines.append(f"    threshold {_num(m.get('threshold'), '{:.4f}')}, prediction rate "
                         f"{_num(m.get('prediction_rate'))}, volume share {_num(m.get('volume_share'))}, "
                         f"{m['target_count']} targets")
    if "threshold" in s:
        lines.append(f"  threshold {_num(s['threshold'], '{:.4f}')}"
                     + (f" ({s['primary_model']})" if s.get("primary_model") else ""))
    if s.get("prediction_rate") is not None:
        lines.append(f"  prediction rate {_num(s['prediction_rate'])} in volume share {_num(s.get('volume_share'))}")
    if "target_count" in s:
        lines.append(f"  targets: {s['target_count']}" + (", largest first (ids as in the target files):"
                                                           if s.get("largest_targets") else ""))
    for t in s.get("largest_targets") or []:
        dep = ", ".join(t.get("deposits") or []) or "-"
        lines.append(f"    #{t.get('target_id')}: {t.get('n_voxels')} voxels, "
                     f"{_num(t.get('volume_m3', 0) / 1e6, '{:.2f}')} million m3, "
                     f"top at {_num(t.get('top_elevation_m'), '{:.0f}')} m elevation, deposits {dep}")
    for name, m in (s.get("models") or {}).items():
        f = m.get("figures")
        if isinstance(f, dict):
            lev = ", ".join(_num(z, "{:.0f}") for z in f.get("depth_slice_elevations_m", []))
            lines.append(f"  {name} figures: depth slices at {lev} m; sections at northing "
                         f"{_num(f.get('section_we_northing_m'), '{:.0f}')} m (W-E) and easting "
                         f"{_num(f.get('section_sn_easting_m'), '{:.0f}')} m (S-N)")
    if s.get("drilling_bias"):
        from voxprospect.workflows.drilling import drilling_bias_lines
        lines += ["  " + line for line in drilling_bias_lines(s["drilling_bias"])]
    for name, kinds in (s.get("drillhole_qa") or {}).items():
        if kinds:
            lines.append(f"  drillhole QA ({name}): " + ", ".join(f"{k} {n} holes" for k, n in kinds.items()))
    if s.get("outputs"):
        lines.append("  outputs:")
        for r in s["outputs"]:
            lines.append(f"    {r.get('role') or '-':24s} {r['path']}")
    return "\n".join(lines)


def emit_summary(report: dict, as_json: bool, elapsed_s: float | None = None, quiet: bool = False) -> dict:
    """Build the summary of ``report`` and print it (JSON or human) on stdout."""
    from voxprospect.report import jsonable
    from voxprospect.workflows.summary import build_summary

    s = build_summary(report, elapsed_s)
    if as_json:
        click.echo(json.dumps(jsonable(s), indent=2))
    elif not quiet:
        click.echo(render_summary(s))
    return s
