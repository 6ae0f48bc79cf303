"""Does the members' spread grow away from the training data? A check on the benchmark district.

The synthetic district knows the deposits training never saw, so it can test what
an uncertainty map promises: that the model is less sure where it has not been
shown an orebody. :func:`spread_check` measures, for a prediction with a
``prospectivity_std`` layer (:mod:`voxprospect.learn.ensemble`):

* the Spearman rank correlation of the std with the metric distance to the nearest
  training positive (a window centre labelled orebody), over every active voxel
  and over the voxels the model calls mineralised (mean at or above
  ``prospective``, 0.5 by default). Far from every deposit the members agree the
  rock is barren, so the std falls again there: over the whole volume the
  correlation can be negative while, among the voxels a geologist would drill, the
  farther from the training data, the less sure;
* the mean std at the known deposits' voxels and at the undiscovered ones.

:func:`district_training` builds the district's seven evidence channels (those of
its project file) and the training windows, for tests and benchmarks.
"""

from __future__ import annotations

import numpy as np

#: Mean prospectivity at or above which a voxel counts as "called mineralised".
PROSPECTIVE = 0.5


def district_training(district, window: int = 3, min_distance_m: float = 800.0, seed: int = 0):
    """Evidence, training windows and samples of a synthetic district.

    The seven channels of :func:`voxprospect.synth.district.district_project_toml`
    (capped distances to the granodiorite, the dykes and the two fault sets, the
    three geophysical volumes; robust-standardised), windows around the *known*
    deposits and as many negatives at least ``min_distance_m`` from them.

    Returns
    -------
    (evidence, samples, windows)
        ``Volume``, :class:`~voxprospect.learn.samples.WindowSamples`, ``(N, 7, k, k, k)`` float32.
    """
    from voxprospect.evidence.layers import build_evidence, fill_values
    from voxprospect.learn.samples import make_samples, samples_windows
    from voxprospect.synth.district import DYKES, GRANODIORITE, UNITS

    def buffer(name, layer, classes=None):
        spec = dict(name=name, kind="buffer", source="geology", layer=layer, transform="distance",
                    max_distance_m=2000, standardise="robust")
        if classes:
            spec["classes"] = classes
        return spec

    specs = [buffer("granodiorite", "lithology", [UNITS[GRANODIORITE]]), buffer("dykes", "lithology", [UNITS[DYKES]]),
             buffer("faults_ne", "fault_ne"), buffer("faults_nw", "fault_nw")]
    specs += [dict(name=n, kind="geophysics", source="geophysics", layer=n, standardise="robust")
              for n in ("density", "susceptibility", "resistivity")]
    evidence = build_evidence(specs, {"geology": district.geology, "geophysics": district.geophysics})
    samples = make_samples(np.asarray(district.orebodies["orebody"]), evidence.active, evidence.grid,
                           window=window, min_distance_m=min_distance_m, seed=seed)
    windows = samples_windows(evidence.stack(evidence.names), samples,
                              fill=list(fill_values(evidence, evidence.names).values()))
    return evidence, samples, windows


def distance_to_training_positives(grid, centres, labels) -> np.ndarray:
    """Metric distance (m, true cell sizes) of every cell to the nearest positive window centre."""
    from scipy.ndimage import distance_transform_edt

    positive = np.zeros(grid.shape, bool)
    pos = np.asarray(centres)[np.asarray(labels) == 1]
    positive[tuple(pos.T)] = True
    return distance_transform_edt(~positive, sampling=grid.cell_size)


def spread_check(prediction, samples, truth, prospective: float = PROSPECTIVE) -> dict:
    """How the members' std relates to the training data on a benchmark district.

    Parameters
    ----------
    prediction : Volume
        With ``prospectivity`` (the mean) and ``prospectivity_std``.
    samples : WindowSamples
        The training windows (their positives are "the training data").
    truth : BenchmarkTruth
        Known and undiscovered deposits.
    prospective : float
        Mean prospectivity from which a voxel counts as called mineralised.

    Returns
    -------
    dict
        ``rho_all``, ``rho_prospective`` (Spearman, std against distance),
        ``n_prospective``, ``std_known``, ``std_undiscovered`` (mean std over the
        deposits' voxels), ``mean_known``, ``mean_undiscovered``, with the rule.
    """
    from scipy.stats import spearmanr

    mean = np.asarray(prediction["prospectivity"], dtype=float)
    std = np.asarray(prediction["prospectivity_std"], dtype=float)
    on = prediction.active & np.isfinite(mean) & np.isfinite(std)
    dist = distance_to_training_positives(prediction.grid, samples.centres, samples.labels)
    called = on & (mean >= prospective)

    def rho(sel):
        if sel.sum() < 3 or np.ptp(std[sel]) == 0:
            return None
        return float(spearmanr(std[sel], dist[sel])[0])

    dep = np.asarray(truth.deposit_id)
    known = on & np.isin(dep, truth.known)
    hidden = on & np.isin(dep, truth.undiscovered)

    def avg(a, sel):
        return float(a[sel].mean()) if sel.any() else None

    return {"rho_all": rho(on), "rho_prospective": rho(called), "n_prospective": int(called.sum()),
            "prospective_from": float(prospective),
            "std_known": avg(std, known), "std_undiscovered": avg(std, hidden),
            "mean_known": avg(mean, known), "mean_undiscovered": avg(mean, hidden),
            "definition": ("Spearman correlation of prospectivity_std with the metric distance to the nearest "
                           "training positive, over all active voxels and over those with mean >= "
                           f"{prospective:g}; mean std over the voxels of known and of undiscovered deposits")}
