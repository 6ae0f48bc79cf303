"""Models: the RCNN-LAM network, the scikit-learn-style estimators and checkpoints.

``import voxprospect.models`` stays light: the names below are resolved on first
use (module ``__getattr__``), so torch and scikit-learn load only when a model is
built, trained or loaded.

>>> from voxprospect import models
>>> net = models.build_model("DL4", in_channels=7)          # doctest: +SKIP
>>> loaded = models.load("model.vxp.safetensors")            # doctest: +SKIP
>>> p = loaded.predict_proba(windows)[:, 1]                  # doctest: +SKIP
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
    # checkpoints
    "save_checkpoint": "checkpoint", "load": "checkpoint", "LoadedModel": "checkpoint",
    "ForestPredictor": "checkpoint", "check_channels": "checkpoint",
    "CHECKPOINT_SUFFIX": "checkpoint",
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
