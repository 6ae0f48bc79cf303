"""Bad checkpoints: each is a real checkpoint of a tiny CNN or forest, written by our own
save_checkpoint and then edited one field at a time. ``voxprospect predict`` must refuse
every one before building anything, with one Error: naming the file and the field, and
write nothing."""

from __future__ import annotations

import importlib.util
import json
import pickle
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest

_spec = importlib.util.spec_from_file_location("badinput_checkpoint_files",
                                               Path(__file__).with_name("checkpoint_files.py"))
cf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cf)

CASE_SECONDS = 20  # a refusal takes well under a second; a hang (a cyclic tree) is a failure


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ckpt")
    files = cf.make_checkpoints(folder)
    files["evidence"] = cf.make_evidence(folder / "evidence.vti")
    return files


@pytest.fixture(autouse=True)
def no_hang():
    def expired(signum, frame):
        raise TimeoutError(f"no answer within {CASE_SECONDS} s")
    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(CASE_SECONDS)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def _meta(key, value):
    def change(m):
        m[key] = value
    return change


def _drop(key):
    def change(m):
        m.pop(key)
    return change


def _arch(key, value):
    def change(m):
        m["architecture"][key] = value
    return change


def _header(fn):
    return ("header", fn)


def _set_file_meta(value):
    def change(h):
        h["__metadata__"] = value
    return change


def _first_tensor(field, value):
    def change(h):
        name = sorted(k for k in h if k != "__metadata__")[0]
        h[name][field] = value
    return change


def _array(name, fn):
    return ("arrays", lambda a: a.__setitem__(name, fn(a[name])))


def _at(index, value):
    def fn(arr):
        arr = arr.copy()
        arr[index] = value
        return arr
    return fn


def _root_points_to_root(a):
    a = a.copy()
    a[0] = 0
    return a


def _first_leaf_of_tree0(arrays):
    left = arrays["forest.children_left"]
    return int(np.flatnonzero(left == -1)[0])


def _nan_leaf(arrays):
    p = arrays["forest.leaf_proba"].copy()
    p[_first_leaf_of_tree0(arrays), 1] = np.nan
    arrays["forest.leaf_proba"] = p


def _big_leaf(arrays):
    p = arrays["forest.leaf_proba"].copy()
    p[_first_leaf_of_tree0(arrays), 1] = 1.5
    arrays["forest.leaf_proba"] = p


def _one_sided(arrays):
    right = arrays["forest.children_right"].copy()
    right[0] = -1  # the root keeps its left child: neither a leaf nor a split
    arrays["forest.children_right"] = right


def _cnn_nan(arrays):
    name = sorted(k for k in arrays if k.endswith("weight"))[0]
    w = arrays[name].copy()
    w.flat[0] = np.nan
    arrays[name] = w


def _cnn_reshape(arrays):
    name = "head.weight"
    arrays[name] = np.zeros((arrays[name].shape[0], arrays[name].shape[1] + 1), arrays[name].dtype)


# (case id, model "cnn" or "rf", edit, words the Error: line must name besides the file)
CASES = [
    # the safetensors header
    ("metadata-string", "rf", _header(_set_file_meta("voxprospect")), ["__metadata__"]),
    ("metadata-list", "cnn", _header(_set_file_meta(["format", "voxprospect"])), ["__metadata__"]),
    ("metadata-missing", "rf", _header(lambda h: h.pop("__metadata__")), ["not a voxprospect checkpoint"]),
    ("format-tag-wrong", "cnn", _header(lambda h: h["__metadata__"].update(format="other")), ["format tag"]),
    ("file-format-version-text", "rf", _header(lambda h: h["__metadata__"].update(format_version="one")),
     ["format_version"]),
    ("meta-not-json", "rf", _header(lambda h: h["__metadata__"].update(voxprospect="{oops")), ["not valid JSON"]),
    ("meta-a-list", "cnn", _header(lambda h: h["__metadata__"].update(voxprospect="[1, 2]")), ["voxprospect"]),
    ("tensor-byte-dtype", "rf", _header(_first_tensor("dtype", "U8")), ["dtype"]),
    ("tensor-negative-shape", "cnn", _header(_first_tensor("shape", [-1, 4])), ["shape"]),
    ("tensor-offsets-past-end", "rf", _header(_first_tensor("data_offsets", [0, 10 ** 12])), ["truncated"]),
    ("tensor-offsets-mismatch", "cnn", _header(_first_tensor("shape", [1])), ["data_offsets"]),
    ("tensor-entry-a-string", "rf", _header(lambda h: h.update(
        {sorted(k for k in h if k != "__metadata__")[0]: "weights"})), ["tensor"]),
    # the voxprospect document
    ("format-version-text", "cnn", ("meta", _meta("format_version", "abc")), ["format_version"]),
    ("format-version-newer", "rf", ("meta", _meta("format_version", 99)), ["newer"]),
    ("format-version-bool", "rf", ("meta", _meta("format_version", True)), ["format_version"]),
    ("kind-unknown", "cnn", ("meta", _meta("kind", "svm")), ["kind"]),
    ("kind-missing", "cnn", ("meta", _drop("kind")), ["kind"]),
    ("channels-empty", "rf", ("meta", _meta("channels", [])), ["channels"]),
    ("channels-repeated", "rf", ("meta", _meta("channels", ["density", "density"])), ["channels"]),
    ("channels-not-names", "cnn", ("meta", _meta("channels", [1, 2])), ["channels"]),
    ("channels-huge", "rf", ("meta", _meta("channels", [f"c{i}" for i in range(5000)])), ["channels"]),
    ("window-text", "cnn", ("meta", _meta("window", "abc")), ["window"]),
    ("window-zero", "cnn", ("meta", _meta("window", 0)), ["window"]),
    ("window-even", "rf", ("meta", _meta("window", 4)), ["window", "odd"]),
    ("window-huge", "cnn", ("meta", _meta("window", 101)), ["window"]),
    ("window-float", "rf", ("meta", _meta("window", 3.0)), ["window"]),
    ("edge-unknown", "cnn", ("meta", _meta("edge", "mirror")), ["edge"]),
    ("architecture-a-list", "cnn", ("meta", _meta("architecture", [1, 2])), ["architecture"]),
    ("standardisation-a-string", "rf", ("meta", _meta("standardisation", "robust")), ["standardisation"]),
    ("n-params-negative", "cnn", ("meta", _meta("n_params", -4)), ["n_params"]),
    # the network's architecture: bounded before anything is built
    ("n-blocks-600", "cnn", ("meta", _arch("n_blocks", 600)), ["n_blocks"]),
    ("n-blocks-text", "cnn", ("meta", _arch("n_blocks", "2")), ["n_blocks"]),
    ("n-blocks-zero", "cnn", ("meta", _arch("n_blocks", 0)), ["n_blocks"]),
    ("in-channels-mismatch", "cnn", ("meta", _arch("in_channels", 5)), ["in_channels"]),
    ("attention-text", "cnn", ("meta", _arch("attention", "yes")), ["attention"]),
    ("n-classes-3", "cnn", ("meta", _arch("n_classes", 3)), ["n_classes"]),
    ("architecture-name", "cnn", ("meta", _arch("architecture", "ResNet50")), ["architecture"]),
    # the forest's description
    ("n-trees-zero", "rf", ("meta", _arch("n_trees", 0)), ["n_trees"]),
    ("n-trees-mismatch", "rf", ("meta", _arch("n_trees", 7)), ["node_offsets"]),
    ("features-unknown", "rf", ("meta", _arch("features", "pixels")), ["features"]),
    ("n-features-wrong", "rf", ("meta", _arch("n_features", 5)), ["n_features"]),
    ("classes-three", "rf", ("meta", _arch("classes", [0, 1, 2])), ["classes"]),
    # the forest's arrays
    ("root-child-is-root", "rf", _array("forest.children_left", _root_points_to_root), ["children_left", "cycle"]),
    ("child-negative", "rf", _array("forest.children_right", _at(0, -5)), ["children_right"]),
    ("child-past-tree", "rf", _array("forest.children_left", _at(0, 10 ** 6)), ["children_left"]),
    ("child-one-sided", "rf", ("arrays", _one_sided), ["children_right", "-1"]),
    ("feature-999", "rf", _array("forest.feature", _at(0, 999)), ["feature", "999"]),
    ("feature-negative", "rf", _array("forest.feature", _at(0, -3)), ["feature"]),
    ("threshold-nan", "rf", _array("forest.threshold", _at(0, np.nan)), ["threshold"]),
    ("leaf-nan", "rf", ("arrays", _nan_leaf), ["leaf_proba"]),
    ("leaf-above-one", "rf", ("arrays", _big_leaf), ["leaf_proba"]),
    ("offsets-short", "rf", _array("forest.node_offsets", lambda a: a[:-1]), ["node_offsets"]),
    ("offsets-not-ending", "rf", _array("forest.node_offsets", lambda a: np.append(a[:-1], a[-1] - 1)),
     ["node_offsets"]),
    ("leaf-proba-shape", "rf", _array("forest.leaf_proba", lambda a: a[:, :1].copy()), ["leaf_proba"]),
    ("children-float", "rf", _array("forest.children_left", lambda a: a.astype(np.float64)), ["children_left"]),
    ("forest-extra-tensor", "rf", ("arrays", lambda a: a.__setitem__("extra", np.zeros(3))), ["unexpected"]),
    ("forest-missing-tensor", "rf", ("arrays", lambda a: a.pop("forest.feature")), ["unexpected"]),
    # the network's weights
    ("cnn-nan-weight", "cnn", ("arrays", _cnn_nan), ["NaN"]),
    ("cnn-wrong-shape", "cnn", ("arrays", _cnn_reshape), ["architecture"]),
    ("cnn-extra-tensor", "cnn", ("arrays", lambda a: a.__setitem__("backdoor.weight", np.zeros(2, np.float32))),
     ["backdoor"]),
]


def _apply(kind, fn, src, dst):
    if kind == "header":
        return cf.edit_header(src, dst, fn)
    if kind == "meta":
        return cf.edit_meta(src, dst, fn)
    return cf.edit_arrays(src, dst, fn)


@pytest.mark.parametrize("case,model,edit,words", CASES, ids=[c[0] for c in CASES])
def test_edited_checkpoint_is_refused(originals, tmp_path, refused, case, model, edit, words):
    bad = _apply(*edit, originals[model], tmp_path / f"{case}.vxp.safetensors")
    out = tmp_path / "out.vti"
    refused(["predict", bad, originals["evidence"], "-o", out], mentions=[bad.name, *words],
            inputs=[bad, originals["evidence"]], outputs=[out, tmp_path / "out.vti.report.json"])


def _truncated(src, dst):
    raw = src.read_bytes()
    dst.write_bytes(raw[: len(raw) - 100])


def _pickled(src, dst):
    dst.write_bytes(pickle.dumps({"state_dict": [1, 2, 3]}, protocol=4))


def _empty(src, dst):
    dst.write_bytes(b"")


def _header_length_huge(src, dst):
    raw = src.read_bytes()
    dst.write_bytes((2 ** 62).to_bytes(8, "little") + raw[8:])


FILE_CASES = [
    ("truncated", _truncated, ["corrupt or truncated"]),
    ("pickle", _pickled, ["pickle"]),
    ("empty", _empty, ["too short"]),
    ("header-length-huge", _header_length_huge, ["no valid header"]),
]


@pytest.mark.parametrize("case,make,words", FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_broken_file_is_refused(originals, tmp_path, refused, case, make, words):
    bad = tmp_path / f"{case}.vxp.safetensors"
    make(originals["rf"], bad)
    out = tmp_path / "out.vti"
    refused(["predict", bad, originals["evidence"], "-o", out], mentions=[bad.name, *words],
            inputs=[bad, originals["evidence"]], outputs=[out])


def test_missing_and_folder_checkpoints_are_refused(originals, tmp_path, refused):
    out = tmp_path / "out.vti"
    refused(["predict", tmp_path / "none.vxp.safetensors", originals["evidence"], "-o", out],
            mentions=["none.vxp.safetensors", "not found"], outputs=[out])
    (tmp_path / "dir.vxp.safetensors").mkdir()
    refused(["predict", tmp_path / "dir.vxp.safetensors", originals["evidence"], "-o", out],
            mentions=["dir.vxp.safetensors", "folder"], outputs=[out])


def test_the_unedited_checkpoints_predict(originals, tmp_path):
    """The table's baseline: both originals, copied unchanged, predict a finite volume."""
    from click.testing import CliRunner
    from voxprospect.io import read_volume
    from voxprospect_cli.main import cli

    for model in ("cnn", "rf"):
        copy = tmp_path / originals[model].name
        shutil.copy(originals[model], copy)
        out = tmp_path / f"{model}.vti"
        r = CliRunner().invoke(cli, ["predict", str(copy), str(originals["evidence"]), "-o", str(out)])
        assert r.exit_code == 0, r.output
        p = np.asarray(read_volume(out)["prospectivity"])
        assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()
        # the edit helpers themselves round-trip without changing a byte's meaning
        same = cf.edit_meta(copy, tmp_path / f"{model}-same.vxp.safetensors", lambda m: None)
        from voxprospect.learn import load
        assert load(same).metadata == json.loads(json.dumps(load(copy).metadata))
