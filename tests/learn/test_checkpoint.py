"""Checkpoints: identical predictions after a round trip, no pickle ever, channel checks."""

import json
import pickle
import struct
import subprocess
import sys

import numpy as np
import pytest
import torch

from voxprospect.errors import InputFileError, LayerError
from voxprospect.learn import CNNClassifier, RandomForestModel, check_channels, load, save_checkpoint

torch.set_num_threads(1)
CHANNELS = ["granodiorite_buffer", "fault_buffer", "density"]


def windows(n=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3, 3, 3, 3)).astype(np.float32)
    y = np.tile([0, 1], n // 2)
    X[y == 1, 2] += 1.0
    return X, y


@pytest.fixture(scope="module")
def cnn():
    X, y = windows()
    return CNNClassifier(preset="DL3", epochs=2, batch_size=16, num_threads=1).fit(X, y)


def test_cnn_round_trip_gives_identical_predictions(cnn, tmp_path):
    stats = {"density": {"method": "robust", "centre": 2.7, "scale": 0.1}}
    report = {"accuracy": 0.9, "protocol": "spatial"}
    path = save_checkpoint(cnn, tmp_path / "model.vxp.safetensors", CHANNELS, window=3, edge="zero",
                           standardisation_stats=stats, training_report=report)
    loaded = load(path)
    X, _ = windows(n=40, seed=9)
    assert np.array_equal(loaded.predict_proba(X), cnn.predict_proba(X))
    assert isinstance(loaded.module, torch.nn.Module) and not loaded.module.training
    assert loaded.module(torch.from_numpy(X[:5])).shape == (5, 2)
    assert loaded.channels == CHANNELS and loaded.window == 3 and loaded.edge == "zero"
    assert loaded.preset == "DL3" and loaded.kind == "cnn"
    assert loaded.standardisation_stats == stats and loaded.training_report == report
    assert loaded.metadata["architecture"] == cnn.model_.config
    assert loaded.n_params == cnn.n_params_ and loaded.flops == cnn.flops_per_window()
    assert len(loaded.metadata["history"]) == 2


@pytest.mark.parametrize("features", ["centre", "window"])
def test_random_forest_round_trip_gives_identical_probabilities(features, tmp_path):
    X, y = windows(n=120)
    rf = RandomForestModel(n_estimators=15, features=features).fit(X, y)
    path = save_checkpoint(rf, tmp_path / "rf.vxp.safetensors", CHANNELS)
    loaded = load(path)
    assert loaded.kind == "random_forest" and loaded.module is None
    Xt, _ = windows(n=200, seed=4)
    assert np.array_equal(loaded.predict_proba(Xt), rf.predict_proba(Xt))
    # values exactly on a split threshold must go the same way as in scikit-learn
    t = rf.forest_.estimators_[0].tree_
    split = int(np.flatnonzero(t.children_left != -1)[0])
    Xe = Xt.copy().reshape(len(Xt), -1) if features == "window" else Xt.copy()
    if features == "window":
        Xe[:, t.feature[split]] = np.float32(t.threshold[split])
        Xe = Xe.reshape(Xt.shape)
    else:
        Xe[:, t.feature[split], 1, 1, 1] = np.float32(t.threshold[split])
    assert np.array_equal(loaded.predict_proba(Xe), rf.predict_proba(Xe))


def test_torch_save_file_is_refused(cnn, tmp_path):
    path = tmp_path / "model.pt"
    torch.save(cnn.model_.state_dict(), path)
    with pytest.raises(InputFileError, match="refusing.*pickle"):
        load(path)


def test_plain_pickle_is_refused(tmp_path):
    path = tmp_path / "model.vxp.safetensors"
    path.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    with pytest.raises(InputFileError, match="pickle"):
        load(path)


def _craft_safetensors(path, tensors: dict, metadata: dict):
    """Write a safetensors file by hand (8-byte header length, JSON header, raw bytes)."""
    header, blobs, offset = {"__metadata__": metadata}, b"", 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        blobs += raw
        offset += len(raw)
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + blobs)


def test_safetensors_carrying_a_pickled_object_is_refused(cnn, tmp_path):
    good = save_checkpoint(cnn, tmp_path / "good.vxp.safetensors", CHANNELS)
    from safetensors import safe_open
    with safe_open(str(good), framework="numpy") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}

    class Payload:
        def __reduce__(self):
            return (print, ("pwned",))

    blob = pickle.dumps(Payload())
    crafted = {k: ("F32", list(v.shape), v.astype(np.float32).tobytes()) for k, v in tensors.items()}
    crafted["extra.pickle"] = ("U8", [len(blob)], blob)
    path = tmp_path / "crafted.vxp.safetensors"
    _craft_safetensors(path, crafted, meta)
    with pytest.raises(InputFileError, match="refusing.*pickle"):
        load(path)


def test_not_a_checkpoint_is_refused(tmp_path):
    path = tmp_path / "notes.vxp.safetensors"
    path.write_text("these are not weights")
    with pytest.raises(InputFileError, match="refusing"):
        load(path)
    other = tmp_path / "other.safetensors"
    _craft_safetensors(other, {"w": ("F32", [2], np.ones(2, np.float32).tobytes())}, {"format": "pt"})
    with pytest.raises(InputFileError, match="not a voxprospect checkpoint"):
        load(other)
    with pytest.raises(InputFileError, match="not found"):
        load(tmp_path / "missing.vxp.safetensors")


def test_wrong_channels_raise_layer_error_naming_them(cnn, tmp_path):
    loaded = load(save_checkpoint(cnn, tmp_path / "m.vxp.safetensors", CHANNELS))
    check_channels(loaded, CHANNELS)  # same names, same order: fine
    with pytest.raises(LayerError, match="missing \\['density'\\]"):
        check_channels(loaded, CHANNELS[:2])
    with pytest.raises(LayerError, match="extra \\['resistivity'\\]"):
        check_channels(loaded, CHANNELS + ["resistivity"])
    with pytest.raises(LayerError, match="misordered"):
        check_channels(loaded, CHANNELS[::-1])


def test_save_refuses_channel_count_mismatch(cnn, tmp_path):
    with pytest.raises(ValueError, match="3 channels"):
        save_checkpoint(cnn, tmp_path / "m.vxp.safetensors", CHANNELS[:2])
    assert not (tmp_path / "m.vxp.safetensors").exists()


def test_importing_models_does_not_import_torch():
    code = "import sys, voxprospect.learn; print('torch' in sys.modules, 'sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_header_length_starting_with_pickles_magic_byte_still_loads(cnn, tmp_path):
    # the first byte of a safetensors file is the low byte of its header length;
    # 0x80 there is a valid checkpoint, not a pickle
    good = save_checkpoint(cnn, tmp_path / "good.vxp.safetensors", CHANNELS)
    data = good.read_bytes() if hasattr(good, "read_bytes") else open(good, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header, rest = data[8:8 + n].rstrip(), data[8 + n:]
    pad = (0x80 - len(header)) % 256
    header = header + b" " * pad
    assert len(header) % 256 == 0x80
    odd = tmp_path / "odd.vxp.safetensors"
    odd.write_bytes(struct.pack("<Q", len(header)) + header + rest)
    assert odd.read_bytes()[0] == 0x80
    X, _ = windows(16, seed=3)
    np.testing.assert_array_equal(load(odd).predict_proba(X), load(good).predict_proba(X))
