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


# -- the plugin's own package folder and installer -------------------------------------

#: packages only train and predict need; without them the other steps still run
TORCH_ONLY = {"torch"}
#: algorithms that import torch (the pipeline trains)
TORCH_ALGORITHMS = {"train", "predict", "runproject"}

_DEPS_FOLDER = "voxprospect_packages"


def packages_dir() -> str:
    """The folder the plugin installs packages into, inside the QGIS profile.

    ``pip install --target`` there touches neither QGIS's Python nor the system's
    (Debian 12's Python is externally managed, PEP 668, and refuses a plain
    ``pip install``), and removing the plugin's profile folder removes them.
    """
    import os
    try:
        from qgis.core import QgsApplication
        base = QgsApplication.qgisSettingsDirPath()
    except Exception:  # outside QGIS (tests of this module)
        base = os.path.expanduser("~/.local/share/QGIS/QGIS3/profiles/default")
    return os.path.join(base, "python", _DEPS_FOLDER)


def activate_packages_dir(path: str | None = None) -> str:
    """Put the plugin's package folder on ``sys.path`` (first, so its torch wins)."""
    import os
    path = path or packages_dir()
    if os.path.isdir(path) and path not in sys.path:
        sys.path.insert(0, path)
        importlib.invalidate_caches()
    return path


def gate(missing) -> tuple[list[str], list[str]]:
    """Split ``missing`` into (blocking every algorithm, blocking only torch's)."""
    core = [m for m in missing if m not in TORCH_ONLY]
    torch_only = [m for m in missing if m in TORCH_ONLY]
    return core, torch_only


def qgis_python() -> str:
    """The Python interpreter of this QGIS (``sys.executable`` is QGIS itself on Linux and macOS)."""
    import os
    exe = sys.executable or ""
    if os.path.basename(exe).lower().startswith("python"):
        return exe
    for candidate in (os.path.join(sys.exec_prefix, "bin", "python3"), os.path.join(sys.exec_prefix, "python.exe"),
                      os.path.join(sys.exec_prefix, "bin", f"python{sys.version_info[0]}.{sys.version_info[1]}")):
        if os.path.isfile(candidate):
            return candidate
    return "python3"


def pip_arguments(requirements, target: str, find_links: str | None = None, index_url: str | None = None) -> list:
    """``python -m pip install`` arguments installing ``requirements`` into ``target``.

    Parameters
    ----------
    requirements : list of str
        pip requirements (``torch`` is taken from the CPU index unless a local source
        is given).
    target : str
        The plugin's package folder (:func:`packages_dir`).
    find_links : str, optional
        A folder of wheels (offline sites): pip uses it and no index.
    index_url : str, optional
        A package index (a site mirror) used instead of PyPI.
    """
    args = ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--progress-bar", "off",
            "--upgrade", "--target", target]
    if find_links:
        args += ["--no-index", "--find-links", find_links]
    elif index_url:
        args += ["--index-url", index_url]
    elif "torch" in requirements:
        # the CPU wheel, from PyTorch's index; everything else from PyPI
        args += ["--extra-index-url", TORCH_CPU_INDEX]
    return args + list(requirements)


def run_pip(requirements, target: str | None = None, find_links=None, index_url=None, feedback=None,
            python: str | None = None) -> int:
    """Run pip into the plugin's folder, streaming its lines to ``feedback``; cancel kills it.

    Returns
    -------
    int
        pip's exit status (``-1`` when cancelled).
    """
    import os
    import subprocess
    import time

    target = target or packages_dir()
    os.makedirs(target, exist_ok=True)
    cmd = [python or qgis_python()] + pip_arguments(requirements, target, find_links, index_url)
    if feedback is not None:
        feedback.pushCommandInfo(" ".join(cmd))
    env = dict(os.environ, PYTHONNOUSERSITE="1", PIP_NO_WARN_SCRIPT_LOCATION="1")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, bufsize=1)
    steps = 0
    import threading
    lines = []

    def read():
        for line in proc.stdout:
            lines.append(line.rstrip())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    shown = 0
    while proc.poll() is None or shown < len(lines) or reader.is_alive():
        while shown < len(lines):
            line = lines[shown]
            shown += 1
            if feedback is not None and line:
                feedback.pushConsoleInfo(line)
                if line.startswith(("Collecting", "Processing", "Installing", "Successfully")):
                    steps += 1
                    feedback.setProgress(min(95.0, 10.0 * steps))
        if feedback is not None and feedback.isCanceled() and proc.poll() is None:
            proc.kill()
            proc.wait()
            reader.join(5)
            return -1
        if proc.poll() is not None and not reader.is_alive() and shown >= len(lines):
            break
        time.sleep(0.05)
    reader.join(5)
    if feedback is not None and proc.returncode == 0:
        feedback.setProgress(100.0)
    return proc.returncode
