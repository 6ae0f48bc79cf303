"""Held-out ore-versus-drilled-waste scores for studies whose negatives are not drilled waste.

With distal negatives (random cells far from the ore) the evaluation folds hold no
drilled below-cut-off rock, so they cannot say whether a model ranks ore above the
waste the same holes cut. An :class:`AuditSet` holds the windows of drilled cells
(ore and waste) beside the training samples; after each fold's fit, the audit cells at
least the fold's metric buffer away from every one of its training windows are scored
(the same gap rule as the test windows), and the pooled scores give a held-out ore
versus drilled-waste AUC. The audit cells never enter a fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Audit cells drawn at most (seeded subsample beyond it), to bound memory and time.
MAX_AUDIT_CELLS = 20_000

DEFINITION = ("ROC AUC, pooled over the folds, of each fold's model at ranking drilled ore above drilled "
              "below-cut-off cells that lie at least the fold's buffer from all of its training windows; "
              "the audit cells never enter a fit")


@dataclass(frozen=True, eq=False)
class AuditSet:
    """Windows of drilled cells: ``labels`` 1 = ore, 0 = drilled waste; ``centres`` grid indices."""

    windows: np.ndarray
    centres: np.ndarray
    labels: np.ndarray
    cell_size: tuple

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def held_out(self, train_centres, buffer_m: float) -> np.ndarray:
        """Audit cells at least ``buffer_m`` (metric centre distance) from every training centre."""
        from scipy.spatial import cKDTree

        cs = np.asarray(self.cell_size, dtype=np.float64)
        train = np.asarray(train_centres, dtype=np.float64).reshape(-1, 3) * cs
        if len(train) == 0:
            return np.ones(len(self), bool)
        d, _ = cKDTree(train).query(self.centres.astype(np.float64) * cs, k=1)
        # never a training cell itself, even with a zero buffer
        return (d >= float(buffer_m)) & (d > 0)


def make_audit_set(stack, ore, waste, active, window: int, edge: str, fill, cell_size, seed: int | None = 0,
                   max_cells: int = MAX_AUDIT_CELLS) -> AuditSet | None:
    """The audit windows of the drilled cells (``ore | waste``, active), or None without both classes.

    ``stack`` is the ``(C, nx, ny, nz)`` evidence, ``fill`` the per-channel value of NaN
    cells (as for the training windows).
    """
    from voxprospect.learn.samples import extract_windows, pad_stack

    ore = np.asarray(ore, dtype=bool) & np.asarray(active, dtype=bool)
    waste = np.asarray(waste, dtype=bool) & np.asarray(active, dtype=bool) & ~ore
    if not ore.any() or not waste.any():
        return None
    flat = np.flatnonzero(ore | waste)
    if flat.size > max_cells:
        flat = np.sort(np.random.default_rng(seed).choice(flat, size=max_cells, replace=False))
    centres = np.column_stack(np.unravel_index(flat, ore.shape)).astype(np.int64)
    windows = extract_windows(pad_stack(np.asarray(stack), window, edge), centres, window)
    f = np.asarray(fill, dtype=np.float32)
    bad = ~np.isfinite(windows)
    if bad.any():
        windows[bad] = np.broadcast_to(f.reshape((1, -1, 1, 1, 1)) if f.ndim else f, windows.shape)[bad]
    labels = ore.reshape(-1)[flat].astype(np.int8)
    return AuditSet(windows, centres, labels, tuple(float(v) for v in cell_size))


def score_audit(estimator, audit: AuditSet, train_centres, buffer_m: float):
    """``(labels, scores)`` of the audit cells held out from this fit, or None when none is."""
    keep = audit.held_out(train_centres, buffer_m)
    if not keep.any():
        return None
    p = np.asarray(estimator.predict_proba(audit.windows[keep]))[:, 1]
    return audit.labels[keep], p


def audit_summary(pairs) -> dict:
    """The pooled held-out ore-versus-drilled-waste AUC of ``[(labels, scores), ...]``."""
    from sklearn.metrics import roc_auc_score

    pairs = [pr for pr in pairs if pr is not None]
    if not pairs:
        return {"auc": None, "n_ore": 0, "n_waste": 0, "definition": DEFINITION}
    y = np.concatenate([pr[0] for pr in pairs])
    s = np.concatenate([pr[1] for pr in pairs])
    n_ore, n_waste = int((y == 1).sum()), int((y == 0).sum())
    auc = float(roc_auc_score(y, s)) if n_ore and n_waste else None
    return {"auc": auc, "n_ore": n_ore, "n_waste": n_waste, "definition": DEFINITION}
