"""Build hook: the QGIS plugin's metadata.txt and LICENSE travel inside the wheel.

pyproject.toml maps ``plugin/`` to the package ``voxprospect_cli.qgis_plugin`` so that
``voxprospect plugin-zip`` works from a normal (non-editable) install. The plugin's
``metadata.txt`` and the ``LICENSE`` sit at the repository root (where the zip builder
and the editable install read them), outside any package folder, so package-data
cannot reach them; this copies them into the built package beside ``__init__.py``.
Everything else is configured in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildPyWithPluginMetadata(build_py):
    def run(self):
        super().run()
        if self.editable_mode:  # an editable install reads them from the checkout
            return
        target = Path(self.build_lib) / "voxprospect_cli" / "qgis_plugin"
        target.mkdir(parents=True, exist_ok=True)
        for name in ("metadata.txt", "LICENSE"):
            if (ROOT / name).is_file():
                shutil.copyfile(ROOT / name, target / name)


setup(cmdclass={"build_py": BuildPyWithPluginMetadata})
