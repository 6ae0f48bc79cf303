"""voxprospect: three-dimensional mineral prospectivity mapping.

The pipeline, in the order data flows through the modules::

    grid -> io -> voxelise -> evidence -> samples -> models -> train -> predict
         -> evaluate -> targets

``import voxprospect`` is cheap: heavy libraries (torch, pyvista, gempy, rasterio)
are imported inside the functions that need them.
"""

__version__ = "0.1.0"

from .errors import (Cancelled, GridMismatchError, InputFileError, LayerError, NoPositivesError,  # noqa: F401
                     OutputError, ProjectFileError, VoxprospectError)
from .grid import VoxelGrid  # noqa: F401
from .volume import Volume  # noqa: F401
