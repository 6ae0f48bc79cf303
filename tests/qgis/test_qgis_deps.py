"""Missing library or torch: the plugin loads, says once what to install, and breaks nothing."""

from __future__ import annotations

import sys

import pytest



@pytest.fixture
def without(monkeypatch, vp_plugin):
    """Make ``import <name>`` fail as if the package were not installed in QGIS's Python."""
    from voxprospect_plugin import deps

    deps.reset_announcement()

    def hide(*names):
        for name in names:
            for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
                monkeypatch.delitem(sys.modules, mod)
            monkeypatch.setitem(sys.modules, name, None)  # import -> ImportError, find_spec -> None

    yield hide
    deps.reset_announcement()


def test_nothing_missing_in_this_environment(vp_plugin):
    from voxprospect_plugin import deps
    assert deps.missing_packages() == []


def test_missing_torch_and_library_are_named(without):
    from voxprospect_plugin import deps
    without("torch", "voxprospect")
    assert deps.missing_packages() == ["voxprospect", "torch"]


@pytest.mark.parametrize("platform, python", [
    ("linux", "python3 -m pip"),
    ("win32", "python -m pip"),
    ("darwin", "/Applications/QGIS.app/Contents/MacOS/bin/python3 -m pip"),
])
def test_install_command_per_platform(vp_plugin, platform, python):
    from voxprospect_plugin import deps
    text = deps.install_command(["voxprospect", "torch"], platform)
    # torch from the CPU index (a plain pip install may pull a multi-GB CUDA build)
    assert f"{python} install --user torch --index-url https://download.pytorch.org/whl/cpu" in text
    assert f"{python} install --user voxprospect" in text
    assert deps.install_command(["rasterio"], platform).count("pip install") == 1


def test_plugin_loads_and_says_once_what_to_install(without, fake_iface, messages_in):
    from qgis.core import QgsApplication
    import voxprospect_plugin
    from voxprospect_plugin import plugin as plugin_module

    without("torch")
    logged = []
    QgsApplication.messageLog().messageReceived.connect(lambda msg, tag, level: logged.append((tag, msg)))
    registry = QgsApplication.processingRegistry()
    registered = registry.providerById("voxprospect")
    if registered is not None:  # the session's provider: take it out for this test
        registry.removeProvider(registered)
    iface = fake_iface
    plugin = voxprospect_plugin.classFactory(iface)
    try:
        plugin.initGui()  # must not raise
        messages = messages_in(iface.messageBar())
        assert len(messages) == 1 and "torch" in messages[0]
        voxprospect_logs = [m for tag, m in logged if tag == "voxprospect"]
        assert len(voxprospect_logs) == 1
        assert "pip install --user torch --index-url" in voxprospect_logs[0]
        # the provider is there (the toolbox explains) but offers nothing that would fail
        prov = registry.providerById("voxprospect")
        assert prov is not None and prov.algorithms() == []
        assert "torch" in prov.longName()
        # algorithm menu entries are disabled; the dock entry stays usable
        assert [a.isEnabled() for _, a in iface.menu][1:] == [False] * (len(iface.menu) - 1)
        plugin.unload()
        # a plugin reload in the same session does not repeat the message
        other_iface = type(iface)()
        again = plugin_module.VoxprospectPlugin(other_iface)
        again.initGui()
        assert messages_in(other_iface.messageBar()) == []
        again.unload()
        assert registry.providerById("voxprospect") is None
        assert iface.menu == [] and iface.toolbar == []
        plugin = None
    finally:
        if plugin is not None:
            plugin.unload()  # the provider fixture registers a fresh one when needed


def test_plugin_with_everything_installed_registers_algorithms(vp_plugin, fake_iface, messages_in):
    from qgis.core import QgsApplication
    import voxprospect_plugin

    registry = QgsApplication.processingRegistry()
    registered = registry.providerById("voxprospect")
    if registered is not None:
        registry.removeProvider(registered)
    iface = fake_iface
    plugin = voxprospect_plugin.classFactory(iface)
    try:
        plugin.initGui()
        assert messages_in(iface.messageBar()) == []
        assert len(registry.providerById("voxprospect").algorithms()) == 8
        assert all(a.isEnabled() for _, a in iface.menu)
        plugin.toggle_dock(True)
        assert iface.docks and iface.docks[0].objectName() == "voxprospectDepthSlices"
    finally:
        plugin.unload()
        assert iface.docks == []
