"""Named layers on one voxel grid.

A :class:`Volume` is what travels between the pipeline's steps: a grid, an active
mask (cells inside the study volume: below topography, inside the modelled box) and
named layers, each an ``(nx, ny, nz)`` array. Continuous layers are floating point
(NaN = no value); class layers are integers with a class table ``{id: name}``.

Volumes are treated as immutable: filters return a new volume and share unchanged
arrays instead of copying them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping

import numpy as np

from voxprospect.errors import LayerError, VoxprospectError
from voxprospect.data.grid import VoxelGrid


@dataclass(frozen=True, eq=False)
class Volume:
    """Named layers on one grid.

    Parameters
    ----------
    grid : VoxelGrid
    layers : mapping of str to ndarray
        Each array has shape ``grid.shape``.
    active : ndarray of bool, optional
        Study-volume mask; all cells active when omitted.
    classes : mapping of str to {int: str}, optional
        Class tables of the integer (categorical) layers.
    meta : dict, optional
        Free-form provenance (JSON-serialisable): where the layers came from,
        standardisation statistics, descriptions.

    Raises
    ------
    VoxprospectError
        If an array does not match the grid's shape.
    """

    grid: VoxelGrid
    layers: Mapping[str, np.ndarray] = field(default_factory=dict)
    active: np.ndarray | None = None
    classes: Mapping[str, Mapping[int, str]] = field(default_factory=dict)
    meta: Mapping = field(default_factory=dict)

    def __post_init__(self):
        layers = {}
        for name, arr in dict(self.layers).items():
            arr = np.asarray(arr)
            if arr.shape != self.grid.shape:
                raise VoxprospectError(
                    f"layer {name!r} has shape {arr.shape}, the grid has {self.grid.shape}")
            layers[str(name)] = arr
        object.__setattr__(self, "layers", layers)
        if self.active is None:
            active = np.ones(self.grid.shape, dtype=bool)
        else:
            active = np.asarray(self.active).astype(bool, copy=False)
            if active.shape != self.grid.shape:
                raise VoxprospectError(
                    f"active mask has shape {active.shape}, the grid has {self.grid.shape}")
        object.__setattr__(self, "active", active)
        object.__setattr__(self, "classes", {str(k): {int(i): str(n) for i, n in v.items()}
                                             for k, v in dict(self.classes).items()})
        object.__setattr__(self, "meta", dict(self.meta))

    # -- access -----------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return list(self.layers)

    def __contains__(self, name) -> bool:
        return name in self.layers

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.layers[name]
        except KeyError:
            raise LayerError(f"no layer named {name!r}; layers are: {', '.join(self.layers) or '(none)'}") from None

    def is_categorical(self, name: str) -> bool:
        return name in self.classes or np.issubdtype(self[name].dtype, np.integer) or self[name].dtype == bool

    def class_ids(self, layer: str, names: Iterable[str]) -> list[int]:
        """Ids of the named classes of a categorical layer.

        Raises
        ------
        LayerError
            If the layer has no class table or a name is not in it.
        """
        table = self.classes.get(layer)
        if not table:
            raise LayerError(f"layer {layer!r} has no class table")
        by_name = {v.lower(): k for k, v in table.items()}
        ids = []
        for n in names:
            if str(n).lower() not in by_name:
                raise LayerError(f"layer {layer!r} has no class {n!r}; classes are: {', '.join(table.values())}")
            ids.append(by_name[str(n).lower()])
        return ids

    # -- filters ----------------------------------------------------------------
    def with_layer(self, name: str, array, classes: Mapping[int, str] | None = None) -> "Volume":
        """Return a new volume with ``name`` added or replaced."""
        layers = dict(self.layers)
        layers[name] = np.asarray(array)
        cls = dict(self.classes)
        if classes is not None:
            cls[name] = classes
        elif name in cls:
            del cls[name]
        return replace(self, layers=layers, classes=cls)

    def with_active(self, active) -> "Volume":
        return replace(self, active=np.asarray(active, dtype=bool))

    def with_meta(self, **meta) -> "Volume":
        m = dict(self.meta)
        m.update(meta)
        return replace(self, meta=m)

    def select(self, names: Iterable[str]) -> "Volume":
        """New volume with only the named layers (in that order)."""
        names = list(names)
        layers = {n: self[n] for n in names}
        return replace(self, layers=layers, classes={k: v for k, v in self.classes.items() if k in names})

    def merge(self, other: "Volume", prefix: str = "") -> "Volume":
        """Layers of both volumes on the shared grid; active = both active.

        Raises
        ------
        GridMismatchError
            If the grids differ.
        """
        self.grid.require_same(other.grid, "the volumes to merge")
        layers = dict(self.layers)
        cls = dict(self.classes)
        for n, a in other.layers.items():
            layers[prefix + n] = a
            if n in other.classes:
                cls[prefix + n] = other.classes[n]
        grid = self.grid if self.grid.crs else other.grid
        return Volume(grid, layers, self.active & other.active, cls, {**other.meta, **self.meta})

    def stack(self, names: Iterable[str] | None = None, dtype=np.float32) -> np.ndarray:
        """Layers as one ``(C, nx, ny, nz)`` array (the models' input)."""
        names = self.names if names is None else list(names)
        out = np.empty((len(names),) + self.grid.shape, dtype=dtype)
        for c, n in enumerate(names):
            out[c] = self[n]
        return out

    # -- summaries --------------------------------------------------------------
    def layer_stats(self, name: str) -> dict:
        """Statistics of a layer over active cells (class counts for class layers)."""
        arr = self[name]
        vals = arr[self.active]
        if self.is_categorical(name):
            ids, counts = np.unique(vals, return_counts=True)
            table = self.classes.get(name, {})
            return {"kind": "classes", "dtype": str(arr.dtype),
                    "classes": {table.get(int(i), str(int(i))): int(c) for i, c in zip(ids, counts)}}
        vals = vals[np.isfinite(vals)]
        if vals.size == 0:
            return {"kind": "continuous", "dtype": str(arr.dtype), "count": 0}
        return {"kind": "continuous", "dtype": str(arr.dtype), "count": int(vals.size),
                "nan": int(self.active.sum() - vals.size),
                "min": float(vals.min()), "max": float(vals.max()),
                "mean": float(vals.mean()), "std": float(vals.std())}

    def require_finite(self, name: str, source=None) -> None:
        """Raise :class:`LayerError` if a layer has no finite value in the active cells."""
        arr = self[name]
        if not np.issubdtype(arr.dtype, np.floating):
            return
        if not np.isfinite(arr[self.active]).any():
            where = f" in {source}" if source else ""
            raise LayerError(f"layer {name!r}{where} is empty or all-NaN inside the study volume")

    def describe(self) -> dict:
        return {"grid": self.grid.to_dict(), "active_cells": int(self.active.sum()),
                "layers": {n: self.layer_stats(n) for n in self.names}, "meta": dict(self.meta)}
