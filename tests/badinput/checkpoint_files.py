"""Tiny real checkpoints (written by our own save_checkpoint) and ways to edit them.

Used by the checkpoint bad-input table and the loader fuzz test. A safetensors file
is an 8-byte little-endian header length, a JSON header, then the tensors' bytes;
the voxprospect document is a JSON string inside the header's ``__metadata__``.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

CHANNELS = ["granodiorite", "density"]
WINDOW = 3


def windows(n=48, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, len(CHANNELS), WINDOW, WINDOW, WINDOW)).astype(np.float32)
    y = np.tile([0, 1], n // 2)
    X[y == 1, 1] += 1.0
    return X, y


def make_checkpoints(folder: Path) -> dict:
    """A tiny DL1 network and a tiny 5-tree forest, each saved as a checkpoint."""
    import torch
    from voxprospect.learn import CNNClassifier, RandomForestModel, save_checkpoint

    torch.set_num_threads(1)
    folder.mkdir(parents=True, exist_ok=True)
    X, y = windows()
    cnn = CNNClassifier(preset="DL1", epochs=1, batch_size=16, num_threads=1).fit(X, y)
    rf = RandomForestModel(n_estimators=5, max_depth=3, features="centre").fit(X, y)
    return {"cnn": save_checkpoint(cnn, folder / "cnn.vxp.safetensors", CHANNELS, window=WINDOW),
            "rf": save_checkpoint(rf, folder / "rf.vxp.safetensors", CHANNELS, window=WINDOW)}


def make_evidence(path: Path) -> Path:
    """An evidence volume with the checkpoints' channels on a 6 x 5 x 4 grid."""
    from voxprospect import Volume, VoxelGrid
    from voxprospect.io import write_volume

    grid = VoxelGrid((0.0, 0.0, -400.0), (100.0, 100.0, 100.0), (6, 5, 4), "EPSG:32651")
    rng = np.random.default_rng(1)
    layers = {c: rng.normal(size=grid.shape).astype(np.float32) for c in CHANNELS}
    write_volume(Volume(grid, layers, np.ones(grid.shape, bool)), path)
    return path


# -- raw editing ---------------------------------------------------------------------------

def split(raw: bytes) -> tuple[dict, bytes]:
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def join(header: dict, data: bytes) -> bytes:
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)  # safetensors pads the header to 8 bytes
    return struct.pack("<Q", len(text)) + text + data


def edit_header(src: Path, dst: Path, change) -> Path:
    """Copy ``src`` to ``dst`` with ``change(header)`` applied to the safetensors header."""
    header, data = split(src.read_bytes())
    change(header)
    dst.write_bytes(join(header, data))
    return dst


def edit_meta(src: Path, dst: Path, change) -> Path:
    """Copy with ``change(meta)`` applied to the voxprospect JSON document."""
    def on_header(h):
        meta = json.loads(h["__metadata__"]["voxprospect"])
        change(meta)
        h["__metadata__"]["voxprospect"] = json.dumps(meta)
    return edit_header(src, dst, on_header)


def edit_arrays(src: Path, dst: Path, change) -> Path:
    """Copy with ``change(arrays)`` applied to the tensors (dict name -> ndarray)."""
    from safetensors import safe_open
    from safetensors.numpy import save_file

    with safe_open(str(src), framework="numpy") as f:
        metadata = f.metadata()
        arrays = {k: f.get_tensor(k).copy() for k in f.keys()}
    change(arrays)
    save_file(arrays, str(dst), metadata=metadata)
    return dst
