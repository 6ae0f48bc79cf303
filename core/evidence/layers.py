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

The distance fields and buffers are in :mod:`~voxprospect.evidence.distances`, the
standardisation in :mod:`~voxprospect.evidence.standardise`; this module defines the
channels (:class:`EvidenceSpec`), builds the evidence volume and fills it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from voxprospect.errors import GridMismatchError, LayerError, VoxprospectError
from voxprospect.data.volume import Volume
from voxprospect.evidence.distances import buffer_evidence, capped_edt, distance_to_mask
from voxprospect.evidence.standardise import apply_standardiser, fit_standardiser
from voxprospect.vocabulary import STANDARDISERS, TRANSFORMS
from voxprospect.vocabulary import EVIDENCE_KINDS as KINDS

__all__ = ["FILL_RULE", "KINDS", "STANDARDISERS", "TRANSFORMS", "EvidenceSpec", "apply_standardiser",
           "buffer_evidence", "build_evidence", "capped_edt", "distance_to_mask", "evidence_stack", "fill_inactive",
           "fill_values", "fit_standardiser", "neutral_fill"]


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
