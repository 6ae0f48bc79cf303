"""run_export_results: a prediction and its targets as geoh5 / OMF, with its report (the
plugin's export is an adapter over it; tests/qgis/test_qgis_export_results.py reads the
files back with geoh5py and omf)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from voxprospect import Volume, VoxelGrid
from voxprospect.errors import VoxprospectError
from voxprospect.io import write_vti
from voxprospect.workflows.export_results import run_export_results

pytest.importorskip("omf")


@pytest.fixture
def prediction(tmp_path):
    grid = VoxelGrid((1000.0, 2000.0, -300.0), (20.0, 25.0, 10.0), (12, 10, 6), "EPSG:32650")
    i, j, k = np.meshgrid(*(np.arange(n) for n in grid.shape), indexing="ij")
    p = np.exp(-(((i - 3) / 2.0) ** 2 + ((j - 4) / 2.0) ** 2 + ((k - 2) / 1.5) ** 2))
    p = np.maximum(p, np.exp(-(((i - 9) / 1.5) ** 2 + ((j - 7) / 1.5) ** 2 + ((k - 3) / 1.0) ** 2)))
    vol = Volume(grid, {"prospectivity": p.astype(np.float32), "prospectivity_std": (0.1 * (1 - p)).astype(np.float32)})
    path = tmp_path / "prediction.vti"
    write_vti(vol, path)
    return path


def test_writes_the_file_and_its_report(prediction, tmp_path):
    res = run_export_results(prediction, tmp_path / "out", fmt="omf", threshold=0.5)
    assert res["output"] == str(tmp_path / "out.omf") and (tmp_path / "out.omf").is_file()
    assert res["count"] == 2 and res["layers"] == ["prospectivity", "prospectivity_std"]
    report = json.loads((tmp_path / "out.omf.report.json").read_text())
    assert report["command"] == "export_results" and report["targets"]["count"] == 2
    assert report["outputs"][0]["role"] == "results_omf"


@pytest.mark.parametrize("kwargs, message", [
    ({"threshold": 1.5}, "between 0 and 1"),
    ({"layers": ["gold"]}, "no layer 'gold'"),
    ({"fmt": "dxf"}, "choose the format"),
    ({"threshold": 0.5, "layer": "copper"}, "no layer 'copper'"),
])
def test_bad_input_is_one_message_and_no_file(prediction, tmp_path, kwargs, message):
    before = set(tmp_path.iterdir())
    with pytest.raises(VoxprospectError, match=message):
        run_export_results(prediction, tmp_path / "bad.omf", **kwargs)
    assert set(tmp_path.iterdir()) == before


def test_never_replaces_its_input(prediction):
    target = prediction.with_suffix(".omf")
    prediction.rename(target)  # a volume that happens to be named like the output
    data = target.read_bytes()
    with pytest.raises(VoxprospectError, match="input"):
        run_export_results(target, target, threshold=0.5)
    assert target.read_bytes() == data
