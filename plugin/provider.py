"""The Processing provider: every voxprospect step in the toolbox and the modeler."""

from __future__ import annotations

import os

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from . import deps

ICON = os.path.join(os.path.dirname(__file__), "icons", "icon.svg")


class VoxprospectProvider(QgsProcessingProvider):
    """Provider id ``voxprospect``; algorithms are ``voxprospect:<name>``.

    When the library or torch is missing from QGIS's Python the provider stays in
    the toolbox, named "missing Python packages", with the installer algorithm
    (``voxprospect:installpackages``); without torch alone every step but training
    and prediction still runs.
    """

    def __init__(self, missing=None):
        super().__init__()
        self._missing = deps.missing_packages() if missing is None else list(missing)

    def id(self):
        return "voxprospect"

    def name(self):
        return "voxprospect"

    def longName(self):
        if self._missing:
            return "voxprospect (missing Python packages: " + ", ".join(self._missing) + ")"
        try:
            from voxprospect import __version__
        except Exception:
            __version__ = "?"
        return f"voxprospect {__version__}: 3D mineral prospectivity"

    def icon(self):
        return QIcon(ICON)

    def svgIconPath(self):
        return ICON

    @property
    def missing(self) -> list[str]:
        return list(self._missing)

    def loadAlgorithms(self):
        # the installer is always there: a provider with no algorithm vanishes from the toolbox
        from .algorithms.install import InstallPackages
        self.addAlgorithm(InstallPackages())
        core, torch_only = deps.gate(self._missing)
        if core:
            return
        from .algorithms import algorithm_classes
        for cls in algorithm_classes():
            alg = cls()
            if torch_only and alg.name() in deps.TORCH_ALGORITHMS:
                continue  # only training and prediction need torch
            self.addAlgorithm(alg)
