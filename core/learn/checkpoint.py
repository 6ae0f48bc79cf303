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

What a valid file holds, and the checks made before anything is built, are in
:mod:`voxprospect.learn.checkpoint_schema`.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

import numpy as np

from voxprospect.errors import InputFileError, LayerError
from voxprospect.learn.checkpoint_schema import (FORMAT_TAG, FORMAT_VERSION, FOREST_TENSORS, META_KEY, MAX_BLOCKS,
                                                 MAX_CHANNELS, MAX_NAME, MAX_TENSORS, MAX_TREES, MAX_WINDOW,
                                                 check_cnn_tensor_names, bad_field, read_header, refuse, brief,
                                                 validate_forest, validate_header, validate_metadata)

__all__ = ["FORMAT_TAG", "FORMAT_VERSION", "MAX_BLOCKS", "MAX_CHANNELS", "MAX_NAME", "MAX_TENSORS", "MAX_TREES",
           "MAX_WINDOW", "ForestPredictor", "LoadedModel", "check_channels", "load", "save_checkpoint",
           "validate_forest", "validate_header", "validate_metadata"]



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
              META_KEY: json.dumps(jsonable(meta), allow_nan=False)}
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


class WindowMismatchError(InputFileError, ValueError):
    """Windows whose channel count or size differ from what a checkpoint was trained on."""


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
        WindowMismatchError
            If the windows' channel count or size differ from the checkpoint's (a
            ``ValueError`` too, naming the checkpoint).
        """
        from voxprospect.learn.estimators import check_windows, forest_features

        try:
            X = check_windows(windows, len(self.channels), self.window)
        except ValueError as exc:
            raise WindowMismatchError(self.path, f"the checkpoint does not fit these windows: {exc}") from None
        if self.forest is not None:
            return self.forest.predict_proba(forest_features(X, self.metadata["architecture"]["features"]))
        import torch

        from voxprospect.learn.estimators import resolve_device

        device = resolve_device(device)
        if len(self.members) > 1:
            from voxprospect.learn.ensemble_checkpoint import ensemble_predict_proba
            return ensemble_predict_proba(self.members, X, int(batch_size), device)
        from voxprospect.learn.trainloop import module_logits

        if X.shape[0] == 0:
            return np.zeros((0, 2))
        logits = module_logits(self.module.to(device), X, int(batch_size), device)
        return torch.softmax(logits, dim=1).numpy().astype(np.float64)

    def predict(self, windows) -> np.ndarray:
        """Class (0 or 1) of each window."""
        return self.classes_[self.predict_proba(windows).argmax(axis=1)]



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
    header = read_header(path)
    meta = validate_header(path, header, path.stat().st_size)
    _validate_members_and_calibration(path, meta)
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    if meta["kind"] == "random_forest" and set(tensors) != set(FOREST_TENSORS):
        refuse(path, f"unexpected tensors {sorted(set(tensors) ^ set(FOREST_TENSORS))}")
    if meta["kind"] == "cnn":
        check_cnn_tensor_names(path, meta, tensors)
    try:
        with safe_open(str(path), framework="numpy") as f:
            arrays = {name: f.get_tensor(name) for name in f.keys()}
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise InputFileError(path, f"checkpoint is corrupt or truncated ({brief(exc)})") from None
    for name, a in arrays.items():
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            bad_field(path, f"tensor {name}", f"{int((~np.isfinite(a)).sum())} values are NaN or infinite")
    if meta["kind"] == "random_forest":
        validate_forest(path, meta, arrays)
        forest = ForestPredictor(*(arrays[n] for n in FOREST_TENSORS))
        return LoadedModel(meta, forest=forest, path=path)
    from voxprospect.learn.ensemble_checkpoint import member_count, split_members

    n = member_count(path, meta)
    if n > 1:
        members = [_build_module(path, meta, part) for part in split_members(path, n, arrays)]
        return LoadedModel(meta, members=members, path=path)
    return LoadedModel(meta, module=_build_module(path, meta, arrays), path=path)



def _build_module(path, meta, arrays):
    import torch

    from voxprospect.learn.network import RCNNLAM

    try:
        module = RCNNLAM.from_config(meta["architecture"])  # bounded: validate_metadata ran first
    except (KeyError, ValueError, TypeError) as exc:
        raise InputFileError(path, f"checkpoint architecture is invalid: {brief(exc)}") from None
    if module.in_channels != len(meta["channels"]):
        raise InputFileError(path, f"architecture takes {module.in_channels} channels but the checkpoint "
                                   f"names {len(meta['channels'])}")
    wanted = set(module.state_dict())
    if set(arrays) != wanted:
        refuse(path, f"tensors do not match the RCNN-LAM architecture "
                      f"(missing {brief(sorted(wanted - set(arrays)))}, "
                      f"unexpected {brief(sorted(set(arrays) - wanted))})")
    state = {k: torch.from_numpy(np.ascontiguousarray(v)).to(torch.float32) for k, v in arrays.items()}
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise InputFileError(path, f"weights do not fit the architecture: {brief(exc, 300)}") from None
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


def _validate_members_and_calibration(path, meta) -> None:
    """The parts of the schema that belong to the layers above it: an ensemble's
    member count and seeds (:mod:`voxprospect.learn.ensemble_checkpoint`) and a stored
    calibrator (:mod:`voxprospect.learn.calibration`).

    Raises
    ------
    InputFileError
        Naming the field.
    """
    if meta["kind"] == "cnn":
        from voxprospect.learn.ensemble_checkpoint import member_count
        member_count(path, meta)
    if meta.get("calibration") is not None:
        from voxprospect.learn.calibration import calibrator_from_dict
        try:
            calibrator_from_dict(meta["calibration"])
        except ValueError as exc:
            bad_field(path, "calibration", str(exc))
