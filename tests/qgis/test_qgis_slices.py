"""Depth slices: the export algorithm, the band <-> elevation logic and the dock's slider."""

from __future__ import annotations

import numpy as np
import pytest


def _levels(path):
    """The GeoTIFF's values as (x, y, level k), k = 0 deepest, read by rasterio (not QGIS)."""
    import rasterio
    with rasterio.open(path) as src:
        a = src.read().astype(float)  # (band, row, col), band 1 = top
        if src.nodata is not None and not np.isnan(src.nodata):
            a[a == src.nodata] = np.nan
    return a[::-1].transpose(2, 1, 0)


@pytest.fixture
def slices_tif(provider, prospectivity_vti, tmp_path):
    import processing
    out = tmp_path / "prospectivity_slices.tif"
    result = processing.run("voxprospect:slices", {"VOLUME": str(prospectivity_vti), "LAYER": "prospectivity",
                                                   "OUTPUT": str(out)})
    assert result["OUTPUT"] == str(out)
    return out


def test_export_gives_a_raster_on_the_grid(slices_tif, tiny_grid):
    from qgis.core import QgsRasterLayer
    layer = QgsRasterLayer(str(slices_tif), "p", "gdal")
    assert layer.isValid()
    assert layer.crs().authid() == tiny_grid.crs
    xmin, xmax, ymin, ymax, _, _ = tiny_grid.bounds
    ext = layer.extent()
    assert (ext.xMinimum(), ext.xMaximum(), ext.yMinimum(), ext.yMaximum()) == pytest.approx((xmin, xmax, ymin, ymax))
    assert (layer.width(), layer.height(), layer.bandCount()) == tiny_grid.shape


def test_identify_gives_the_voxel_value(slices_tif, tiny_grid):
    """What the identify tool shows at a map point is the volume's value there."""
    from qgis.core import QgsPointXY, QgsRaster, QgsRasterLayer
    from voxprospect.io.geotiff import read_geotiff_levels
    vol = read_geotiff_levels(slices_tif)
    layer = QgsRasterLayer(str(slices_tif), "p", "gdal")
    i, j, k = 6, 5, 3
    x, y = tiny_grid.origin[0] + (i + 0.5) * 40.0, tiny_grid.origin[1] + (j + 0.5) * 50.0
    band = tiny_grid.shape[2] - k
    values = layer.dataProvider().identify(QgsPointXY(x, y), QgsRaster.IdentifyFormatValue).results()
    assert values[band] == pytest.approx(float(vol["prospectivity"][i, j, k]), rel=1e-6)
    assert values[band] > 0.9  # the centre of the first high


def test_wrong_layer_is_a_message_not_a_traceback(provider, prospectivity_vti, tmp_path):
    import processing
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    with pytest.raises(QgsProcessingException) as caught:
        processing.run("voxprospect:slices", {"VOLUME": str(prospectivity_vti), "LAYER": "gold_grade",
                                              "OUTPUT": str(tmp_path / "x.tif")}, feedback=QgsProcessingFeedback())
    message = str(caught.value)
    # the library's own message (what is wrong, what exists), which the dialog shows as is
    assert "no layer 'gold_grade'" in message and "prospectivity" in message and "prospectivity.vti" in message
    assert not (tmp_path / "x.tif").exists()  # no half-written output


def test_depth_slices_switch_band_and_elevation(provider, project, prospectivity_vti, tmp_path, tiny_grid):
    from qgis.core import QgsSingleBandPseudoColorRenderer
    from voxprospect_plugin.slices import open_depth_slices

    s = open_depth_slices(prospectivity_vti, "prospectivity", project=project, out_path=tmp_path / "s.tif")
    nz = tiny_grid.shape[2]
    assert s.layer.id() in project.mapLayers()
    assert isinstance(s.layer.renderer(), QgsSingleBandPseudoColorRenderer)
    np.testing.assert_allclose(s.elevations, tiny_grid.elevations)  # deepest first
    # opens on the most prospective level holding data, not on the top one (air here)
    field = np.where(np.isfinite(s_values := _levels(s.layer.source())), s_values, -np.inf)
    peaks = field.max(axis=(0, 1))
    assert s.level == int(np.flatnonzero(peaks == peaks.max()).max()) and s.level != nz - 1  # ties: upper
    assert s.non_empty_levels == list(range(nz - 2, -1, -1))  # the fixture's top level is inactive
    # one colour means one value at every depth: the ramp spans all levels
    r = s.layer.renderer()
    assert r.classificationMax() == pytest.approx(1.0, abs=1e-3)
    renderer_before = s.layer.renderer()
    assert s.set_level(0) == nz
    assert s.layer.renderer() is renderer_before  # only the band changed: no new renderer, no file
    assert s.layer.renderer().band() == nz
    assert s.layer.name() == f"prospectivity z={tiny_grid.elevations[0]:g} m"
    assert s.set_elevation(tiny_grid.elevations[3] + 4.0) == 3  # snaps to the nearest level
    assert s.band == nz - 3
    assert s.set_level(99) == 1  # clamped to the top


def test_top_level_shows_nodata_for_air(provider, project, prospectivity_vti, tmp_path, tiny_grid):
    from qgis.core import QgsPointXY, QgsRaster
    from voxprospect_plugin.slices import open_depth_slices

    s = open_depth_slices(prospectivity_vti, "prospectivity", project=project, out_path=tmp_path / "s.tif")
    centre = QgsPointXY(s.layer.extent().center())
    values = s.layer.dataProvider().identify(centre, QgsRaster.IdentifyFormatValue).results()
    assert values[1] is None or np.isnan(values[1])  # band 1 = top level, inactive in the fixture
    assert values[2] is not None and np.isfinite(values[2])


def test_dock_slider_changes_displayed_elevation(provider, project, prospectivity_vti, tmp_path, tiny_grid):
    from voxprospect_plugin.dock import DepthSlicesDock
    from voxprospect_plugin.slices import open_depth_slices

    dock = DepthSlicesDock(project=project)
    dock.file_widget.setFilePath(str(prospectivity_vti))
    assert [dock.layer_combo.itemText(i) for i in range(dock.layer_combo.count())] == ["prospectivity", "orebody"]
    assert dock.layer_combo.currentText() == "prospectivity"
    s = open_depth_slices(prospectivity_vti, "prospectivity", project=project, out_path=tmp_path / "d.tif")
    dock.attach(s)
    nz = tiny_grid.shape[2]
    assert dock.slider.maximum() == nz - 1 and dock.slider.value() == s.best_level()
    dock.slider.setValue(2)
    assert s.layer.renderer().band() == nz - 2
    assert dock.elevation_box.value() == pytest.approx(tiny_grid.elevations[2])
    assert f"z={tiny_grid.elevations[2]:g} m" in s.layer.name()
    dock.elevation_box.setValue(tiny_grid.elevations[5])
    assert dock.slider.value() == 5 and s.layer.renderer().band() == nz - 5
    project.removeMapLayer(s.layer.id())
    assert dock.slices is None and not dock.slider.isEnabled()


def test_dock_exports_in_a_background_task(provider, project, prospectivity_vti, tmp_path, qgis_app):
    """The dock runs voxprospect:slices as a task (QGIS stays responsive), then shows the slices."""
    import shutil
    import time

    from qgis.core import QgsApplication
    from voxprospect_plugin.dock import DepthSlicesDock

    vti = tmp_path / "copy.vti"
    shutil.copy(prospectivity_vti, vti)
    dock = DepthSlicesDock(project=project)
    dock.file_widget.setFilePath(str(vti))
    dock.show_volume()
    deadline = time.time() + 60
    while dock.slices is None and time.time() < deadline:
        QgsApplication.processEvents()
        time.sleep(0.05)
    assert dock.slices is not None, dock.status.text()
    assert dock.slices.layer.source() == str(tmp_path / "copy_prospectivity_slices.tif")
    assert dock.slider.isEnabled()


def test_cancel_stops_the_run_without_output(provider, prospectivity_vti, tmp_path):
    import processing
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    feedback = QgsProcessingFeedback()
    feedback.cancel()  # the user pressed Cancel: the next progress report stops the library
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        processing.run("voxprospect:slices", {"VOLUME": str(prospectivity_vti), "LAYER": "prospectivity",
                                              "OUTPUT": str(tmp_path / "c.tif")}, feedback=feedback)
    assert not (tmp_path / "c.tif").exists()


def test_progress_reaches_feedback(provider, prospectivity_vti, tmp_path):
    import processing
    from qgis.core import QgsProcessingFeedback

    feedback = QgsProcessingFeedback()
    seen = []
    feedback.progressChanged.connect(seen.append)
    processing.run("voxprospect:slices", {"VOLUME": str(prospectivity_vti), "LAYER": "prospectivity",
                                          "OUTPUT": str(tmp_path / "p.tif")}, feedback=feedback)
    assert seen and seen[-1] == pytest.approx(100.0) and 50.0 in seen
    assert "writing the depth slices" in feedback.textLog()


def test_dock_legend_status_reuse_adopt_and_target_filter(provider, project, prospectivity_vti, tmp_path,
                                                          tiny_grid):
    """Legend and status follow the slider; a second show reuses the layer; layers in the
    project can be adopted; a target-outline layer shows the dock's level only."""
    from qgis.core import QgsLayerTreeModel, QgsVectorLayer
    from voxprospect import Volume
    from voxprospect.io import read_volume
    from voxprospect.mapping.targets import find_targets, write_targets_gpkg
    from voxprospect_plugin.dock import DepthSlicesDock
    from voxprospect_plugin.slices import open_depth_slices

    vol = read_volume(prospectivity_vti)
    gpkg = tmp_path / "t.gpkg"
    write_targets_gpkg(find_targets(Volume(vol.grid, {"prospectivity": vol["prospectivity"]}, active=vol.active),
                                    0.5), None, gpkg, prospectivity=vol)
    outlines = QgsVectorLayer(f"{gpkg}|layername=target_outlines", "outlines", "ogr")
    assert outlines.isValid() and outlines.featureCount() > 1
    project.addMapLayer(outlines)

    dock = DepthSlicesDock(project=project)
    s = open_depth_slices(prospectivity_vti, "prospectivity", project=project, out_path=tmp_path / "d.tif")
    assert [dock.existing_combo.itemData(i) for i in range(dock.existing_combo.count())] == [s.layer.id()]
    dock.adopt_selected()  # adopted: the slider drives the project's layer
    assert dock.slices.layer is s.layer
    model = QgsLayerTreeModel(project.layerTreeRoot())
    top = max(tiny_grid.elevations) + tiny_grid.cell_size[2] / 2
    for k in (1, 4, 6):
        dock.slider.setValue(k)
        z = tiny_grid.elevations[k]
        legend = dock.slices.legend_texts(model)
        assert any(f"z={z:g} m" in t for t in legend), legend  # was stuck on the first level's
        assert dock.status.text() == f"Prospectivity (0–1) at z={z:g} m a.s.l., {top - 25.0 - z:g} m below surface"
        assert f"{top - 25.0 - z:g} m below surface" in dock.level_label.text()
        assert outlines.subsetString() == f'"level" = {k}'
        assert {f["level"] for f in outlines.getFeatures()} <= {k}
    assert dock.elevation_box.suffix() == " m a.s.l."
    # the ramp's labels are tidy and name the quantity
    settings = s.layer.renderer().shader().rasterShaderFunction().legendSettings()
    assert settings.minimumLabel() == "0" and settings.maximumLabel() == "1 · Prospectivity (0–1)"
    # showing the same slices again reuses the layer
    n = len(project.mapLayers())
    again = open_depth_slices(tmp_path / "d.tif", "prospectivity", project=project)
    assert again.layer is s.layer and len(project.mapLayers()) == n
