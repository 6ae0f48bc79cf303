"""Results written for the modelling packages: prospectivity (with its uncertainty and
evidence layers, as given) plus target bodies, as a geoh5 workspace (ANALYST) or an
OMF project (Leapfrog). Used by ``run`` (the project's ``outputs`` key) and usable
from Python."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voxprospect.errors import VoxprospectError
from voxprospect.data.volume import Volume

#: output format -> file suffix
RESULT_FORMATS = {"geoh5": ".geoh5", "omf": ".omf"}


def target_surfaces(targets: Volume, layer: str = "target_id") -> dict:
    """Closed voxel-hull surfaces (pyvista PolyData), one per target id > 0.

    The hull follows the faces of the target's voxels exactly (no smoothing), so its
    enclosed volume is the target's voxel volume.
    """
    import pyvista as pv

    grid = targets.grid
    labels = np.asarray(targets[layer])
    image = pv.ImageData(dimensions=tuple(n + 1 for n in grid.shape), spacing=grid.cell_size, origin=grid.origin)
    image.cell_data["t"] = labels.ravel(order="F").astype(np.int32)
    out = {}
    import warnings
    for tid in np.unique(labels[labels > 0]):
        with warnings.catch_warnings():
            # pyvista >= 0.47 warns that extract_surface's default algorithm will change;
            # the default (the dataset's outer faces) is the hull wanted here
            warnings.simplefilter("ignore")
            body = image.threshold((tid - 0.5, tid + 0.5), scalars="t").extract_surface().triangulate()
        out[f"target_{int(tid)}"] = body.clean()
    return out


def write_results(prospectivity: Volume, path, targets: Volume | None = None, inputs=(),
                  fmt: str | None = None) -> Path:
    """Write a result volume and its target surfaces as geoh5 or OMF (by suffix or ``fmt``).

    Raises
    ------
    VoxprospectError
        If the format is not one of :data:`RESULT_FORMATS`.
    """
    path = Path(path)
    fmt = fmt or next((k for k, s in RESULT_FORMATS.items() if path.suffix.lower() == s), None)
    if fmt not in RESULT_FORMATS:
        raise VoxprospectError(f"{path}: results are written as {', '.join(RESULT_FORMATS)} "
                               f"({', '.join(RESULT_FORMATS.values())})")
    vol = prospectivity
    surfaces = {}
    if targets is not None:
        vol = vol.merge(targets.select(["target_id"]) if "target_id" in targets else targets)
        vol = Volume(vol.grid, vol.layers, prospectivity.active, vol.classes, vol.meta)
        surfaces = target_surfaces(targets) if "target_id" in targets else {}
    if fmt == "geoh5":
        from voxprospect.io.geoh5 import write_geoh5
        return write_geoh5(vol, path, inputs=inputs, surfaces=surfaces, name="prospectivity")
    from voxprospect.io.omf_io import write_omf
    return write_omf(vol, path, inputs=inputs, surfaces=surfaces, name="prospectivity")
