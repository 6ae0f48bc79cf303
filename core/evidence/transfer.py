"""Prediction on new evidence with the training standardisation, and a check of its range.

A checkpoint records, per channel, the statistics the training evidence was
standardised with (``standardisation``) and the range of the model's inputs on
the training volume (``input_range``: min and max over active cells). An evidence
volume records the statistics *it* was standardised with
(``meta["evidence"]["stats"]``, :func:`voxprospect.evidence.layers.build_evidence`).

:func:`apply_training_standardisation` puts new evidence on the training scale:
where the volume's statistics differ from the checkpoint's (evidence of a new
area, refitted on its own data), each such channel is mapped back to raw values
with its own statistics and standardised again with the training ones, so the
model sees the numbers it was trained on. :func:`range_shift` then gives, per
channel, the share of active voxels outside the training range: a model
extrapolates there, and prediction warns.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from voxprospect.errors import LayerError

log = logging.getLogger(__name__)

#: Relative difference below which two statistics are the same (float64 JSON round trip).
SAME = 1e-12


def input_ranges(evidence, channels) -> dict:
    """``{channel: {"min", "max"}}`` of the model inputs over the active cells."""
    out = {}
    for c in channels:
        v = np.asarray(evidence[c], dtype=np.float64)[evidence.active]
        v = v[np.isfinite(v)]
        if v.size:
            out[c] = {"min": float(v.min()), "max": float(v.max())}
    return out


def _same(a: dict, b: dict) -> bool:
    if bool(a.get("log10", False)) != bool(b.get("log10", False)):
        return False
    for key in ("center", "scale"):
        x, y = float(a[key]), float(b[key])
        if not math.isclose(x, y, rel_tol=SAME, abs_tol=SAME * abs(float(b["scale"]))):
            return False
    return True


def apply_training_standardisation(evidence, training_stats, channels, where="evidence"):
    """Evidence with every channel on the training scale, and what was done per channel.

    Parameters
    ----------
    evidence : Volume
        As read from an evidence file (``meta["evidence"]["stats"]`` says how it was
        standardised).
    training_stats : dict or None
        The checkpoint's ``standardisation`` (channel -> statistics).
    channels : list of str
        The model's channels.
    where : str
        The evidence file, for messages.

    Returns
    -------
    (Volume, dict)
        The volume (new layers where re-standardised) and ``{channel: action}``,
        action one of ``"same"`` (already on the training scale),
        ``"restandardised"``, ``"not standardised"`` (neither side scaled it) or
        ``"unchecked"`` (the evidence does not say how it was scaled).

    Raises
    ------
    LayerError
        If the checkpoint standardised a channel that the evidence records as left
        unscaled, or the other way round (two different quantities).
    """
    from voxprospect.evidence.layers import apply_standardiser

    training_stats = dict(training_stats or {})
    meta = evidence.meta.get("evidence") if isinstance(evidence.meta, dict) else None
    own = dict(meta.get("stats", {})) if isinstance(meta, dict) else None
    specs = {s.get("name"): s for s in (meta.get("channels", []) if isinstance(meta, dict) else [])
             if isinstance(s, dict)}
    layers = dict(evidence.layers)
    actions = {}
    for c in channels:
        train = training_stats.get(c)
        mine = None if own is None else own.get(c)
        if own is None or (mine is None and c not in specs):
            actions[c] = "unchecked"
            continue
        if train is None and mine is None:
            actions[c] = "not standardised"
            continue
        if train is None or mine is None:
            raise LayerError(f"{where}: channel {c!r} was {'not ' if train is None else ''}standardised for "
                             f"training but is {'not ' if mine is None else ''}standardised here; rebuild the "
                             "evidence with the training project's channel definitions")
        if _same(mine, train):
            actions[c] = "same"
            continue
        # back to raw values with this volume's statistics, then the training ones
        z = np.asarray(evidence[c], dtype=np.float64)
        raw = z * float(mine["scale"]) + float(mine["center"])
        if mine.get("log10"):
            raw = np.power(10.0, raw)
        layers[c] = apply_standardiser(raw, train, name=c)
        actions[c] = "restandardised"
    new_meta = dict(evidence.meta)
    if isinstance(meta, dict):
        new_meta["evidence"] = dict(meta, stats={**(own or {}), **{c: training_stats[c] for c in channels
                                                                    if actions[c] == "restandardised"}})
    from dataclasses import replace
    return replace(evidence, layers=layers, meta=new_meta), actions


def range_shift(evidence, ranges, channels) -> dict:
    """Per channel: share of active voxels outside the training range ``[min, max]``.

    Returns
    -------
    dict
        ``{channel: {"share_outside", "below", "above", "training_min", "training_max",
        "min", "max"}}`` for the channels with a recorded range.
    """
    out = {}
    for c in channels:
        r = (ranges or {}).get(c)
        if not r:
            continue
        v = np.asarray(evidence[c], dtype=np.float64)[evidence.active]
        v = v[np.isfinite(v)]
        if not v.size:
            continue
        lo, hi = float(r["min"]), float(r["max"])
        below, above = float((v < lo).mean()), float((v > hi).mean())
        out[c] = {"share_outside": below + above, "below": below, "above": above,
                  "training_min": lo, "training_max": hi, "min": float(v.min()), "max": float(v.max())}
    return out


def shift_warnings(shift: dict) -> list[str]:
    """One line per channel with voxels outside the training range (logged as warnings)."""
    lines = []
    for c, s in shift.items():
        if s["share_outside"] > 0:
            line = (f"channel {c!r}: {100 * s['share_outside']:.1f}% of the active voxels lie outside the "
                    f"training range [{s['training_min']:.3g}, {s['training_max']:.3g}] (here "
                    f"[{s['min']:.3g}, {s['max']:.3g}]); the model extrapolates there")
            log.warning(line)
            lines.append(line)
    return lines
