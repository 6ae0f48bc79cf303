"""``voxprospect plugin-zip OUT.zip``: the installable QGIS plugin.

QGIS installs a plugin from a zip holding one folder (the plugin's import name)
with ``__init__.py`` and ``metadata.txt`` at its top. The repository keeps the code in
``plugin/`` and the metadata at the top level; this command puts them together as
``voxprospect_plugin/`` and checks the metadata first, so a release cannot ship a
plugin whose version disagrees with the library it drives.

The plugin sources ship inside the installed package as ``voxprospect_cli.qgis_plugin``
(``setup.py`` copies ``metadata.txt`` and ``LICENSE`` into it), so the command works
from a wheel as well as from a checkout. ``metadata.txt`` is the one place the
plugin's version is written; it must equal ``voxprospect.__version__``.
"""

from __future__ import annotations

import click

from .options import echo

PLUGIN_FOLDER = "voxprospect_plugin"
REQUIRED_KEYS = ("name", "qgisMinimumVersion", "description", "about", "version", "author", "email",
                 "repository")
SKIP_DIRS = {"__pycache__", ".pytest_cache"}
SKIP_SUFFIXES = {".pyc", ".pyo", ".orig", ".rej"}


def read_metadata(path) -> dict:
    """The ``[general]`` section of a plugin ``metadata.txt`` as a dict.

    Raises
    ------
    InputFileError
        If the file is missing, has no [general] section or lacks a required key.
    """
    import configparser

    from voxprospect.errors import InputFileError

    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys such as qgisMinimumVersion are case-sensitive
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f)
    except FileNotFoundError:
        raise InputFileError(path, "file not found") from None
    except configparser.Error as e:
        raise InputFileError(path, f"not a valid metadata.txt ({e})") from None
    if not parser.has_section("general"):
        raise InputFileError(path, "no [general] section")
    meta = dict(parser["general"])
    missing = [k for k in REQUIRED_KEYS if not meta.get(k)]
    if missing:
        raise InputFileError(path, "missing " + ", ".join(missing))
    if "plugin_dependencies" in meta:
        # QGIS 3.22 splits the value on commas without dropping blanks: an empty line is
        # one dependency named "", and Install from ZIP dies in its dependencies dialog
        # (KeyError 'use_stable_version'), leaving the plugin unpacked but not loaded
        names = [d.split("==")[0].strip() for d in meta["plugin_dependencies"].split(",")]
        if not all(names):
            raise InputFileError(path, "plugin_dependencies holds an empty name (QGIS 3.22 cannot install "
                                       "such a plugin from ZIP); delete the line when there are none")
    return meta


def plugin_sources(root=None):
    """Where the plugin's code, ``metadata.txt`` and ``LICENSE`` are.

    Parameters
    ----------
    root : path-like, optional
        A source tree holding ``plugin/``, ``metadata.txt`` and ``LICENSE``. Default:
        the installed package ``voxprospect_cli.qgis_plugin`` (a wheel carries
        ``metadata.txt`` inside it; an editable install points at the checkout, whose
        root holds it).

    Returns
    -------
    tuple of Path
        ``(plugin_dir, metadata_path, license_path or None)``.

    Raises
    ------
    InputFileError
        If there is no plugin package there.
    """
    import importlib.util
    from pathlib import Path

    from voxprospect.errors import InputFileError

    if root is not None:
        root = Path(root)
        plugin_dir = root / "plugin"
        candidates = [root]
    else:
        spec = importlib.util.find_spec("voxprospect_cli.qgis_plugin")
        locations = list(spec.submodule_search_locations or []) if spec is not None else []
        if not locations:
            raise InputFileError("voxprospect_cli.qgis_plugin", "the plugin is not part of this installation "
                                                                 "(reinstall voxprospect, or give --source)")
        plugin_dir = Path(locations[0])
        candidates = [plugin_dir, plugin_dir.parent]  # wheel layout, then checkout layout
    if not (plugin_dir / "__init__.py").is_file():
        raise InputFileError(plugin_dir, "no plugin package here (give --source a checkout holding plugin/)")
    metadata = next((c / "metadata.txt" for c in candidates if (c / "metadata.txt").is_file()),
                    candidates[-1] / "metadata.txt")
    licence = next((c / "LICENSE" for c in candidates if (c / "LICENSE").is_file()), None)
    return plugin_dir, metadata, licence


def build_plugin_zip(root, output) -> dict:
    """Zip the plugin code and its ``metadata.txt`` as ``voxprospect_plugin/``.

    Parameters
    ----------
    root : path-like or None
        Repository root (holds ``plugin/``, ``metadata.txt`` and ``LICENSE``); None
        for the installed package's copy (see :func:`plugin_sources`).
    output : path-like
        The zip to write (atomically).

    Returns
    -------
    dict
        ``{"output", "version", "files"}``.

    Raises
    ------
    InputFileError
        If ``plugin/`` or ``metadata.txt`` is missing or the metadata is incomplete.
    VoxprospectError
        If the metadata's version is not the installed voxprospect's.
    """
    import zipfile

    import voxprospect
    from voxprospect.errors import InputFileError, VoxprospectError
    from voxprospect.io.safe_write import safe_output

    plugin_dir, metadata, licence = plugin_sources(root)
    meta = read_metadata(metadata)
    if meta["version"] != voxprospect.__version__:
        raise VoxprospectError(f"{metadata}: version {meta['version']} but the voxprospect "
                               f"package is {voxprospect.__version__}; make them match before releasing")
    icon = meta.get("icon")
    if icon and not (plugin_dir / icon).is_file():
        raise InputFileError(metadata, f"icon {icon} not found in {plugin_dir}")
    extras = [metadata] + ([licence] if licence is not None else [])
    files = sorted(p for p in plugin_dir.rglob("*")
                   if p.is_file() and not SKIP_DIRS & set(p.relative_to(plugin_dir).parts)
                   and p.suffix not in SKIP_SUFFIXES and p.name not in ("metadata.txt", "LICENSE"))
    with safe_output(output, [metadata]) as tmp:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in files:
                zf.write(p, f"{PLUGIN_FOLDER}/{p.relative_to(plugin_dir).as_posix()}")
            for p in extras:
                zf.write(p, f"{PLUGIN_FOLDER}/{p.name}")
    return {"output": str(output), "version": meta["version"], "files": len(files) + len(extras)}


@click.command(short_help="Build the installable QGIS plugin zip.")
@click.argument("output", type=click.Path(dir_okay=False))
@click.option("--source", type=click.Path(exists=True, file_okay=False), default=None,
              help="Repository root holding plugin/ and metadata.txt (default: the plugin installed "
                   "with this voxprospect).")
def plugin_zip(output, source):
    """Zip plugin/ and metadata.txt into OUTPUT as the folder voxprospect_plugin/, ready for
    QGIS's Plugins > Manage and Install Plugins > Install from ZIP. Refuses to build when
    metadata.txt's version differs from the voxprospect package's."""
    summary = build_plugin_zip(source, output)
    echo(None, f"{summary['output']}: {summary['files']} files, plugin version {summary['version']}")
