"""Optional interoperability libraries, imported only when a format needs them.

The readers and writers for LoopStructural, geoh5, OMF and OcTree meshes use the
formats' own libraries (``voxprospect[interop]``). A missing one is a user-facing
problem, not a bug: :func:`require` raises :class:`MissingDependencyError` naming the
package and the command that installs it.
"""

from __future__ import annotations

import importlib
import sys

from voxprospect.errors import VoxprospectError

#: import name -> (pip name, what it is for)
INTEROP_PACKAGES = {
    "LoopStructural": ("LoopStructural", "LoopStructural geological models"),
    "geoh5py": ("geoh5py", "geoh5 (Geoscience ANALYST) workspaces"),
    "omf": ("omf", "OMF (Open Mining Format) projects"),
    "discretize": ("discretize", "UBC/SimPEG OcTree meshes"),
}


#: every geoh5py release for Python < 3.12 pins numpy 1.26 (and Pillow 10.3, pydantic
#: 2.11), which would downgrade numpy under everything else; its code runs on numpy 2,
#: and the interop extra installs its real runtime dependencies (h5py, Pillow,
#: pydantic), so it goes in without its pins (README, docs/formats.md)
GEOH5PY_NO_DEPS = "geoh5py==0.12.2"


def install_command(module: str, version_info=None) -> str:
    """The pip command(s) that install ``module`` on this Python."""
    pip_name = INTEROP_PACKAGES.get(module, (module, module))[0]
    version_info = sys.version_info if version_info is None else version_info
    if module == "geoh5py" and tuple(version_info[:2]) < (3, 12):
        return (f"pip install 'voxprospect[interop]' and then pip install --no-deps '{GEOH5PY_NO_DEPS}' "
                "(every geoh5py for Python < 3.12 pins numpy 1.26; this one runs on numpy 2)")
    return f"pip install 'voxprospect[interop]' (or: pip install {pip_name})"


class MissingDependencyError(VoxprospectError):
    """A format needs an optional package that is not installed."""

    def __init__(self, module: str, path=None):
        pip_name, purpose = INTEROP_PACKAGES.get(module, (module, module))
        self.module = module
        where = f"{path}: " if path is not None else ""
        super().__init__(
            f"{where}reading or writing {purpose} needs the Python package '{pip_name}', which is not "
            f"installed; install it with: {install_command(module)}")


def require(module: str, path=None):
    """Import an optional package, or raise :class:`MissingDependencyError`.

    Parameters
    ----------
    module : str
        Import name (``"LoopStructural"``, ``"geoh5py"``, ``"omf"``, ``"discretize"``).
    path : path-like, optional
        The file being read or written, named in the message.
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        if e.name is not None and e.name.split(".")[0] != module:
            raise
        raise MissingDependencyError(module, path) from None
