"""Data: the voxel grid, volumes of named layers on it, rectilinear volumes and blocks.

The bottom of the flow. A :class:`VoxelGrid` (origin, anisotropic cell sizes, shape,
CRS) and a :class:`Volume` (named layers, active mask, class tables, provenance) are
what every later stage takes and returns; :class:`RectilinearVolume` holds layers on
grids whose cell widths vary (inversion meshes) until they are resampled onto a
voxel grid, and :mod:`~voxprospect.data.blocks` tiles a grid into padded blocks for
every chunked step. Imports nothing from voxprospect but :mod:`voxprospect.errors`.
"""

from voxprospect.data.blocks import block_shape, block_starts, padded_block, resolve_fill
from voxprospect.data.grid import VoxelGrid, normalise_crs
from voxprospect.data.rectilinear import RectilinearVolume, resample_to_grid
from voxprospect.data.volume import Volume

__all__ = ["VoxelGrid", "normalise_crs", "Volume", "RectilinearVolume", "resample_to_grid",
           "block_shape", "block_starts", "padded_block", "resolve_fill"]
