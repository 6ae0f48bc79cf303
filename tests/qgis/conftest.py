"""A real QGIS for the plugin tests, started once per session, headless.

The tests here need Debian's ``python3-qgis`` (QGIS 3.22) importable from the venv
(``bash scripts/setup_qgis_env.sh`` writes the .pth that does it; without it this
file still tries the Debian paths). Without QGIS every test here is skipped and the
core suite runs as usual.

The plugin package (``plugin/`` in the repository) is imported under its installed
name, ``voxprospect_plugin``, so the tests exercise the same relative imports as a
plugin installed from the zip.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
PLUGIN_DIR = REPO / "plugin"
DEBIAN_QGIS_PATHS = ("/usr/lib/python3/dist-packages", "/usr/share/qgis/python/plugins", "/usr/share/qgis/python")

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if str(Path(__file__).parent) not in sys.path:
    sys.path.append(str(Path(__file__).parent))  # the helpers beside this file (external_qgis)
os.environ.setdefault("MPLBACKEND", "Agg")


def _qgis_importable() -> bool:
    try:
        return importlib.util.find_spec("qgis") is not None and importlib.util.find_spec("qgis.core") is not None
    except (ImportError, ValueError):
        return False


if not _qgis_importable():
    for extra in os.environ.get("QGIS_PYTHON_PATHS", os.pathsep.join(DEBIAN_QGIS_PATHS)).split(os.pathsep):
        if extra and os.path.isdir(extra) and extra not in sys.path:
            sys.path.append(extra)  # after the venv's own packages: its numpy wins

try:
    import qgis.core  # noqa: F401
    QGIS_ERROR = None
except Exception as e:  # - ImportError, or a sip/Qt ABI mismatch
    QGIS_ERROR = f"{type(e).__name__}: {e}"


def pytest_collection_modifyitems(config, items):
    if QGIS_ERROR is None:
        return
    skip = pytest.mark.skip(reason=f"QGIS Python not importable ({QGIS_ERROR}); "
                                   "apt-get install python3-qgis and run scripts/setup_qgis_env.sh")
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(skip)


def import_plugin_package():
    """``plugin/`` as the package ``voxprospect_plugin`` (its name once installed)."""
    name = "voxprospect_plugin"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, PLUGIN_DIR / "__init__.py",
                                                  submodule_search_locations=[str(PLUGIN_DIR)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def qgis_app():
    """One QgsApplication (with GUI classes, offscreen) and Processing, for the session."""
    if QGIS_ERROR is not None:
        pytest.skip(QGIS_ERROR)
    from qgis.core import QgsApplication
    app = QgsApplication.instance()
    if app is None:
        QgsApplication.setPrefixPath("/usr", True)
        app = QgsApplication([], True)
        app.initQgis()
    from processing.core.Processing import Processing
    Processing.initialize()
    yield app
    # no exitQgis(): tearing QGIS down while Python still holds layers crashes at exit


@pytest.fixture(scope="session")
def vp_plugin(qgis_app):
    """The plugin package, imported once."""
    return import_plugin_package()


_PROVIDERS = []


@pytest.fixture
def provider(vp_plugin):
    """The voxprospect provider registered in QGIS's Processing registry.

    Looked up for each test: the plugin tests remove and re-add it, and the registry
    deletes a removed provider.
    """
    from qgis.core import QgsApplication
    from voxprospect_plugin.provider import VoxprospectProvider
    registry = QgsApplication.processingRegistry()
    existing = registry.providerById("voxprospect")
    if existing is not None:
        return existing
    prov = VoxprospectProvider()
    assert registry.addProvider(prov)
    # the registry does not keep the Python object alive (a plugin holds it in
    # self.provider); without a reference its Python overrides would vanish
    _PROVIDERS.append(prov)
    return prov


@pytest.fixture
def project(qgis_app):
    """A clean current project."""
    from qgis.core import QgsProject
    proj = QgsProject.instance()
    proj.clear()
    yield proj
    proj.clear()


# -- small synthetic volumes (fast; the real district is built only in the slow test) --

CRS = "EPSG:32650"


@pytest.fixture(scope="session")
def tiny_grid():
    from voxprospect import VoxelGrid
    # anisotropic cells and a non-round origin catch x/y or top/bottom mix-ups
    return VoxelGrid((420_000.0, 3_350_000.0, -800.0), (40.0, 50.0, 25.0), (24, 18, 8), CRS)


def gaussian_blobs(grid, centres, widths):
    """A smooth prospectivity field in [0, 1] with a bump at each (i, j, k) centre."""
    nx, ny, nz = grid.shape
    i, j, k = np.meshgrid(np.arange(nx), np.arange(ny), np.arange(nz), indexing="ij")
    field = np.zeros(grid.shape)
    for (ci, cj, ck), (wi, wj, wk) in zip(centres, widths):
        field = np.maximum(field, np.exp(-(((i - ci) / wi) ** 2 + ((j - cj) / wj) ** 2 + ((k - ck) / wk) ** 2)))
    return field.astype(np.float32)


@pytest.fixture(scope="session")
def blobs():
    """``blobs(grid, centres, widths)``: :func:`gaussian_blobs` for test modules."""
    return gaussian_blobs


@pytest.fixture(scope="session")
def prospectivity_vti(tiny_grid, tmp_path_factory):
    """A prospectivity volume with two separate highs, the top level inactive (air)."""
    from voxprospect import Volume
    from voxprospect.io import write_vti
    p = gaussian_blobs(tiny_grid, [(6, 5, 3), (17, 12, 5)], [(3, 3, 2), (2.5, 2, 1.5)])
    active = np.ones(tiny_grid.shape, bool)
    active[:, :, -1] = False
    orebody = (p > 0.85).astype(np.uint8)
    vol = Volume(tiny_grid, {"prospectivity": p, "orebody": orebody}, active=active,
                 meta={"made_by": "tests/qgis/conftest.py prospectivity_vti"})
    path = tmp_path_factory.mktemp("vol") / "prospectivity.vti"
    write_vti(vol, path)
    return path


# -- GUI test doubles ------------------------------------------------------------

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

    def mainWindow(self):
        return self._main

    def messageBar(self):
        return self._bar

    def mapCanvas(self):
        return self._canvas

    def addPluginToMenu(self, menu, action):
        self.menu.append((menu, action))

    def removePluginMenu(self, menu, action):
        self.menu.remove((menu, action))

    def addToolBarIcon(self, action):
        self.toolbar.append(action)

    def removeToolBarIcon(self, action):
        self.toolbar.remove(action)

    def addDockWidget(self, area, dock):
        self._main.addDockWidget(area, dock)
        self.docks.append(dock)

    def removeDockWidget(self, dock):
        self._main.removeDockWidget(dock)
        self.docks.remove(dock)

    def setActiveLayer(self, layer):
        self.active_layer = layer
        return True


def bar_messages(bar):
    """Texts of the message bar's current items (title: text)."""
    items = bar.items()
    return [f"{i.title()}: {i.text()}" for i in items]


@pytest.fixture
def fake_iface(qgis_app):
    """A fresh :class:`FakeIface` (``iface`` only exists in the desktop application)."""
    return FakeIface()


@pytest.fixture
def messages_in():
    """``messages_in(bar)``: the message bar's current texts."""
    return bar_messages
