"""Mapping: from a trained model to a prospectivity volume and drill targets.

Whole-grid prediction streamed in blocks (:mod:`~voxprospect.mapping.predict`), the
chunked Zarr/Dask path for grids larger than memory (:mod:`~voxprospect.mapping.scale`),
and 26-connected 3D targets above a threshold (:mod:`~voxprospect.mapping.targets`).
May import every stage below it (data, io, gridding, evidence, learn).
"""

from voxprospect.mapping.predict import predict_volume, register_fast_path
from voxprospect.mapping.targets import (TargetSet, find_targets, targets_volume, write_targets_csv,
                                         write_targets_gpkg)

__all__ = ["predict_volume", "register_fast_path", "TargetSet", "find_targets",
           "targets_volume", "write_targets_csv", "write_targets_gpkg"]
