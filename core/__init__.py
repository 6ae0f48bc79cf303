"""voxprospect: three-dimensional mineral prospectivity mapping.

The subpackages, in the order data flows through them (each imports only those
before it; ``docs/architecture.md`` draws the layers)::

    data -> io -> gridding -> evidence -> learn -> mapping -> synth -> workflows

``errors``, ``vocabulary`` and ``report`` sit under all of them. ``import voxprospect``
is cheap: heavy libraries (torch, pyvista, gempy, rasterio) are imported inside the
functions that need them.
"""

from voxprospect._version import __version__
from voxprospect.data.grid import VoxelGrid
from voxprospect.data.volume import Volume
from voxprospect.errors import (Cancelled, GridMismatchError, InputFileError, LayerError, NoPositivesError,
                                OutputError, ProjectFileError, VoxprospectError)

__all__ = ["VoxelGrid", "Volume", "Cancelled", "GridMismatchError", "InputFileError", "LayerError",
           "NoPositivesError", "OutputError", "ProjectFileError", "VoxprospectError", "__version__"]
