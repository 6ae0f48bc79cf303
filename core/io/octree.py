"""UBC-GIF / SimPEG OcTree meshes and models, volume-weighted onto a voxel grid.

The mesh file (``nx ny nz`` base cells, the top-south-west corner, the smallest cell
size, the cell count, then one ``i j k size`` row per cell in base-cell units, k
counted from the top) and its models (one value per mesh cell, in the mesh file's
order) are read by ``discretize.TreeMesh.read_UBC`` / ``read_model_UBC``, the
library SimPEG writes them with. Values are then averaged onto the grid by exact
overlap volumes (:mod:`._mesh_average`).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import numpy as np

from voxprospect.errors import InputFileError
from voxprospect.data.grid import VoxelGrid
from voxprospect.data.volume import Volume
from voxprospect.io._mesh_average import average_mesh_onto_grid
from voxprospect.io._optional import require

#: cells of the automatic (finest-cell) grid above which a grid must be given
MAX_AUTO_CELLS = 50_000_000


def read_octree_mesh(path):
    """Read a UBC OcTree mesh file as a ``discretize.TreeMesh``.

    Raises
    ------
    InputFileError
        If discretize cannot parse it (the reason quoted).
    """
    p = Path(path)
    discretize = require("discretize", p)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            return discretize.TreeMesh.read_UBC(str(p))
    except Exception as e:
        raise InputFileError(p, f"not a readable UBC OcTree mesh ({type(e).__name__}: {e})") from None


def read_octree_models(mesh, mesh_path, model=None, no_data=None) -> tuple[dict, np.ndarray]:
    """Models of an OcTree mesh: ``{layer: values in mesh order}`` and the active cells.

    ``model`` is a path, a list of paths or ``{layer: path}``; without it the models
    beside the mesh are found as for tensor meshes (``io.ubc.find_models``).
    """
    from voxprospect.io.ubc import CONDUCTIVITY_AIR, NO_DATA_VALUES, models_by_layer

    models = models_by_layer(mesh_path, model)
    layers, active = {}, np.ones(mesh.n_cells, bool)
    for name, q in models.items():
        if not q.exists():
            raise InputFileError(q, "model file not found")
        try:
            count = np.loadtxt(q, ndmin=1).size
        except ValueError as e:
            raise InputFileError(q, f"not a UBC model (one number per line): {e}") from None
        if count != mesh.n_cells:
            raise InputFileError(q, f"holds {count} values; the OcTree mesh {mesh_path} has {mesh.n_cells} cells")
        try:
            values = np.asarray(mesh.read_model_UBC(str(q)), dtype=float)
        except Exception as e:
            raise InputFileError(q, f"not a model of {mesh_path} ({type(e).__name__}: {e})") from None
        if values.shape != (mesh.n_cells,):
            raise InputFileError(q, f"holds {values.size} values; the OcTree mesh {mesh_path} has "
                                 f"{mesh.n_cells} cells")
        nd = no_data if no_data is not None else NO_DATA_VALUES + (
            (CONDUCTIVITY_AIR,) if q.suffix.lower() in (".con", ".cond") else ())
        bad = ~np.isfinite(values) | np.isin(values, np.asarray(nd, float))
        values[bad] = np.nan
        active &= ~bad
        layers[name] = values
    return layers, active


def finest_grid(mesh, crs=None) -> VoxelGrid:
    """The mesh's box at its smallest cell size."""
    h = np.array([mesh.h[i].min() for i in range(3)], float)
    lo = np.asarray(mesh.nodes.min(axis=0), float)
    hi = np.asarray(mesh.nodes.max(axis=0), float)
    shape = np.rint((hi - lo) / h).astype(int)
    return VoxelGrid(tuple(lo), tuple(h), tuple(shape), crs)


def read_octree_volume(path, grid: VoxelGrid | None = None, model=None, no_data=None, crs=None) -> Volume:
    """Read an OcTree mesh and its models onto ``grid`` (default: its box at the finest size).

    Raises
    ------
    InputFileError
        If the mesh or a model is unreadable or of the wrong size, or the default
        grid would exceed ``MAX_AUTO_CELLS``.
    """
    p = Path(path)
    mesh = read_octree_mesh(p)
    layers, active = read_octree_models(mesh, p, model, no_data)
    if grid is None:
        grid = finest_grid(mesh, crs)
        if grid.n_cells > MAX_AUTO_CELLS:
            raise InputFileError(p, f"at its finest cell size the OcTree mesh is {grid.n_cells:,} cells; "
                                 "give a grid (read_volume(path, grid=...) or convert --like/--cell-size)")
    meta = {"source": {"format": "ubc-octree", "mesh": str(p), "cells": int(mesh.n_cells)},
            "resampled": {"from": "OcTree mesh", "method": "volume-weighted mean"}}
    return average_mesh_onto_grid(mesh, layers, grid, active=active, meta=meta)


def _register():
    from voxprospect.io import register_reader
    register_reader("ubc-octree", read_octree_volume)


_register()
