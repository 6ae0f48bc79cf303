"""The package version, from one place: the installed distribution's metadata (pyproject.toml).

``metadata.txt`` (the QGIS plugin's) is checked against it when the plugin zip is built.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("voxprospect")
except PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0+unknown"
