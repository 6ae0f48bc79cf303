"""Volume-weighted averaging of discretize meshes (tensor or tree) onto a voxel grid.

Used by the OcTree (UBC/SimPEG), geoh5 and OMF readers. The weights are
``discretize.utils.volume_average``'s exact cell-overlap volumes; discretize extends a
mesh's edge values beyond its extent, so grid cells less than half inside the source
mesh's box are made inactive instead.
"""

from __future__ import annotations

import numpy as np

from voxprospect.data.grid import VoxelGrid
from voxprospect.errors import InputFileError
from voxprospect.data.volume import Volume
from voxprospect.io._optional import require


def single_volume(path, volumes: list, missing: str, option: str):
    """The one volume object a file holds among ``volumes``.

    Raises
    ------
    InputFileError
        None (``missing`` says what was looked for) or several (name them, and the
        reader ``option`` that chooses one).
    """
    if not volumes:
        raise InputFileError(path, f"holds no {missing}")
    if len(volumes) > 1:
        raise InputFileError(path, f"holds several volumes; choose one with {option}=: "
                             + ", ".join(repr(v.name) for v in volumes))
    return volumes[0]


def grid_as_tensor_mesh(grid: VoxelGrid):
    """The grid as a ``discretize.TensorMesh`` (cell order: x fastest, like our Fortran ravel)."""
    discretize = require("discretize")
    return discretize.TensorMesh([np.full(n, d) for n, d in zip(grid.shape, grid.cell_size)], origin=grid.origin)


def _box_fraction(grid: VoxelGrid, lo, hi) -> np.ndarray:
    """Fraction of each grid cell inside the box ``lo..hi`` (separable 1-D overlaps)."""
    frac = None
    for axis in range(3):
        e = grid.axis_edges(axis)
        f = (np.clip(e[1:], lo[axis], hi[axis]) - np.clip(e[:-1], lo[axis], hi[axis])) / grid.cell_size[axis]
        frac = f if frac is None else np.multiply.outer(frac, f)
    return frac


def average_mesh_onto_grid(mesh, layers: dict, grid: VoxelGrid, *, active=None, classes=None,
                           meta=None) -> Volume:
    """Average cell values of a discretize mesh onto ``grid``.

    Parameters
    ----------
    mesh : discretize.TensorMesh or discretize.TreeMesh
    layers : dict of str to ndarray
        Values in the mesh's cell order; NaN = no data.
    active : ndarray of bool, optional
        Mesh cells with data (default: all).
    classes : dict, optional
        Class tables: those layers are taken from the source cell covering most of
        each grid cell (never averaged).

    Returns
    -------
    Volume
        float64 layers (class layers int32, -1 where no data); a grid cell is active
        when at least half of it is covered by active source cells.
    """
    discretize_utils = require("discretize").utils
    target = grid_as_tensor_mesh(grid)
    m = discretize_utils.volume_average(mesh, target)  # (grid cells, mesh cells) sparse
    src_active = np.ones(mesh.n_cells, bool) if active is None else np.asarray(active, bool).ravel()
    lo = np.asarray(mesh.nodes.min(axis=0), float)
    hi = np.asarray(mesh.nodes.max(axis=0), float)
    inside = _box_fraction(grid, lo, hi).ravel(order="F")
    coverage = (m @ src_active.astype(float)) * inside
    grid_active = coverage >= 0.5
    classes = dict(classes or {})
    out = {}
    for name, values in layers.items():
        v = np.asarray(values, dtype=float).ravel()
        ok = src_active & np.isfinite(v)
        if name in classes:
            # the majority source cell: nearest source cell centre to each grid centre
            idx = mesh.get_containing_cells(grid.cell_centres()) if hasattr(mesh, "get_containing_cells") \
                else tensor_containing(mesh, grid.cell_centres())
            lab = np.where(ok[idx], v[idx], -1).astype(np.int32)
            lab[~grid_active] = -1
            out[name] = lab.reshape(grid.shape, order="F")
            continue
        num = m @ np.where(ok, v, 0.0)
        den = m @ ok.astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = num / den
        mean[~grid_active | (den <= 0)] = np.nan
        out[name] = mean.reshape(grid.shape, order="F")
    return Volume(grid, out, grid_active.reshape(grid.shape, order="F"), classes, dict(meta or {}))


def tensor_containing(mesh, points):
    idx = []
    for axis in range(3):
        edges = mesh.nodes_x if axis == 0 else mesh.nodes_y if axis == 1 else mesh.nodes_z
        idx.append(np.clip(np.searchsorted(edges, points[:, axis]) - 1, 0, len(edges) - 2))
    n = mesh.shape_cells
    return idx[0] + n[0] * (idx[1] + n[1] * idx[2])
