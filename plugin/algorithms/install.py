"""Install the missing Python packages into the plugin's own folder (pip --target).

Always registered, so a toolbox without voxprospect or torch still shows the
provider with this one entry. Runs as a Processing algorithm: its dialog shows pip's
lines and a progress bar, Cancel stops pip, and it works from ``qgis_process``.
"""

from __future__ import annotations

from qgis.core import (QgsProcessingAlgorithm, QgsProcessingException, QgsProcessingOutputString,
                       QgsProcessingParameterFile, QgsProcessingParameterString)

from .. import deps
from .base import ICON_PATH, tr


class InstallPackages(QgsProcessingAlgorithm):
    PACKAGES, WHEELS, INDEX, TARGET = "PACKAGES", "WHEELS", "INDEX", "TARGET"

    def name(self):
        return "installpackages"

    def displayName(self):
        missing = deps.missing_packages()
        return tr("Install missing Python packages") + (f" ({', '.join(missing)})" if missing else "")

    def group(self):
        return tr("Setup")

    def groupId(self):
        return "setup"

    def shortHelpString(self):
        return tr("Installs the packages voxprospect needs (the CPU build of torch, voxprospect "
                  "itself) with pip into a folder of your QGIS profile, not into QGIS's or the "
                  "system's Python, so it works on Debian 12's externally managed Python without "
                  "administrator rights. Offline: give a folder of wheels, or your site's package "
                  "index. Restart QGIS afterwards.\nFolder: ") + deps.packages_dir()

    def icon(self):
        from qgis.PyQt.QtGui import QIcon
        return QIcon(ICON_PATH)

    def flags(self):
        return super().flags() | QgsProcessingAlgorithm.FlagNoThreading

    def createInstance(self):
        return type(self)()

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterString(self.PACKAGES, tr("Packages (empty: the missing ones)"),
                                                       optional=True))
        self.addParameter(QgsProcessingParameterFile(self.WHEELS, tr("Folder of wheels (offline install)"),
                                                     behavior=QgsProcessingParameterFile.Folder, optional=True))
        self.addParameter(QgsProcessingParameterString(self.INDEX, tr("Package index URL (site mirror)"),
                                                       optional=True))
        self.addParameter(QgsProcessingParameterString(self.TARGET, tr("Install folder"),
                                                       defaultValue=deps.packages_dir(), optional=True))
        self.addOutput(QgsProcessingOutputString("INSTALLED", tr("Installed packages")))

    def processAlgorithm(self, parameters, context, feedback):
        wanted = self.parameterAsString(parameters, self.PACKAGES, context).replace(",", " ").split()
        wanted = wanted or deps.missing_packages()
        if not wanted:
            feedback.pushInfo(tr("Nothing to install: every package voxprospect needs is importable."))
            return {"INSTALLED": ""}
        wheels = self.parameterAsFile(parameters, self.WHEELS, context) or None
        index = self.parameterAsString(parameters, self.INDEX, context).strip() or None
        target = self.parameterAsString(parameters, self.TARGET, context).strip() or deps.packages_dir()
        rc = deps.run_pip(wanted, target, find_links=wheels, index_url=index, feedback=feedback)
        if rc == -1:
            raise QgsProcessingException(tr("Cancelled by the user."))
        if rc != 0:
            raise QgsProcessingException(tr("pip failed (exit status {}); its messages are above.").format(rc))
        deps.activate_packages_dir(target)
        feedback.pushInfo(tr("Installed into {}. Restart QGIS to use them.").format(target))
        return {"INSTALLED": " ".join(wanted)}
