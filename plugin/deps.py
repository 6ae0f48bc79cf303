"""Is the voxprospect library usable from QGIS's Python?

The plugin is a thin front end: the work is done by the ``voxprospect`` package and
torch, which QGIS does not ship. When they are missing the plugin must still load,
say once what to install and how, and register no algorithm that would fail later.

This module imports nothing from QGIS at module level so it can be tested (and the
message worded) without a running QGIS.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

# import name -> pip requirement; voxprospect pulls the rest (numpy, rasterio...)
# but a user may have installed it without its dependencies, so we check the ones
# the algorithms need at run time too.
REQUIRED = {
    "voxprospect": "voxprospect",
    "torch": "torch",
    "numpy": "numpy",
    "scipy": "scipy",
    "sklearn": "scikit-learn",
    "rasterio": "rasterio",
    "fiona": "fiona",
    "pyvista": "pyvista",
}

TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
DOCS_URL = "https://github.com/voxprospect/voxprospect/blob/main/docs/qgis-plugin.md"

_announced = False


def missing_packages() -> list[str]:
    """pip names of the packages QGIS's Python cannot import.

    ``voxprospect`` is really imported (it is light and a broken install should show
    here); the heavy ones are only located, so QGIS start-up stays fast (torch takes
    seconds to import). A located package that fails to import later is reported by
    the algorithm that needed it (see :func:`install_message`).
    """
    missing = []
    for module, requirement in REQUIRED.items():
        if module == "voxprospect":
            try:
                importlib.import_module("voxprospect")
            except Exception:  # a broken install is as good as none
                missing.append(requirement)
            continue
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(requirement)
    return missing


def install_command(missing, platform: str | None = None) -> str:
    """The shell command that installs ``missing`` into QGIS's Python.

    Parameters
    ----------
    missing : list of str
        pip requirement names.
    platform : str, optional
        ``sys.platform`` value; defaults to the running one.

    Returns
    -------
    str
    """
    platform = platform or sys.platform
    if platform.startswith("win"):
        python = "python"  # in the OSGeo4W Shell, python is QGIS's Python
        where = "In the OSGeo4W Shell (Start menu > QGIS > OSGeo4W Shell), run:"
    elif platform == "darwin":
        python = "/Applications/QGIS.app/Contents/MacOS/bin/python3"
        where = "In a Terminal, run:"
    else:
        python = "python3"
        where = "In a terminal, run:"
    lines = [where]
    if "torch" in missing:
        # the CPU wheel: a plain `pip install torch` may pull a multi-GB CUDA build
        lines.append(f"  {python} -m pip install --user torch --index-url {TORCH_CPU_INDEX}")
    rest = [m for m in missing if m != "torch"]
    if rest:
        lines.append(f"  {python} -m pip install --user " + " ".join(rest))
    return "\n".join(lines)


def install_message(missing, platform: str | None = None) -> str:
    """One paragraph naming what is missing and the command that installs it."""
    return ("voxprospect needs Python packages that QGIS's Python cannot import: "
            + ", ".join(missing) + ".\n" + install_command(missing, platform)
            + "\nthen restart QGIS. Details for Linux, Windows (OSGeo4W) and macOS: " + DOCS_URL)


def announce_missing(iface=None, missing=None) -> bool:
    """Tell the user, once per QGIS session, what to install.

    Writes the full message to the QGIS log (tab ``voxprospect``) and a short one to
    the message bar when ``iface`` is given. Never raises: a plugin that cannot show
    a message must still not break QGIS start-up.

    Returns
    -------
    bool
        True if the message was shown now (False if nothing is missing or it was
        already shown).
    """
    global _announced
    missing = missing_packages() if missing is None else missing
    if not missing or _announced:
        return False
    _announced = True
    text = install_message(missing)
    try:
        from qgis.core import Qgis, QgsMessageLog
        QgsMessageLog.logMessage(text, "voxprospect", Qgis.Warning)
        if iface is not None:
            iface.messageBar().pushMessage(
                "voxprospect",
                "missing Python packages: " + ", ".join(missing)
                + ". Its Processing algorithms are disabled; see the voxprospect tab of the log "
                "(View > Panels > Log Messages) for the install command.",
                level=Qgis.Warning, duration=0)
    except Exception:  # - start-up must survive a broken message bar
        print(text, file=sys.stderr)
    return True


def reset_announcement() -> None:
    """Forget that the message was shown (tests, plugin reload)."""
    global _announced
    _announced = False
