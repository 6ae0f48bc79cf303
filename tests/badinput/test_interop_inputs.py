"""Bad inputs of the interop formats (LoopStructural, geoh5, OMF, OcTree, multi-object
GOCAD, pickles, missing packages): one clear Error:, nothing written, inputs unchanged."""

from __future__ import annotations

import json
import pickle
import sys

import numpy as np
import pytest


def _recipe(tmp_path, features, data_source=None, box=None):
    box = box or {"origin": [0, 0, 0], "maximum": [1, 1, 1], "nsteps": [5, 5, 5]}
    recipe = {"schema": "LoopStructural.GeologicalModelRecipe", "version": 1,
              "model": {"bounding_box": box,
                        "stratigraphic_column": {"elements": []}, "data_source": data_source,
                        "features": features}}
    path = tmp_path / "model.json"
    path.write_text(json.dumps(recipe))
    return path


def _fault(**extra):
    return {"name": "F1", "kind": "fault", "faults": [], "displacement": 10.0, "cuts": ["s"], **extra}


def _strati():
    return {"name": "s", "kind": "foliation", "faults": []}


def _inline_strati_only():
    # data for the foliation only (LoopStructural's orient="split" frame): none for F1
    return {"kind": "inline", "dataframe": {
        "columns": ["X", "Y", "Z", "val", "feature_name"], "index": [0, 1],
        "data": [[0.5, 0.5, 0.2, 0.0, "s"], [0.5, 0.5, 0.8, 1.0, "s"]]}}


CASES = {
    "pickle": lambda t: (t / "model.pkl", t.joinpath("model.pkl").write_bytes(pickle.dumps({"a": 1}, protocol=4)),
                         ["model.pkl", "pickle"]),
    "recipe_fault_without_displacement": lambda t: (_recipe(t, [{"name": "F1", "kind": "fault", "faults": []}]),
                                                    None, ["model.json", "F1", "no displacement"]),
    "recipe_saved_structural_frame": lambda t: (
        _recipe(t, [{"name": "F1", "kind": "structural_frame", "faults": []}]), None,
        ["model.json", "F1 (structural_frame)"]),
    "recipe_fault_unknown_key": lambda t: (_recipe(t, [_fault(throw=10.0), _strati()]), None,
                                           ["model.json", "fault F1", "unknown key", "throw"]),
    "recipe_fault_cuts_missing_feature": lambda t: (_recipe(t, [_fault(cuts=["granite"]), _strati()]), None,
                                                    ["model.json", "fault F1", "granite", "does not define"]),
    "recipe_fault_bad_displacement": lambda t: (_recipe(t, [_fault(displacement="large"), _strati()]), None,
                                                ["model.json", "fault F1", "displacement", "large"]),
    "recipe_box_without_nsteps": lambda t: (_recipe(t, [_strati()], box={"origin": [0, 0, 0], "maximum": [1, 1, 1]}),
                                            None, ["model.json", "bounding_box", "nsteps"]),
    "recipe_fault_without_data": lambda t: (_recipe(t, [_fault(), _strati()], _inline_strati_only()), None,
                                            ["model.json", "fault F1", "no data"]),
    "recipe_missing_data": lambda t: (_recipe(t, [{"name": "s", "kind": "foliation", "faults": []}],
                                              {"kind": "reference", "path": "gone.csv"}), None,
                                      ["model.json", "gone.csv"]),
    "truncated_geoh5": lambda t: (t / "ws.geoh5", t.joinpath("ws.geoh5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64),
                                  ["ws.geoh5"]),
    "truncated_omf": lambda t: (t / "p.omf",
                                t.joinpath("p.omf").write_bytes(b"\x84\x83\x82\x81OMF-v0.9.0" + b"\0" * 40),
                                ["p.omf", "omf cannot read it"]),
    "gocad_without_end": lambda t: (t / "x.ts", t.joinpath("x.ts").write_text(
        "GOCAD TSurf 1\nVRTX 1 0 0 0\nVRTX 2 1 0 0\nVRTX 3 0 1 0\nTRGL 1 2 3\nEND\nGOCAD PLine 1\nILINE\n"),
        ["x.ts", "no END"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_interop_file_is_refused(tmp_path, refused, case):
    pytest.importorskip("LoopStructural")
    pytest.importorskip("h5py")
    pytest.importorskip("omf")
    src, _, mentions = CASES[case](tmp_path)
    out = tmp_path / "out.vti"
    refused(["convert", src, out], mentions=mentions, inputs=[tmp_path], outputs=[out])


def test_octree_model_of_the_wrong_size(tmp_path, refused):
    discretize = pytest.importorskip("discretize")
    mesh = discretize.TreeMesh([[(10.0, 4)]] * 3, diagonal_balance=False)
    mesh.refine(1)
    mesh.write_UBC(str(tmp_path / "mesh.msh"))
    (tmp_path / "mesh.den").write_text("\n".join(["2.7"] * (mesh.n_cells - 1)) + "\n")
    out = tmp_path / "out.vti"
    refused(["convert", tmp_path / "mesh.msh", out], mentions=["mesh.den", str(mesh.n_cells)],
            inputs=[tmp_path], outputs=[out])


@pytest.mark.parametrize("module,suffix", [("omf", ".omf"), ("geoh5py", ".geoh5")])
def test_missing_package_names_the_install_command(tmp_path, refused, monkeypatch, module, suffix):
    from voxprospect import Volume, VoxelGrid
    from voxprospect.io import write_volume

    src = tmp_path / "in.vti"
    write_volume(Volume(VoxelGrid((0, 0, 0), (1, 1, 1), (2, 2, 2)), {"a": np.zeros((2, 2, 2))}), src)
    monkeypatch.setitem(sys.modules, module, None)
    out = tmp_path / f"out{suffix}"
    refused(["convert", src, out], mentions=[f"out{suffix}", module, "pip install"], inputs=[src], outputs=[out])
