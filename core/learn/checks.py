"""Input checks shared by the estimators: window arrays and binary labels.

``X`` is the window array ``(N, C, k, k, k)`` (float32, ``k`` odd) cut by
:func:`voxprospect.learn.samples.extract_windows`; ``y`` labels in ``{0, 1}``
(1 = orebody voxel). Split out of :mod:`voxprospect.learn.estimators` (issue 10).
"""

from __future__ import annotations

import numpy as np

from voxprospect.errors import NoPositivesError

CLASSES = np.array([0, 1])


def check_windows(X, n_channels=None, window=None) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 5 or X.shape[2] != X.shape[3] or X.shape[3] != X.shape[4] or X.shape[2] % 2 == 0:
        raise ValueError(f"X must be windows of shape (N, C, k, k, k) with k odd, got {X.shape}")
    if n_channels is not None and X.shape[1] != n_channels:
        raise ValueError(f"model was fitted on {n_channels} evidence channels, X has {X.shape[1]}")
    if window is not None and X.shape[2] != window:
        raise ValueError(f"model was fitted on {window}-voxel windows, X has {X.shape[2]}")
    return X


def check_labels(y, n: int) -> np.ndarray:
    y = np.asarray(y).reshape(-1)
    if y.shape[0] != n:
        raise ValueError(f"y has {y.shape[0]} labels for {n} windows")
    if not np.isin(y, CLASSES).all():
        raise ValueError("labels must be 0 (barren) or 1 (orebody)")
    present = np.unique(y)
    if present.size < 2:
        raise NoPositivesError(f"training labels hold only class {int(present[0]) if present.size else 'none'}; "
                               "a classifier needs both orebody (1) and barren (0) samples")
    return y.astype(np.int64)


def centre_voxels(X: np.ndarray) -> np.ndarray:
    """Evidence at the centre voxel of each window, ``(N, C)``."""
    r = X.shape[2] // 2
    return X[:, :, r, r, r]
