"""Running QGIS's own programs (``qgis_process``, the ``qgis`` desktop) from the tests.

Both run Debian's system Python, not this environment's; :func:`python_shim` makes
this environment's packages (and the editable voxprospect, a .pth finder) visible to
them, ahead of Debian's copies, through a ``sitecustomize`` on ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def qgis_binary(name: str) -> str | None:
    """The real executable of ``qgis`` or ``qgis_process``, past Debian's wrapper script.

    Debian's wrapper passes ``QGIS_OPTS`` (``--noversioncheck``, a desktop option) from
    /etc/default/qgis, which qgis_process 3.22 refuses ("Command --noversioncheck not known").
    """
    path = shutil.which(name)
    if path and os.path.isfile(path + ".bin"):
        return path + ".bin"
    return path


def python_shim(root: Path) -> Path:
    """A folder with a ``sitecustomize.py`` that puts this environment's site-packages first."""
    shim = Path(root) / "shim"
    shim.mkdir(parents=True, exist_ok=True)
    sites = [p for p in sys.path if p.endswith("site-packages") and os.path.isdir(p)]
    (shim / "sitecustomize.py").write_text(
        "import site, sys\nbefore = list(sys.path)\n"
        + "".join(f"site.addsitedir({s!r})\n" for s in sites)
        + "new = [p for p in sys.path if p not in before]\nsys.path[:] = new + before\n")
    return shim


def qgis_env(root: Path, **extra) -> dict:
    """Environment for a QGIS program: the shim, one thread, no interactive backends."""
    return dict(os.environ, PYTHONPATH=str(python_shim(root)), OMP_NUM_THREADS="1", MPLBACKEND="Agg",
                **{k: str(v) for k, v in extra.items()})
