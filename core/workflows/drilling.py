"""Drillhole studies in the workflow steps: negatives from the drilling, the drillhole
volume as an output, the QA table and the drilling-bias diagnostics of the report.

A study is a drillhole study when its orebodies come from a ``type = "drillholes"``
input. Its negatives are then by default drilled cells whose assays are all below the
cut-off (``[samples] negatives = "drilled"``; ``"distal"`` keeps the paper's random
cells ``min_distance_m`` from the ore), and every report says how much the maps follow
the drilling (``drilling_bias``, :mod:`voxprospect.mapping.diagnostics`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from voxprospect.errors import ProjectFileError

log = logging.getLogger("voxprospect.workflows")

#: The drillhole volume's file name for an input; its output role is ``drillholes``.
DRILLHOLE_VOLUME = "drillholes_{name}.vti"
DISTANCE_LAYER = "distance_to_nearest_hole_m"
WASTE_LAYER = "drilled_waste"


def drillhole_inputs(project) -> list[str]:
    """Names of the project's ``type = "drillholes"`` inputs."""
    return [n for n, s in project.inputs.items() if getattr(s, "type", "volume") == "drillholes"]


def drillhole_source(project):
    """The drillholes input the orebodies come from, or None (not a drillhole study)."""
    ob = getattr(project, "orebodies", None)
    if ob is None or ob.path is not None:
        return None
    return ob.source if ob.source in drillhole_inputs(project) else None


def negative_mode(project, inputs) -> str:
    """``"drilled"`` or ``"distal"``: the project's ``[samples] negatives`` with ``auto`` resolved.

    ``auto`` is ``drilled`` for a drillhole study with a cut-off (its volume has a
    ``drilled_waste`` layer) and ``distal`` otherwise.

    Raises
    ------
    ProjectFileError
        ``drilled`` asked for where no drilled-waste layer exists.
    """
    mode = getattr(project.samples, "negatives", "auto")
    source = drillhole_source(project)
    has_waste = source is not None and source in inputs and WASTE_LAYER in inputs[source].layers
    if mode == "auto":
        return "drilled" if has_waste else "distal"
    if mode == "drilled" and not has_waste:
        raise ProjectFileError(project.path, "samples.negatives: 'drilled' needs orebodies from a drillholes "
                                             "input with grade_column and cutoff (its drilled_waste layer); "
                                             "use 'distal'")
    return mode


def negative_mask(project, inputs):
    """The drilled-waste mask for :func:`voxprospect.learn.samples.make_samples`, or None (distal)."""
    if negative_mode(project, inputs) != "drilled":
        return None
    return np.asarray(inputs[drillhole_source(project)][WASTE_LAYER]) > 0


def set_cap_at_length(project, cap_at_length: bool | None):
    """The project with every drillholes input's ``cap_at_length`` set (None: unchanged)."""
    if cap_at_length is not None:
        for name in drillhole_inputs(project):
            project.inputs[name].options["cap_at_length"] = bool(cap_at_length)
    return project


def drill_context(project, inputs) -> dict:
    """What the drilling diagnostics need of a drillhole study (empty for other studies):
    ``hole_distance``, ``waste``, ``qa`` and the drillhole ``volumes`` by input name."""
    source = drillhole_source(project)
    if source is None or source not in inputs:
        return {}
    vol = inputs[source]
    waste = np.asarray(vol[WASTE_LAYER]) > 0 if WASTE_LAYER in vol.layers else np.zeros(vol.grid.shape, bool)
    return {"source": source, "hole_distance": np.asarray(vol[DISTANCE_LAYER], dtype=float), "waste": waste,
            "qa": drillhole_qa(inputs), "volumes": {n: inputs[n] for n in drillhole_inputs(project) if n in inputs}}


def audit_set(data):
    """The drilled ore and waste cells to score on held-out folds when the negatives are distal
    (:mod:`voxprospect.learn.audit`); None for other studies and for drilled negatives, whose
    folds already are ore against drilled waste. Built once per study."""
    drill = data.drill
    if not drill or data.samples.negatives != "distal":
        return None
    if "audit" not in drill:
        from voxprospect.learn.audit import make_audit_set
        drill["audit"] = make_audit_set(data.evidence.stack(data.channels), data.orebody > 0, drill["waste"],
                                        data.evidence.active, data.samples.window, data.samples.edge,
                                        list(data.fill_values.values()), data.evidence.grid.cell_size,
                                        seed=data.samples.seed)
    return drill["audit"]


def drillhole_qa(inputs) -> dict:
    """``{input: QA table}`` of the drillhole inputs read (the report's ``drillhole_qa``)."""
    out = {}
    for name, vol in inputs.items():
        info = vol.meta.get("drillholes") if hasattr(vol, "meta") else None
        if info and "qa" in info:
            out[name] = dict(info["qa"])
    return out


def write_drillhole_volumes(project, inputs, folder, report, source_paths=()) -> list[Path]:
    """Write each drillhole input's volume (lithology, orebody, drilled waste, distances)
    as ``drillholes_<name>.vti`` into ``folder`` with the role ``drillholes``, so that
    ``voxprospect targets --orebodies`` and QGIS can use it."""
    from voxprospect.io import write_volume

    written = []
    for name in drillhole_inputs(project):
        if name not in inputs:
            continue
        path = Path(folder) / DRILLHOLE_VOLUME.format(name=name)
        write_volume(inputs[name], path, inputs=source_paths)
        report.add_output(path, role="drillholes")
        written.append(path)
    return written


def record_drillholes(data, outdir, report, source_paths=()) -> None:
    """A drillhole study's QA table (``drillhole_qa``) and drillhole volumes, into the report and ``outdir``."""
    if not data.drill:
        return
    report["drillhole_qa"] = data.drill["qa"]
    from voxprospect.io import write_volume

    for name, vol in data.drill["volumes"].items():
        path = Path(outdir) / DRILLHOLE_VOLUME.format(name=name)
        write_volume(vol, path, inputs=source_paths)
        report.add_output(path, role="drillholes")


def record_drilling_bias(report, data, results, maps) -> None:
    """``drilling_bias`` of a drillhole study, from the models' held-out scores and their maps."""
    if not data.drill:
        return
    report["drilling_bias"] = drilling_bias(
        data.drill["hole_distance"], data.orebody, data.drill["waste"], maps,
        {n: r.get("metrics", {}) for n, r in results.items()}, data.samples.negatives,
        {n: np.asarray(r["_target_ids"]) for n, r in results.items() if "_target_ids" in r})


def drillhole_volume_paths(project, folder) -> list[Path]:
    """Where :func:`write_drillhole_volumes` writes (for the never-overwrite check)."""
    return [Path(folder) / DRILLHOLE_VOLUME.format(name=n) for n in drillhole_inputs(project)]


def drilling_bias(hole_distance, orebody, waste, prospectivity: dict, metrics: dict, negatives: str,
                  target_labels: dict | None = None) -> dict:
    """The drilling-bias diagnostics of a study (the report's ``drilling_bias``).

    Parameters
    ----------
    hole_distance : ndarray
        Distance (m) from each cell to the nearest hole trace.
    orebody, waste : ndarray of bool
        Drilled ore and drilled below-cut-off cells.
    prospectivity : dict of str to Volume
        Each mapped model's whole-grid prediction (``prospectivity`` layer, active mask).
    metrics : dict of str to dict
        Each model's scores by protocol (the held-out folds).
    negatives : {"drilled", "distal"}
        How the study's negatives were drawn.
    target_labels : dict of str to ndarray, optional
        Each mapped model's target ids (0 = none).

    Returns
    -------
    dict
        ``negatives``; per model ``rho`` (Spearman, prospectivity vs hole distance,
        active cells), ``ore_vs_drilled_waste_auc`` by protocol and how it was
        measured, ``target_hole_distance_m``; ``warnings``.
    """
    from voxprospect.mapping.diagnostics import (RHO_WARNING, hole_distance_bias, ore_vs_waste_auc,
                                                 target_hole_distances)

    ore = np.asarray(orebody) > 0
    waste = np.asarray(waste) > 0
    out = {"negatives": negatives, "rho_threshold": RHO_WARNING, "models": {}, "warnings": [],
           "definitions": {
               "rho": "Spearman correlation of the prospectivity with the distance to the nearest hole trace, "
                      "over the scored cells",
               "ore_vs_drilled_waste_auc": (
                   "ROC AUC of the held-out predictions at ranking drilled ore above drilled below-cut-off "
                   "cells: with drilled negatives the non-leaky protocols' test folds are exactly that"
                   if negatives == "drilled" else
                   "with distal negatives the folds hold no drilled waste: after each non-leaky fit the drilled "
                   "ore and waste cells at least the fold's buffer from its training windows are scored "
                   "(voxprospect.learn.audit); ore_vs_drilled_waste_whole_grid is the final model's map over "
                   "every drilled cell (training cells among them: not held out, optimistic)"),
               "target_hole_distance_m": "per target, the nearest-hole distance of its closest and its mean voxel"}}
    for name in dict.fromkeys([*metrics, *prospectivity]):
        vol = prospectivity.get(name)
        p = None if vol is None else np.asarray(vol["prospectivity"], dtype=float)
        entry = {"rho": None} if vol is None else hole_distance_bias(p, hole_distance, vol.active)
        if "warning" in entry:
            out["warnings"].append(f"{name}: {entry['warning']}")
        if negatives == "drilled":
            auc = {proto: m.get("auc") for proto, m in metrics.get(name, {}).items()
                   if isinstance(m, dict) and not m.get("leaky") and "auc" in m}
            entry["ore_vs_drilled_waste_auc"] = auc
            entry["ore_vs_drilled_waste_held_out"] = True
        else:
            audited = {proto: m["ore_vs_drilled_waste"]["auc"] for proto, m in metrics.get(name, {}).items()
                       if isinstance(m, dict) and isinstance(m.get("ore_vs_drilled_waste"), dict)}
            if audited:
                entry["ore_vs_drilled_waste_auc"] = audited
                entry["ore_vs_drilled_waste_held_out"] = True
            if vol is not None:
                scored = vol.active & np.isfinite(p) & (ore | waste)
                entry["ore_vs_drilled_waste_whole_grid"] = ore_vs_waste_auc(p[scored], ore[scored])
                if not audited:
                    entry["ore_vs_drilled_waste_auc"] = {"whole_grid": entry["ore_vs_drilled_waste_whole_grid"]}
                    entry["ore_vs_drilled_waste_held_out"] = False
        if target_labels and name in target_labels:
            entry["target_hole_distance_m"] = {str(k): v for k, v in
                                               target_hole_distances(target_labels[name], hole_distance).items()}
        out["models"][name] = entry
    for line in out["warnings"]:
        log.warning("%s", line)
    return out


def summary_bias(bias: dict) -> dict:
    """The end summary's part of ``drilling_bias``: per model rho, the AUCs and the farthest target."""
    models = {}
    for name, e in bias.get("models", {}).items():
        dist = e.get("target_hole_distance_m") or {}
        models[name] = {"rho": e.get("rho"), "ore_vs_drilled_waste_auc": e.get("ore_vs_drilled_waste_auc"),
                        "held_out": e.get("ore_vs_drilled_waste_held_out"),
                        "farthest_target_m": max((v["min_m"] for v in dist.values()), default=None)}
    return {"negatives": bias.get("negatives"), "models": models, "warnings": list(bias.get("warnings", []))}


def drilling_bias_lines(bias: dict) -> list[str]:
    """Summary lines of the drilling-bias diagnostics (:func:`summary_bias`), one per model plus the warnings."""
    if not bias:
        return []
    lines = [f"drilling bias ({bias['negatives']} negatives):"]
    for name, e in bias.get("models", {}).items():
        rho = "n/a" if e.get("rho") is None else f"{e['rho']:+.2f}"
        aucs = ", ".join(f"{k} {v:.3f}" for k, v in e.get("ore_vs_drilled_waste_auc", {}).items() if v is not None)
        held = "held out" if e.get("held_out") else "not held out"
        far = e.get("farthest_target_m")
        tail = f"; farthest target {far:.0f} m from a hole" if far is not None else ""
        lines.append(f"  {name}: rho(prospectivity, hole distance) {rho}; ore vs drilled waste AUC "
                     f"{aucs or 'n/a'} ({held}){tail}")
    lines += [f"  warning: {w}" for w in bias.get("warnings", [])]
    return lines
