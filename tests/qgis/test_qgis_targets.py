"""Export targets: GeoPackage layers with features, attributes, PointZ centroids and a style."""

from __future__ import annotations

import numpy as np
import pytest


def _run_export(prospectivity_vti, out, **extra):
    import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback, QgsProject
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    feedback = QgsProcessingFeedback()
    params = {"PROSPECTIVITY": str(prospectivity_vti), "LAYER": "prospectivity", "OUTPUT": str(out)}
    params.update(extra)
    results = processing.run("voxprospect:exporttargets", params, context=context, feedback=feedback)
    return results, context


def test_given_threshold_gives_outlines_and_pointz_centroids(provider, prospectivity_vti, tmp_path, tiny_grid):
    from qgis.core import QgsVectorLayer, QgsWkbTypes

    results, context = _run_export(prospectivity_vti, tmp_path / "t.gpkg", THRESHOLD=0.5)
    assert results["TARGET_COUNT"] == 2  # the fixture's two separate highs
    assert results["THRESHOLD_USED"] == pytest.approx(0.5)
    outlines = QgsVectorLayer(results["OUTLINES"], "outlines", "ogr")
    centroids = QgsVectorLayer(results["CENTROIDS"], "centroids", "ogr")
    for layer in (outlines, centroids):
        assert layer.isValid() and layer.crs().authid() == tiny_grid.crs
    assert outlines.geometryType() == QgsWkbTypes.PolygonGeometry
    assert QgsWkbTypes.hasZ(centroids.wkbType()) and QgsWkbTypes.geometryType(centroids.wkbType()) == 0
    # one outline per target per level it spans; inside the grid's footprint
    assert outlines.featureCount() >= 2
    xmin, xmax, ymin, ymax, zmin, zmax = tiny_grid.bounds
    ext = outlines.extent()
    assert xmin <= ext.xMinimum() and ext.xMaximum() <= xmax and ymin <= ext.yMinimum() and ext.yMaximum() <= ymax
    feats = sorted(centroids.getFeatures(), key=lambda f: f["target_id"])
    assert [f["target_id"] for f in feats] == [1, 2]
    assert feats[0]["max_prospectivity"] >= feats[1]["max_prospectivity"] >= 0.5
    for f in feats:
        z = f.geometry().constGet().z()
        assert zmin < z < zmax  # a real elevation, not 0
    levels = {f["elevation_m"] for f in outlines.getFeatures()}
    assert levels <= set(float(z) for z in tiny_grid.elevations)
    # the layers QGIS loads when the run ends are the GeoPackage's three layers
    assert set(context.layersToLoadOnCompletion()) == {results["OUTLINES"], results["CENTROIDS"],
                                                       results["DRILL_POINTS"]}
    # outlines come target by target, each from the top level down
    keys = [(f["target_id"], -f["level"]) for f in outlines.getFeatures()]
    assert keys == sorted(keys)
    # each drill point is in its target's outline at its level, at the target's maximum
    drill = QgsVectorLayer(results["DRILL_POINTS"], "drill", "ogr")
    assert drill.featureCount() == 2 and QgsWkbTypes.hasZ(drill.wkbType())
    for d in drill.getFeatures():
        assert d["prospectivity"] == pytest.approx(d["max_prospectivity"])
        ring = [f for f in outlines.getFeatures() if f["target_id"] == d["target_id"] and f["level"] == d["k"]]
        assert len(ring) == 1 and ring[0].geometry().contains(d.geometry().centroid())


def test_threshold_from_prediction_area(provider, prospectivity_vti, tmp_path):
    results, _ = _run_export(prospectivity_vti, tmp_path / "pa.gpkg", OREBODIES=str(prospectivity_vti))
    assert 0.0 < results["THRESHOLD_USED"] < 1.0
    assert results["TARGET_COUNT"] >= 1


def test_no_threshold_and_no_orebodies_is_a_message(provider, prospectivity_vti, tmp_path):
    from qgis.core import QgsProcessingException
    with pytest.raises(QgsProcessingException, match="give a threshold"):
        _run_export(prospectivity_vti, tmp_path / "x.gpkg")
    assert not (tmp_path / "x.gpkg").exists()


@pytest.fixture
def unequal_vti(tiny_grid, blobs, tmp_path):
    """Three highs with different peaks (1.0, 0.8, 0.6): targets worth ranking."""
    from voxprospect import Volume
    from voxprospect.io import write_vti
    p = np.maximum.reduce([peak * blobs(tiny_grid, [c], [(2, 2, 1.5)]) for peak, c in
                           ((1.0, (5, 5, 3)), (0.8, (18, 13, 4)), (0.6, (18, 4, 2)))])
    path = tmp_path / "unequal.vti"
    write_vti(Volume(tiny_grid, {"prospectivity": p}), path)
    return path


def test_style_makes_high_prospectivity_stand_out(provider, unequal_vti, tmp_path):
    from qgis.core import QgsGraduatedSymbolRenderer, QgsVectorLayer
    from voxprospect_plugin.targets_style import style_targets_layer

    results, _ = _run_export(unequal_vti, tmp_path / "s.gpkg", THRESHOLD=0.3)
    assert results["TARGET_COUNT"] == 3
    layer = QgsVectorLayer(results["OUTLINES"], "outlines", "ogr")
    assert style_targets_layer(layer)
    renderer = layer.renderer()
    assert isinstance(renderer, QgsGraduatedSymbolRenderer)
    assert renderer.classAttribute() == "max_prospectivity"
    ranges = renderer.ranges()
    assert len(ranges) >= 2
    assert [r.lowerValue() for r in ranges] == sorted(r.lowerValue() for r in ranges)
    # brighter and thicker lines for higher classes (the top line; the bottom one is the halo);
    # best targets drawn last (on top)
    top_lines = [r.symbol().symbolLayer(1) for r in ranges]
    lightness = [s.strokeColor().lightness() for s in top_lines]
    widths = [s.strokeWidth() for s in top_lines]
    assert lightness == sorted(lightness) and lightness[0] < lightness[-1]
    assert widths == sorted(widths) and widths[0] < widths[-1]
    assert renderer.orderByEnabled() and renderer.orderBy().list()[0].ascending()


def test_post_processor_styles_loaded_layers(provider, unequal_vti, tmp_path):
    """What QGIS does after the dialog: load the layers and run their post-processors."""
    from qgis.core import QgsGraduatedSymbolRenderer, QgsProcessingUtils, QgsProject
    results, context = _run_export(unequal_vti, tmp_path / "pp.gpkg", THRESHOLD=0.5)
    project = QgsProject.instance()
    for uri, details in context.layersToLoadOnCompletion().items():
        layer = QgsProcessingUtils.mapLayerFromString(uri, context)
        assert layer is not None and layer.isValid()
        project.addMapLayer(layer)
        details.postProcessor().postProcessLayer(layer, context, None)
        assert isinstance(layer.renderer(), QgsGraduatedSymbolRenderer)
        # the threshold, rounded, is in the names
        assert details.name in ("target outlines (p ≥ 0.5)", "target centroids (p ≥ 0.5)",
                                "target drill points (p ≥ 0.5)")
    project.clear()


def test_one_target_gets_one_bright_symbol(provider, unequal_vti, tmp_path):
    from qgis.core import QgsSingleSymbolRenderer, QgsVectorLayer
    from voxprospect_plugin.targets_style import TARGET_COLOURS, style_targets_layer

    results, _ = _run_export(unequal_vti, tmp_path / "one.gpkg", THRESHOLD=0.9)
    assert results["TARGET_COUNT"] == 1
    layer = QgsVectorLayer(results["CENTROIDS"], "c", "ogr")
    assert not style_targets_layer(layer)  # no five classes of one value
    renderer = layer.renderer()
    assert isinstance(renderer, QgsSingleSymbolRenderer)
    assert renderer.symbol().color().name() == TARGET_COLOURS[-1]  # the brightest, not the darkest


def test_geopackage_carries_its_default_styles(provider, prospectivity_vti, tmp_path):
    """Loaded by hand, the outlines are hollow (the slice stays visible) and labelled."""
    from qgis.core import QgsVectorLayer
    from qgis.PyQt.QtCore import Qt

    results, _ = _run_export(prospectivity_vti, tmp_path / "d.gpkg", THRESHOLD=0.5)
    gpkg = str(tmp_path / "d.gpkg")
    outlines = QgsVectorLayer(f"{gpkg}|layername=target_outlines", "by hand", "ogr")
    fills = outlines.renderer().symbol().symbolLayers()
    assert fills and all(f.brushStyle() == Qt.NoBrush for f in fills)
    assert outlines.labelsEnabled() and outlines.labeling().settings().fieldName == "target_id"
    drill = QgsVectorLayer(f"{gpkg}|layername=target_drill_points", "by hand", "ogr")
    assert drill.renderer().symbol().symbolLayer(0).layerType() == "SimpleMarker"


def test_targets_run_gives_a_results_page(provider, prospectivity_vti, tmp_path):
    """P-A plot, threshold and target table in the page the results viewer opens."""
    import csv
    import json

    import processing
    from qgis.core import QgsApplication, QgsProcessingOutputHtml

    alg = QgsApplication.processingRegistry().algorithmById("voxprospect:targets")
    assert isinstance(alg.outputDefinition("RESULTS"), QgsProcessingOutputHtml)
    out = tmp_path / "run"
    res = processing.run("voxprospect:targets", {"PROSPECTIVITY": str(prospectivity_vti),
                                                 "OREBODIES": str(prospectivity_vti), "OUTPUT": str(out)})
    from pathlib import Path
    page = Path(res["RESULTS"]).read_text(encoding="utf-8")
    report = json.loads((out / "report.json").read_text())
    assert "data:image/png;base64," in page  # the P-A plot, embedded
    assert f"<b>Threshold</b>: {report['threshold']:.3g}" in page
    with open(out / report["targets"]["files"][1], newline="") as f:
        rows = list(csv.reader(f))
    assert f"<h2>Targets ({len(rows) - 1})</h2>" in page and len(rows) - 1 == res["TARGET_COUNT"]
    assert page.count("<tr>") >= len(rows)  # header + one row per target


def test_scores_sit_beside_their_baselines():
    from voxprospect_plugin.results_html import scores_section
    report = {"models": {"rcnn_lam": {"metrics": {"cv": {"auc": 0.91}}},
                         "random_forest": {"metrics": {"cv": {"auc": 0.87}}}}}
    page = scores_section(report)
    assert "<th>rcnn_lam</th><th>random_forest</th>" in page
    assert "<td>cv · auc</td><td>0.91</td><td>0.87</td>" in page
