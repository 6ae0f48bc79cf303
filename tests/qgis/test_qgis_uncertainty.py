"""The uncertainty side of a prediction in QGIS (issue 13, part 4).

A prediction volume with ``prospectivity_std`` and ``prospectivity_q10`` (the shared
layer names) lets the Depth slices dock switch to the uncertainty at the level on
show, with its own ramp and label; target layers carrying ``std_mean``, ``std_max``
and ``top_channels`` show them (aliases, map tip, the results page's table). The
volume and the targets file are built here, with the libraries that write them.
"""

from __future__ import annotations

import time

import numpy as np
import pytest


@pytest.fixture(scope="module")
def uncertain_vti(tiny_grid, blobs, tmp_path_factory):
    """Mean, std and 10th percentile of an ensemble of five perturbed fields (built here)."""
    from voxprospect import Volume
    from voxprospect.io import write_vti
    rng = np.random.default_rng(7)
    base = blobs(tiny_grid, [(6, 5, 3), (17, 12, 5)], [(3, 3, 2), (2.5, 2, 1.5)]).astype(np.float64)
    # the members disagree more away from the first high (as away from training data)
    i = np.arange(tiny_grid.shape[0])[:, None, None]
    spread = 0.02 + 0.25 * np.clip(np.abs(i - 6) / 18.0, 0, 1) * np.ones(tiny_grid.shape)
    members = np.clip(base[None] + spread[None] * rng.standard_normal((5,) + tiny_grid.shape), 0, 1)
    active = np.ones(tiny_grid.shape, bool)
    active[:, :, -1] = False
    layers = {"prospectivity": members.mean(axis=0).astype(np.float32),
              "prospectivity_std": members.std(axis=0).astype(np.float32),
              "prospectivity_q10": np.quantile(members, 0.1, axis=0).astype(np.float32)}
    path = tmp_path_factory.mktemp("unc") / "prediction.vti"
    write_vti(Volume(tiny_grid, layers, active=active, meta={"made_by": __file__}), path)
    return path


def _wait(dock, until, seconds=60):
    from qgis.core import QgsApplication
    deadline = time.time() + seconds
    while not until() and time.time() < deadline:
        QgsApplication.processEvents()
        time.sleep(0.02)
    assert until(), dock.status.text()


def _values(layer, band, x, y):
    from qgis.core import QgsPointXY, QgsRaster
    return layer.dataProvider().identify(QgsPointXY(x, y), QgsRaster.IdentifyFormatValue).results()[band]


def test_layer_names_titles_and_ramps(vp_plugin):
    from voxprospect_plugin import slices as sl
    assert sl.layer_kind("prospectivity_std") == "uncertainty"
    assert sl.layer_kind("prospectivity_q10") == "quantile"
    assert sl.layer_kind("attribution_density") == "attribution"
    assert sl.layer_kind("prospectivity") == "prospectivity"
    assert sl.legend_title("prospectivity_std", 0.0, 0.3) == "Uncertainty (std of prospectivity)"
    assert sl.legend_title("prospectivity_q10", 0.0, 0.9) == "Prospectivity, 10th percentile (0–1)"
    assert sl.legend_title("prospectivity", 0.0, 1.0) == "Prospectivity (0–1)"
    assert sl.legend_title("attribution_faults_ne", -0.2, 0.4) == "Attribution of faults ne"
    assert sl.ramp_for("prospectivity_std") != sl.ramp_for("prospectivity") == sl.ramp_for("prospectivity_q10")
    assert sl.layer_description("prospectivity_std") == "prospectivity_std (uncertainty)"


def test_dock_switches_to_the_uncertainty_at_the_same_level(provider, project, uncertain_vti, tiny_grid):
    from qgis.core import QgsLayerTreeModel
    from voxprospect.io import read_volume
    from voxprospect_plugin import slices as sl
    from voxprospect_plugin.dock import DepthSlicesDock

    vol = read_volume(uncertain_vti)
    dock = DepthSlicesDock(project=project)
    dock.file_widget.setFilePath(str(uncertain_vti))
    assert [dock.layer_combo.itemData(i) for i in range(dock.layer_combo.count())] == [
        "prospectivity", "prospectivity_std", "prospectivity_q10"]
    assert dock.layer_combo.itemText(1) == "prospectivity_std (uncertainty)"
    assert dock.current_layer() == "prospectivity"
    dock.show_volume()
    _wait(dock, lambda: dock.slices is not None)
    mean = dock.slices
    dock.slider.setValue(2)
    assert mean.level == 2

    assert dock.select_layer("prospectivity_std")  # the switch exports std in the background
    _wait(dock, lambda: dock.slices is not mean and dock.slices is not None)
    std = dock.slices
    assert std.base_name == "prospectivity_std" and std.level == 2 and dock.slider.value() == 2
    assert std.title == "Uncertainty (std of prospectivity)"
    assert dock.status.text().splitlines()[-1].startswith(
        f"Uncertainty (std of prospectivity) at z={tiny_grid.elevations[2]:g} m a.s.l.")
    # the map shows the std values, on its own ramp (viridis starts dark purple, magma near black)
    i, j, k = 20, 3, 2
    x, y = tiny_grid.origin[0] + (i + 0.5) * 40.0, tiny_grid.origin[1] + (j + 0.5) * 50.0
    assert _values(std.layer, std.band, x, y) == pytest.approx(float(vol["prospectivity_std"][i, j, k]), rel=1e-5)
    lo_std = std.layer.renderer().shader().rasterShaderFunction().colorRampItemList()[0].color.name()
    lo_mean = mean.layer.renderer().shader().rasterShaderFunction().colorRampItemList()[0].color.name()
    assert lo_std != lo_mean
    legend = std.legend_texts(QgsLayerTreeModel(project.layerTreeRoot()))
    assert any(f"z={tiny_grid.elevations[2]:g} m" in t for t in legend), legend
    settings = std.layer.renderer().shader().rasterShaderFunction().legendSettings()
    top = float(vol["prospectivity_std"][vol.active].max())
    assert settings.maximumLabel() == f"{sl.tidy_number(top)} · Uncertainty (std of prospectivity)"
    assert "0–1" not in settings.maximumLabel()  # the std is not a probability
    root = project.layerTreeRoot()
    assert root.findLayer(std.layer.id()).isVisible() and not root.findLayer(mean.layer.id()).isVisible()

    dock.slider.setValue(4)
    assert dock.select_layer("prospectivity_q10")
    _wait(dock, lambda: dock.slices is not None and dock.slices.base_name == "prospectivity_q10")
    q10 = dock.slices
    assert q10.level == 4 and q10.title == "Prospectivity, 10th percentile (0–1)"
    assert _values(q10.layer, q10.band, x, y) == pytest.approx(float(vol["prospectivity_q10"][i, j, 4]), abs=1e-6)
    # back to the mean: the first layer again, not a third copy
    assert dock.select_layer("prospectivity")
    _wait(dock, lambda: dock.slices is not None and dock.slices.base_name == "prospectivity")
    assert dock.slices.layer is mean.layer and dock.slices.level == 4
    assert len(project.mapLayers()) == 3
    assert root.findLayer(mean.layer.id()).isVisible() and not root.findLayer(q10.layer.id()).isVisible()


def test_export_targets_from_the_uncertainty_view_uses_the_mean(provider, project, uncertain_vti):
    from voxprospect_plugin.dock import DepthSlicesDock
    opened = []
    dock = DepthSlicesDock(project=project, open_algorithm=lambda alg, params: opened.append((alg, params)))
    dock.file_widget.setFilePath(str(uncertain_vti))
    dock.select_layer("prospectivity_std")
    dock.export_targets()
    dock.select_layer("prospectivity_q10")
    dock.export_targets()
    assert [p["LAYER"] for _, p in opened] == ["prospectivity", "prospectivity_q10"]


@pytest.fixture(scope="module")
def uncertain_targets(uncertain_vti, tmp_path_factory):
    """Targets of the mean with std_mean, std_max and top_channels, as a GeoPackage and a CSV.

    The library's writer gives the outlines and centroids; the uncertainty columns (the
    shared names, being added to the library) are computed here from the std layer inside
    each target and written back with fiona, the way the GeoPackage will carry them.
    """
    import csv

    import fiona
    from voxprospect.io import read_volume
    from voxprospect.mapping.targets import find_targets, write_targets_csv, write_targets_gpkg

    vol = read_volume(uncertain_vti)
    targets = find_targets(vol, 0.5)
    assert targets.count == 2
    std = np.asarray(vol["prospectivity_std"], float)
    extra = {t["target_id"]: {"std_mean": float(std[targets.labels == t["target_id"]].mean()),
                              "std_max": float(std[targets.labels == t["target_id"]].max()),
                              "top_channels": ["density;faults_ne", "susceptibility;dykes"][t["target_id"] - 1]}
             for t in targets.table}
    folder = tmp_path_factory.mktemp("unc_targets")
    plain, gpkg = folder / "plain.gpkg", folder / "targets.gpkg"
    write_targets_gpkg(targets, None, plain, prospectivity=vol)
    for layer in ("target_outlines", "target_centroids"):
        with fiona.open(plain, layer=layer) as src:
            schema = dict(src.schema)
            schema["properties"] = dict(src.schema["properties"], std_mean="float", std_max="float",
                                        top_channels="str")
            feats = [{"geometry": f["geometry"],
                      "properties": dict(f["properties"], **extra[f["properties"]["target_id"]])} for f in src]
            with fiona.open(gpkg, "w", driver="GPKG", layer=layer, schema=schema, crs=src.crs) as dst:
                dst.writerecords(feats)
    table = folder / "targets_mean.csv"
    write_targets_csv(targets, table)
    with open(table, newline="") as f:
        rows = list(csv.DictReader(f))
    with open(table, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]) + ["std_mean", "std_max", "top_channels"])
        w.writeheader()
        for r in rows:
            w.writerow(dict(r, **extra[int(r["target_id"])]))
    return gpkg, table, extra


def test_target_layers_show_uncertainty_and_top_channels(provider, uncertain_targets):
    from qgis.core import QgsExpression, QgsExpressionContext, QgsExpressionContextUtils, QgsVectorLayer
    from voxprospect_plugin.targets_style import style_targets_layer

    gpkg, _, extra = uncertain_targets
    for name in ("target_outlines", "target_centroids"):
        layer = QgsVectorLayer(f"{gpkg}|layername={name}", name, "ogr")
        assert layer.isValid()
        style_targets_layer(layer)  # what the toolbox's post-processor does to a loaded layer
        fields = layer.fields()
        assert fields.field("std_mean").displayName() == "uncertainty: mean std inside"
        assert fields.field("std_max").displayName() == "uncertainty: max std inside"
        assert fields.field("top_channels").displayName() == "top evidence channels (strongest first)"
        for feature in layer.getFeatures():
            want = extra[feature["target_id"]]
            assert feature["std_mean"] == pytest.approx(want["std_mean"])
            assert feature["std_max"] == pytest.approx(want["std_max"]) and want["std_max"] >= want["std_mean"]
            context = QgsExpressionContext(QgsExpressionContextUtils.globalProjectLayerScopes(layer))
            context.setFeature(feature)
            tip = QgsExpression.replaceExpressionText(layer.mapTipTemplate(), context)
            assert f"uncertainty (std): mean: {round(want['std_mean'], 3):g}" in tip, tip
            assert f"uncertainty (std): max: {round(want['std_max'], 3):g}" in tip, tip
            assert "driven by: " + want["top_channels"].replace(";", ", ") in tip, tip


def test_target_layers_without_uncertainty_keep_a_plain_tip(provider, uncertain_targets):
    from qgis.core import QgsVectorLayer
    from voxprospect_plugin.targets_style import describe_target_fields

    gpkg, _, _ = uncertain_targets
    plain = gpkg.with_name("plain.gpkg")  # the library's own file: its uncertainty columns are empty (no std layer)
    layer = QgsVectorLayer(f"{plain}|layername=target_centroids", "c", "ogr")
    shown = describe_target_fields(layer)
    assert "max_prospectivity" in shown and not {"std_mean", "std_max", "top_channels"} & set(shown)
    assert "uncertainty" not in layer.mapTipTemplate()


def test_results_page_lists_the_uncertainty_columns(vp_plugin, uncertain_targets):
    from voxprospect_plugin.results_html import results_html
    _, table, extra = uncertain_targets
    page = results_html(table.parent, {"command": "targets", "targets": {"files": [table.name]}})
    assert "<th>std_mean</th><th>std_max</th><th>top_channels</th>" in page
    for want in extra.values():
        assert f"<td>{want['std_max']:.4g}</td>" in page and f"<td>{want['top_channels']}</td>" in page
