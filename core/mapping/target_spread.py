"""The members' spread inside each target: ``std_mean`` and ``std_max`` columns.

Targets are drawn on the members' mean (:mod:`voxprospect.mapping.targets`); this adds to
each row of a :class:`~voxprospect.mapping.targets.TargetSet` the mean and the largest
``<layer>_std`` (:mod:`voxprospect.learn.ensemble`) over the target's voxels. Without
that layer (a volume predicted before ensembles) both are None: not measured.
"""

from __future__ import annotations

import numpy as np

SPREAD_COLUMNS = ("std_mean", "std_max")


def spread_columns(targets, prospectivity, layer: str | None = None):
    """Add ``std_mean`` and ``std_max`` to every row of ``targets.table`` (in place); returns ``targets``.

    Parameters
    ----------
    targets : TargetSet
    prospectivity : Volume
        On the targets' grid; its ``<layer>_std`` is read (``layer`` default: the
        layer the targets' statistics came from).
    """
    name = f"{layer or targets.layer}_std"
    if name not in prospectivity or not targets.table:
        for row in targets.table:
            row["std_mean"] = row["std_max"] = None
        return targets
    std = np.asarray(prospectivity[name], dtype=float)
    labels = np.asarray(targets.labels)
    inside = (labels > 0) & np.isfinite(std)
    lab, v = labels[inside].astype(np.int64), std[inside]
    n_ids = int(max(r["target_id"] for r in targets.table)) + 1
    count = np.bincount(lab, minlength=n_ids)
    total = np.bincount(lab, weights=v, minlength=n_ids)
    vmax = np.full(n_ids, -np.inf)
    np.maximum.at(vmax, lab, v)
    for row in targets.table:
        t = int(row["target_id"])
        row["std_mean"] = float(total[t] / count[t]) if count[t] else None
        row["std_max"] = float(vmax[t]) if count[t] else None
    return targets
