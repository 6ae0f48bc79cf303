"""``voxprospect plugin-zip OUT.zip``: the installable QGIS plugin.

QGIS installs a plugin from a zip holding one folder (the plugin's import name)
with ``__init__.py`` and ``metadata.txt`` at its top. The repository keeps the code in
``plugin/`` and the metadata at the top level; this command puts them together as
``voxprospect_plugin/`` and checks the metadata first, so a release cannot ship a
plugin whose version disagrees with the library it drives.
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
    return meta


def build_plugin_zip(root, output) -> dict:
    """Zip ``root/plugin`` and ``root/metadata.txt`` as ``voxprospect_plugin/``.

    Parameters
    ----------
    root : path-like
        Repository root (holds ``plugin/``, ``metadata.txt`` and ``LICENSE``).
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
    from pathlib import Path

    import voxprospect
    from voxprospect.errors import InputFileError, VoxprospectError
    from voxprospect.io.safe_write import safe_output

    root = Path(root)
    plugin_dir = root / "plugin"
    if not (plugin_dir / "__init__.py").is_file():
        raise InputFileError(plugin_dir, "no plugin package here (run from a source checkout or give --source)")
    meta = read_metadata(root / "metadata.txt")
    if meta["version"] != voxprospect.__version__:
        raise VoxprospectError(f"{root / 'metadata.txt'}: version {meta['version']} but the voxprospect "
                               f"package is {voxprospect.__version__}; make them match before releasing")
    icon = meta.get("icon")
    if icon and not (plugin_dir / icon).is_file():
        raise InputFileError(root / "metadata.txt", f"icon {icon} not found in {plugin_dir}")
    files = sorted(p for p in plugin_dir.rglob("*")
                   if p.is_file() and not SKIP_DIRS & set(p.relative_to(plugin_dir).parts)
                   and p.suffix not in SKIP_SUFFIXES)
    extras = [root / "metadata.txt"] + [p for p in (root / "LICENSE",) if p.is_file()]
    with safe_output(output, [root / "metadata.txt"]) as tmp:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in files:
                zf.write(p, f"{PLUGIN_FOLDER}/{p.relative_to(plugin_dir).as_posix()}")
            for p in extras:
                zf.write(p, f"{PLUGIN_FOLDER}/{p.name}")
    return {"output": str(output), "version": meta["version"], "files": len(files) + len(extras)}


@click.command(short_help="Build the installable QGIS plugin zip.")
@click.argument("output", type=click.Path(dir_okay=False))
@click.option("--source", type=click.Path(exists=True, file_okay=False), default=None,
              help="Repository root holding plugin/ and metadata.txt (default: this checkout).")
def plugin_zip(output, source):
    """Zip plugin/ and metadata.txt into OUTPUT as the folder voxprospect_plugin/, ready for
    QGIS's Plugins > Manage and Install Plugins > Install from ZIP. Refuses to build when
    metadata.txt's version differs from the voxprospect package's."""
    from pathlib import Path

    root = Path(source) if source else Path(__file__).resolve().parents[1]
    summary = build_plugin_zip(root, output)
    echo(None, f"{summary['output']}: {summary['files']} files, plugin version {summary['version']}")
