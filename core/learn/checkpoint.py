"""Model checkpoints: one safetensors file, weights plus a JSON header; never pickle.

A checkpoint (``*.vxp.safetensors``) holds everything needed to use a trained
model on new evidence:

* the learned numbers as tensors -- the network's ``state_dict`` for the CNN; for
  the random forest, every tree's ``children_left``, ``children_right``,
  ``feature``, ``threshold`` and leaf class probabilities, concatenated, with the
  node offset of each tree;
* a JSON document in the safetensors ``__metadata__`` (key ``voxprospect``): format
  tag and version, model kind, architecture config and preset, estimator
  hyper-parameters, evidence channel names in input order, window size, edge
  rule, standardisation statistics, training report and history, NP and FLOPs,
  library versions.

Loading parses the header itself, accepts only numeric tensors with the expected
names, and rebuilds the model from the JSON config: no Python object is ever
unpickled (``torch.load`` is never called). The random forest is rebuilt as a
small numpy tree-walker (:class:`ForestPredictor`) that reproduces
scikit-learn's probabilities exactly.
"""

from __future__ import annotations

import datetime as _dt
import json
import struct
from pathlib import Path

import numpy as np

from voxprospect.errors import InputFileError, LayerError

FORMAT_TAG = "voxprospect-checkpoint"
FORMAT_VERSION = 2  # 2: several ensemble members (voxprospect.learn.ensemble_checkpoint)
_META_KEY = "voxprospect"
# Numeric dtypes a checkpoint may carry; byte tensors (U8/I8) are refused because
# they are how a pickled payload would be smuggled in.
_ALLOWED_DTYPES = {"F16", "BF16", "F32", "F64", "I16", "I32", "I64"}
_FOREST_TENSORS = ("forest.children_left", "forest.children_right", "forest.feature",
                   "forest.threshold", "forest.leaf_proba", "forest.node_offsets")
_MAX_HEADER = 100 * 1024 * 1024


# ------------------------------------------------------------------ saving


def save_checkpoint(estimator, path, channels, window=None, edge="edge", standardisation_stats=None,
                    training_report=None, inputs=(), input_range=None, calibration=None):
    """Write a fitted estimator and everything needed to use it into one file.

    Parameters
    ----------
    estimator : CNNClassifier or RandomForestModel
        Fitted.
    path : path-like
        Output file; ``.vxp.safetensors`` is the conventional suffix. Written
        atomically.
    channels : list of str
        Evidence channel names in the model's input order.
    window : int, optional
        Window size ``k``; default the estimator's ``window_``.
    edge : {"edge", "zero"}
        Padding rule used when cutting the training windows.
    standardisation_stats : dict, optional
        Per-channel statistics used to standardise the evidence (JSON-able).
    training_report : dict, optional
        Metrics, protocols, sample counts, seed... (JSON-able).
    inputs : iterable of path-like
        The run's inputs, which the output may not overwrite.
    input_range : dict, optional
        ``{channel: {"min", "max"}}`` of the model's inputs on the training
        volume; prediction warns where new evidence leaves it.
    calibration : dict, optional
        A calibrator's ``to_dict()`` (:mod:`voxprospect.learn.calibration`), fitted
        on inner folds; prediction adds the calibrated mean beside the raw one.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        If the estimator is not fitted or the channels do not match it.
    """
    from safetensors.numpy import save_file

    from voxprospect import __version__
    from voxprospect.io.safe_write import safe_output, verify_safetensors
    from voxprospect.report import jsonable, versions
    from voxprospect.learn.ensemble import DeepEnsemble
    from voxprospect.learn.estimators import CNNClassifier, RandomForestModel

    channels = [str(c) for c in channels]
    if len(set(channels)) != len(channels):
        raise ValueError(f"channel names must be unique, got {channels}")
    n_channels = getattr(estimator, "n_channels_", None)
    if n_channels is None:
        raise ValueError("the estimator is not fitted; fit it before saving a checkpoint")
    if n_channels != len(channels):
        raise ValueError(f"the model was fitted on {n_channels} channels but {len(channels)} names "
                         f"were given: {channels}")
    window = int(window if window is not None else estimator.window_)
    if window != estimator.window_:
        raise ValueError(f"the model was fitted on {estimator.window_}-voxel windows, not {window}")

    params = {k: v for k, v in estimator.get_params().items()
              if isinstance(v, (str, int, float, bool, type(None)))}
    meta = {
        "format": FORMAT_TAG, "format_version": 1,
        "voxprospect_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "channels": channels, "window": window, "edge": str(edge),
        "standardisation": standardisation_stats, "input_range": input_range, "calibration": calibration,
        "training_report": training_report,
        "estimator_params": params, "n_params": int(estimator.n_params_),
        "flops": int(estimator.flops_per_window()), "flops_unit": estimator.flops_unit,
    }
    if isinstance(estimator, DeepEnsemble):
        from voxprospect.learn.ensemble_checkpoint import ensemble_tensors
        tensors, ensemble_meta = ensemble_tensors(estimator)
        meta.update(ensemble_meta)
    elif isinstance(estimator, CNNClassifier):
        model = estimator.model_
        meta.update(kind="cnn", preset=str(estimator.preset).upper(), architecture=model.config,
                    history=estimator.history_, best_epoch=getattr(estimator, "best_epoch_", None),
                    augmentation=getattr(estimator, "augmentation_", None),
                    validation=getattr(estimator, "validation_", None))
        tensors = {k: v.detach().to("cpu").contiguous().numpy().copy()
                   for k, v in model.state_dict().items()}
    elif isinstance(estimator, RandomForestModel):
        tensors, forest_meta = _forest_tensors(estimator)
        meta.update(kind="random_forest", preset="RF", architecture=forest_meta)
    else:
        raise ValueError(f"cannot save a {type(estimator).__name__}; expected CNNClassifier, "
                         "DeepEnsemble or RandomForestModel")
    meta["library_versions"] = versions()
    header = {"format": FORMAT_TAG, "format_version": str(meta["format_version"]),
              _META_KEY: json.dumps(jsonable(meta), allow_nan=False)}
    with safe_output(path, inputs, verify=verify_safetensors) as tmp:
        save_file(tensors, str(tmp), metadata=header)
    return Path(path)


def _forest_tensors(estimator):
    forest = estimator.forest_
    left, right, feature, threshold, proba, offsets = [], [], [], [], [], [0]
    for tree in forest.estimators_:
        t = tree.tree_
        value = np.asarray(t.value)[:, 0, :].astype(np.float64)
        # the same normalisation DecisionTreeClassifier.predict_proba applies,
        # so the reloaded forest reproduces its probabilities bit for bit
        norm = value.sum(axis=1, keepdims=True)
        norm[norm == 0.0] = 1.0
        left.append(np.asarray(t.children_left, np.int64))
        right.append(np.asarray(t.children_right, np.int64))
        feature.append(np.asarray(t.feature, np.int64))
        threshold.append(np.asarray(t.threshold, np.float64))
        proba.append(value / norm)
        offsets.append(offsets[-1] + t.node_count)
    tensors = {
        "forest.children_left": np.concatenate(left), "forest.children_right": np.concatenate(right),
        "forest.feature": np.concatenate(feature), "forest.threshold": np.concatenate(threshold),
        "forest.leaf_proba": np.ascontiguousarray(np.concatenate(proba)),
        "forest.node_offsets": np.asarray(offsets, np.int64),
    }
    meta = {"architecture": "RandomForest", "n_trees": len(forest.estimators_),
            "features": estimator.features, "n_features": int(estimator.n_features_),
            "classes": [int(c) for c in forest.classes_]}
    return tensors, meta


# ----------------------------------------------------------------- loading


class ForestPredictor:
    """Numpy re-implementation of a fitted random forest's ``predict_proba``.

    Built from plain arrays (no pickle); walks every tree the way scikit-learn
    does (features as float32, go left when ``x <= threshold``) and averages the
    trees' leaf probabilities in the same order, so the result is identical.

    Parameters
    ----------
    children_left, children_right, feature : ndarray of int64, shape (n_nodes,)
    threshold : ndarray of float64, shape (n_nodes,)
    leaf_proba : ndarray of float64, shape (n_nodes, n_classes)
    node_offsets : ndarray of int64, shape (n_trees + 1,)
    """

    def __init__(self, children_left, children_right, feature, threshold, leaf_proba, node_offsets):
        self.children_left = np.asarray(children_left, np.int64)
        self.children_right = np.asarray(children_right, np.int64)
        self.feature = np.asarray(feature, np.int64)
        self.threshold = np.asarray(threshold, np.float64)
        self.leaf_proba = np.asarray(leaf_proba, np.float64)
        self.node_offsets = np.asarray(node_offsets, np.int64)
        n = self.children_left.shape[0]
        if not (self.children_right.shape[0] == self.feature.shape[0] == self.threshold.shape[0]
                == self.leaf_proba.shape[0] == n) or self.node_offsets[-1] != n:
            raise ValueError("forest arrays disagree in length")
        self.n_trees = len(self.node_offsets) - 1

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities for a feature matrix ``(N, n_features)``."""
        F = np.asarray(features, dtype=np.float32)
        total = np.zeros((F.shape[0], self.leaf_proba.shape[1]), dtype=np.float64)
        for proba in self.tree_probabilities(F):
            total += proba
        total /= self.n_trees
        return total

    def tree_probabilities(self, features: np.ndarray):
        """Each tree's class probabilities ``(N, n_classes)``, tree by tree (a generator)."""
        F = np.asarray(features, dtype=np.float32)
        rows = np.arange(F.shape[0])
        for t in range(self.n_trees):
            base = self.node_offsets[t]
            node = np.zeros(F.shape[0], dtype=np.int64)
            while True:
                left = self.children_left[base + node]
                inner = left != -1
                if not inner.any():
                    break
                g = base + node[inner]
                go_left = F[rows[inner], self.feature[g]].astype(np.float64) <= self.threshold[g]
                node[inner] = np.where(go_left, left[inner], self.children_right[g])
            yield self.leaf_proba[base + node]


class LoadedModel:
    """A model read back from a checkpoint, ready to score windows.

    Attributes
    ----------
    kind : {"cnn", "random_forest"}
    module : torch.nn.Module or None
        The RCNN-LAM network in eval mode (CNN checkpoints); input
        ``(B, C, k, k, k)``, output logits ``(B, 2)``.
    forest : ForestPredictor or None
        The tree-walker (random-forest checkpoints).
    metadata : dict
        The checkpoint's JSON header.
    channels : list of str
    window : int
    edge : str
    preset : str
    standardisation_stats, training_report : dict or None
    classes_ : ndarray ``[0, 1]``
    path : pathlib.Path
    """

    def __init__(self, metadata: dict, module=None, forest=None, path=None, members=None):
        self.metadata = metadata
        self.module = module
        self.forest = forest
        #: the networks of a CNN checkpoint, one per ensemble member ([module] for one network)
        self.members = list(members) if members is not None else ([module] if module is not None else None)
        self.member_seeds = metadata.get("member_seeds")
        self.calibration = None
        if metadata.get("calibration") is not None:
            from voxprospect.learn.calibration import calibrator_from_dict
            self.calibration = calibrator_from_dict(metadata["calibration"])
        self.path = Path(path) if path is not None else None
        self.kind = metadata["kind"]
        self.channels = list(metadata["channels"])
        self.window = int(metadata["window"])
        self.edge = metadata.get("edge", "edge")
        self.preset = metadata.get("preset")
        self.standardisation_stats = metadata.get("standardisation")
        self.training_report = metadata.get("training_report")
        self.n_params = metadata.get("n_params")
        self.flops = metadata.get("flops")
        self.classes_ = np.array([0, 1])

    def __repr__(self):
        return (f"LoadedModel({self.preset}, kind={self.kind}, channels={self.channels}, "
                f"window={self.window})")

    def predict_proba(self, windows, batch_size: int = 4096, device: str = "auto") -> np.ndarray:
        """Probability of each class for windows ``(N, C, k, k, k)``; ``(N, 2)``.

        ``device="auto"`` runs the network on CUDA when available, else on the CPU.

        Raises
        ------
        ValueError
            If the windows' channel count or size differ from the checkpoint's.
        """
        from voxprospect.learn.estimators import check_windows, forest_features

        X = check_windows(windows, len(self.channels), self.window)
        if self.forest is not None:
            return self.forest.predict_proba(forest_features(X, self.metadata["architecture"]["features"]))
        import torch

        from voxprospect.learn.estimators import resolve_device

        device = resolve_device(device)
        if len(self.members) > 1:
            from voxprospect.learn.ensemble_checkpoint import ensemble_predict_proba
            return ensemble_predict_proba(self.members, X, int(batch_size), device)
        module = self.module.to(device)
        out = []
        with torch.no_grad():
            for start in range(0, X.shape[0], int(batch_size)):
                xb = torch.from_numpy(np.ascontiguousarray(X[start:start + batch_size])).to(device)
                out.append(torch.softmax(module(xb).float(), dim=1).cpu())
        if not out:
            return np.zeros((0, 2))
        return torch.cat(out).numpy().astype(np.float64)

    def predict(self, windows) -> np.ndarray:
        """Class (0 or 1) of each window."""
        return self.classes_[self.predict_proba(windows).argmax(axis=1)]


def _refuse(path, problem):
    raise InputFileError(path, f"{problem}; refusing to load it: voxprospect reads only safetensors "
                               "checkpoints and never unpickles (pickle can run arbitrary code)")


def _read_header(path: Path) -> dict:
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(9)
            # A safetensors file is an 8-byte little-endian header length followed by a
            # JSON object. Only when that does not hold do we name the pickle formats:
            # a valid header length may well start with the byte 0x80 (pickle's magic).
            n = struct.unpack("<Q", head[:8])[0] if len(head) >= 8 else 0
            if not (len(head) == 9 and 1 < n <= min(_MAX_HEADER, size - 8) and head[8:9] == b"{"):
                if head[:2] == b"PK" or head[:1] == b"\x80":
                    _refuse(path, "this file holds pickled Python objects (a torch.save / pickle file)")
                if len(head) < 9:
                    _refuse(path, "not a safetensors checkpoint (file too short)")
                _refuse(path, "not a safetensors checkpoint (no valid header)")
            raw = head[8:9] + f.read(n - 1)
    except FileNotFoundError:
        raise InputFileError(path, "checkpoint file not found") from None
    except IsADirectoryError:
        raise InputFileError(path, "is a folder, not a checkpoint file") from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        _refuse(path, "not a safetensors checkpoint (header is not JSON)")
    if not isinstance(header, dict):
        _refuse(path, "not a safetensors checkpoint (header is not a JSON object)")
    return header


def load(path) -> LoadedModel:
    """Read a checkpoint written by :func:`save_checkpoint`.

    The whole file is checked against one schema (:func:`validate_header`,
    :func:`validate_metadata`, :func:`validate_forest`) before anything is built:
    types, ranges and sizes of every header field, every tensor's dtype, shape and
    byte range, every tree acyclic with in-range children and features, every
    weight and probability finite.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    LoadedModel

    Raises
    ------
    InputFileError
        Naming the file and the field: missing file, not a voxprospect
        safetensors checkpoint, a pickled object, a field of the wrong type or out
        of range, unexpected tensors, or weights that do not fit the architecture.
    """
    from safetensors import safe_open

    path = Path(path)
    header = _read_header(path)
    meta = validate_header(path, header, path.stat().st_size)
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    if meta["kind"] == "random_forest" and set(tensors) != set(_FOREST_TENSORS):
        _refuse(path, f"unexpected tensors {sorted(set(tensors) ^ set(_FOREST_TENSORS))}")
    if meta["kind"] == "cnn":
        _check_cnn_tensor_names(path, meta, tensors)
    try:
        with safe_open(str(path), framework="numpy") as f:
            arrays = {name: f.get_tensor(name) for name in f.keys()}
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise InputFileError(path, f"checkpoint is corrupt or truncated ({_short(exc)})") from None
    for name, a in arrays.items():
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            _field(path, f"tensor {name}", f"{int((~np.isfinite(a)).sum())} values are NaN or infinite")
    if meta["kind"] == "random_forest":
        validate_forest(path, meta, arrays)
        forest = ForestPredictor(*(arrays[n] for n in _FOREST_TENSORS))
        return LoadedModel(meta, forest=forest, path=path)
    from voxprospect.learn.ensemble_checkpoint import member_count, split_members

    n = member_count(path, meta)
    if n > 1:
        members = [_build_module(path, meta, part) for part in split_members(path, n, arrays)]
        return LoadedModel(meta, members=members, path=path)
    return LoadedModel(meta, module=_build_module(path, meta, arrays), path=path)


# ------------------------------------------------------------------ the schema

# Bounds: far beyond any real model, small enough that nothing huge is ever built.
MAX_CHANNELS = 1024
MAX_WINDOW = 31          # voxprospect.workflows.project.WINDOW_MAX
MAX_BLOCKS = 16          # the paper's presets have 1 or 2
MAX_TREES = 100_000
MAX_TENSORS = 10_000
MAX_NAME = 256
_ITEMSIZE = {"F16": 2, "BF16": 2, "F32": 4, "F64": 8, "I16": 2, "I32": 4, "I64": 8}
EDGES = ("edge", "zero")


def _short(value, limit: int = 120) -> str:
    text = repr(value) if not isinstance(value, (str, BaseException)) else str(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _field(path, field, problem):
    raise InputFileError(path, f"checkpoint field {field}: {problem}")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _int_in(path, field, v, lo, hi):
    if not _is_int(v):
        _field(path, field, f"must be an integer, got {type(v).__name__} {_short(v)}")
    if not lo <= v <= hi:
        _field(path, field, f"must be from {lo} to {hi}, got {v}")
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
            _refuse(path, "a safetensors file but not a voxprospect checkpoint (no __metadata__)")
        _field(path, "__metadata__", f"must be a JSON object of strings, got {type(file_meta).__name__}")
    if file_meta.get("format") != FORMAT_TAG or _META_KEY not in file_meta:
        _refuse(path, "a safetensors file but not a voxprospect checkpoint (format tag missing)")
    if not file_meta.get("format_version", "1").isdigit():
        _field(path, "__metadata__.format_version", f"must be a version number, got "
                                                    f"{_short(file_meta['format_version'])}")
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    if len(tensors) > MAX_TENSORS:
        _field(path, "tensors", f"{len(tensors):,} tensors, more than {MAX_TENSORS:,}")
    data_size = file_size - 8 - _header_length(path)
    spans = []
    for name, info in tensors.items():
        where = f"tensor {_short(name, 60)}"
        if len(name) > MAX_NAME:
            _field(path, where, f"name longer than {MAX_NAME} characters")
        if not isinstance(info, dict):
            _field(path, where, f"must be an object with dtype, shape and data_offsets, got {type(info).__name__}")
        dtype = info.get("dtype")
        if dtype not in _ALLOWED_DTYPES:
            _refuse(path, f"tensor {name!r} has dtype {_short(dtype)}, not a numeric weight (a byte tensor "
                          "could carry a pickle)")
        shape, offsets = info.get("shape"), info.get("data_offsets")
        if not isinstance(shape, list) or len(shape) > 8 or not all(_is_int(n) and n >= 0 for n in shape):
            _field(path, f"{where}.shape", f"must be a list of at most 8 counts >= 0, got {_short(shape)}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_int(o) for o in offsets)
                and 0 <= offsets[0] <= offsets[1]):
            _field(path, f"{where}.data_offsets", f"must be [start, end] byte offsets, got {_short(offsets)}")
        if offsets[1] > data_size:
            raise InputFileError(path, f"checkpoint is corrupt or truncated: {where} ends at data byte "
                                       f"{offsets[1]:,} but the file holds {data_size:,}")
        n = 1
        for d in shape:
            n *= d
        if n * _ITEMSIZE[dtype] != offsets[1] - offsets[0]:
            _field(path, f"{where}.data_offsets", f"span {offsets[1] - offsets[0]:,} bytes for shape {shape} "
                                                 f"of {dtype} ({n * _ITEMSIZE[dtype]:,} bytes)")
        spans.append(tuple(offsets))
    spans.sort()
    for (_, a1), (b0, _) in zip(spans, spans[1:]):
        if b0 < a1:
            _field(path, "data_offsets", "two tensors overlap")
    try:
        meta = json.loads(file_meta[_META_KEY])
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
        _field(path, "voxprospect", f"must be a JSON object, got {type(meta).__name__}")
    version = meta.get("format_version")
    if not _is_int(version) or version < 1:
        _field(path, "format_version", f"must be a positive integer, got {_short(version)}")
    if version > FORMAT_VERSION:
        raise InputFileError(path, f"checkpoint format version {version} is newer than this voxprospect "
                                   f"reads ({FORMAT_VERSION}); upgrade voxprospect")
    for key in ("kind", "channels", "window", "architecture"):
        if key not in meta:
            raise InputFileError(path, f"checkpoint metadata lacks {key!r}")
    kind = meta["kind"]
    if kind not in ("cnn", "random_forest"):
        _field(path, "kind", f"unknown model kind {_short(kind)}; expected cnn or random_forest")
    channels = meta["channels"]
    if not (isinstance(channels, list) and 1 <= len(channels) <= MAX_CHANNELS
            and all(isinstance(c, str) and 0 < len(c) <= MAX_NAME for c in channels)):
        _field(path, "channels", f"must be a list of 1 to {MAX_CHANNELS} channel names, got {_short(channels)}")
    if len(set(channels)) != len(channels):
        _field(path, "channels", "names repeat")
    window = _int_in(path, "window", meta["window"], 1, MAX_WINDOW)
    if window % 2 == 0:
        _field(path, "window", f"must be odd (the window is centred on a voxel), got {window}")
    if meta.get("edge", "edge") not in EDGES:
        _field(path, "edge", f"must be one of {', '.join(EDGES)}, got {_short(meta.get('edge'))}")
    for key in ("preset", "voxprospect_version", "created", "flops_unit"):
        if meta.get(key) is not None and not isinstance(meta[key], str):
            _field(path, key, f"must be a string, got {type(meta[key]).__name__}")
    for key in ("standardisation", "training_report", "estimator_params", "library_versions"):
        if meta.get(key) is not None and not isinstance(meta[key], dict):
            _field(path, key, f"must be an object, got {type(meta[key]).__name__}")
    for key in ("n_params", "flops"):
        if meta.get(key) is not None and not (_is_int(meta[key]) and meta[key] >= 0):
            _field(path, key, f"must be a count >= 0, got {_short(meta[key])}")
    if meta.get("calibration") is not None:
        from voxprospect.learn.calibration import calibrator_from_dict
        try:
            calibrator_from_dict(meta["calibration"])
        except ValueError as exc:
            _field(path, "calibration", str(exc))
    arch = meta["architecture"]
    if not isinstance(arch, dict):
        _field(path, "architecture", f"must be an object, got {type(arch).__name__}")
    if kind == "cnn":
        from voxprospect.learn.ensemble_checkpoint import member_count
        member_count(path, meta)
        if arch.get("architecture", "RCNNLAM") != "RCNNLAM":
            _field(path, "architecture.architecture", f"must be RCNNLAM, got {_short(arch.get('architecture'))}")
        _int_in(path, "architecture.in_channels", arch.get("in_channels"), 1, MAX_CHANNELS)
        if arch["in_channels"] != len(channels):
            _field(path, "architecture.in_channels", f"{arch['in_channels']} but the checkpoint names "
                                                     f"{len(channels)} channels")
        _int_in(path, "architecture.n_blocks", arch.get("n_blocks"), 1, MAX_BLOCKS)
        if not isinstance(arch.get("attention"), bool):
            _field(path, "architecture.attention", f"must be true or false, got {_short(arch.get('attention'))}")
        if arch.get("n_classes", 2) != 2 or isinstance(arch.get("n_classes", 2), bool):
            _field(path, "architecture.n_classes", f"must be 2, got {_short(arch.get('n_classes'))}")
    else:
        _int_in(path, "architecture.n_trees", arch.get("n_trees"), 1, MAX_TREES)
        features = arch.get("features")
        if features not in ("centre", "window"):
            _field(path, "architecture.features", f"must be centre or window, got {_short(features)}")
        wanted = len(channels) * (window ** 3 if features == "window" else 1)
        n_features = arch.get("n_features")
        if not _is_int(n_features) or n_features != wanted:
            _field(path, "architecture.n_features", f"must be {wanted} ({features} features of "
                                                    f"{len(channels)} channels), got {_short(n_features)}")
        if arch.get("classes") != [0, 1]:
            _field(path, "architecture.classes", f"must be [0, 1], got {_short(arch.get('classes'))}")
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
            _field(path, name, f"must be a 1-D integer array, got {arrays[name].dtype} of shape "
                               f"{arrays[name].shape}")
    n = left.shape[0]
    if n == 0:
        _field(path, "forest.children_left", "no node")
    for name, a in (("forest.children_right", right), ("forest.feature", feature),
                    ("forest.threshold", threshold)):
        if a.ndim != 1 or a.shape[0] != n:
            _field(path, name, f"shape {a.shape}, expected ({n},) like forest.children_left")
    if threshold.dtype.kind != "f":
        _field(path, "forest.threshold", f"must be floating point, got {threshold.dtype}")
    if proba.dtype.kind != "f" or proba.shape != (n, 2):
        _field(path, "forest.leaf_proba", f"must be a ({n}, 2) float array, got {proba.dtype} {proba.shape}")
    n_trees = arch["n_trees"]
    if offsets.shape[0] != n_trees + 1:
        _field(path, "forest.node_offsets", f"{offsets.shape[0]} offsets for {n_trees} trees (expected "
                                            f"{n_trees + 1})")
    sizes = np.diff(offsets)
    if offsets[0] != 0 or offsets[-1] != n or (sizes < 1).any():
        _field(path, "forest.node_offsets", f"must rise from 0 to {n} by at least 1 a tree")
    tree = np.repeat(np.arange(n_trees), sizes)
    local = np.arange(n) - offsets[tree]
    size = sizes[tree]
    leaf = (left == -1) & (right == -1)
    inner = ~leaf
    for name, child in (("forest.children_left", left), ("forest.children_right", right)):
        bad = inner & ~((child > local) & (child < size))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            _field(path, name, f"tree {int(tree[i])} node {int(local[i])} points to {int(child[i])}: a child "
                               f"must be -1 (both, at a leaf) or a later node of the same tree (< {int(size[i])}); "
                               "a cycle or an out-of-range index")
    n_features = arch["n_features"]
    bad = inner & ~((feature >= 0) & (feature < n_features))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        _field(path, "forest.feature", f"tree {int(tree[i])} node {int(local[i])} splits on feature "
                                       f"{int(feature[i])}, outside 0..{n_features - 1}")
    if not np.isfinite(threshold[inner]).all():
        _field(path, "forest.threshold", "a split threshold is NaN or infinite")
    p = proba[leaf]
    if not (np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()):
        _field(path, "forest.leaf_proba", "leaf probabilities must be finite and within [0, 1]")


def _check_cnn_tensor_names(path, meta, tensors) -> None:
    """The tensor names of the network the (validated) architecture describes."""
    forest = set(tensors) & set(_FOREST_TENSORS)
    if forest:
        _refuse(path, f"unexpected tensors {sorted(forest)} in a CNN checkpoint")


def _build_module(path, meta, arrays):
    import torch

    from voxprospect.learn.network import RCNNLAM

    try:
        module = RCNNLAM.from_config(meta["architecture"])  # bounded: validate_metadata ran first
    except (KeyError, ValueError, TypeError) as exc:
        raise InputFileError(path, f"checkpoint architecture is invalid: {_short(exc)}") from None
    if module.in_channels != len(meta["channels"]):
        raise InputFileError(path, f"architecture takes {module.in_channels} channels but the checkpoint "
                                   f"names {len(meta['channels'])}")
    wanted = set(module.state_dict())
    if set(arrays) != wanted:
        _refuse(path, f"tensors do not match the RCNN-LAM architecture "
                      f"(missing {_short(sorted(wanted - set(arrays)))}, "
                      f"unexpected {_short(sorted(set(arrays) - wanted))})")
    state = {k: torch.from_numpy(np.ascontiguousarray(v)).to(torch.float32) for k, v in arrays.items()}
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise InputFileError(path, f"weights do not fit the architecture: {_short(exc, 300)}") from None
    module.eval()
    return module


def check_channels(loaded, evidence_channel_names) -> None:
    """Check that evidence channels are the ones, in the order, the model was trained on.

    Parameters
    ----------
    loaded : LoadedModel or list of str
        A loaded checkpoint (its ``channels``) or the trained channel names.
    evidence_channel_names : list of str
        Channels of the evidence stack about to be fed to the model, in order.

    Raises
    ------
    LayerError
        Naming the missing, extra and misordered channels.
    """
    trained = list(getattr(loaded, "channels", loaded))
    given = [str(c) for c in evidence_channel_names]
    if trained == given:
        return
    missing = [c for c in trained if c not in given]
    extra = [c for c in given if c not in trained]
    parts = []
    if missing:
        parts.append(f"missing {missing}")
    if extra:
        parts.append(f"extra {extra}")
    if not missing and not extra:
        parts.append(f"misordered: the model expects {trained}, the evidence gives {given}")
    source = getattr(loaded, "path", None)
    where = f" (model {source})" if source else ""
    raise LayerError(f"evidence channels do not match the model{where}: " + "; ".join(parts)
                     + f". The model was trained on {trained}.")
