"""The zip from ``voxprospect plugin-zip`` installs and starts as QGIS's plugin manager does it."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_zip_installs_and_starts_through_qgis_utils(fake_iface, messages_in, tmp_path, monkeypatch):
    import qgis.utils
    from qgis.core import QgsApplication
    from voxprospect_cli.plugin_zip import build_plugin_zip

    zip_path = tmp_path / "voxprospect_plugin.zip"
    build_plugin_zip(REPO, zip_path)
    plugins = tmp_path / "plugins"
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(plugins)  # what "Install from ZIP" does, into the profile's plugins folder

    # the session's copy of the package (imported from plugin/) steps aside for this test
    for name in [m for m in sys.modules if m == "voxprospect_plugin" or m.startswith("voxprospect_plugin.")]:
        monkeypatch.delitem(sys.modules, name)
    registry = QgsApplication.processingRegistry()
    if registry.providerById("voxprospect") is not None:
        registry.removeProvider(registry.providerById("voxprospect"))
    monkeypatch.syspath_prepend(str(plugins))
    monkeypatch.setattr(qgis.utils, "plugin_paths", [str(plugins)])
    monkeypatch.setattr(qgis.utils, "iface", fake_iface)
    try:
        assert qgis.utils.loadPlugin("voxprospect_plugin")
        assert qgis.utils.startPlugin("voxprospect_plugin")
        module = sys.modules["voxprospect_plugin"]
        assert Path(module.__file__).parent == plugins / "voxprospect_plugin"  # the installed copy ran
        assert len(registry.providerById("voxprospect").algorithms()) == 8
        assert messages_in(fake_iface.messageBar()) == []
        assert fake_iface.menu  # its actions are in the Plugins menu
    finally:
        if "voxprospect_plugin" in qgis.utils.plugins:
            qgis.utils.unloadPlugin("voxprospect_plugin")
    assert registry.providerById("voxprospect") is None
    for name in [m for m in sys.modules if m == "voxprospect_plugin" or m.startswith("voxprospect_plugin.")]:
        del sys.modules[name]  # monkeypatch then restores the session's copy
