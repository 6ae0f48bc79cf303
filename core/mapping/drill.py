"""Drill points: the most prospective voxel inside each target.

A target's centroid is the mean of its cell centres and can fall outside the target
(a ring- or U-shaped body has its centroid in the hole). A drill collar aims at a
voxel the target really holds; the most prospective one is the natural aim, and it
is also a label point that always lies inside the target.
"""

from __future__ import annotations

import numpy as np
from voxprospect.errors import VoxprospectError
from voxprospect.data.volume import Volume

#: attributes of a drill point, in order
DRILL_COLUMNS = ("target_id", "x", "y", "z", "i", "j", "k", "prospectivity", "depth_below_top_m")


def drill_points(targets, prospectivity) -> list[dict]:
    """One point per target at its most prospective voxel (cell centre).

    Parameters
    ----------
    targets : voxprospect.mapping.targets.TargetSet
    prospectivity : Volume or ndarray
        On the targets' grid (a Volume's ``targets.layer`` is used).

    Returns
    -------
    list of dict
        Keys of :data:`DRILL_COLUMNS`, ordered by target id. ``depth_below_top_m`` is
        the depth of the point below its target's top elevation. Ties pick the voxel
        that comes first in (i, j, k) order, so the result does not depend on threads.

    Raises
    ------
    VoxprospectError
        If the prospectivity is not on the targets' grid.
    """
    grid = targets.grid
    values = np.asarray(prospectivity[targets.layer] if isinstance(prospectivity, Volume)
                        else prospectivity, dtype=float)
    if values.shape != grid.shape:
        raise VoxprospectError(f"prospectivity has shape {values.shape}, the grid has {grid.shape}")
    if not targets.count:
        return []
    flat_labels = targets.labels.ravel()
    inside = np.flatnonzero(flat_labels)
    vals = np.where(np.isfinite(values.ravel()[inside]), values.ravel()[inside], -np.inf)
    # by target, then highest value, then the first voxel in (i, j, k) order
    order = np.lexsort((inside, -vals, flat_labels[inside]))
    sorted_labels = flat_labels[inside][order]
    first = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    best = {int(sorted_labels[f]): int(inside[order[f]]) for f in first}
    out = []
    for t in targets.table:
        i, j, k = np.unravel_index(best[t["target_id"]], grid.shape)
        x, y, z = (grid.origin[a] + (p + 0.5) * grid.cell_size[a] for a, p in enumerate((i, j, k)))
        out.append({"target_id": int(t["target_id"]), "x": float(x), "y": float(y), "z": float(z),
                    "i": int(i), "j": int(j), "k": int(k), "prospectivity": float(values[i, j, k]),
                    "depth_below_top_m": float(t["top_elevation_m"] - z)})
    return out
