"""Evidence channels: 3D buffers of geological objects and standardised geophysics.

"3D buffer analysis" (METHOD.md, Evidence buffering) is a distance field from a
geological object (a voxel mask: a lithology, a dyke swarm, voxelised faults)
measured in metres with the true, possibly anisotropic, cell sizes, capped at a
maximum distance and turned into an evidence value:

- ``"distance"``: the capped distance itself (0 inside the object);
- ``"binary"``: 1 within ``buffer_distance_m`` of the object, 0 beyond;
- ``"fuzzy"``: a membership decreasing from 1 at the object to 0 at
  ``max_distance_m`` (see :func:`buffer_evidence` for the shapes).

Geophysical channels (density, susceptibility, resistivity) are standardised with
statistics fitted on the training volume's active cells and stored in
``meta["evidence"]["stats"]``, so that prediction on new data re-uses the training
statistics instead of refitting them.

Cells outside the study volume (above topography) are NaN in the evidence. Before
windows are cut they are filled with a per-channel *neutral value*: the channel's
mean over the training volume's active cells, after its transform and
standardisation (:func:`neutral_fill`). A fixed 0 would not be neutral: it is
"inside the object" for a raw distance channel and "at the cap" for a fuzzy one,
and only roughly the centre of a standardised one. The values are recorded in
``meta["evidence"]["fill_values"]`` and in checkpoints, and prediction uses the
training values, so a window reaching outside the study volume sees "average"
evidence there in training and prediction alike.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from voxprospect.errors import GridMismatchError, LayerError, VoxprospectError
from voxprospect.data.volume import Volume

from voxprospect.vocabulary import STANDARDISERS, TRANSFORMS
from voxprospect.vocabulary import EVIDENCE_KINDS as KINDS


# -- distance fields ------------------------------------------------------------------

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


# -- standardisation ------------------------------------------------------------------

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


# -- channel specifications -----------------------------------------------------------

@dataclass
class EvidenceSpec:
    """One evidence channel.

    Parameters
    ----------
    name : str
        Channel name (the layer name in the evidence volume).
    kind : {"buffer", "distance", "geophysics"}
        ``"buffer"``: a distance buffer of a geological object given as a voxel
        layer; ``"distance"``: the layer already holds distances in metres (e.g.
        :func:`voxprospect.gridding.voxelise.surface_distance` of a fault surface), turned
        into evidence like a buffer; ``"geophysics"``: a standardised continuous layer.
    source : str
        Name of the input volume the layer comes from.
    layer : str
        Layer name in that input.
    classes : list of str, optional
        Buffer only: the class names (of ``layer``'s class table) that make up the
        geological object. ``None``: every cell where the layer is non-zero / True.
    transform : {"distance", "binary", "fuzzy"}
        Buffer and distance channels.
    max_distance_m : float
        Buffer cap in metres (default 2000).
    buffer_distance_m : float, optional
        Buffer width (binary, required) or midpoint (fuzzy, optional).
    standardise : {"robust", "zscore", "minmax", "none"}, optional
        Default ``"robust"`` for geophysics and ``"none"`` for buffers (a raw
        ``"distance"`` buffer in metres is worth standardising too).
    log10 : bool
        Geophysics only: take ``log10`` before standardising (resistivity).

    Raises
    ------
    VoxprospectError
        On an unknown kind, transform or method, or inconsistent distances.
    """

    name: str
    kind: str
    source: str
    layer: str
    classes: list[str] | None = None
    transform: str = "fuzzy"
    max_distance_m: float = 2000.0
    buffer_distance_m: float | None = None
    standardise: str | None = None
    log10: bool = False

    def __post_init__(self):
        where = f"evidence channel {self.name!r}"
        if not isinstance(self.name, str) or not self.name.strip():
            raise VoxprospectError(f"an evidence channel needs a non-empty name, got {self.name!r}")
        if self.kind not in KINDS:
            raise VoxprospectError(f"{where}: unknown kind {self.kind!r}; use one of: {', '.join(KINDS)}")
        for key in ("source", "layer"):
            if not isinstance(getattr(self, key), str) or not getattr(self, key):
                raise VoxprospectError(f"{where}: {key} must be a non-empty name")
        if self.standardise is None:
            self.standardise = "robust" if self.kind == "geophysics" else "none"
        if self.standardise not in STANDARDISERS:
            raise VoxprospectError(f"{where}: unknown standardisation {self.standardise!r}; "
                                   f"use one of: {', '.join(STANDARDISERS)}")
        if self.classes is not None:
            if isinstance(self.classes, str):
                self.classes = [self.classes]
            self.classes = [str(c) for c in self.classes]
            if not self.classes:
                raise VoxprospectError(f"{where}: classes is an empty list; leave it out to use every non-zero cell")
        self.max_distance_m = float(self.max_distance_m)
        if self.buffer_distance_m is not None:
            self.buffer_distance_m = float(self.buffer_distance_m)
        if self.kind in ("buffer", "distance"):
            if self.transform not in TRANSFORMS:
                raise VoxprospectError(f"{where}: unknown transform {self.transform!r}; "
                                       f"use one of: {', '.join(TRANSFORMS)}")
            if not (self.max_distance_m > 0 and math.isfinite(self.max_distance_m)):
                raise VoxprospectError(f"{where}: max_distance_m must be positive, got {self.max_distance_m}")
            b = self.buffer_distance_m
            if self.transform == "binary" and b is None:
                raise VoxprospectError(f"{where}: a binary buffer needs buffer_distance_m")
            if b is not None and not 0 <= b <= self.max_distance_m:
                raise VoxprospectError(f"{where}: buffer_distance_m = {b:g} m must lie between 0 and "
                                       f"max_distance_m = {self.max_distance_m:g} m")
            if self.transform == "fuzzy" and b is not None and not 0 < b < self.max_distance_m:
                raise VoxprospectError(f"{where}: a fuzzy buffer's midpoint buffer_distance_m must lie strictly "
                                       f"between 0 and max_distance_m")
            if self.log10:
                raise VoxprospectError(f"{where}: log10 applies to geophysics channels only")
            if self.kind == "distance" and self.classes is not None:
                raise VoxprospectError(f"{where}: classes apply to buffer channels only")
        elif self.classes is not None:
            raise VoxprospectError(f"{where}: classes apply to buffer channels only")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping) -> "EvidenceSpec":
        known = set(cls.__dataclass_fields__)
        unknown = set(d) - known
        if unknown:
            raise VoxprospectError(f"evidence channel {d.get('name', '?')!r}: unknown keys "
                                   f"{', '.join(sorted(unknown))}; allowed: {', '.join(sorted(known))}")
        return cls(**dict(d))


def _object_mask(spec: EvidenceSpec, vol: Volume) -> np.ndarray:
    """The geological object of a buffer channel, as a voxel mask."""
    arr = vol.layers[spec.layer]
    if spec.classes is not None:
        try:
            ids = vol.class_ids(spec.layer, spec.classes)
        except LayerError as exc:
            raise LayerError(f"evidence channel {spec.name!r}: {exc}") from None
        obj = np.isin(arr, ids)
    elif arr.dtype == bool:
        obj = arr.copy()
    elif np.issubdtype(arr.dtype, np.floating):
        obj = np.isfinite(arr) & (arr != 0)
    else:
        obj = arr != 0
    # only the modelled part of the source counts: outside its active mask a
    # geological model has no meaningful class
    obj &= vol.active
    if not obj.any():
        what = f"classes {', '.join(spec.classes)}" if spec.classes else "non-zero cells"
        raise LayerError(f"evidence channel {spec.name!r}: the object ({what} of layer {spec.layer!r} "
                         f"in {spec.source!r}) selects no voxel inside the study volume")
    return obj


def build_evidence(specs: Sequence[EvidenceSpec | Mapping], sources: Mapping[str, Volume],
                   stats: Mapping[str, Mapping] | None = None,
                   progress: Callable[[float, str], None] | None = None,
                   source_files: Mapping[str, object] | None = None,
                   fill: Mapping[str, float] | None = None) -> Volume:
    """Build the evidence volume: one float32 channel per specification.

    Parameters
    ----------
    specs : sequence of EvidenceSpec (or dicts of its fields)
        Any number of channels; names must be unique.
    sources : mapping of str to Volume
        Input volumes by name (geological model, inversions), all on one grid.
    stats : mapping, optional
        Standardisation statistics by channel name, normally the training volume's
        ``meta["evidence"]["stats"]``. When given they are applied instead of
        fitted, so new data are scaled exactly as the training data were.
    progress : callable, optional
        ``progress(fraction, message)``; may raise :class:`~voxprospect.errors.Cancelled`.
    source_files : mapping of str to path-like, optional
        The file each source was read from; a problem with a channel's layer then
        names that file first.
    fill : mapping, optional
        Neutral fill values by channel (the training volume's ``fill_values``); when
        omitted each channel's mean over its active cells (:func:`neutral_fill`).

    Returns
    -------
    Volume
        Channels in ``specs`` order, NaN outside the study volume (the intersection
        of the sources' active masks). ``meta["evidence"]`` holds
        ``{"channels": [spec dicts], "stats": {name: stats}, "fill_values": {name: value}}``.

    Raises
    ------
    GridMismatchError
        If the sources used are not on one grid (naming them).
    LayerError
        Unknown source, layer or class, an all-NaN or constant geophysics layer,
        an empty object or missing statistics (each naming the channel, and the
        source's file when ``source_files`` is given).
    VoxprospectError
        Duplicate channel names or no channel.
    """
    current = {}
    try:
        return _build_evidence(specs, sources, stats, progress, current, fill)
    except LayerError as e:
        spec = current.get("spec")
        path = (source_files or {}).get(spec.source) if spec is not None else None
        if path is None:
            raise
        raise LayerError(f"{path}: {e}") from None


def _build_evidence(specs, sources, stats, progress, current, fill=None) -> Volume:
    specs = [s if isinstance(s, EvidenceSpec) else EvidenceSpec.from_dict(s) for s in specs]
    if not specs:
        raise VoxprospectError("no evidence channel is defined")
    names = [s.name for s in specs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise VoxprospectError(f"evidence channel names must be unique; repeated: {', '.join(dup)}")
    for s in specs:
        current["spec"] = s
        if s.source not in sources:
            raise LayerError(f"evidence channel {s.name!r}: unknown source {s.source!r}; "
                             f"sources are: {', '.join(sources) or '(none)'}")
        if s.layer not in sources[s.source].layers:
            raise LayerError(f"evidence channel {s.name!r}: source {s.source!r} has no layer {s.layer!r}; "
                             f"layers are: {', '.join(sources[s.source].names) or '(none)'}")
    used = list(dict.fromkeys(s.source for s in specs))
    first = sources[used[0]]
    grid = first.grid
    active = first.active.copy()
    for name in used[1:]:
        other = sources[name]
        diff = first.grid.differences(other.grid)
        if diff:
            raise GridMismatchError(f"sources {used[0]!r} and {name!r} are on different grids: " + "; ".join(diff)
                                    + "; resample them onto one grid first (voxprospect.data.resample_to_grid)")
        if grid.crs is None:
            grid = other.grid
        active &= other.active
    if not active.any():
        raise LayerError(f"the sources {', '.join(used)} have no active cell in common")

    layers, out_stats, fills = {}, {}, {}
    current.pop("spec", None)
    for c, spec in enumerate(specs):
        current["spec"] = spec
        if progress is not None:
            progress(c / len(specs), f"evidence channel {spec.name}")
        vol = sources[spec.source]
        if spec.kind == "buffer":
            obj = _object_mask(spec, vol)
            dist = distance_to_mask(obj, grid.cell_size, spec.max_distance_m)
            values = buffer_evidence(dist, spec.transform, spec.max_distance_m, spec.buffer_distance_m)
        elif spec.kind == "distance":
            dist = np.asarray(vol.layers[spec.layer], dtype=np.float64)
            if (dist[active & np.isfinite(dist)] < 0).any():
                raise LayerError(f"evidence channel {spec.name!r}: layer {spec.layer!r} of {spec.source!r} has "
                                 "negative distances; a distance layer holds metres from the object (>= 0)")
            values = buffer_evidence(dist, spec.transform, spec.max_distance_m, spec.buffer_distance_m)
        else:
            if spec.layer in vol.classes:
                raise LayerError(f"evidence channel {spec.name!r}: layer {spec.layer!r} of {spec.source!r} is a "
                                 "class layer; use kind = \"buffer\" with classes for a geological object")
            values = vol.layers[spec.layer]
            finite = np.asarray(values, dtype=np.float64)[active]
            finite = finite[np.isfinite(finite)]
            if finite.size and finite.min() == finite.max():
                raise LayerError(f"evidence channel {spec.name!r}: layer {spec.layer!r} of {spec.source!r} is "
                                 f"constant ({finite.min():g}) over the study volume, so it carries no "
                                 "evidence (standardised it would be an all-zero channel); drop the channel "
                                 "or give a layer that varies")
        if spec.standardise != "none" or spec.log10:
            if stats is not None:
                if spec.name not in stats:
                    raise LayerError(f"evidence channel {spec.name!r} has no stored standardisation statistics; "
                                     f"stored channels: {', '.join(stats) or '(none)'}")
                st = dict(stats[spec.name])
            else:
                try:
                    st = fit_standardiser(values, active, spec.standardise, log10=spec.log10, name=spec.layer)
                except LayerError as e:
                    raise LayerError(f"evidence channel {spec.name!r}: {e}") from None
            try:
                out = apply_standardiser(values, st, active, name=spec.layer)
            except LayerError as e:
                raise LayerError(f"evidence channel {spec.name!r}: {e}") from None
            out_stats[spec.name] = st
        else:
            out = np.array(values, dtype=np.float32)
            out[~active] = np.nan
        if not np.isfinite(out[active]).any():
            raise LayerError(f"evidence channel {spec.name!r} (layer {spec.layer!r} of {spec.source!r}) is "
                             "empty or all-NaN inside the study volume")
        layers[spec.name] = out
        if fill is not None and spec.name in fill:
            fills[spec.name] = float(fill[spec.name])
        else:
            fills[spec.name] = neutral_fill(out, active)
    if progress is not None:
        progress(1.0, "evidence done")
    meta = {"evidence": {"channels": [s.to_dict() for s in specs], "stats": out_stats,
                         "sources": used, "fill_values": fills,
                         "fill_rule": FILL_RULE}}
    return Volume(grid, layers, active, {}, meta)


FILL_RULE = ("cells outside the study volume take the channel's mean over the training volume's active cells "
             "(after transform and standardisation)")


def neutral_fill(values, active) -> float:
    """The neutral value of a channel: its mean over the active, finite cells (float64)."""
    v = np.asarray(values, dtype=np.float64)[np.asarray(active, bool)]
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else 0.0


def fill_values(evidence: Volume, names: Sequence[str] | None = None) -> dict:
    """The recorded neutral fill value of each channel (0 for evidence written before
    fill values were recorded)."""
    names = list(names or evidence.names)
    rec = dict(evidence.meta.get("evidence", {}).get("fill_values") or {})
    return {n: float(rec.get(n, 0.0)) for n in names}


def fill_inactive(stack, fill=0.0) -> np.ndarray:
    """Replace NaN (inactive cells, gaps) by ``fill`` before windows are cut.

    Parameters
    ----------
    stack : ndarray
        Any evidence array, e.g. the ``(C, nx, ny, nz)`` stack.
    fill : float or sequence of float
        One value, or one per channel (axis 0) such as :func:`fill_values`.

    Returns
    -------
    ndarray of float32 (a new array; the input is left unchanged)
    """
    arr = np.array(stack, dtype=np.float32)
    _fill_nan(arr, fill)
    return arr


def _fill_nan(arr: np.ndarray, fill) -> None:
    """In place: NaN/inf of ``arr`` to ``fill`` (scalar, or one value per axis-0 channel)."""
    f = np.asarray(fill, dtype=np.float32)
    if f.ndim == 0:
        arr[~np.isfinite(arr)] = f
        return
    if f.shape[0] != arr.shape[0]:
        raise VoxprospectError(f"{f.shape[0]} fill values for {arr.shape[0]} channels")
    for c in range(arr.shape[0]):
        bad = ~np.isfinite(arr[c])
        arr[c][bad] = f[c]


def evidence_stack(evidence: Volume, names: Sequence[str] | None = None, fill: float = 0.0) -> np.ndarray:
    """The ``(C, nx, ny, nz)`` float32 model input with inactive cells filled.

    Parameters
    ----------
    evidence : Volume
        Output of :func:`build_evidence`.
    names : sequence of str, optional
        Channel order (the evidence's own order when omitted).
    fill : float, sequence of float or "recorded"
        ``"recorded"`` uses the evidence's own :func:`fill_values`.

    Returns
    -------
    ndarray of float32
    """
    out = evidence.stack(names)
    if isinstance(fill, str):
        fill = list(fill_values(evidence, names).values())
    _fill_nan(out, fill)
    return out
