"""Test doubles for the parts of QGIS's GUI that only exist in the desktop application."""

from __future__ import annotations


class FakeIface:
    """The few ``QgisInterface`` methods the plugin calls, backed by real Qt widgets.

    ``qgis.utils.iface`` is None outside the desktop application; the plugin only
    needs a message bar, a main window, menus, a toolbar and dock areas.
    """

    def __init__(self):
        from qgis.gui import QgsMapCanvas, QgsMessageBar
        from qgis.PyQt.QtWidgets import QMainWindow
        self._main = QMainWindow()
        self._bar = QgsMessageBar()
        self._canvas = QgsMapCanvas()
        self.menu = []
        self.toolbar = []
        self.docks = []
        self.active_layer = None

    def mainWindow(self):  # noqa: N802
        return self._main

    def messageBar(self):  # noqa: N802
        return self._bar

    def mapCanvas(self):  # noqa: N802
        return self._canvas

    def addPluginToMenu(self, menu, action):  # noqa: N802
        self.menu.append((menu, action))

    def removePluginMenu(self, menu, action):  # noqa: N802
        self.menu.remove((menu, action))

    def addToolBarIcon(self, action):  # noqa: N802
        self.toolbar.append(action)

    def removeToolBarIcon(self, action):  # noqa: N802
        self.toolbar.remove(action)

    def addDockWidget(self, area, dock):  # noqa: N802
        self._main.addDockWidget(area, dock)
        self.docks.append(dock)

    def removeDockWidget(self, dock):  # noqa: N802
        self._main.removeDockWidget(dock)
        self.docks.remove(dock)

    def setActiveLayer(self, layer):  # noqa: N802
        self.active_layer = layer
        return True


def bar_messages(bar):
    """Texts of the message bar's current items (title: text)."""
    from qgis.gui import QgsMessageBarItem
    items = bar.findChildren(QgsMessageBarItem)
    return [f"{i.title()}: {i.text()}" for i in items]
