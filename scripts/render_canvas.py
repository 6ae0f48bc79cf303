"""Render a depth slice of a prospectivity volume with its target outlines, offscreen.

Makes the picture in ``docs/img/depth_slice_targets.png`` with the plugin's own code
path: the ``voxprospect:slices`` and ``voxprospect:exporttargets`` Processing
algorithms, the Depth slices logic (band per level) and the target style, then a
QGIS print layout (map, legend, scale bar, title) exported as PNG. No display needed.

Usage (the venv must see QGIS: ``bash scripts/setup_qgis_env.sh``)::

    voxprospect demo out                      # or any run that wrote a prospectivity .vti
    python scripts/render_canvas.py out/.../prospectivity.vti --orebodies out/.../district.vti \\
        -o docs/img/depth_slice_targets.png

Without ``--elevation`` the level holding the most prospective voxel is shown; without
``--threshold`` it comes from the prediction-area plot against ``--orebodies``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def start_qgis():
    """A headless QgsApplication with Processing and the voxprospect provider."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        import qgis.core  # noqa: F401
    except ImportError:
        for extra in ("/usr/lib/python3/dist-packages", "/usr/share/qgis/python/plugins"):
            if extra not in sys.path:
                sys.path.append(extra)
    from qgis.core import QgsApplication
    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], True)
    app.initQgis()
    from processing.core.Processing import Processing
    Processing.initialize()
    spec = importlib.util.spec_from_file_location("voxprospect_plugin", REPO / "plugin" / "__init__.py",
                                                  submodule_search_locations=[str(REPO / "plugin")])
    module = importlib.util.module_from_spec(spec)
    sys.modules["voxprospect_plugin"] = module
    spec.loader.exec_module(module)
    from voxprospect_plugin.provider import VoxprospectProvider
    provider = VoxprospectProvider()
    QgsApplication.processingRegistry().addProvider(provider)
    return app, provider


def strongest_level(volume_path, layer):
    """Level k holding the most prospective active voxel."""
    import numpy as np
    from voxprospect.io import read_volume
    vol = read_volume(volume_path)
    values = np.where(vol.active, vol[layer], np.nan)
    return int(np.unravel_index(np.nanargmax(values), values.shape)[2])


def render(prospectivity, out_png, layer="prospectivity", orebodies=None, threshold=None, targets=None,
           elevation=None, title=None, dpi=150, workdir=None):
    """Render the PNG; returns a dict describing what was drawn."""
    import processing
    from qgis.core import (QgsLayoutExporter, QgsLayoutItemLabel, QgsLayoutItemLegend, QgsLayoutItemMap,
                           QgsLayoutItemScaleBar, QgsLayoutPoint, QgsLayoutSize, QgsPrintLayout, QgsProject,
                           QgsUnitTypes, QgsVectorLayer)
    from qgis.PyQt.QtGui import QFont
    from voxprospect_plugin.slices import open_depth_slices
    from voxprospect_plugin.targets_style import style_targets_layer

    workdir = Path(workdir or tempfile.mkdtemp(prefix="voxprospect_render_"))
    project = QgsProject.instance()
    project.clear()
    slices = open_depth_slices(prospectivity, layer, project=project, out_path=workdir / "slices.tif")
    if elevation is None:
        level = strongest_level(prospectivity, layer)
        slices.set_level(level)
    else:
        level = slices.set_elevation(float(elevation))
    z = slices.elevation()
    project.setCrs(slices.layer.crs())

    if targets is None:
        params = {"PROSPECTIVITY": str(prospectivity), "LAYER": layer, "OUTPUT": str(workdir / "targets.gpkg")}
        if threshold is not None:
            params["THRESHOLD"] = float(threshold)
        if orebodies:
            params["OREBODIES"] = str(orebodies)
        result = processing.run("voxprospect:exporttargets", params)
        targets, threshold = params["OUTPUT"], result["THRESHOLD_USED"]
    outlines = QgsVectorLayer(f"{targets}|layername=target_outlines",
                              f"target outlines at z={z:g} m", "ogr")
    centroids = QgsVectorLayer(f"{targets}|layername=target_centroids",
                               "3D target centroids|(max prospectivity)", "ogr")
    # only this level's outlines: the others belong to other depths
    outlines.setSubsetString(f'abs("elevation_m" - ({z})) < 0.01')
    for vl in (outlines, centroids):
        if not vl.isValid():
            raise SystemExit(f"{targets}: cannot open {vl.name()}")
        style_targets_layer(vl)
        project.addMapLayer(vl)

    layout = QgsPrintLayout(project)
    layout.initializeDefaults()
    page = layout.pageCollection().page(0)
    page.setPageSize(QgsLayoutSize(250, 170, QgsUnitTypes.LayoutMillimeters))
    map_item = QgsLayoutItemMap(layout)
    map_item.attemptMove(QgsLayoutPoint(6, 16, QgsUnitTypes.LayoutMillimeters))
    map_item.attemptResize(QgsLayoutSize(168, 148, QgsUnitTypes.LayoutMillimeters))
    map_item.setLayers([outlines, centroids, slices.layer])
    extent = slices.layer.extent()
    extent.scale(1.02)
    map_item.setExtent(extent)
    map_item.setFrameEnabled(True)
    layout.addLayoutItem(map_item)

    label = QgsLayoutItemLabel(layout)
    label.setText(title or f"Prospectivity depth slice at z = {z:g} m with 3D target outlines"
                  + (f" (threshold {threshold:.3f})" if threshold is not None else ""))
    label.setFont(QFont("DejaVu Sans", 13))
    label.attemptMove(QgsLayoutPoint(6, 4, QgsUnitTypes.LayoutMillimeters))
    label.attemptResize(QgsLayoutSize(238, 10, QgsUnitTypes.LayoutMillimeters))
    layout.addLayoutItem(label)

    legend = QgsLayoutItemLegend(layout)
    legend.setLinkedMap(map_item)
    legend.setTitle("Legend")
    legend.setWrapString("|")  # layer names break at "|" in the legend
    legend.setAutoUpdateModel(False)
    root = legend.model().rootGroup()
    root.clear()
    for ml in (slices.layer, outlines, centroids):
        root.addLayer(ml)
    legend.attemptMove(QgsLayoutPoint(178, 16, QgsUnitTypes.LayoutMillimeters))
    layout.addLayoutItem(legend)

    scale = QgsLayoutItemScaleBar(layout)
    scale.setStyle("Single Box")
    scale.setLinkedMap(map_item)
    scale.applyDefaultSize(QgsUnitTypes.DistanceKilometers)
    scale.attemptMove(QgsLayoutPoint(10, 152, QgsUnitTypes.LayoutMillimeters))
    layout.addLayoutItem(scale)

    settings = QgsLayoutExporter.ImageExportSettings()
    settings.dpi = dpi
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    status = QgsLayoutExporter(layout).exportToImage(str(out_png), settings)
    if status != QgsLayoutExporter.Success:
        raise SystemExit(f"{out_png}: layout export failed ({status})")
    return {"png": str(out_png), "elevation": z, "level": level, "band": slices.band,
            "outlines_at_level": outlines.featureCount(), "targets": centroids.featureCount(),
            "threshold": threshold}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("prospectivity", help="prospectivity volume (.vti)")
    parser.add_argument("-o", "--output", default=str(REPO / "docs" / "img" / "depth_slice_targets.png"))
    parser.add_argument("--layer", default="prospectivity")
    parser.add_argument("--orebodies", help="volume with the known orebodies (for the P-A threshold)")
    parser.add_argument("--threshold", type=float)
    parser.add_argument("--targets", help="an existing targets GeoPackage (skips the export)")
    parser.add_argument("--elevation", type=float, help="elevation (m) of the slice to show")
    parser.add_argument("--title")
    parser.add_argument("--dpi", type=int, default=150)
    args = parser.parse_args(argv)
    app, provider = start_qgis()  # noqa: F841 - both must outlive the rendering
    info = render(args.prospectivity, args.output, layer=args.layer, orebodies=args.orebodies,
                  threshold=args.threshold, targets=args.targets, elevation=args.elevation,
                  title=args.title, dpi=args.dpi)
    print(info)


if __name__ == "__main__":
    main()
