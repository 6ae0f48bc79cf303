"""Learn: training windows, evaluation protocols, metrics, the networks and estimators.

Windows around known orebodies and negatives far from them
(:mod:`~voxprospect.learn.samples`); protocols that split them without sharing a voxel
(:mod:`~voxprospect.learn.protocols`); metrics and the prediction-area analysis
(:mod:`~voxprospect.learn.evaluate`); the RCNN-LAM network
(:mod:`~voxprospect.learn.network`), the scikit-learn-style estimators
(:mod:`~voxprospect.learn.estimators`) with their exact fast training and prediction
paths (:mod:`~voxprospect.learn.fasttrain`, :mod:`~voxprospect.learn.fastpredict`),
distributed training, and safetensors checkpoints (:mod:`~voxprospect.learn.checkpoint`).
May import data, io, gridding and evidence.

``import voxprospect.learn`` stays light: the names below are resolved on first
use (module ``__getattr__``), so torch and scikit-learn load only when a model is
built, trained or loaded.

>>> from voxprospect import learn
>>> net = learn.build_model("DL4", in_channels=7)          # doctest: +SKIP
>>> loaded = learn.load("model.vxp.safetensors")            # doctest: +SKIP
>>> p = loaded.predict_proba(windows)[:, 1]                 # doctest: +SKIP
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    # network
    "Stem": "network", "ResBlock": "network", "ChannelAttention": "network",
    "SpatialAttention": "network", "LightweightAttention": "network", "RCNNLAM": "network",
    "PRESETS": "network", "build_model": "network", "count_parameters": "network",
    "count_flops": "network",
    # estimators
    "CNNClassifier": "estimators", "RandomForestModel": "estimators",
    "tune_random_forest": "estimators", "make_estimator": "estimators",
    # uncertainty and calibration
    "DeepEnsemble": "ensemble", "member_seeds": "ensemble", "member_probabilities": "ensemble",
    "predict_uncertainty": "ensemble", "summarise_members": "members",
    "CalibratedModel": "calibration", "brier_score": "calibration", "reliability": "calibration",
    # checkpoints
    "save_checkpoint": "checkpoint", "load": "checkpoint", "LoadedModel": "checkpoint",
    "ForestPredictor": "checkpoint", "check_channels": "checkpoint",
    # windows
"WindowSamples": "samples", "make_samples": "samples",
    "pad_stack": "samples", "extract_windows": "samples", "samples_windows": "samples",
    # protocols and metrics
    "PROTOCOLS": "protocols", "evaluate_protocols": "protocols", "split_random": "protocols",
    "split_spatial": "protocols", "split_deposit": "protocols",
    "classification_metrics": "evaluate", "prediction_area": "evaluate", "PAResult": "evaluate",
    "plot_prediction_area": "evaluate",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
