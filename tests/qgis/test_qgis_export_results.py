"""``voxprospect:exportresults``: a prediction and its targets as geoh5 and OMF (issue 16,
the plugin's export), read back with the formats' own libraries (geoh5py, omf).

The prediction carries the uncertainty layers (the shared names); targets come from a
threshold on the mean or from the target volume ``voxprospect:targets`` writes.
"""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def prediction(tiny_grid, blobs, tmp_path_factory):
    from voxprospect import Volume
    from voxprospect.io import write_vti
    p = blobs(tiny_grid, [(6, 5, 3), (17, 12, 5)], [(3, 3, 2), (2.5, 2, 1.5)]).astype(np.float64)
    std = (0.05 + 0.1 * np.sqrt(p * (1 - p))).astype(np.float32)
    active = np.ones(tiny_grid.shape, bool)
    active[:, :, -1] = False
    vol = Volume(tiny_grid, {"prospectivity": p.astype(np.float32), "prospectivity_std": std,
                             "prospectivity_q10": np.clip(p - 1.28 * std, 0, 1).astype(np.float32)},
                 active=active, meta={"made_by": __file__})
    path = tmp_path_factory.mktemp("export") / "prediction.vti"
    write_vti(vol, path)
    return path, vol


def _run(**params):
    import processing
    from qgis.core import QgsProcessingFeedback
    feedback = QgsProcessingFeedback()
    return processing.run("voxprospect:exportresults", params, feedback=feedback), feedback


def _target_labels(vol, threshold):
    from voxprospect.mapping.targets import find_targets
    return find_targets(vol, threshold).labels


def test_geoh5_block_model_and_target_surfaces_open_in_geoh5py(provider, prediction, tmp_path, tiny_grid):
    from geoh5py.objects import BlockModel, Surface
    from geoh5py.workspace import Workspace

    path, vol = prediction
    out = tmp_path / "results.geoh5"
    res, feedback = _run(PROSPECTIVITY=str(path), FORMAT=0, THRESHOLD=0.5, OUTPUT=str(out))
    assert res["OUTPUT"] == str(out) and res["TARGET_COUNT"] == 2
    labels = _target_labels(vol, 0.5)
    ws = Workspace(str(out), mode="r")
    try:
        models = [o for o in ws.objects if isinstance(o, BlockModel)]
        assert len(models) == 1
        bm = models[0]
        names = set(bm.get_data_list())
        assert {"prospectivity", "prospectivity_std", "prospectivity_q10", "target_id"} <= names
        centroids = np.asarray(bm.centroids)
        # every cell found by its centre: geoh5py's own cell order, no assumption about it
        ijk = np.floor((centroids - np.asarray(tiny_grid.origin)) / np.asarray(tiny_grid.cell_size)).astype(int)
        assert len(centroids) == tiny_grid.n_cells
        for name in ("prospectivity", "prospectivity_std", "prospectivity_q10"):
            got = np.asarray(bm.get_data(name)[0].values, float)
            want = np.asarray(vol[name], float)[ijk[:, 0], ijk[:, 1], ijk[:, 2]]
            inside = vol.active[ijk[:, 0], ijk[:, 1], ijk[:, 2]]
            np.testing.assert_allclose(got[inside], want[inside], rtol=1e-6)  # float32 layers, stored as float64
            assert np.isnan(got[~inside]).all()  # the air level is no data, not 0
        ids = np.asarray(bm.get_data("target_id")[0].values)
        np.testing.assert_array_equal(ids, labels[ijk[:, 0], ijk[:, 1], ijk[:, 2]])
        surfaces = sorted(o.name for o in ws.objects if isinstance(o, Surface))
        assert surfaces == ["target_1", "target_2"]
    finally:
        ws.close()


def test_omf_volume_and_target_surfaces_open_in_omf(provider, prediction, tmp_path, tiny_grid):
    import omf
    import pyvista as pv
    from voxprospect.io import write_vti
    from voxprospect.mapping.targets import find_targets, targets_volume

    path, vol = prediction
    # targets from the volume voxprospect:targets writes (a target_id label volume)
    targets = targets_volume(find_targets(vol, 0.6))
    tpath = tmp_path / "targets.vti"
    write_vti(targets, tpath)
    res, _ = _run(PROSPECTIVITY=str(path), FORMAT=1, TARGETS=str(tpath), OUTPUT=str(tmp_path / "results"))
    out = tmp_path / "results.omf"
    assert res["OUTPUT"] == str(out)  # the format's suffix added
    project = omf.OMFReader(str(out)).get_project()
    volumes = [e for e in project.elements if isinstance(e, omf.VolumeElement)]
    assert len(volumes) == 1
    g = volumes[0].geometry
    assert (len(g.tensor_u), len(g.tensor_v), len(g.tensor_w)) == tiny_grid.shape
    np.testing.assert_allclose(g.origin, tiny_grid.origin)
    data = {d.name: np.asarray(d.array.array, float) for d in volumes[0].data}
    assert {"prospectivity", "prospectivity_std", "prospectivity_q10", "target_id"} <= set(data)
    for name in ("prospectivity", "prospectivity_std"):
        got = data[name]
        assert np.isnan(got).sum() == (~vol.active).sum()
        # the same values, whatever the cell order
        np.testing.assert_allclose(np.sort(got[np.isfinite(got)]),
                                   np.sort(np.asarray(vol[name], float)[vol.active]), rtol=1e-6)
    surfaces = {e.name: e for e in project.elements if isinstance(e, omf.SurfaceElement)}
    n = int(np.asarray(targets["target_id"]).max())
    assert n >= 1 and sorted(surfaces) == sorted(f"target_{t}" for t in range(1, n + 1))
    cell = float(np.prod(tiny_grid.cell_size))
    for t in range(1, n + 1):
        geom = surfaces[f"target_{t}"].geometry
        tri = np.asarray(geom.triangles.array)
        mesh = pv.PolyData(np.asarray(geom.vertices.array), np.hstack([np.full((len(tri), 1), 3), tri]).ravel())
        # a closed hull on the voxel faces: it encloses exactly the target's voxels
        voxels = int((np.asarray(targets["target_id"]) == t).sum())
        assert mesh.volume == pytest.approx(voxels * cell, rel=1e-6)


def test_only_the_chosen_layers_and_clear_errors(provider, prediction, tmp_path):
    from geoh5py.objects import BlockModel
    from geoh5py.workspace import Workspace
    from qgis.core import QgsProcessingException

    path, _ = prediction
    out = tmp_path / "mean_std.geoh5"
    _run(PROSPECTIVITY=str(path), FORMAT=0, LAYERS="prospectivity, prospectivity_std", OUTPUT=str(out))
    ws = Workspace(str(out), mode="r")
    try:
        bm = next(o for o in ws.objects if isinstance(o, BlockModel))
        assert set(bm.get_data_list()) - {"active"} == {"prospectivity", "prospectivity_std"}
    finally:
        ws.close()
    with pytest.raises(QgsProcessingException, match="no layer 'gold'"):
        _run(PROSPECTIVITY=str(path), FORMAT=0, LAYERS="gold", OUTPUT=str(tmp_path / "x.geoh5"))
    assert not (tmp_path / "x.geoh5").exists()
    with pytest.raises(QgsProcessingException, match="no target_id layer"):
        _run(PROSPECTIVITY=str(path), FORMAT=1, TARGETS=str(path), OUTPUT=str(tmp_path / "y.omf"))
    assert not (tmp_path / "y.omf").exists()


def test_a_missing_format_library_says_how_to_install_it(provider, prediction, tmp_path, monkeypatch):
    import sys

    from qgis.core import QgsProcessingException

    path, _ = prediction
    monkeypatch.setitem(sys.modules, "omf", None)  # as if omf were not installed in QGIS's Python
    with pytest.raises(QgsProcessingException, match=r"pip install 'voxprospect\[interop\]'"):
        _run(PROSPECTIVITY=str(path), FORMAT=1, THRESHOLD=0.5, OUTPUT=str(tmp_path / "z.omf"))
    assert not (tmp_path / "z.omf").exists()
