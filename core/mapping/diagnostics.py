"""Drilling-bias diagnostics: does a prospectivity volume map the geology or the drilling?

A model trained on drillhole data can learn "near a hole" instead of "like the ore",
because positives lie on holes. These checks say how strongly a prospectivity volume
follows the distance to the nearest hole (issue 12).
"""

from __future__ import annotations

import numpy as np

#: |Spearman rho| above this is reported as a warning.
RHO_WARNING = 0.3


def hole_distance_bias(prospectivity, distance_to_hole_m, active=None, threshold: float = RHO_WARNING) -> dict:
    """Spearman correlation of prospectivity with distance to the nearest hole.

    Parameters
    ----------
    prospectivity, distance_to_hole_m : array_like, same shape
    active : array_like of bool, optional
        Cells scored (default: every cell where both are finite).
    threshold : float
        ``|rho|`` above which ``warning`` is set.

    Returns
    -------
    dict
        ``rho``, ``n_cells`` and, when ``|rho| > threshold``, ``warning`` (a sentence).
    """
    from scipy.stats import spearmanr

    p = np.asarray(prospectivity, dtype=float).ravel()
    d = np.asarray(distance_to_hole_m, dtype=float).ravel()
    if p.shape != d.shape:
        raise ValueError(f"prospectivity has {p.size} cells, the distance layer {d.size}")
    ok = np.isfinite(p) & np.isfinite(d)
    if active is not None:
        ok &= np.asarray(active, dtype=bool).ravel()
    out = {"rho": None, "n_cells": int(ok.sum()), "threshold": float(threshold)}
    if ok.sum() < 3 or np.ptp(p[ok]) == 0 or np.ptp(d[ok]) == 0:
        return out
    rho = float(spearmanr(p[ok], d[ok]).statistic)
    out["rho"] = rho
    if abs(rho) > threshold:
        out["warning"] = (f"prospectivity follows the distance to the nearest hole (Spearman rho {rho:+.2f}, "
                          f"|rho| > {threshold:g}): the map may show where the drilling is, not the geology")
    return out


def ore_vs_waste_auc(scores, is_ore) -> float | None:
    """ROC AUC of held-out scores at ranking drilled ore above drilled below-cut-off rock.

    ``scores`` and ``is_ore`` are for drilled cells only (held-out predictions);
    None when either class is missing.
    """
    from sklearn.metrics import roc_auc_score

    y = np.asarray(is_ore, dtype=bool).ravel()
    s = np.asarray(scores, dtype=float).ravel()
    if y.all() or not y.any():
        return None
    return float(roc_auc_score(y, s))


def target_hole_distances(target_labels, distance_to_hole_m) -> dict:
    """Nearest-hole distance (m) of each target body: min and mean over its voxels."""
    lab = np.asarray(target_labels)
    d = np.asarray(distance_to_hole_m, dtype=float)
    out = {}
    for t in np.unique(lab[lab > 0]):
        v = d[lab == t]
        out[int(t)] = {"min_m": float(np.nanmin(v)), "mean_m": float(np.nanmean(v))}
    return out
