"""Standardisation of geophysical channels: fitted on the training volume's active
cells, recorded, and applied unchanged to new data (:func:`fit_standardiser`,
:func:`apply_standardiser`).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from voxprospect.errors import LayerError, VoxprospectError
from voxprospect.vocabulary import STANDARDISERS

__all__ = ["apply_standardiser", "fit_standardiser"]


def fit_standardiser(values, active=None, method: str = "robust", *, log10: bool = False,
                     name: str = "layer") -> dict:
    """Fit standardisation statistics on the active, finite cells of a layer.

    The stored form is ``(value - center) / scale`` (after ``log10`` when asked):

    - ``"robust"``: center = median, scale = inter-quartile range (q75 - q25);
    - ``"zscore"``: center = mean, scale = standard deviation;
    - ``"minmax"``: center = minimum, scale = maximum - minimum (result in 0..1);
    - ``"none"``: center 0, scale 1.

    A zero scale (a constant layer, or an IQR of 0 when most values are equal)
    falls back to the standard deviation and then to 1, and is flagged
    ``"degenerate": True`` in the statistics, so a constant channel becomes 0
    rather than NaN.

    Parameters
    ----------
    values : array_like
    active : array_like of bool, optional
        Cells to fit on (all when omitted).
    method : {"robust", "zscore", "minmax", "none"}
    log10 : bool
        Take ``log10`` first (resistivity, conductivity); values must be > 0.
    name : str
        Layer name used in error messages.

    Returns
    -------
    dict
        JSON-serialisable: method, log10, center, scale, degenerate, count.

    Raises
    ------
    LayerError
        If the layer has no finite active value, or ``log10`` meets a value <= 0.
    VoxprospectError
        Unknown method.
    """
    if method not in STANDARDISERS:
        raise VoxprospectError(f"unknown standardisation {method!r} for {name!r}; "
                               f"use one of: {', '.join(STANDARDISERS)}")
    vals = np.asarray(values, dtype=np.float64)
    if active is not None:
        vals = vals[np.asarray(active, dtype=bool)]
    vals = vals[np.isfinite(vals)]
    if vals.size == 0:
        raise LayerError(f"layer {name!r} is empty or all-NaN inside the study volume; nothing to standardise")
    if log10:
        if (vals <= 0).any():
            raise LayerError(f"layer {name!r} has {int((vals <= 0).sum())} values <= 0 (min {vals.min():g}); "
                             "log10 needs positive values (resistivity in ohm m, not its log)")
        vals = np.log10(vals)
    degenerate = False
    if method == "none":
        center, scale = 0.0, 1.0
    else:
        if method == "robust":
            q25, center, q75 = np.percentile(vals, [25, 50, 75])
            scale = q75 - q25
        elif method == "zscore":
            center, scale = vals.mean(), vals.std()
        else:
            center, scale = vals.min(), vals.max() - vals.min()
        if not scale > 0:
            degenerate = True
            scale = vals.std() if method == "robust" and vals.std() > 0 else 1.0
    return {"method": method, "log10": bool(log10), "center": float(center), "scale": float(scale),
            "degenerate": degenerate, "count": int(vals.size)}


def apply_standardiser(values, stats: Mapping, active=None, *, name: str = "layer") -> np.ndarray:
    """Standardise a layer with stored statistics (from :func:`fit_standardiser`).

    Parameters
    ----------
    values : array_like
    stats : mapping
        ``center``, ``scale`` and ``log10`` (as stored in a report or checkpoint).
    active : array_like of bool, optional
        Cells outside it become NaN (and are not checked for ``log10``).
    name : str
        Layer name used in error messages.

    Returns
    -------
    ndarray of float32

    Raises
    ------
    LayerError
        If ``log10`` meets an active value <= 0.
    VoxprospectError
        If the statistics lack a key or have a non-positive scale.
    """
    try:
        center, scale, log10 = float(stats["center"]), float(stats["scale"]), bool(stats.get("log10", False))
    except (KeyError, TypeError, ValueError) as exc:
        raise VoxprospectError(f"standardisation statistics of {name!r} are incomplete ({exc}): {stats!r}") from None
    if not scale > 0:
        raise VoxprospectError(f"standardisation scale of {name!r} must be positive, got {scale}")
    vals = np.array(values, dtype=np.float64)
    if active is not None:
        vals[~np.asarray(active, dtype=bool)] = np.nan
    if log10:
        bad = np.isfinite(vals) & (vals <= 0)
        if bad.any():
            raise LayerError(f"layer {name!r} has {int(bad.sum())} values <= 0; log10 needs positive values")
        with np.errstate(invalid="ignore", divide="ignore"):
            vals = np.log10(vals)
    return ((vals - center) / scale).astype(np.float32)
