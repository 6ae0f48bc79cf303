"""The plugin object QGIS loads: provider, Depth slices dock and menu entries."""

from __future__ import annotations

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction

from . import deps
from .provider import ICON, VoxprospectProvider

MENU = "&voxprospect"


class VoxprospectPlugin:
    """Registers the Processing provider, the Depth slices dock and the menu actions.

    Every action opens a Processing algorithm (or the dock, which runs them), so
    the toolbox, the graphical modeler, batch mode and these menus share one code
    path.
    """

    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        self.dock = None
        self.actions = []
        self.missing = []

    # QGIS calls initProcessing on its own for headless use (qgis_process) because
    # metadata.txt says hasProcessingProvider=yes.
    def initProcessing(self):
        if self.provider is None:
            deps.activate_packages_dir()  # packages the installer put in the profile
            self.missing = deps.missing_packages()
            self.provider = VoxprospectProvider(self.missing)
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):
        self.initProcessing()
        if self.missing:
            deps.announce_missing(self.iface, self.missing)
        self._add_action(self.tr("Depth slices"), self.toggle_dock, checkable=True, toolbar=True)
        core, torch_only = deps.gate(self.missing)
        for alg_id, text in (("voxprospect:synth", "Build synthetic demo district…"),
                             ("voxprospect:runproject", "Run whole pipeline…"),
                             ("voxprospect:targets", "P-A threshold and targets…"),
                             ("voxprospect:exporttargets", "Export targets…"),
                             ("voxprospect:slices", "Export depth slices…")):
            needs = core + (torch_only if alg_id.split(":")[1] in deps.TORCH_ALGORITHMS else [])
            action = self._add_action(self.tr(text), lambda checked=False, a=alg_id: self.open_algorithm(a),
                                      enabled=not needs)
            if needs:
                action.setToolTip(self.tr("Needs the missing Python packages {}: use "
                                          "voxprospect > Install missing Python packages…").format(", ".join(needs)))
        self._add_action(self.tr("Install missing Python packages…"),
                         lambda checked=False: self.open_algorithm("voxprospect:installpackages", force=True))

    def unload(self):
        for action in self.actions:
            self.iface.removePluginMenu(MENU, action)
            try:
                self.iface.removeToolBarIcon(action)
            except Exception:  # - it was not on the toolbar
                pass
        self.actions = []
        if self.dock is not None:
            self.iface.removeDockWidget(self.dock)
            self.dock.close_volume()
            self.dock.deleteLater()
            self.dock = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None

    # -- actions --------------------------------------------------------------------
    def tr(self, text):
        from qgis.PyQt.QtCore import QCoreApplication
        return QCoreApplication.translate("voxprospect", text)

    def _add_action(self, text, callback, checkable=False, toolbar=False, enabled=True):
        action = QAction(QIcon(ICON), text, self.iface.mainWindow())
        action.setCheckable(checkable)
        action.setEnabled(enabled)
        action.triggered.connect(callback)
        self.iface.addPluginToMenu(MENU, action)
        if toolbar:
            self.iface.addToolBarIcon(action)
        self.actions.append(action)
        return action

    def open_algorithm(self, algorithm_id, parameters=None, force=False):
        """Open a voxprospect algorithm's dialog (the install message if it is not available)."""
        from qgis.core import QgsApplication
        available = QgsApplication.processingRegistry().algorithmById(algorithm_id) is not None
        if not force and not available:
            deps.reset_announcement()
            deps.announce_missing(self.iface, self.missing)
            return
        import processing
        processing.execAlgorithmDialog(algorithm_id, parameters or {})

    def toggle_dock(self, checked=True):
        if self.dock is None:
            from .dock import DepthSlicesDock
            self.dock = DepthSlicesDock(self.iface, open_algorithm=self.open_algorithm)
            self.iface.addDockWidget(Qt.RightDockWidgetArea, self.dock)
            self.dock.visibilityChanged.connect(self.actions[0].setChecked)
        self.dock.setVisible(bool(checked))
