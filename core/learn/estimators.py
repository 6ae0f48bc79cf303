"""Estimators with the scikit-learn face: the RCNN-LAM classifier and the random forest.

Both take the same input, the window array ``X`` of shape ``(N, C, k, k, k)``
(float32) cut by :func:`voxprospect.learn.samples.extract_windows`, and labels ``y`` in
``{0, 1}`` (1 = orebody voxel). ``predict_proba`` returns ``(N, 2)`` with columns
following ``classes_ == [0, 1]``, so evaluation, whole-grid prediction and
targeting take either model.

``__init__`` only stores hyper-parameters; ``fit`` returns ``self``; everything
learned ends in ``_`` (scikit-learn's convention, so ``clone`` and
``get_params`` work).

The estimators live in :mod:`voxprospect.learn.cnn` and :mod:`voxprospect.learn.forest`,
their shared checks, augmentation and training loop in :mod:`voxprospect.learn.checks`,
:mod:`voxprospect.learn.augmentation` and :mod:`voxprospect.learn.trainloop`; every name
stays importable from here.
"""

from __future__ import annotations

from voxprospect.learn.augmentation import AUGMENTS, augment_windows, augmentation_ops
from voxprospect.learn.checks import CLASSES, centre_voxels, check_labels, check_windows
from voxprospect.learn.cnn import CNNClassifier
from voxprospect.learn.forest import RF_SEARCH_SPACE, RandomForestModel, forest_features, tune_random_forest
from voxprospect.learn.trainloop import make_optimiser, resolve_device, spatial_holdout, train_loop

__all__ = ["AUGMENTS", "CLASSES", "CNNClassifier", "RF_SEARCH_SPACE", "RandomForestModel", "augment_windows",
           "augmentation_ops", "centre_voxels", "check_labels", "check_windows", "forest_features",
           "make_estimator", "make_optimiser", "resolve_device", "spatial_holdout", "train_loop",
           "tune_random_forest"]


def make_estimator(name: str, **params):
    """Build an estimator by name: ``"DL1"``...``"DL4"`` (CNN) or ``"RF"`` (random forest).

    Extra keyword arguments go to the estimator's constructor.
    """
    key = str(name).upper()
    if key in ("RF", "RANDOM_FOREST", "RANDOMFOREST"):
        return RandomForestModel(**params)
    from voxprospect.learn.network import PRESETS

    if key in PRESETS:
        return CNNClassifier(preset=key, **params)
    raise ValueError(f"unknown model {name!r}; use one of {sorted(PRESETS) + ['RF']}")
