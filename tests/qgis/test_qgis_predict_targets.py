"""Predict and P-A targets through Processing, on a tiny evidence volume and a real checkpoint.

A random forest is trained here on windows of the fixture's evidence (seconds), saved
with the library's checkpoint writer, and the algorithms run on it exactly as from
the toolbox. The real synthetic district goes through every algorithm in
``test_qgis_district.py`` (slow).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("voxprospect.workflows.pipeline", reason="voxprospect.workflows.pipeline not importable")

WINDOW = 3


@pytest.fixture(scope="module")
def evidence_and_model(tiny_grid, blobs, tmp_path_factory):
    from voxprospect import Volume
    from voxprospect.io import write_vti
    from voxprospect.learn import RandomForestModel
    from voxprospect.learn.checkpoint import save_checkpoint
    from voxprospect.learn.samples import extract_windows, pad_stack

    # "granite proximity" and "density anomaly": both high around the two highs
    near = blobs(tiny_grid, [(6, 5, 3), (17, 12, 5)], [(4, 4, 3), (4, 3, 2)])
    anomaly = blobs(tiny_grid, [(6, 5, 3), (17, 12, 5), (18, 3, 2)], [(3, 3, 2), (3, 2, 2), (2, 2, 2)])
    evidence = Volume(tiny_grid, {"granite_proximity": near, "density_anomaly": anomaly},
                      meta={"made_by": "tests/qgis/test_qgis_predict_targets.py"})
    folder = tmp_path_factory.mktemp("model")
    write_vti(evidence, folder / "evidence.vti")

    label = (near * anomaly) > 0.3
    rng = np.random.default_rng(0)
    pos = np.argwhere(label)
    neg = np.argwhere(~label)
    neg = neg[rng.choice(len(neg), size=3 * len(pos), replace=False)]
    centres = np.vstack([pos, neg])
    y = np.r_[np.ones(len(pos), int), np.zeros(len(neg), int)]
    # some wrong labels, as in real data: a perfect forest would give 1.0 everywhere near
    # the highs, and the P-A crossing of a flat-topped volume lies above its maximum
    flip = rng.random(len(y)) < 0.05
    y[flip] = 1 - y[flip]
    stack = evidence.stack(["granite_proximity", "density_anomaly"])
    X = extract_windows(pad_stack(stack, WINDOW), centres, WINDOW)
    model = RandomForestModel(n_estimators=25, max_depth=4, random_state=0).fit(X, y)
    save_checkpoint(model, folder / "rf.vxp.safetensors", ["granite_proximity", "density_anomaly"], window=WINDOW)
    return folder / "evidence.vti", folder / "rf.vxp.safetensors"


def near_the_highs(grid):
    """Voxels within about two cells of either high (where the model must score high)."""
    i, j, k = np.meshgrid(*(np.arange(n) for n in grid.shape), indexing="ij")
    return (((i - 6) ** 2 + (j - 5) ** 2 + (k - 3) ** 2 <= 4) | ((i - 17) ** 2 + (j - 12) ** 2 + (k - 5) ** 2 <= 4))


def test_predict_writes_volume_and_styled_slices(provider, evidence_and_model, tiny_grid, tmp_path):
    import processing
    from qgis.core import QgsRasterLayer
    from voxprospect.io import read_volume

    evidence, model = evidence_and_model
    out, slices = tmp_path / "prospectivity.vti", tmp_path / "prospectivity.tif"
    results = processing.run("voxprospect:predict", {"MODEL": str(model), "EVIDENCE": str(evidence),
                                                     "OUTPUT": str(out), "SLICES": str(slices)})
    assert results["OUTPUT"] == str(out) and results["SLICES"] == str(slices)
    prosp = read_volume(out)
    assert prosp.grid == tiny_grid
    p = prosp["prospectivity"]
    assert np.nanmin(p) >= 0.0 and np.nanmax(p) <= 1.0
    near_highs = near_the_highs(tiny_grid)
    assert np.nanmean(p[near_highs]) > 0.5 > np.nanmean(p[~near_highs])
    layer = QgsRasterLayer(str(slices), "p", "gdal")
    assert layer.isValid() and layer.crs().authid() == tiny_grid.crs and layer.bandCount() == tiny_grid.shape[2]
    xmin, xmax, ymin, ymax, _, _ = tiny_grid.bounds
    ext = layer.extent()
    assert (ext.xMinimum(), ext.yMinimum(), ext.xMaximum(), ext.yMaximum()) == pytest.approx((xmin, ymin, xmax, ymax))


def test_targets_from_prediction_area(provider, evidence_and_model, prospectivity_vti, tiny_grid, tmp_path):
    """P-A against the fixture's orebodies, then targets as layers QGIS loads."""
    import processing
    from qgis.core import QgsProcessingContext, QgsProject, QgsVectorLayer

    evidence, model = evidence_and_model
    prosp = tmp_path / "prospectivity.vti"
    processing.run("voxprospect:predict", {"MODEL": str(model), "EVIDENCE": str(evidence), "OUTPUT": str(prosp),
                                           "SLICES": None})
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    results = processing.run("voxprospect:targets", {"PROSPECTIVITY": str(prosp), "OREBODIES": str(prospectivity_vti),
                                                     "OUTPUT": str(tmp_path / "targets")}, context=context)
    assert 0.0 < results["THRESHOLD_USED"] < 1.0
    assert results["TARGET_COUNT"] >= 1
    assert (tmp_path / "targets" / "report.json").is_file()
    outlines = QgsVectorLayer(results["OUTLINES"], "o", "ogr")
    centroids = QgsVectorLayer(results["CENTROIDS"], "c", "ogr")
    assert outlines.isValid() and centroids.isValid()
    assert outlines.crs().authid() == centroids.crs().authid() == tiny_grid.crs
    assert centroids.featureCount() == results["TARGET_COUNT"]
    assert outlines.featureCount() >= centroids.featureCount()
    assert {"target_id", "max_prospectivity", "elevation_m", "deposits"} <= set(outlines.fields().names())
    # every target reaches the P-A threshold the run reported (the adapter passes it through)
    assert all(f["max_prospectivity"] >= results["THRESHOLD_USED"] for f in centroids.getFeatures())
    assert set(context.layersToLoadOnCompletion()) == {results["OUTLINES"], results["CENTROIDS"],
                                                       results["DRILL_POINTS"]}


def test_wrong_evidence_is_a_message(provider, evidence_and_model, prospectivity_vti, tmp_path):
    """A model on an evidence volume without its channels: one clear message."""
    import processing
    from qgis.core import QgsProcessingException

    _, model = evidence_and_model
    with pytest.raises(QgsProcessingException) as caught:
        processing.run("voxprospect:predict", {"MODEL": str(model), "EVIDENCE": str(prospectivity_vti),
                                               "OUTPUT": str(tmp_path / "p.vti"), "SLICES": None})
    assert "granite_proximity" in str(caught.value)
    assert not (tmp_path / "p.vti").exists()
