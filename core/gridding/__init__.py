"""Gridding: geological objects onto the voxel grid.

Closed surfaces (intrusions, orebody wireframes, pipes) become solid masks and open
surfaces, polylines and points (faults, dyke axes, traces) exact capped distances, on
a :class:`~voxprospect.data.VoxelGrid`. Readers of geological-model files live in
:mod:`voxprospect.io`; this stage turns geometry into cells. May import
:mod:`voxprospect.data` and :mod:`voxprospect.io`.
"""

from voxprospect.gridding.voxelise import solid_mask, surface_distance

__all__ = ["solid_mask", "surface_distance"]
