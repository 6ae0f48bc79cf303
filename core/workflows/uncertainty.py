"""The ``uncertainty`` and ``calibration`` entries of a run's report, and the rank layer.

* :func:`ensemble_factory`: a CNN estimator factory wrapped into a deep ensemble of
  ``training.ensemble`` members (:class:`voxprospect.learn.ensemble.DeepEnsemble`);
* :class:`HeldOut`: collects each evaluation fold's held-out probabilities
  (``evaluate_protocols(..., on_fold=...)``);
* :func:`calibration_entry`: Brier beside the base-rate Brier, reliability and the
  reading rule on the spatial and deposit folds, with the nested calibration when
  the project asks for one (:mod:`voxprospect.learn.calibration`), and the
  reliability figure;
* :func:`uncertainty_entry`: the members, the std over the volume and inside the
  targets; :func:`add_rank_layer` the percentile rank of the mean (P-A on ranks).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: Protocols whose held-out folds are scored for calibration (the random split leaks).
CALIBRATION_PROTOCOLS = ("spatial", "deposit")


def training_overrides(ensemble=None, calibration=None) -> dict:
    """``[training]`` keys a command line replaces (``--ensemble``, ``--calibration``), checked.

    Raises
    ------
    VoxprospectError
        A member count outside 1..64 or an unknown calibration.
    """
    from voxprospect.errors import VoxprospectError
    from voxprospect.learn.calibration import CALIBRATION_METHODS
    from voxprospect.learn.ensemble import MAX_MEMBERS

    out = {}
    if ensemble is not None:
        if isinstance(ensemble, bool) or not isinstance(ensemble, int) or not 1 <= ensemble <= MAX_MEMBERS:
            raise VoxprospectError(f"--ensemble must be a member count from 1 to {MAX_MEMBERS}, got {ensemble!r}")
        out["ensemble"] = int(ensemble)
    if calibration is not None:
        if calibration not in CALIBRATION_METHODS:
            raise VoxprospectError(f"--calibration must be one of {', '.join(CALIBRATION_METHODS)}, "
                                   f"got {calibration!r}")
        out["calibration"] = str(calibration)
    return out


def ensemble_size(training: dict) -> int:
    from voxprospect.learn.ensemble import check_members
    return check_members(int(training.get("ensemble", 1) or 1))


def ensemble_factory(factory, training: dict, seed: int):
    """Wrap a CNN factory into ``training.ensemble`` members (unchanged for 1)."""
    n = ensemble_size(training)
    if n == 1:
        return factory
    from voxprospect.learn.ensemble import DeepEnsemble

    return lambda: DeepEnsemble(factory(), n_members=n, seed=seed)


class HeldOut:
    """``on_fold`` for :func:`voxprospect.learn.protocols.evaluate_protocols`: keeps
    ``(y_train, y_test, p_test)`` per protocol."""

    def __init__(self, labels):
        self.labels = np.asarray(labels).reshape(-1)
        self.folds: dict = {}

    def __call__(self, protocol, split, p):
        self.folds.setdefault(protocol, []).append(
            (self.labels[split.train], self.labels[split.test], np.asarray(p, dtype=float)))

    def on_fitted(self, protocol, split, estimator, X_windows, labels=None):
        """The same record from a fold's fitted estimator (an ``on_fitted(protocol, split,
        estimator, X, labels)`` hook): its class-1 probabilities of the test windows."""
        self(protocol, split, np.asarray(estimator.predict_proba(X_windows[split.test]))[:, 1])


def calibration_entry(name: str, held: HeldOut, method: str, calibrated: HeldOut | None, outdir, inputs=()) -> dict:
    """Per protocol the raw (and calibrated) held-out scores and verdict; draws ``reliability_<name>.png``."""
    from voxprospect.learn.calibration import ECE_READABLE, N_BINS, heldout_report, plot_reliability

    out = {"method": method, "n_bins": N_BINS, "ece_readable": ECE_READABLE,
           "definition": ("held-out windows of each protocol's test folds, pooled; base-rate Brier: every window "
                          "given its fold's training share of orebody windows")}
    entries = {}
    for protocol in CALIBRATION_PROTOCOLS:
        folds = held.folds.get(protocol)
        if not folds:
            continue
        cal = calibrated.folds.get(protocol) if calibrated is not None else None
        rep = heldout_report(folds, cal, method)
        out[protocol] = rep
        entries[f"{protocol}, raw"] = rep["raw"]
        if rep["calibrated"] is not None:
            entries[f"{protocol}, {method}"] = rep["calibrated"]
    primary = next((p for p in CALIBRATION_PROTOCOLS if p in out), None)
    if primary is None:
        out["skipped"] = "no spatial or deposit fold was scored"
        return out
    out["read_as"] = out[primary]["verdict"]["read_as"]
    out["verdict_protocol"] = primary
    fname = f"reliability_{name}.png"
    plot_reliability(entries, Path(outdir) / fname, title=f"Reliability on held-out folds, {name}", inputs=inputs)
    out["plot"] = fname
    return out


def calibrated_factory(factory, data, training: dict, seed: int, buffer_m: float):
    """A factory of :class:`CalibratedModel` around ``factory`` (nested inner spatial folds)."""
    from voxprospect.learn.calibration import CalibratedModel

    method = str(training.get("calibration", "none"))
    s = data.samples
    return lambda: CalibratedModel(factory, s.centres, s.cell_size, s.window, method=method,
                                   inner_folds=int(training.get("inner_folds", 3)), buffer_m=buffer_m, seed=seed)


def uncertainty_entry(estimator_or_model, prospectivity, target_table=None) -> dict:
    """The members and how the std spreads over the study volume and the targets."""
    from voxprospect.learn.ensemble import uncertainty_record

    rec = uncertainty_record(estimator_or_model)
    if "prospectivity_std" in prospectivity:
        rec["std_over_volume"] = prospectivity.layer_stats("prospectivity_std")
        q10 = prospectivity.layer_stats("prospectivity_q10")
        rec["q10_over_volume"] = {k: q10.get(k) for k in ("min", "max", "mean")}
    if target_table:
        rec["targets"] = [{"target_id": t["target_id"], "std_mean": t.get("std_mean"), "std_max": t.get("std_max")}
                          for t in target_table]
    return rec


def with_rank_layer(prospectivity):
    """The volume with ``prospectivity_rank`` added: the mean's percentile rank, ties broken by q10."""
    from voxprospect.mapping.ranks import percentile_rank

    tie = prospectivity["prospectivity_q10"] if "prospectivity_q10" in prospectivity else None
    return prospectivity.with_layer("prospectivity_rank",
                                    percentile_rank(prospectivity["prospectivity"], prospectivity.active, tie))


def pa_volume(prospectivity, pa_layer: str):
    """``(volume, layer)``: the layer a P-A option reads (the rank layer is added when asked)."""
    if pa_layer in (None, "mean"):
        return prospectivity, "prospectivity"
    if pa_layer == "q10":
        if "prospectivity_q10" not in prospectivity:
            from voxprospect.errors import LayerError
            raise LayerError("a P-A plot on the 10 % quantile needs the prospectivity_q10 layer "
                             "(written by every prediction since the ensemble)")
        return prospectivity, "prospectivity_q10"
    if pa_layer == "rank":
        return with_rank_layer(prospectivity), "prospectivity_rank"
    from voxprospect.errors import VoxprospectError
    raise VoxprospectError(f"unknown P-A layer {pa_layer!r}; use mean, q10 or rank")


def with_calibrated_layer(prospectivity, calibrator):
    """The volume with ``prospectivity_calibrated``: the calibrator applied to the mean (NaN kept)."""
    if calibrator is None:
        return prospectivity
    mean = np.asarray(prospectivity["prospectivity"], dtype=float)
    out = np.full(mean.shape, np.nan, dtype=np.float32)
    ok = np.isfinite(mean)
    out[ok] = np.clip(calibrator.transform(mean[ok]), 0.0, 1.0)
    return prospectivity.with_layer("prospectivity_calibrated", out)


def saturation(prospectivity) -> dict:
    """Share of the study volume's mean at or above 0.99: where a P-A on ranks reads better."""
    v = np.asarray(prospectivity["prospectivity"], dtype=float)[prospectivity.active]
    v = v[np.isfinite(v)]
    share = float((v >= 0.99).mean()) if v.size else 0.0
    return {"share_at_or_above_0.99": share,
            "note": ("probabilities saturate: read the P-A plot on ranks (targets.pa_layer = \"rank\")"
                     if share >= 0.05 else None)}


def _f(v, spec=".3f"):
    return "n/a" if v is None else format(v, spec)


def uncertainty_section(rep: dict) -> list:
    """``summary.md`` lines: each model's members and spread, and how its probabilities read."""
    unc, cal = rep.get("uncertainty") or {}, rep.get("calibration") or {}
    if not unc and not cal:
        return []
    lines = ["## Uncertainty and calibration", "",
             "`prospectivity` is the members' mean (an ensemble's networks, the forest's trees), "
             "`prospectivity_std` their standard deviation, `prospectivity_q10` their 10% quantile "
             "(docs/uncertainty.md).", ""]
    for name, u in unc.items():
        std = (u.get("std_over_volume") or {})
        noun = "member" if u.get("members") == 1 else "members"
        text = f"- {name}: {u.get('members')} {noun} ({u.get('source', '')}); std over the volume mean " \
               f"{_f(std.get('mean'))}, max {_f(std.get('max'))}."
        b = u.get("benchmark")
        if b:
            text += (f" Against the training data: Spearman rho of std with the distance to the nearest training "
                     f"positive {_f(b['rho_prospective'], '.2f')} over the {b['n_prospective']:,} voxels with mean >= "
                     f"{b['prospective_from']:g} ({_f(b['rho_all'], '.2f')} over all voxels); mean std "
                     f"{_f(b['std_undiscovered'])} at undiscovered deposits against {_f(b['std_known'])} "
                     "at known ones.")
        sat = (u.get("saturation") or {}).get("note")
        if sat:
            text += f" Note: {sat}."
        lines.append(text)
    for name, c in cal.items():
        if "skipped" in c:
            lines.append(f"- {name} calibration: skipped ({c['skipped']})")
            continue
        p = c["verdict_protocol"]
        raw = c[p]["raw"]
        text = (f"- {name} on the {p} folds: Brier {raw['brier']:.3f} against the base rate's "
                f"{raw['base_rate_brier']:.3f}, reliability error (ECE) {raw['ece']:.3f}")
        if c[p].get("calibrated"):
            k = c[p]["calibrated"]
            text += f"; {c['method']}-calibrated Brier {k['brier']:.3f}, ECE {k['ece']:.3f}"
        text += f". Read the probabilities as **{c['read_as']}**."
        lines.append(text)
        if c.get("plot"):
            lines += ["", f"![{name} reliability]({c['plot']})"]
    return lines + [""]
