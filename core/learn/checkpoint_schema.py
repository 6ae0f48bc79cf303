"""The checkpoint file's schema: the safetensors header read without trusting it, and
every field of the JSON metadata and the forest's tensors checked before anything is built.

:func:`read_header`, :func:`validate_header`, :func:`validate_metadata` and
:func:`validate_forest` refuse a file with one :class:`~voxprospect.errors.InputFileError`
naming the field; :mod:`voxprospect.learn.checkpoint` saves and loads through them.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from voxprospect.errors import InputFileError

FORMAT_TAG = "voxprospect-checkpoint"
FORMAT_VERSION = 2  # 2: several ensemble members (voxprospect.learn.ensemble_checkpoint)
META_KEY = "voxprospect"
# Numeric dtypes a checkpoint may carry; byte tensors (U8/I8) are refused because
# they are how a pickled payload would be smuggled in.
ALLOWED_DTYPES = {"F16", "BF16", "F32", "F64", "I16", "I32", "I64"}
FOREST_TENSORS = ("forest.children_left", "forest.children_right", "forest.feature",
                   "forest.threshold", "forest.leaf_proba", "forest.node_offsets")
MAX_HEADER = 100 * 1024 * 1024


def refuse(path, problem):
    """Raise the one refusal of a file that is not a safe checkpoint."""
    raise InputFileError(path, f"{problem}; refusing to load it: voxprospect reads only safetensors "
                               "checkpoints and never unpickles (pickle can run arbitrary code)")


def read_header(path: Path) -> dict:
    """The safetensors JSON header, read without trusting the file (pickles are named and refused)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(9)
            # A safetensors file is an 8-byte little-endian header length followed by a
            # JSON object. Only when that does not hold do we name the pickle formats:
            # a valid header length may well start with the byte 0x80 (pickle's magic).
            n = struct.unpack("<Q", head[:8])[0] if len(head) >= 8 else 0
            if not (len(head) == 9 and 1 < n <= min(MAX_HEADER, size - 8) and head[8:9] == b"{"):
                if head[:2] == b"PK" or head[:1] == b"\x80":
                    refuse(path, "this file holds pickled Python objects (a torch.save / pickle file)")
                if len(head) < 9:
                    refuse(path, "not a safetensors checkpoint (file too short)")
                refuse(path, "not a safetensors checkpoint (no valid header)")
            raw = head[8:9] + f.read(n - 1)
    except FileNotFoundError:
        raise InputFileError(path, "checkpoint file not found") from None
    except IsADirectoryError:
        raise InputFileError(path, "is a folder, not a checkpoint file") from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        refuse(path, "not a safetensors checkpoint (header is not JSON)")
    if not isinstance(header, dict):
        refuse(path, "not a safetensors checkpoint (header is not a JSON object)")
    return header


# ------------------------------------------------------------------ the schema


MAX_CHANNELS = 1024
MAX_WINDOW = 31          # voxprospect.workflows.project.WINDOW_MAX
MAX_BLOCKS = 16          # the paper's presets have 1 or 2
MAX_TREES = 100_000
MAX_TENSORS = 10_000
MAX_NAME = 256
_ITEMSIZE = {"F16": 2, "BF16": 2, "F32": 4, "F64": 8, "I16": 2, "I32": 4, "I64": 8}
EDGES = ("edge", "zero")


def brief(value, limit: int = 120) -> str:
    """A value shown in a message, cut to ``limit`` characters."""
    text = repr(value) if not isinstance(value, (str, BaseException)) else str(value)
    return text if len(text) <= limit else text[:limit] + "..."


def bad_field(path, field, problem):
    """Raise the error of one invalid field of the checkpoint."""
    raise InputFileError(path, f"checkpoint field {field}: {problem}")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _int_in(path, field, v, lo, hi):
    if not _is_int(v):
        bad_field(path, field, f"must be an integer, got {type(v).__name__} {brief(v)}")
    if not lo <= v <= hi:
        bad_field(path, field, f"must be from {lo} to {hi}, got {v}")
    return v


def validate_header(path, header: dict, file_size: int) -> dict:
    """Check the safetensors header and return the voxprospect metadata, validated.

    Raises
    ------
    InputFileError
    """
    file_meta = header.get("__metadata__")
    if not isinstance(file_meta, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in file_meta.items()):
        if file_meta is None:
            refuse(path, "a safetensors file but not a voxprospect checkpoint (no __metadata__)")
        bad_field(path, "__metadata__", f"must be a JSON object of strings, got {type(file_meta).__name__}")
    if file_meta.get("format") != FORMAT_TAG or META_KEY not in file_meta:
        refuse(path, "a safetensors file but not a voxprospect checkpoint (format tag missing)")
    if not file_meta.get("format_version", "1").isdigit():
        bad_field(path, "__metadata__.format_version", f"must be a version number, got "
                                                    f"{brief(file_meta['format_version'])}")
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    if len(tensors) > MAX_TENSORS:
        bad_field(path, "tensors", f"{len(tensors):,} tensors, more than {MAX_TENSORS:,}")
    data_size = file_size - 8 - _header_length(path)
    spans = []
    for name, info in tensors.items():
        where = f"tensor {brief(name, 60)}"
        if len(name) > MAX_NAME:
            bad_field(path, where, f"name longer than {MAX_NAME} characters")
        if not isinstance(info, dict):
            bad_field(path, where, f"must be an object with dtype, shape and data_offsets, got {type(info).__name__}")
        dtype = info.get("dtype")
        if dtype not in ALLOWED_DTYPES:
            refuse(path, f"tensor {name!r} has dtype {brief(dtype)}, not a numeric weight (a byte tensor "
                          "could carry a pickle)")
        shape, offsets = info.get("shape"), info.get("data_offsets")
        if not isinstance(shape, list) or len(shape) > 8 or not all(_is_int(n) and n >= 0 for n in shape):
            bad_field(path, f"{where}.shape", f"must be a list of at most 8 counts >= 0, got {brief(shape)}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_int(o) for o in offsets)
                and 0 <= offsets[0] <= offsets[1]):
            bad_field(path, f"{where}.data_offsets", f"must be [start, end] byte offsets, got {brief(offsets)}")
        if offsets[1] > data_size:
            raise InputFileError(path, f"checkpoint is corrupt or truncated: {where} ends at data byte "
                                       f"{offsets[1]:,} but the file holds {data_size:,}")
        n = 1
        for d in shape:
            n *= d
        if n * _ITEMSIZE[dtype] != offsets[1] - offsets[0]:
            bad_field(path, f"{where}.data_offsets", f"span {offsets[1] - offsets[0]:,} bytes for shape {shape} "
                                                 f"of {dtype} ({n * _ITEMSIZE[dtype]:,} bytes)")
        spans.append(tuple(offsets))
    spans.sort()
    for (_, a1), (b0, _) in zip(spans, spans[1:]):
        if b0 < a1:
            bad_field(path, "data_offsets", "two tensors overlap")
    try:
        meta = json.loads(file_meta[META_KEY])
    except json.JSONDecodeError:
        raise InputFileError(path, "checkpoint metadata is not valid JSON") from None
    return validate_metadata(path, meta)


def _header_length(path) -> int:
    with open(path, "rb") as f:
        return struct.unpack("<Q", f.read(8))[0]


def validate_metadata(path, meta) -> dict:
    """Check the checkpoint's JSON document (types, ranges, sizes); returns it.

    Raises
    ------
    InputFileError
        Naming the field.
    """
    if not isinstance(meta, dict):
        bad_field(path, "voxprospect", f"must be a JSON object, got {type(meta).__name__}")
    version = meta.get("format_version")
    if not _is_int(version) or version < 1:
        bad_field(path, "format_version", f"must be a positive integer, got {brief(version)}")
    if version > FORMAT_VERSION:
        raise InputFileError(path, f"checkpoint format version {version} is newer than this voxprospect "
                                   f"reads ({FORMAT_VERSION}); upgrade voxprospect")
    for key in ("kind", "channels", "window", "architecture"):
        if key not in meta:
            raise InputFileError(path, f"checkpoint metadata lacks {key!r}")
    kind = meta["kind"]
    if kind not in ("cnn", "random_forest"):
        bad_field(path, "kind", f"unknown model kind {brief(kind)}; expected cnn or random_forest")
    channels = meta["channels"]
    if not (isinstance(channels, list) and 1 <= len(channels) <= MAX_CHANNELS
            and all(isinstance(c, str) and 0 < len(c) <= MAX_NAME for c in channels)):
        bad_field(path, "channels", f"must be a list of 1 to {MAX_CHANNELS} channel names, got {brief(channels)}")
    if len(set(channels)) != len(channels):
        bad_field(path, "channels", "names repeat")
    window = _int_in(path, "window", meta["window"], 1, MAX_WINDOW)
    if window % 2 == 0:
        bad_field(path, "window", f"must be odd (the window is centred on a voxel), got {window}")
    if meta.get("edge", "edge") not in EDGES:
        bad_field(path, "edge", f"must be one of {', '.join(EDGES)}, got {brief(meta.get('edge'))}")
    for key in ("preset", "voxprospect_version", "created", "flops_unit"):
        if meta.get(key) is not None and not isinstance(meta[key], str):
            bad_field(path, key, f"must be a string, got {type(meta[key]).__name__}")
    for key in ("standardisation", "training_report", "estimator_params", "library_versions"):
        if meta.get(key) is not None and not isinstance(meta[key], dict):
            bad_field(path, key, f"must be an object, got {type(meta[key]).__name__}")
    for key in ("n_params", "flops"):
        if meta.get(key) is not None and not (_is_int(meta[key]) and meta[key] >= 0):
            bad_field(path, key, f"must be a count >= 0, got {brief(meta[key])}")
    arch = meta["architecture"]
    if not isinstance(arch, dict):
        bad_field(path, "architecture", f"must be an object, got {type(arch).__name__}")
    if kind == "cnn":
        if arch.get("architecture", "RCNNLAM") != "RCNNLAM":
            bad_field(path, "architecture.architecture", f"must be RCNNLAM, got {brief(arch.get('architecture'))}")
        _int_in(path, "architecture.in_channels", arch.get("in_channels"), 1, MAX_CHANNELS)
        if arch["in_channels"] != len(channels):
            bad_field(path, "architecture.in_channels", f"{arch['in_channels']} but the checkpoint names "
                                                     f"{len(channels)} channels")
        _int_in(path, "architecture.n_blocks", arch.get("n_blocks"), 1, MAX_BLOCKS)
        if not isinstance(arch.get("attention"), bool):
            bad_field(path, "architecture.attention", f"must be true or false, got {brief(arch.get('attention'))}")
        if arch.get("n_classes", 2) != 2 or isinstance(arch.get("n_classes", 2), bool):
            bad_field(path, "architecture.n_classes", f"must be 2, got {brief(arch.get('n_classes'))}")
    else:
        _int_in(path, "architecture.n_trees", arch.get("n_trees"), 1, MAX_TREES)
        features = arch.get("features")
        if features not in ("centre", "window"):
            bad_field(path, "architecture.features", f"must be centre or window, got {brief(features)}")
        wanted = len(channels) * (window ** 3 if features == "window" else 1)
        n_features = arch.get("n_features")
        if not _is_int(n_features) or n_features != wanted:
            bad_field(path, "architecture.n_features", f"must be {wanted} ({features} features of "
                                                    f"{len(channels)} channels), got {brief(n_features)}")
        if arch.get("classes") != [0, 1]:
            bad_field(path, "architecture.classes", f"must be [0, 1], got {brief(arch.get('classes'))}")
    return meta


def validate_forest(path, meta, arrays) -> None:
    """Check the random forest's arrays: shapes, kinds, and that every tree terminates.

    Every tree's nodes are numbered so that a child comes after its parent (as
    scikit-learn builds them), so requiring ``node < child < tree size`` for every
    inner node makes each tree acyclic and every walk end at a leaf. Leaves
    (both children -1) carry finite probabilities in [0, 1].

    Raises
    ------
    InputFileError
        Naming the array and the first bad node.
    """
    arch = meta["architecture"]
    left, right = arrays["forest.children_left"], arrays["forest.children_right"]
    feature, threshold = arrays["forest.feature"], arrays["forest.threshold"]
    proba, offsets = arrays["forest.leaf_proba"], arrays["forest.node_offsets"]
    for name in ("forest.children_left", "forest.children_right", "forest.feature", "forest.node_offsets"):
        if arrays[name].dtype.kind != "i" or arrays[name].ndim != 1:
            bad_field(path, name, f"must be a 1-D integer array, got {arrays[name].dtype} of shape "
                               f"{arrays[name].shape}")
    n = left.shape[0]
    if n == 0:
        bad_field(path, "forest.children_left", "no node")
    for name, a in (("forest.children_right", right), ("forest.feature", feature),
                    ("forest.threshold", threshold)):
        if a.ndim != 1 or a.shape[0] != n:
            bad_field(path, name, f"shape {a.shape}, expected ({n},) like forest.children_left")
    if threshold.dtype.kind != "f":
        bad_field(path, "forest.threshold", f"must be floating point, got {threshold.dtype}")
    if proba.dtype.kind != "f" or proba.shape != (n, 2):
        bad_field(path, "forest.leaf_proba", f"must be a ({n}, 2) float array, got {proba.dtype} {proba.shape}")
    n_trees = arch["n_trees"]
    if offsets.shape[0] != n_trees + 1:
        bad_field(path, "forest.node_offsets", f"{offsets.shape[0]} offsets for {n_trees} trees (expected "
                                            f"{n_trees + 1})")
    sizes = np.diff(offsets)
    if offsets[0] != 0 or offsets[-1] != n or (sizes < 1).any():
        bad_field(path, "forest.node_offsets", f"must rise from 0 to {n} by at least 1 a tree")
    tree = np.repeat(np.arange(n_trees), sizes)
    local = np.arange(n) - offsets[tree]
    size = sizes[tree]
    leaf = (left == -1) & (right == -1)
    inner = ~leaf
    for name, child in (("forest.children_left", left), ("forest.children_right", right)):
        bad = inner & ~((child > local) & (child < size))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            bad_field(path, name, f"tree {int(tree[i])} node {int(local[i])} points to {int(child[i])}: a child "
                               f"must be -1 (both, at a leaf) or a later node of the same tree (< {int(size[i])}); "
                               "a cycle or an out-of-range index")
    n_features = arch["n_features"]
    bad = inner & ~((feature >= 0) & (feature < n_features))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        bad_field(path, "forest.feature", f"tree {int(tree[i])} node {int(local[i])} splits on feature "
                                       f"{int(feature[i])}, outside 0..{n_features - 1}")
    if not np.isfinite(threshold[inner]).all():
        bad_field(path, "forest.threshold", "a split threshold is NaN or infinite")
    p = proba[leaf]
    if not (np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()):
        bad_field(path, "forest.leaf_proba", "leaf probabilities must be finite and within [0, 1]")


def check_cnn_tensor_names(path, meta, tensors) -> None:
    """The tensor names of the network the (validated) architecture describes."""
    forest = set(tensors) & set(FOREST_TENSORS)
    if forest:
        refuse(path, f"unexpected tensors {sorted(forest)} in a CNN checkpoint")
