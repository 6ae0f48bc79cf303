"""matplotlib's ``Figure`` without the noise of a mixed install.

Next to Debian's QGIS, matplotlib is often imported from pip while ``mpl_toolkits``
comes from the system package (python3-matplotlib); matplotlib then warns "Unable to
import Axes3D" on every import of ``matplotlib.figure``, and QGIS shows that warning in
its log on each run. voxprospect draws only 2D figures, so the 3D projection being
unavailable changes nothing here and the warning is dropped (that one only).
"""

from __future__ import annotations

import warnings


def figure_class():
    """``matplotlib.figure.Figure`` (no pyplot state, so safe off the main thread)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Unable to import Axes3D", category=UserWarning)
        from matplotlib.figure import Figure
    return Figure
