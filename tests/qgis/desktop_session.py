"""What an analyst does in desktop QGIS, run inside QGIS itself (``qgis --code``).

Started by ``test_qgis_desktop.py`` in the real QGIS desktop application under Xvfb, with
a fresh profile: install the plugin from its zip through *Install from ZIP*'s code
(``pyplugin_installer``), open the Depth slices dock from the plugin's menu action,
export the targets through the toolbox algorithm (loaded and styled as the dialog
does), show the prospectivity volume and move the slider through every level. At each
level it records what the analyst sees: the layer tree's legend, the dock's status and
level texts, the outline layers' filters and feature counts, and renders the map
(the slices layer alone, and the whole canvas) to count the pixels that are not
background. Optionally it saves screenshots of the window. Everything goes to a JSON
file; this script asserts nothing (the test does).

Configuration: a JSON file named by ``VOXPROSPECT_DESKTOP`` with ``zip``, ``volume``,
``orebodies``, ``result`` and optionally ``screenshots`` (a folder) and ``work``.
"""

import json
import os
import sys
import time
import traceback

from qgis.core import QgsApplication, QgsMapRendererParallelJob, QgsMapSettings, QgsProject, QgsSettings
from qgis.PyQt.QtCore import QTimer
from qgis.PyQt.QtGui import QColor
from qgis.utils import iface

CONFIG = json.load(open(os.environ["VOXPROSPECT_DESKTOP"]))
OUT = {"python": sys.version, "levels": [], "steps": []}


def step(name):
    OUT["steps"].append([name, round(time.time() - START, 2)])


def wait(condition, seconds=60.0):
    deadline = time.time() + seconds
    while not condition() and time.time() < deadline:
        QgsApplication.processEvents()
        time.sleep(0.01)
    return bool(condition())


def redraw(canvas, seconds=30.0):
    """Refresh the canvas and wait until the new render is on screen (mapCanvasRefreshed)."""
    done = []
    canvas.mapCanvasRefreshed.connect(lambda: done.append(True))
    canvas.refresh()
    ok = wait(lambda: bool(done) and not canvas.isDrawing(), seconds)
    canvas.mapCanvasRefreshed.disconnect()
    QgsApplication.processEvents()
    return ok


def render(settings):
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    return job.renderedImage()


def non_background(image, background):
    """Pixels of ``image`` that differ from ``background`` (alpha-blind)."""
    import numpy as np
    from qgis.PyQt.QtGui import QImage
    image = image.convertToFormat(QImage.Format_RGB32)
    ptr = image.constBits()
    ptr.setsize(image.sizeInBytes())
    rows = np.frombuffer(ptr, np.uint32).reshape(image.height(), image.bytesPerLine() // 4)
    pixels = rows[:, :image.width()] & 0xFFFFFF
    return int((pixels != (QColor(background).rgb() & 0xFFFFFF)).sum())


def install_plugin():
    import pyplugin_installer
    import pyplugin_installer.installer as installer
    import qgis.utils
    shown = []

    def no_dialog(self, *args):  # a modal dialog would hang the session: record it instead
        shown.append(type(self).__name__)
        return 0
    installer.QgsPluginDependenciesDialog.exec_ = no_dialog
    QgsSettings().setValue("app/plugin_installer/checkOnStart", False)
    pyplugin_installer.instance().installFromZipFile(CONFIG["zip"])
    registry = QgsApplication.processingRegistry()
    provider = registry.providerById("voxprospect")
    OUT["install"] = {
        "dialogs": shown,
        "active": "voxprospect_plugin" in qgis.utils.active_plugins,
        "enabled_setting": QgsSettings().value("PythonPlugins/voxprospect_plugin", False, bool),
        "plugin_file": getattr(sys.modules.get("voxprospect_plugin"), "__file__", None),
        "home_plugin_path": qgis.utils.home_plugin_path,
        "algorithms": sorted(a.id() for a in provider.algorithms()) if provider else [],
        "menu": [a.text() for a in qgis.utils.plugins["voxprospect_plugin"].actions]
        if "voxprospect_plugin" in qgis.utils.plugins else [],
    }
    return qgis.utils.plugins.get("voxprospect_plugin")


def outline_state(layers):
    out = []
    for lyr in layers:  # the features QGIS draws (featureCount() may be -1, "unknown", under a filter)
        drawn = [int(f["level"]) for f in lyr.getFeatures()]
        out.append({"name": lyr.name(), "subset": lyr.subsetString(), "count": len(drawn),
                    "levels": sorted(set(drawn))})
    return out


def grab(widget, name):
    """Save ``widget`` as a PNG (256 colours, small) in the screenshots folder."""
    folder = CONFIG.get("screenshots")
    if not folder:
        return
    os.makedirs(folder, exist_ok=True)
    raw = os.path.join(CONFIG["work"], name)
    widget.grab().save(raw, "PNG")
    final = os.path.join(folder, name)
    try:  # pillow (matplotlib's dependency) makes a palette PNG a fraction of the size
        from PIL import Image
        Image.open(raw).convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(
            final, optimize=True)
    except ImportError:
        import shutil
        shutil.copy(raw, final)
    OUT.setdefault("screenshots", []).append(final)


def run():
    import processing

    window = iface.mainWindow()
    window.showNormal()
    window.resize(1200, 760)
    plugin = install_plugin()
    step("installed")
    if plugin is None:
        raise RuntimeError("the plugin did not start")
    from voxprospect_plugin import slices as sl  # the installed copy
    plugin.actions[0].trigger()  # "Depth slices" from the plugin's menu and toolbar
    dock = plugin.dock
    OUT["dock_visible"] = bool(dock is not None and dock.isVisible())
    project = QgsProject.instance()

    targets = processing.runAndLoadResults("voxprospect:exporttargets", {
        "PROSPECTIVITY": CONFIG["volume"], "OREBODIES": CONFIG["orebodies"],
        "OUTPUT": os.path.join(CONFIG["work"], "targets.gpkg")})
    OUT["targets"] = {k: targets[k] for k in ("OUTPUT", "THRESHOLD_USED", "TARGET_COUNT")}
    step("targets")

    dock.file_widget.setFilePath(CONFIG["volume"])
    dock.show_volume()  # a background task, as a click on "Show slices"
    if not wait(lambda: dock.slices is not None, 120):
        raise RuntimeError("no slices after 120 s: " + dock.status.text())
    step("slices shown")
    s = dock.slices
    canvas = iface.mapCanvas()
    canvas.setExtent(s.layer.extent())
    redraw(canvas)
    model = iface.layerTreeView().layerTreeModel()
    outlines = sl.outline_layers(project)
    OUT["first_level"] = s.level
    OUT["tree"] = [node.layer().type() for node in project.layerTreeRoot().findLayers()]  # top first
    OUT["layers"] = sorted(layer.name() for layer in project.mapLayers().values())
    background = canvas.mapSettings().backgroundColor()
    for k in range(s.n_levels):
        dock.slider.setValue(k)
        redrawn = redraw(canvas)
        settings = canvas.mapSettings()
        alone = QgsMapSettings(settings)
        alone.setLayers([s.layer])
        raster_px = non_background(render(alone), background)
        shown = canvas.grab().toImage()  # the canvas as it is on the (X) screen
        OUT["levels"].append({
            "level": k, "redrawn": redrawn, "slider": dock.slider.value(), "band": s.band, "layer_name": s.layer.name(),
            "legend": s.legend_texts(model), "status": dock.status.text(), "level_label": dock.level_label.text(),
            "elevation_box": dock.elevation_box.value(), "outlines": outline_state(outlines),
            "raster_px": raster_px, "units_per_pixel": settings.mapUnitsPerPixel(),
            "canvas_px": non_background(shown, background), "canvas_size": [shown.width(), shown.height()],
        })
    step("levels")
    if CONFIG.get("screenshots"):
        for name, level in (("qgis_desktop_depth_slices.png", OUT["first_level"]),
                            ("qgis_desktop_depth_slices_deeper.png", max(0, OUT["first_level"] - 5))):
            dock.slider.setValue(level)
            for node in project.layerTreeRoot().findLayers():  # the ramp open, target legends folded
                node.setExpanded(node.layerId() == s.layer.id())
            redraw(canvas)
            grab(window, name)
        step("screenshots")
    if CONFIG.get("uncertain_volume"):
        # the district's slices step aside (unticked) for the prediction with its uncertainty
        project.layerTreeRoot().findLayer(s.layer.id()).setItemVisibilityChecked(False)
        OUT["uncertainty"] = switch_to_uncertainty(dock, canvas, background, CONFIG["uncertain_volume"], model)
        step("uncertainty")


def switch_to_uncertainty(dock, canvas, background, volume, model):
    """Show a prediction with its std, move to a level, switch the Layer list to the std."""
    dock.file_widget.setFilePath(volume)
    dock.show_volume()
    if not wait(lambda: dock.slices is not None and dock.slices.layer.source().startswith(
            volume.rsplit(".", 1)[0]), 120):
        raise RuntimeError("no slices of the uncertain volume: " + dock.status.text())
    mean = dock.slices
    level = mean.level
    dock.select_layer("prospectivity_std")
    if not wait(lambda: dock.slices is not mean and dock.slices is not None, 120):
        raise RuntimeError("no switch to prospectivity_std: " + dock.status.text())
    s = dock.slices
    canvas.setExtent(s.layer.extent())
    for node in QgsProject.instance().layerTreeRoot().findLayers():
        node.setExpanded(node.layerId() == s.layer.id())
    redraw(canvas)
    grab(iface.mainWindow(), "qgis_desktop_uncertainty.png")
    alone = QgsMapSettings(canvas.mapSettings())
    alone.setLayers([s.layer])
    settings = s.layer.renderer().shader().rasterShaderFunction().legendSettings()
    root = QgsProject.instance().layerTreeRoot()
    return {"level_before": level, "level": s.level, "base_name": s.base_name, "title": s.title,
            "status": dock.status.text(), "legend": s.legend_texts(model), "ramp_label": settings.maximumLabel(),
            "raster_px": non_background(render(alone), background), "units_per_pixel": alone.mapUnitsPerPixel(),
            "mean_visible": root.findLayer(mean.layer.id()).isVisible(),
            "std_visible": root.findLayer(s.layer.id()).isVisible()}


def main():
    try:
        run()
    except Exception:
        OUT["error"] = traceback.format_exc()
    finally:
        with open(CONFIG["result"], "w") as f:
            json.dump(OUT, f, indent=1)
        project = QgsProject.instance()
        project.clear()
        project.setDirty(False)
        iface.actionExit().trigger()


START = time.time()
QTimer.singleShot(0, main)
