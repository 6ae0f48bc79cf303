"""The zip from ``voxprospect plugin-zip`` installs through QGIS's own plugin installer.

``pyplugin_installer.QgsPluginInstaller.installFromZipFile`` is the code behind
*Plugins > Manage and Install Plugins > Install from ZIP*: it unpacks into the
profile's plugin folder, resolves ``plugin_dependencies`` (QGIS 3.22 died there with
KeyError 'use_stable_version' on an empty ``plugin_dependencies=`` line), loads and
starts the plugin, and pushes "Plugin installed successfully". Only the parts of the
desktop that are not Python (the plugin manager's C++ window) are stood in for.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class PluginManager:
    """``iface.pluginManagerInterface()``: records what the installer pushes."""

    def __init__(self):
        self.messages = []
        self.metadata = []

    def pushMessage(self, text, level=0, duration=-1):
        self.messages.append((text, level))

    def clearPythonPluginMetadata(self):
        self.metadata = []

    def addPluginMetadata(self, meta):
        self.metadata.append(meta)

    def clearRepositoryList(self):
        pass

    def addToRepositoryList(self, repo):
        pass

    def reloadModel(self):
        pass


def _drop_plugin_modules():
    for name in [m for m in sys.modules if m == "voxprospect_plugin" or m.startswith("voxprospect_plugin.")]:
        del sys.modules[name]


def test_install_from_zip_through_pyplugin_installer(fake_iface, messages_in, tmp_path, monkeypatch):
    import qgis.utils
    from qgis.core import QgsApplication, QgsSettings
    from voxprospect_cli.plugin_zip import build_plugin_zip

    zip_path = tmp_path / "voxprospect_plugin.zip"
    build_plugin_zip(None, zip_path)  # the installed package's copy of the plugin
    plugins_dir = tmp_path / "profile" / "python" / "plugins"

    manager = PluginManager()
    fake_iface.pluginManagerInterface = lambda: manager
    monkeypatch.setattr(qgis.utils, "iface", fake_iface)
    monkeypatch.setattr(qgis.utils, "home_plugin_path", str(plugins_dir), raising=False)
    monkeypatch.setattr(qgis.utils, "plugin_paths", [str(plugins_dir)])
    monkeypatch.setattr(qgis.utils, "plugins", {})
    monkeypatch.setattr(qgis.utils, "active_plugins", [])
    monkeypatch.setattr(qgis.utils, "available_plugins", [])
    monkeypatch.setattr(qgis.utils, "plugins_metadata_parser", {})
    monkeypatch.syspath_prepend(str(plugins_dir))
    settings = QgsSettings()
    settings.setValue("app/plugin_installer/checkOnStart", False)  # no network
    settings.remove("PythonPlugins/voxprospect_plugin")

    # the session's copy of the package (imported from plugin/) steps aside for this test
    saved = {m: sys.modules[m] for m in sys.modules
             if m == "voxprospect_plugin" or m.startswith("voxprospect_plugin.")}
    _drop_plugin_modules()
    registry = QgsApplication.processingRegistry()
    if registry.providerById("voxprospect") is not None:
        registry.removeProvider(registry.providerById("voxprospect"))

    import pyplugin_installer.installer as installer
    monkeypatch.setattr(installer, "iface", fake_iface)
    shown = []

    def no_dialog(dialog_class):
        def exec_(self, *args):
            shown.append(dialog_class)
            return 0  # rejected: the installer carries on as a user's "Cancel" would
        return exec_

    # a modal dialog would block a headless test; each one opening is a failure below
    monkeypatch.setattr(installer.QgsPluginDependenciesDialog, "exec_", no_dialog("dependencies"))
    monkeypatch.setattr(installer.QMessageBox, "exec", no_dialog("message box"), raising=False)
    monkeypatch.setattr(installer.QMessageBox, "exec_", no_dialog("message box"), raising=False)
    try:
        from pyplugin_installer.plugindependencies import find_dependencies
        plugin_installer = installer.QgsPluginInstaller()
        plugin_installer.installFromZipFile(str(zip_path))

        assert shown == []
        assert find_dependencies("voxprospect_plugin") == ({}, {}, {})
        assert (plugins_dir / "voxprospect_plugin" / "metadata.txt").is_file()
        texts = [t for t, _ in manager.messages]
        assert any("Plugin installed successfully" in t for t in texts), texts
        assert "voxprospect_plugin" in qgis.utils.active_plugins  # loaded and started, no restart
        assert QgsSettings().value("PythonPlugins/voxprospect_plugin", False, bool)  # ticked in Installed
        assert any(m["id"] == "voxprospect_plugin" and m["installed"] == "true" for m in manager.metadata)
        module = sys.modules["voxprospect_plugin"]
        assert Path(module.__file__).parent == plugins_dir / "voxprospect_plugin"  # the installed copy ran
        assert len(registry.providerById("voxprospect").algorithms()) == 10  # 9 steps and the installer
        assert messages_in(fake_iface.messageBar()) == []
        assert fake_iface.menu  # its actions are in the Plugins menu
    finally:
        if "voxprospect_plugin" in qgis.utils.plugins:
            qgis.utils.unloadPlugin("voxprospect_plugin")
        QgsSettings().remove("PythonPlugins/voxprospect_plugin")
        QgsSettings().remove("app/plugin_installer/checkOnStart")
        _drop_plugin_modules()
        sys.modules.update(saved)
    assert registry.providerById("voxprospect") is None
