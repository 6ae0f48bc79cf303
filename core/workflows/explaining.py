"""Evidence importance in a study: permutation importance on the folds, attributions on the targets.

- :func:`importance_settings`: the ``[training]`` keys (``importance``,
  ``importance_repeats``, ``attributions``, ``attribution_steps``, ``attribution_voxels``).
- :func:`make_recorder`: an :class:`~voxprospect.learn.importance.ImportanceRecorder` that the
  evaluation protocols call with each fold's fitted model (no refit).
- :func:`record_importance`: ``report.json``'s ``importance``, ``importance.md`` and one
  bar plot per model (``importance_<model>.png``).
- :func:`explain_targets`: for one mapped model, the CNN's Integrated-Gradients
  attribution layers (``attribution_<channel>``) and every target's ``top_channels``.
"""

from __future__ import annotations

from pathlib import Path

from voxprospect.report import write_text_atomic

#: rules written beside each target table's ``top_channels``
TOP_RULES = {
    "attribution": "channels with a positive mean Integrated-Gradients attribution (log-odds, baseline = "
                   "neutral evidence) over the target's attributed voxels, strongest first",
    "importance": "channels ranked by permutation importance (AUC fall, negatives as 0) x |mean evidence in the "
                  "target - neutral value| / the channel's std over the study volume, positive only, "
                  "strongest first",
}


def importance_settings(training: dict) -> dict:
    """The study's importance settings from a ``[training]`` dict (missing keys: defaults)."""
    from voxprospect.learn.importance import DEFAULT_IMPORTANCE_PROTOCOLS, DEFAULT_REPEATS

    protocols = [p for p in DEFAULT_IMPORTANCE_PROTOCOLS if p in training.get("protocols", ["spatial"])]
    if not protocols:  # no spatial protocol configured: the first honest one
        protocols = [p for p in training.get("protocols", []) if p in ("spatial", "deposit")][:1]
    mode = training.get("attributions", "off")
    if mode is True:
        mode = "targets"
    elif mode is False or mode is None:
        mode = "off"
    return {"enabled": bool(training.get("importance", True)) and bool(protocols), "protocols": protocols,
            "repeats": int(training.get("importance_repeats", DEFAULT_REPEATS)), "attributions": str(mode),
            "steps": int(training.get("attribution_steps", 16)),
            "voxels_per_target": int(training.get("attribution_voxels", 64))}


def explain_overrides(importance: bool | None = None, attributions: str | None = None) -> dict:
    """``[training]`` overrides from the CLI's ``--importance`` and ``--attributions`` (None: keep)."""
    out: dict = {}
    if importance is not None:
        out["importance"] = bool(importance)
    if attributions is not None:
        from voxprospect.vocabulary import ATTRIBUTION_MODES
        if attributions not in ATTRIBUTION_MODES:
            from voxprospect.errors import VoxprospectError
            raise VoxprospectError(f"attributions must be one of {', '.join(ATTRIBUTION_MODES)}, got {attributions!r}")
        out["attributions"] = attributions
    return out


def make_recorder(channels, settings: dict, seed: int):
    """A recorder for ``evaluate_protocols(on_fitted=...)``, or None when importance is off."""
    if not settings["enabled"]:
        return None
    from voxprospect.learn.importance import ImportanceRecorder
    return ImportanceRecorder(channels, n_repeats=settings["repeats"], seed=seed, protocols=settings["protocols"])


def record_importance(report, recorders: dict, settings: dict, outdir, inputs=()) -> dict:
    """Pool the recorders, write the table and the plots, fill ``report["importance"]``.

    Parameters
    ----------
    recorders : dict
        ``{model or "baseline <name>": ImportanceRecorder}``.

    Returns
    -------
    dict
        ``{model: {protocol: summary}}``.
    """
    from voxprospect.learn.importance import DEFINITION, importance_table_markdown, plot_importance

    outdir = Path(outdir)
    models = {name: rec.result() for name, rec in recorders.items() if rec is not None}
    if not models:
        report["importance"] = {"skipped": "importance = false, or no spatial or deposit protocol"}
        return {}
    protocol = settings["protocols"][0]
    plots = {}
    for name, res in models.items():
        summary = res.get(protocol, {})
        if "channels" in summary:
            fname = f"importance_{name.replace(' ', '_')}.png"
            plot_importance(summary, outdir / fname, title=f"Permutation importance, {name} ({protocol} folds)",
                            inputs=inputs)
            plots[name] = fname
    table = importance_table_markdown(models, protocol)
    if not table:
        reasons = sorted({r.get(protocol, {}).get("skipped", "") for r in models.values()} - {""})
        table = f"No permutation importance on the {protocol} folds: {'; '.join(reasons)}.\n"
    write_text_atomic(outdir / "importance.md", "# Evidence importance\n\n" + table, inputs=inputs)
    report["importance"] = {"definition": DEFINITION, "protocols": settings["protocols"],
                            "n_repeats": settings["repeats"], "seed": int(report["seed"] or 0),
                            "models": models, "plots": plots, "table": "importance.md",
                            "table_markdown": table}
    return models


def explain_targets(name, estimator, evidence, channels, window, edge, targets, importance: dict | None,
                    settings: dict, chunk_voxels: int, seed: int, progress=None):
    """Attribution layers (CNNs, when asked) and ``top_channels`` of every target.

    Parameters
    ----------
    targets : TargetSet
        Its ``table`` gains ``top_channels``.
    importance : dict or None
        This model's ``{protocol: summary}`` permutation importance.

    Returns
    -------
    (attributions, info)
        The attribution Volume (or None) and what was done (``top_channels_rule``,
        ``attribution`` meta).
    """
    from voxprospect.learn.attribution import network_of
    from voxprospect.mapping.explain import (set_top_channels, target_sample_mask, top_channels_from_attributions,
                                             top_channels_from_importance)

    info: dict = {}
    attributions = None
    mode = settings["attributions"]
    if network_of(estimator) is not None and mode != "off" and (mode == "grid" or targets.count):
        from voxprospect.mapping.explain import attribution_volume
        where = None if mode == "grid" else target_sample_mask(targets.labels, settings["voxels_per_target"], seed)
        attributions = attribution_volume(estimator, evidence, where=where, channels=channels, window=window,
                                          edge=edge, chunk_voxels=chunk_voxels, n_steps=settings["steps"],
                                          progress=progress)
        info["attribution"] = dict(attributions.meta["attribution"], mode=mode,
                                   voxels_per_target=settings["voxels_per_target"])
        top = top_channels_from_attributions(attributions, targets.labels, channels)
        info["top_channels_rule"] = TOP_RULES["attribution"]
    else:
        summary = next((s for s in (importance or {}).values() if "channels" in s), None)
        if summary is None:
            return None, {"top_channels_rule": "none: no permutation importance and no attributions for "
                                               f"{name}; top_channels left empty"}
        top = top_channels_from_importance(evidence, targets.labels, channels, summary)
        info["top_channels_rule"] = TOP_RULES["importance"]
    set_top_channels(targets.table, top)
    return attributions, info


def importance_section(rep: dict, n_targets: int = 5) -> list:
    """Markdown lines of the demo summary's "Evidence importance" section (empty without it)."""
    imp = rep.get("importance") or {}
    if "models" not in imp:
        return []
    lines = ["## Evidence importance", "", imp.get("table_markdown", ""), ""]
    for name, fname in imp.get("plots", {}).items():
        lines += [f"![{name} permutation importance]({fname})", ""]
    for name, table in (rep.get("target_tables") or {}).items():
        rows = [t for t in table if t.get("top_channels") is not None][:n_targets]
        rule = (rep.get("models", {}).get(name, {}).get("explain") or {}).get("top_channels_rule")
        if rows and rule:
            lines += [f"{name}, top channels of its first targets ({rule}):", ""]
            lines += [f"- target {t['target_id']}: {t['top_channels'] or '(none positive)'}" for t in rows] + [""]
    return lines
