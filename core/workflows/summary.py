"""The end summary of a step, built from its report, and the outputs and figures it lists.

:func:`build_summary` reads a step's report (the dict every ``run_*`` returns) and keeps
what a batch user looks at first: scores per model and protocol (with the baselines
beside them where the report has them), the threshold, prediction rate and volume
share, the target count and the largest targets, the figures, the outputs and the
elapsed time. Keys are read defensively: a report without one simply leaves it out.

:func:`record_outputs` lists what a step wrote into its folder in the report, each file
with its role (read from its name), and :func:`draw_model_figures` draws the depth
slices and cross-sections of one mapped model.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

__all__ = ["build_summary", "draw_model_figures", "largest_targets", "output_role", "record_outputs"]

# file-name pattern -> role (first match wins)
OUTPUT_ROLES = [
    ("report.json", None),  # the report itself is not one of its outputs
    ("*.report.json", None),
    ("evidence.vti", "evidence"),
    ("drillholes_*.vti", "drillholes"),
    ("*.vxp.safetensors", "checkpoint"),
    ("training_*.png", "training_curves"),
    ("prospectivity_*.vti", "prospectivity"),
    ("prospectivity_*.tif", "prospectivity_geotiff"),
    ("pa_*.png", "pa_plot"),
    ("targets_*.vti", "targets_volume"),
    ("targets_*.csv", "targets_table"),
    ("targets_*.gpkg", "targets_gpkg"),
    ("*_depth_slices.png", "figure_depth_slices"),
    ("*_sections.png", "figure_sections"),
    ("results_*", "results"),
    ("models.md", "model_table"),
    ("importance.md", "importance_table"),
    ("importance_*.png", "importance_plot"),
    ("ablation.md", "ablation_table"),
    ("ablation.json", "ablation_json"),
    ("summary.md", "summary"),
    ("buffer_sweep.md", "buffer_sweep_table"),
    ("buffer_sweep.json", "buffer_sweep_json"),
    ("buffer_sweep.png", "buffer_sweep_plot"),
    ("reliability_*.png", "reliability_plot"),
]


def output_role(path) -> str | None:
    """The role of an output from its file name (``None`` for a report, ``"other"`` if unknown).

    Files in a ``district`` folder (the demo's district) take the synth step's roles,
    ``district_<name>`` (``district_project``, ``district_geology``...).
    """
    p = Path(path)
    for pattern, role in OUTPUT_ROLES:
        if fnmatch.fnmatch(p.name, pattern):
            if role is None:
                return None
            if p.parent.name != "district":
                return role
            break
    if p.parent.name == "district":
        return f"district_{p.name.split('.')[0].lower()}"
    return "other"


def record_outputs(report, folder) -> None:
    """Add every file written into ``folder`` (and below) since ``report`` started, with its role.

    Files older than the report (from an earlier run into the same folder) and hidden
    temporary files are left out; files already named keep their role.
    """
    import datetime as dt

    folder = Path(folder)
    if not folder.is_dir():
        return
    started = dt.datetime.fromisoformat(report["started"]).timestamp() - 1.0
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or any(part.startswith(".") for part in p.relative_to(folder).parts):
            continue
        if p.stat().st_mtime < started:
            continue
        role = output_role(p)
        if role is not None:
            report.add_output(p, role=role)


def draw_model_figures(prospectivity, outdir, name, orebody=None, targets=None, inputs=()) -> dict:
    """Depth slices and two cross-sections of one model's prospectivity (see
    :func:`voxprospect.mapping.figures.draw_sections`), with the known orebodies and
    the target labels outlined; returns the figure set's description."""
    import numpy as np

    from voxprospect.mapping.figures import draw_sections

    tlab = None
    if targets is not None:
        tlab = np.asarray(targets["target_id"]) if hasattr(targets, "layers") else np.asarray(targets)
    figs = draw_sections(prospectivity, outdir, name=f"prospectivity_{name}", orebody=orebody, targets=tlab,
                         inputs=inputs)
    desc = figs.describe()
    desc["files"] = {k: Path(v).name for k, v in desc["files"].items()}
    return desc


def largest_targets(table, n: int = 5) -> list:
    """The ``n`` largest targets of a target table (rows of :class:`TargetSet.table`)."""
    keys = ("target_id", "n_voxels", "volume_m3", "top_elevation_m", "bottom_elevation_m", "centroid_x",
            "centroid_y", "max_prospectivity", "deposits")
    rows = sorted(table or [], key=lambda t: -float(t.get("volume_m3", t.get("n_voxels", 0)) or 0))
    return [{k: t[k] for k in keys if k in t} for t in rows[:n]]


def _scores(m) -> dict:
    if not isinstance(m, dict):
        return {}
    if "skipped" in m:
        return {"skipped": m["skipped"]}
    return {k: m.get(k) for k in ("auc", "accuracy", "f1") if k in m}


def _model_block(name, m: dict, report: dict) -> dict:
    out = {"protocols": {p: _scores(s) for p, s in (m.get("metrics") or {}).items()}}
    base = m.get("baselines")
    if base is None and isinstance(report.get("baselines"), dict):
        base = report["baselines"].get(name)
    if isinstance(base, dict):
        out["baselines"] = base
    for key in ("threshold", "checkpoint", "n_params"):
        if key in m:
            out[key] = m[key]
    pa = m.get("pa") or {}
    at = pa.get("at_threshold") or {}
    if pa:
        out["prediction_rate"] = at.get("prediction_rate", pa.get("prediction_rate"))
        out["volume_share"] = at.get("volume_share", pa.get("volume_share"))
    t = m.get("targets")
    if isinstance(t, dict):
        out["target_count"] = t.get("count")
    if isinstance(m.get("figures"), dict):
        out["figures"] = m["figures"]
    return out


def build_summary(report: dict, elapsed_s: float | None = None) -> dict:
    """The end summary of a step from its report (``run_*``'s return value).

    Returns
    -------
    dict
        ``{"command", "outdir", "models": {name: {"protocols": {protocol: {auc,
        accuracy, f1} or {skipped}}, "baselines"?, "threshold"?, "prediction_rate"?,
        "volume_share"?, "target_count"?, "figures"?}}, "primary_model"?, "threshold"?,
        "prediction_rate"?, "volume_share"?, "target_count"?, "largest_targets"?,
        "truth_auc"?, "figures": [file names], "outputs": [{path, role}], "elapsed_s"}``.
    """
    out = {"command": report.get("command")}
    for key in ("outdir", "output", "checkpoint", "summary"):
        if report.get(key):
            out[key] = str(report[key])
    models = report.get("models")
    if isinstance(models, dict):
        out["models"] = {n: _model_block(n, m, report) for n, m in models.items() if isinstance(m, dict)}
    elif isinstance(report.get("metrics"), dict) and report.get("command") == "train":
        out["models"] = {"model": {"protocols": {p: _scores(s) for p, s in report["metrics"].items()}}}
    if isinstance(report.get("baselines"), dict):
        out["baselines"] = report["baselines"]
    primary = report.get("primary_model")
    if primary:
        out["primary_model"] = primary
    pa = report.get("pa") or {}
    if report.get("threshold") is not None:
        out["threshold"] = report["threshold"]
    elif primary and isinstance(models, dict) and models.get(primary, {}).get("threshold") is not None:
        out["threshold"] = models[primary]["threshold"]
    if pa:
        at = pa.get("at_threshold") or {}
        out["prediction_rate"] = at.get("prediction_rate", pa.get("prediction_rate"))
        out["volume_share"] = at.get("volume_share", pa.get("volume_share"))
    t = report.get("targets")
    if isinstance(t, dict):
        out["target_count"] = t.get("count")
    tables = report.get("target_tables") or {}
    if primary and primary in tables:
        out["largest_targets"] = largest_targets(tables[primary])
    elif report.get("largest_targets") is not None:
        out["largest_targets"] = report["largest_targets"]
    truth = report.get("truth")
    if isinstance(truth, dict) and truth.get("auc_by_model"):
        out["truth_auc"] = truth["auc_by_model"]
    if report.get("active_voxels") is not None:
        out["active_voxels"] = report["active_voxels"]
    if isinstance(report.get("drilling_bias"), dict):
        from voxprospect.workflows.drilling import summary_bias
        out["drilling_bias"] = summary_bias(report["drilling_bias"])
    if isinstance(report.get("drillhole_qa"), dict):
        out["drillhole_qa"] = {n: {k: v["holes"] for k, v in qa.get("kinds", {}).items() if v.get("holes")}
                               for n, qa in report["drillhole_qa"].items()}
    outputs = [r for r in report.get("outputs") or [] if isinstance(r, dict)]
    out["figures"] = [r["path"] for r in outputs if str(r.get("role") or "").endswith(
        ("figure_depth_slices", "figure_sections", "pa_plot", "training_curves"))]
    out["outputs"] = [{"path": r["path"], "role": r.get("role")} for r in outputs]
    timings = report.get("timings_s") or {}
    out["elapsed_s"] = round(float(elapsed_s if elapsed_s is not None else timings.get("total", 0.0)), 2)
    return out


def append_outputs(report: dict, outdir, files) -> dict:
    """Add files written after ``report.json`` (``[(path, role)]``) to it and rewrite it.

    For the steps that write a file from the finished report (``ablation.md``,
    ``summary.md``); returns the report with the new ``outputs``.
    """
    import json

    from voxprospect.report import file_record, jsonable, write_text_atomic

    outputs = [r for r in report.get("outputs") or [] if isinstance(r, dict)]
    known = {r["path"] for r in outputs}
    for path, role in files:
        p = Path(path)
        if p.is_file() and str(p) not in known:
            rec = file_record(p)
            outputs.append({"path": str(p), "role": role, "sha256": rec["sha256"], "size": rec["size"]})
    report = dict(report)
    report["outputs"] = outputs
    on_disk = {k: v for k, v in report.items() if k not in ("outdir", "summary")}
    write_text_atomic(Path(outdir) / "report.json", json.dumps(jsonable(on_disk), indent=2))
    return report
