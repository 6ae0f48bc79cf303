"""Distance fields of geological objects and the buffer transforms made from them.

A voxel mask's distance field in metres with the true (possibly anisotropic) cell
sizes, capped at a maximum distance (:func:`capped_edt`, :func:`distance_to_mask`), and
turned into evidence: the capped distance, a binary buffer or a fuzzy membership
(:func:`buffer_evidence`). See :mod:`voxprospect.evidence.layers` for the channels.
"""

from __future__ import annotations

import math

import numpy as np

from voxprospect.errors import LayerError, VoxprospectError
from voxprospect.vocabulary import TRANSFORMS

__all__ = ["buffer_evidence", "capped_edt", "distance_to_mask"]


def capped_edt(mask: np.ndarray, cell_size, max_distance_m: float | None) -> np.ndarray:
    """Float64 distance (m) from every cell centre to the nearest True cell.

    When a cap is given only the mask's bounding box grown by the cap is
    transformed: a cell outside it is more than the cap away from every mask cell
    along at least one axis, so its capped distance is the cap. This keeps the
    work (and the float64 temporaries) proportional to the object, not the grid.
    """
    from scipy import ndimage

    cell_size = np.asarray(cell_size, dtype=float)
    if max_distance_m is None:
        return ndimage.distance_transform_edt(~mask, sampling=cell_size)
    out = np.full(mask.shape, float(max_distance_m))
    idx = np.nonzero(mask)
    margin = np.floor(max_distance_m / cell_size).astype(int) + 1
    lo = [max(0, int(a.min()) - m) for a, m in zip(idx, margin)]
    hi = [min(n, int(a.max()) + 1 + m) for a, m, n in zip(idx, margin, mask.shape)]
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    dist = ndimage.distance_transform_edt(~mask[box], sampling=cell_size)
    np.minimum(dist, max_distance_m, out=dist)
    out[box] = dist
    return out


def distance_to_mask(mask, cell_size, max_distance_m: float | None = None) -> np.ndarray:
    """Euclidean distance in metres from each cell centre to the nearest masked cell.

    Distances are measured centre to centre with the true cell sizes
    (``scipy.ndimage.distance_transform_edt`` with ``sampling=cell_size``), so
    anisotropic cells give true metric distances. Cells of the mask are at 0.

    Parameters
    ----------
    mask : array_like of bool, shape (nx, ny, nz)
        The geological object (True = inside).
    cell_size : (dx, dy, dz)
        Cell sizes in metres.
    max_distance_m : float, optional
        Cap: larger distances are set to it. With a cap the transform only runs on
        the object's bounding box grown by the cap, which is much cheaper for
        small objects on large grids.

    Returns
    -------
    ndarray of float32, shape of ``mask``

    Raises
    ------
    LayerError
        If the mask is empty and no cap is given (the distance would be infinite).
        With a cap an empty mask gives the cap everywhere: the object is "farther
        than the cap" from every cell, which is what a capped buffer means.
    VoxprospectError
        If the cap is negative or a cell size is not positive.
    """
    mask = np.asarray(mask).astype(bool, copy=False)
    if mask.ndim != 3:
        raise VoxprospectError(f"a distance needs a 3D mask, got shape {mask.shape}")
    cs = tuple(float(v) for v in cell_size)
    if len(cs) != 3 or not all(v > 0 for v in cs):
        raise VoxprospectError(f"cell sizes must be three positive numbers, got {cell_size}")
    if max_distance_m is not None:
        max_distance_m = float(max_distance_m)
        if not max_distance_m >= 0 or not math.isfinite(max_distance_m):
            raise VoxprospectError(f"max_distance_m must be a finite number >= 0, got {max_distance_m}")
    if not mask.any():
        if max_distance_m is None:
            raise LayerError("the object selects no voxel, so its distance is undefined; "
                             "give max_distance_m to treat it as farther than the cap")
        return np.full(mask.shape, max_distance_m, dtype=np.float32)
    return capped_edt(mask, cs, max_distance_m).astype(np.float32)


def buffer_evidence(distance_m, transform: str, max_distance_m: float,
                    buffer_distance_m: float | None = None) -> np.ndarray:
    """Turn a distance field into an evidence value.

    Parameters
    ----------
    distance_m : array_like
        Distances in metres (NaN passes through as NaN).
    transform : {"distance", "binary", "fuzzy"}
        - ``"distance"``: ``min(distance, max_distance_m)``.
        - ``"binary"``: 1 where ``distance <= buffer_distance_m``, else 0
          (``buffer_distance_m`` required).
        - ``"fuzzy"``: 1 at the object, 0 at and beyond ``max_distance_m``. Without
          ``buffer_distance_m`` the decrease is linear, ``1 - d / max``. With it, the
          membership is a smooth S-curve that passes 0.5 at ``buffer_distance_m``:
          ``1 - s(t ** p)`` with ``t = d / max``, ``s(u) = 3u² - 2u³`` (smoothstep,
          ``s(0.5) = 0.5``) and ``p = ln 0.5 / ln(buffer / max)`` so that
          ``t ** p = 0.5`` at the buffer distance. It is flat near the object and
          near the cap, steepest around the buffer distance.
    max_distance_m : float
        Cap (m), positive.
    buffer_distance_m : float, optional
        Buffer width for ``"binary"``; midpoint for ``"fuzzy"`` (``0 < b < max``).

    Returns
    -------
    ndarray of float32

    Raises
    ------
    VoxprospectError
        Unknown transform (naming the allowed ones) or inconsistent distances.
    """
    if transform not in TRANSFORMS:
        raise VoxprospectError(f"unknown buffer transform {transform!r}; use one of: {', '.join(TRANSFORMS)}")
    cap = float(max_distance_m)
    if not cap > 0 or not math.isfinite(cap):
        raise VoxprospectError(f"max_distance_m must be a positive number, got {max_distance_m}")
    d = np.minimum(np.asarray(distance_m, dtype=np.float64), cap)
    if transform == "distance":
        return d.astype(np.float32)
    if transform == "binary":
        if buffer_distance_m is None:
            raise VoxprospectError("a binary buffer needs buffer_distance_m (the buffer width in metres)")
        out = (d <= float(buffer_distance_m)).astype(np.float32)
        out[np.isnan(d)] = np.nan
        return out
    t = d / cap
    if buffer_distance_m is None:
        return (1.0 - t).astype(np.float32)
    b = float(buffer_distance_m)
    if not 0 < b < cap:
        raise VoxprospectError(
            f"a fuzzy buffer's buffer_distance_m (its midpoint) must lie between 0 and "
            f"max_distance_m = {cap:g} m, got {b:g} m")
    u = t ** (math.log(0.5) / math.log(b / cap))
    return (1.0 - (3.0 * u * u - 2.0 * u ** 3)).astype(np.float32)
