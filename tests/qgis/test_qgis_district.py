"""The real synthetic district through every algorithm, as a QGIS user runs them (slow).

synth -> evidence -> train (random forest, fast) -> predict -> P-A targets -> export
targets -> depth slices, each through ``processing.run``; then the whole pipeline from
the district's project file. Outputs must be layers QGIS opens, in the district's CRS
and on its grid's footprint.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

pipeline = pytest.importorskip("voxprospect.workflows.pipeline", reason="voxprospect.workflows.pipeline not importable")
if not all(hasattr(pipeline, f) for f in ("run_synth", "run_evidence", "run_train", "run_project")):
    pytest.skip("the pipeline entry points are not all there yet", allow_module_level=True)


@pytest.fixture(scope="module")
def district(provider_once, tmp_path_factory):
    import processing
    out = tmp_path_factory.mktemp("district")
    results = processing.run("voxprospect:synth", {"PRESET": 0, "SEED": 42, "OUTPUT": str(out)})
    return out, results


@pytest.fixture(scope="module")
def provider_once(vp_plugin):
    from qgis.core import QgsApplication
    from voxprospect_plugin.provider import VoxprospectProvider
    registry = QgsApplication.processingRegistry()
    if registry.providerById("voxprospect") is None:
        prov = VoxprospectProvider()
        registry.addProvider(prov)
        # The registry does not keep the Python object alive; when this fixture's
        # frame ends, the provider's Python overrides would vanish for the later test
        # files (empty names, no algorithms). The session-long plugin package holds it.
        vp_plugin.__dict__.setdefault("_providers_kept_by_tests", []).append(prov)
        yield prov
    else:
        yield registry.providerById("voxprospect")


def footprint(grid):
    xmin, xmax, ymin, ymax, _, _ = grid.bounds
    return xmin, ymin, xmax, ymax


@pytest.fixture(scope="module")
def chain(district, tmp_path_factory):
    """evidence, train RF, predict, targets: the outputs of each step."""
    import processing
    folder, synth = district
    work = tmp_path_factory.mktemp("chain")
    out = {"project": synth["PROJECT"]}
    out["evidence"] = processing.run("voxprospect:evidence", {"PROJECT": synth["PROJECT"],
                                                              "OUTPUT": str(work / "evidence.vti")})["OUTPUT"]
    train = processing.run("voxprospect:train", {"PROJECT": synth["PROJECT"], "MODEL": 4,  # RF
                                                 "OUTPUT": str(work / "train")})
    out["checkpoint"] = train["CHECKPOINT"]
    pred = processing.run("voxprospect:predict", {"MODEL": train["CHECKPOINT"], "EVIDENCE": out["evidence"],
                                                  "OUTPUT": str(work / "prospectivity.vti"),
                                                  "SLICES": str(work / "prospectivity.tif")})
    out.update(prospectivity=pred["OUTPUT"], slices=pred["SLICES"])
    out["targets"] = processing.run("voxprospect:targets", {
        "PROSPECTIVITY": pred["OUTPUT"], "OREBODIES": str(folder / "orebodies.vti"),
        "OUTPUT": str(work / "targets")})
    return out


def test_synth_writes_a_project(district):
    folder, results = district
    assert results["PROJECT"].endswith("project.toml")
    for name in ("geology.vti", "geophysics.vti", "orebodies.vti", "project.toml"):
        assert (folder / name).is_file(), name


def test_evidence_and_model(district, chain):
    from voxprospect.io import read_volume
    evidence = read_volume(chain["evidence"])
    grid = read_volume(district[0] / "geology.vti").grid  # the district's grid
    assert evidence.grid == grid and len(evidence.names) >= 2
    assert Path(chain["checkpoint"]).is_file()


def test_prediction_slices_are_a_layer_on_the_grid(chain):
    from qgis.core import QgsRasterLayer
    from voxprospect.io import read_volume
    grid = read_volume(chain["prospectivity"]).grid
    layer = QgsRasterLayer(chain["slices"], "p", "gdal")
    assert layer.isValid()
    assert layer.crs().isValid() and layer.crs() == _crs(grid.crs)
    ext = layer.extent()
    assert (ext.xMinimum(), ext.yMinimum(), ext.xMaximum(), ext.yMaximum()) == pytest.approx(footprint(grid))
    assert layer.bandCount() == grid.shape[2]


def test_targets_are_layers_with_features(chain):
    from qgis.core import QgsVectorLayer, QgsWkbTypes
    from voxprospect.io import read_volume
    grid = read_volume(chain["prospectivity"]).grid
    t = chain["targets"]
    assert t["TARGET_COUNT"] >= 1 and 0.0 < t["THRESHOLD_USED"] < 1.0
    outlines = QgsVectorLayer(t["OUTLINES"], "o", "ogr")
    centroids = QgsVectorLayer(t["CENTROIDS"], "c", "ogr")
    assert outlines.featureCount() >= t["TARGET_COUNT"] == centroids.featureCount()
    assert QgsWkbTypes.hasZ(centroids.wkbType())
    xmin, ymin, xmax, ymax = footprint(grid)
    for layer in (outlines, centroids):
        assert layer.crs() == _crs(grid.crs)
        e = layer.extent()
        assert xmin - 1 <= e.xMinimum() and e.xMaximum() <= xmax + 1
        assert ymin - 1 <= e.yMinimum() and e.yMaximum() <= ymax + 1
    assert any(f["n_deposits"] > 0 for f in centroids.getFeatures())  # some target holds a known deposit


def test_export_targets_and_slices_of_the_prediction(chain, tmp_path):
    import processing
    from qgis.core import QgsRasterLayer, QgsVectorLayer
    res = processing.run("voxprospect:exporttargets", {"PROSPECTIVITY": chain["prospectivity"],
                                                       "THRESHOLD": chain["targets"]["THRESHOLD_USED"],
                                                       "OUTPUT": str(tmp_path / "t.gpkg")})
    assert res["TARGET_COUNT"] == chain["targets"]["TARGET_COUNT"]  # same threshold, same targets
    assert QgsVectorLayer(res["OUTLINES"], "o", "ogr").featureCount() > 0
    layer_name = _first_layer(chain["evidence"])
    sl = processing.run("voxprospect:slices", {"VOLUME": chain["evidence"], "LAYER": layer_name,
                                               "OUTPUT": str(tmp_path / "e.tif")})
    assert QgsRasterLayer(sl["OUTPUT"], "e", "gdal").isValid()


def test_whole_pipeline(district, tmp_path):
    import re

    import processing
    from qgis.core import QgsProcessingContext, QgsProject
    folder, synth = district
    # the district's own project trains DL4 for 200 epochs under three protocols (the
    # demo's job); here the random forest under one protocol exercises the same path
    text = Path(synth["PROJECT"]).read_text()
    text = re.sub(r"(?m)^models\s*=.*$", 'models = ["RF"]', text)
    text = re.sub(r"(?m)^protocols\s*=.*$", 'protocols = ["random"]', text)
    project = folder / "project_rf.toml"  # beside the original: its paths are relative to it
    project.write_text(text)
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    res = processing.run("voxprospect:runproject", {"PROJECT": str(project), "OUTPUT": str(tmp_path / "run")},
                         context=context)
    assert (tmp_path / "run" / "report.json").is_file()
    assert res["SLICES"] and res["OUTLINES"]
    loaded = set(context.layersToLoadOnCompletion())
    assert {res["SLICES"], res["OUTLINES"], res["CENTROIDS"]} <= loaded


def _crs(text):
    from qgis.core import QgsCoordinateReferenceSystem
    return QgsCoordinateReferenceSystem(text)


def _first_layer(path):
    from voxprospect_plugin.slices import volume_layer_names
    return volume_layer_names(path)[0]
