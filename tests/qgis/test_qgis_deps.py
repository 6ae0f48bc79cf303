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
        # the provider is in the toolbox with its installer; only torch's steps are gone
        prov = registry.providerById("voxprospect")
        assert prov is not None and "torch" in prov.longName()
        names = {a.name() for a in prov.algorithms()}
        assert names == {"installpackages", "synth", "evidence", "targets", "exporttargets", "exportresults", "slices"}
        # only the pipeline entry (it trains) is disabled, and it says why; the installer is enabled
        by_text = {a.text(): a for _, a in iface.menu}
        off = [t for t, a in by_text.items() if not a.isEnabled()]
        assert off == ["Run whole pipeline…"]
        assert "torch" in by_text["Run whole pipeline…"].toolTip()
        assert "Install missing Python packages" in by_text["Run whole pipeline…"].toolTip()
        assert by_text["Install missing Python packages…"].isEnabled()
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
        assert len(registry.providerById("voxprospect").algorithms()) == 10  # 9 steps and the installer
        assert all(a.isEnabled() for _, a in iface.menu)
        plugin.toggle_dock(True)
        assert iface.docks and iface.docks[0].objectName() == "voxprospectDepthSlices"
    finally:
        plugin.unload()
        assert iface.docks == []


def test_without_the_library_only_the_installer_is_offered(without, fake_iface):
    from qgis.core import QgsApplication
    import voxprospect_plugin

    without("voxprospect")
    registry = QgsApplication.processingRegistry()
    if registry.providerById("voxprospect") is not None:
        registry.removeProvider(registry.providerById("voxprospect"))
    plugin = voxprospect_plugin.classFactory(fake_iface)
    try:
        plugin.initGui()
        prov = registry.providerById("voxprospect")
        assert [a.name() for a in prov.algorithms()] == ["installpackages"]  # so the toolbox lists it
        assert "missing Python packages: voxprospect" in prov.longName()
        disabled = [a for _, a in fake_iface.menu if not a.isEnabled()]
        assert len(disabled) == 5 and all("voxprospect" in a.toolTip() for a in disabled)
    finally:
        plugin.unload()


def _tiny_wheel(tmp_path, name="vp_tiny_dep", version="1.0"):
    """A wheel of a tiny local package, built by pip here (an offline wheel folder)."""
    import subprocess
    src = tmp_path / "src"
    (src / name).mkdir(parents=True)
    (src / name / "__init__.py").write_text(f"VALUE = {version!r}\n")
    (src / "pyproject.toml").write_text(
        f'[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        f'[project]\nname = "{name}"\nversion = "{version}"\n[tool.setuptools]\npackages = ["{name}"]\n')
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    str(src), "-w", str(wheels)], check=True, capture_output=True)
    return wheels


def test_installer_puts_local_wheels_in_the_plugins_folder(provider, tmp_path):
    """pip --target from a wheel folder, through the Processing algorithm (its dialog's code)."""
    import processing
    from qgis.core import QgsProcessingFeedback

    wheels = _tiny_wheel(tmp_path)
    target = tmp_path / "profile_packages"
    feedback = QgsProcessingFeedback()
    progress = []
    feedback.progressChanged.connect(progress.append)
    res = processing.run("voxprospect:installpackages", {"PACKAGES": "vp_tiny_dep", "WHEELS": str(wheels),
                                                         "TARGET": str(target)}, feedback=feedback)
    assert res["INSTALLED"] == "vp_tiny_dep"
    assert (target / "vp_tiny_dep" / "__init__.py").read_text() == "VALUE = '1.0'\n"
    assert progress and progress[-1] == 100.0
    assert "--target" in feedback.textLog() and "--no-index" in feedback.textLog()
    assert str(target) == sys.path[0]  # importable in this session without a restart
    import importlib
    assert importlib.import_module("vp_tiny_dep").VALUE == "1.0"
    sys.path.remove(str(target))
    sys.modules.pop("vp_tiny_dep", None)


def test_installer_cancel_stops_pip(provider, tmp_path):
    import processing
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    wheels = _tiny_wheel(tmp_path, "vp_tiny_cancel")
    feedback = QgsProcessingFeedback()
    feedback.cancel()  # pressed at once: pip is killed before it installs anything
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        processing.run("voxprospect:installpackages", {"PACKAGES": "vp_tiny_cancel", "WHEELS": str(wheels),
                                                       "TARGET": str(tmp_path / "t")}, feedback=feedback)
    assert not (tmp_path / "t" / "vp_tiny_cancel").exists()


def test_pip_arguments_use_the_cpu_torch_index_unless_a_local_source_is_given(vp_plugin):
    from voxprospect_plugin import deps
    online = deps.pip_arguments(["torch", "voxprospect"], "/p")
    assert online[online.index("--target") + 1] == "/p"
    assert online[online.index("--extra-index-url") + 1] == deps.TORCH_CPU_INDEX
    offline = deps.pip_arguments(["torch"], "/p", find_links="/w")
    assert "--no-index" in offline and "--extra-index-url" not in offline
    mirror = deps.pip_arguments(["torch"], "/p", index_url="https://mirror/simple")
    assert mirror[mirror.index("--index-url") + 1] == "https://mirror/simple"


def test_installer_works_on_debians_externally_managed_python(vp_plugin, tmp_path):
    """Debian 12's /usr/bin/python3 refuses `pip install` (PEP 668); --target is allowed."""
    import os
    import subprocess
    from voxprospect_plugin import deps

    system = "/usr/bin/python3"
    marker = f"/usr/lib/python{sys.version_info[0]}.{sys.version_info[1]}/EXTERNALLY-MANAGED"
    if not (os.path.exists(marker) and subprocess.run([system, "-m", "pip", "--version"],
                                                      capture_output=True).returncode == 0):
        pytest.skip("no externally managed system Python with pip here")
    wheels = _tiny_wheel(tmp_path, "vp_tiny_debian")
    target = tmp_path / "t"
    assert deps.run_pip(["vp_tiny_debian"], str(target), find_links=str(wheels), python=system) == 0
    r = subprocess.run([system, "-c", "import vp_tiny_debian; print(vp_tiny_debian.VALUE)"],
                       env=dict(os.environ, PYTHONPATH=str(target)), capture_output=True, text=True)
    assert r.stdout.strip() == "1.0", r.stderr
