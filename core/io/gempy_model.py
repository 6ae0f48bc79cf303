"""gempy geological models computed on a voxprospect grid.

A gempy ``GeoModel`` (surface points, orientations, structural groups and fault
relations, built in memory or loaded from a ``.gempy`` file) is evaluated at the
cell centres of a :class:`~voxprospect.data.grid.VoxelGrid` through gempy's *custom
grid*, so lithology and fault blocks line up with our cells exactly, whatever the
model's own regular grid is. The result is a :class:`~voxprospect.data.volume.Volume`:

- ``lithology`` (int16): gempy's element ids (1 = youngest unit ... n = basement),
  with the class table taken from the model's element names; 0 = not computed
  (above topography);
- ``fault_block_<group>`` (int8, 0/1): the side of each fault group's surface;
- ``fault_block`` (int16): the combined fault compartment id (one bit per fault).

If the model has a topography, cells whose centre lies above it are inactive.
"""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from pathlib import Path

import numpy as np

from voxprospect.errors import InputFileError, VoxprospectError
from voxprospect.data.grid import VoxelGrid
from voxprospect.data.volume import Volume

#: cell centres evaluated per gempy call; bounds the memory of gempy's kernel matrices
DEFAULT_CHUNK_POINTS = 400_000


def import_gempy():
    """Import gempy without its start-up banner on stdout (the CLI's output is ours)."""
    with contextlib.redirect_stdout(io.StringIO()):
        import gempy
    return gempy


def layer_name_for_fault(group_name: str) -> str:
    """Layer name of one fault group's block: ``fault_block_<group>``, safe characters only."""
    return "fault_block_" + re.sub(r"[^0-9A-Za-z_]+", "_", str(group_name)).strip("_")


def topography_elevation(geo_model, x, y) -> np.ndarray | None:
    """Elevation of the model's topography at map points, or ``None`` without one.

    Parameters
    ----------
    geo_model : gempy.core.data.GeoModel
    x, y : ndarray
        Map coordinates (same shape).

    Returns
    -------
    ndarray or None
        Bilinear interpolation of gempy's topography raster; points outside it
        take the nearest edge value.
    """
    from scipy.interpolate import RegularGridInterpolator

    topo = getattr(geo_model.grid, "topography", None)
    if topo is None or getattr(topo, "values_2d", None) is None or topo.values_2d.size == 0:
        return None
    v2d = np.asarray(topo.values_2d, dtype=float)
    tx, ty, tz = v2d[:, 0, 0], v2d[0, :, 1], v2d[:, :, 2]
    if tx[0] > tx[-1]:
        tx, tz = tx[::-1], tz[::-1, :]
    if ty[0] > ty[-1]:
        ty, tz = ty[::-1], tz[:, ::-1]
    interp = RegularGridInterpolator((tx, ty), tz, method="linear", bounds_error=False, fill_value=None)
    xq = np.clip(np.asarray(x, dtype=float), tx[0], tx[-1])
    yq = np.clip(np.asarray(y, dtype=float), ty[0], ty[-1])
    return interp(np.column_stack([xq.ravel(), yq.ravel()])).reshape(np.shape(x))


def compute_geomodel_on_grid(geo_model, grid: VoxelGrid, *, active=None, dtype: str = "float64",
                             chunk_points: int = DEFAULT_CHUNK_POINTS, progress=None) -> Volume:
    """Evaluate a gempy model at the cell centres of ``grid``.

    Parameters
    ----------
    geo_model : gempy.core.data.GeoModel
        A model with its structural frame (surface points, orientations, groups,
        fault relations) set. Its own regular grid is not used; its topography,
        if any, defines the active cells.
    grid : VoxelGrid
        The target grid; the model's coordinates must be in the grid's CRS.
    active : ndarray of bool, optional
        Cells to compute (``grid.shape``); combined with the topography mask.
        Other cells get lithology 0 and fault blocks 0.
    dtype : {"float64", "float32"}
        Precision of gempy's interpolation; float32 is about a third faster and
        may move a contact by a fraction of a cell in rare places.
    chunk_points : int
        Cell centres per gempy call.
    progress : callable, optional
        ``progress(fraction, message)``.

    Returns
    -------
    Volume
        Layers ``lithology``, ``fault_block`` and one ``fault_block_<group>`` per
        fault group; class table of ``lithology``; meta ``gempy`` with the element
        and group names.

    Raises
    ------
    VoxprospectError
        If the model has no lithological surfaces or gempy fails on it.
    """
    gp = import_gempy()
    frame = geo_model.structural_frame
    groups = list(frame.structural_groups)
    if not frame.elements_names:
        raise VoxprospectError("the gempy model has no structural elements")

    mask = np.ones(grid.shape, dtype=bool) if active is None else np.asarray(active, dtype=bool).copy()
    if mask.shape != grid.shape:
        raise VoxprospectError(f"active mask has shape {mask.shape}, the grid has {grid.shape}")
    X, Y = np.meshgrid(grid.axis_centres(0), grid.axis_centres(1), indexing="ij")
    topo_z = topography_elevation(geo_model, X, Y)
    if topo_z is not None:
        mask &= grid.elevations[None, None, :] <= topo_z[:, :, None]

    flat_mask = mask.ravel(order="F")
    centres = grid.cell_centres()[flat_mask]
    n = len(centres)
    lith = np.zeros(n, dtype=np.int16)
    fault_idx = [i for i, g in enumerate(groups) if g.is_fault]
    blocks = {i: np.zeros(n, dtype=np.int8) for i in fault_idx}

    _compute_in_chunks(gp, geo_model, centres, lith, blocks, dtype, chunk_points, progress)
    if progress is not None:
        progress(1.0, "gempy: done")

    layers, classes, fault_groups = _model_layers(grid, flat_mask, frame, groups, fault_idx, lith, blocks)
    meta = {"gempy": {"elements": list(frame.elements_names), "groups": [g.name for g in groups],
                      "fault_groups": fault_groups, "topography": topo_z is not None, "dtype": dtype}}
    return Volume(grid, layers, mask, classes, meta)


def _compute_in_chunks(gp, geo_model, centres, lith, blocks, dtype, chunk_points, progress) -> None:
    """gempy at ``centres``, ``chunk_points`` at a time, into ``lith`` and the fault
    ``blocks``; the model is left as it was found."""
    from gempy_engine.config import AvailableBackends

    n = len(centres)
    config = gp.data.GemPyEngineConfig(backend=AvailableBackends.numpy, dtype=dtype)
    saved_active = geo_model.grid.active_grids
    saved_custom = geo_model.grid.custom_grid
    saved_options = geo_model.interpolation_options
    geo_model.interpolation_options = _custom_grid_options(saved_options)
    chunk_points = max(1, int(chunk_points))
    try:
        for start in range(0, n, chunk_points):
            stop = min(n, start + chunk_points)
            if progress is not None:
                progress(start / max(n, 1), f"gempy: cells {start:,}-{stop:,} of {n:,}")
            sol = _compute_quietly(gp, geo_model, centres[start:stop], config)
            lith[start:stop] = np.rint(np.asarray(sol.raw_arrays.custom)).astype(np.int16)
            outputs = sol.octrees_output[0].outputs
            for i in blocks:
                blocks[i][start:stop] = _fault_side(outputs[i])
    except VoxprospectError:
        raise
    except Exception as e:  # gempy raises bare exceptions on ill-posed inputs
        raise VoxprospectError(f"gempy could not compute the model: {type(e).__name__}: {e}") from None
    finally:
        # leave the model as we found it (gempy's compute_model_at does not)
        geo_model.interpolation_options = saved_options
        if saved_custom is not None:
            geo_model.grid.custom_grid = saved_custom
        geo_model.grid.active_grids = saved_active
        with contextlib.suppress(Exception):
            geo_model.grid._update_values()


def _model_layers(grid, flat_mask, frame, groups, fault_idx, lith, blocks):
    """``(layers, classes, fault group names)`` on the grid from the computed cells."""
    def to_grid(values, dtype_):
        out = np.zeros(grid.n_cells, dtype=dtype_)
        out[flat_mask] = values
        return out.reshape(grid.shape, order="F")

    # gempy numbers elements 1..n in frame order (faults included), basement last
    names = list(frame.elements_names)
    fault_elements = {e.name for g in groups if g.is_fault for e in g.elements}
    table = {i + 1: name for i, name in enumerate(names) if name not in fault_elements}
    layers = {"lithology": to_grid(lith, np.int16)}
    classes = {"lithology": {0: "not computed", **table}}
    combined = np.zeros(grid.shape, dtype=np.int16)
    fault_groups = []
    for bit, i in enumerate(fault_idx):
        name = layer_name_for_fault(groups[i].name)
        block = to_grid(blocks[i], np.int8)
        layers[name] = block
        combined |= (block.astype(np.int16) & 1) << bit
        fault_groups.append(groups[i].name)
    if fault_idx:
        layers["fault_block"] = combined
    return layers, classes, fault_groups


def _custom_grid_options(options):
    """A copy of the model's interpolation options for evaluation at points only.

    Kernel settings (range, c_o, drift degree) are kept; octree refinement and
    surface-mesh extraction, which a custom grid does not need and which cost more
    than the evaluation itself, are switched off.
    """
    from gempy_engine.core.data.raw_arrays_solution import RawArraysSolution

    opts = options.model_copy(deep=True)
    opts.evaluation_options.mesh_extraction = False
    opts.evaluation_options.number_octree_levels = 1
    opts.block_solutions_type = RawArraysSolution.BlockSolutionType.DENSE_GRID
    return opts


def _fault_side(output) -> np.ndarray:
    """0/1 side of a fault group's surface at the custom-grid points.

    gempy's per-stack block of a fault group is not the side of the fault; its
    scalar field is, compared with the field's value on the fault's surface points.
    """
    grid = output.grid
    field = np.asarray(output.exported_fields.scalar_field)[grid.custom_grid_slice]
    at_surface = np.asarray(output.scalar_field_at_sp).ravel()
    return (field > at_surface[0]).astype(np.int8)


class _NoCollect:
    """Stands in for the ``gc`` module inside gempy's evaluator: it forces a full
    garbage collection after every scalar field, which with gempy's many live
    objects costs a third of a second each and frees nothing we hold."""

    @staticmethod
    def collect(*_args, **_kwargs):
        return 0


def _compute_quietly(gp, geo_model, points, config):
    """Set the custom grid and compute, keeping gempy's prints off the console."""
    from unittest import mock

    from gempy_engine.modules.evaluator import generic_evaluator

    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), warnings.catch_warnings(), \
            mock.patch.object(generic_evaluator, "gc", _NoCollect):
        warnings.simplefilter("ignore")
        gp.set_custom_grid(geo_model.grid, np.ascontiguousarray(points, dtype=np.float64), reset=True)
        return gp.compute_model(geo_model, engine_config=config)


def load_gempy_model(path):
    """Load a model saved with ``gempy.save_model`` (a ``.gempy`` file).

    Raises
    ------
    InputFileError
        If the file is missing or gempy cannot read it.
    """
    p = Path(path)
    if not p.exists():
        raise InputFileError(p, "file not found")
    if p.suffix.lower() != ".gempy":
        raise InputFileError(p, "gempy models are read from '.gempy' files (gempy.save_model)")
    gp = import_gempy()

    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return gp.load_model(str(p))
    except Exception as e:
        raise InputFileError(p, f"gempy cannot read it ({type(e).__name__}: {e})") from None


def save_gempy_model(geo_model, path) -> Path:
    """Save a model with ``gempy.save_model``; returns the path written."""
    gp = import_gempy()

    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Path(gp.save_model(geo_model, str(path), validate_serialization=False))


def model_grid(geo_model, crs=None) -> VoxelGrid:
    """The model's own regular grid (extent and resolution) as a :class:`VoxelGrid`."""
    rg = geo_model.grid.regular_grid
    ext = np.asarray(rg.extent, dtype=float)
    res = np.asarray(rg.resolution, dtype=int)
    cell = (ext[1::2] - ext[0::2]) / res
    return VoxelGrid((ext[0], ext[2], ext[4]), tuple(cell), tuple(res), crs)


def read_gempy_volume(path, grid: VoxelGrid | None = None, crs=None, **kwargs) -> Volume:
    """Read a ``.gempy`` file and compute it on ``grid`` (default: its own regular grid)."""
    geo_model = load_gempy_model(path)
    target = grid if grid is not None else model_grid(geo_model, crs)
    vol = compute_geomodel_on_grid(geo_model, target, **kwargs)
    return vol.with_meta(source=str(path))


def _register():
    from voxprospect.io import register_reader
    register_reader("gempy", read_gempy_volume)


_register()
