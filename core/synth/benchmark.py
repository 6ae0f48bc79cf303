"""Scores of a prospectivity volume against a benchmark district's hidden truth.

The synthetic district (:mod:`voxprospect.synth`) knows what no real district does:
the true potential the deposits were drawn from, and deposits that training never
saw (the *undiscovered* ones). This module scores any prospectivity volume (a
model's, a single evidence channel's, a hand-made rule's) against them:

- **truth AUC** (:func:`truth_auc`, from :mod:`voxprospect.learn.evaluate`): ROC AUC of the
  volume at separating the true potential's top 5 % of active voxels from the rest.
  It measures the whole map, not only the deposits.
- **deposit AUC** (:func:`deposit_auc`): ROC AUC of the volume at separating the
  voxels of a set of deposits (all of them, or the undiscovered ones) from the other
  active voxels (known deposit voxels left out when scoring undiscovered ones).
- **undiscovered capture** (:func:`deposit_capture`): the share of undiscovered
  deposits *captured* in the most prospective 5 % and 10 % of the active volume. The
  rule: a deposit is captured in the top share ``s`` when its best-scoring voxel
  ranks within the top ``s`` of the active volume, ranks taken as mid-ranks (a voxel
  tied with ``t`` others at the cut sits at the middle of the tie), so a constant
  volume captures nothing and a tie is never read as a win. Equivalently: at least
  one voxel of the deposit lies in the top share.

Training windows near the deposits a score is computed on must not be used to fit
the model: :func:`windows_near` finds them (a metric buffer, see there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voxprospect.errors import LayerError, NoPositivesError, VoxprospectError
from voxprospect.learn.evaluate import values_and_active, truth_auc

#: top shares of the active volume at which undiscovered deposits are counted
CAPTURE_SHARES = (0.05, 0.10)
#: share of the active volume, by true potential, that the truth AUC treats as positive
TRUTH_TOP_SHARE = 0.05


@dataclass(frozen=True, eq=False)
class BenchmarkTruth:
    """What a benchmark district knows and a model must not see.

    Attributes
    ----------
    potential : ndarray of float (nx, ny, nz)
        The true potential (NaN outside the study volume).
    deposit_id : ndarray of int (nx, ny, nz)
        Every deposit, known and undiscovered; 0 barren.
    known, undiscovered : tuple of int
        Deposit ids in each set.
    active : ndarray of bool
    names : dict
        Deposit id -> name.
    """

    potential: np.ndarray
    deposit_id: np.ndarray
    known: tuple
    undiscovered: tuple
    active: np.ndarray
    names: dict

    @classmethod
    def from_volume(cls, truth, where: str = "truth volume") -> "BenchmarkTruth":
        """From a district's ``truth`` Volume (``true_potential``, ``deposit_id`` and the
        ``deposits`` table of its meta)."""
        for layer in ("true_potential", "deposit_id"):
            if layer not in truth:
                raise LayerError(f"{where}: no {layer!r} layer; layers are {', '.join(truth.names)}")
        table = truth.meta.get("deposits")
        if not table:
            raise LayerError(f"{where}: its metadata has no 'deposits' table (known / undiscovered)")
        return cls(np.asarray(truth["true_potential"], dtype=float), np.asarray(truth["deposit_id"]),
                   tuple(int(d["id"]) for d in table if d["known"]),
                   tuple(int(d["id"]) for d in table if not d["known"]),
                   np.asarray(truth.active, dtype=bool), {int(d["id"]): d["name"] for d in table})

    @classmethod
    def from_district(cls, district) -> "BenchmarkTruth":
        return cls.from_volume(district.truth, "district")

    @classmethod
    def from_folder(cls, folder) -> "BenchmarkTruth":
        """From ``truth.vti`` in a folder written by ``voxprospect synth``."""
        from voxprospect.io import read_volume
        path = Path(folder) / "truth.vti"
        return cls.from_volume(read_volume(path), str(path))

    def mask(self, which: str = "undiscovered") -> np.ndarray:
        """Voxels of the ``"known"``, ``"undiscovered"`` or ``"all"`` deposits."""
        if which == "all":
            return self.deposit_id > 0
        ids = {"known": self.known, "undiscovered": self.undiscovered}.get(which)
        if ids is None:
            raise VoxprospectError(f"unknown deposit set {which!r}; use known, undiscovered or all")
        return np.isin(self.deposit_id, ids)


def _scored(values, active):
    values, active = values_and_active(values, active, "prospectivity")
    ok = active & np.isfinite(values)
    if not ok.any():
        raise LayerError("the prospectivity volume has no finite value inside the study volume")
    return values, ok


def deposit_auc(prospectivity, active, deposit_mask, exclude=None) -> float:
    """ROC AUC of the volume at separating the deposit voxels from the other active
    voxels (voxels in ``exclude`` are left out of both classes).

    Raises
    ------
    NoPositivesError
        If no deposit voxel lies in the scored study volume.
    """
    from sklearn.metrics import roc_auc_score

    values, ok = _scored(prospectivity, active)
    if exclude is not None:
        ok = ok & ~np.asarray(exclude, dtype=bool)
    y = np.asarray(deposit_mask, dtype=bool)[ok]
    if not y.any():
        raise NoPositivesError("no deposit voxel inside the scored study volume")
    if y.all():
        return float("nan")
    return float(roc_auc_score(y, values[ok]))


def deposit_ranks(prospectivity, active, deposit_id, ids) -> dict:
    """For each deposit id: the share of the active volume ranked at or above its
    best voxel (mid-rank for ties), in ``[0, 1]``; small is good."""
    values, ok = _scored(prospectivity, active)
    v = np.sort(values[ok])
    n = v.size
    dep = np.asarray(deposit_id)
    out = {}
    for i in ids:
        m = (dep == i) & ok
        if not m.any():
            raise NoPositivesError(f"deposit {i} has no voxel inside the scored study volume")
        best = values[m].max()
        above = n - np.searchsorted(v, best, side="right")
        tied = np.searchsorted(v, best, side="right") - np.searchsorted(v, best, side="left")
        out[int(i)] = float((above + 0.5 * tied) / n)
    return out


def deposit_capture(prospectivity, active, deposit_id, ids, shares=CAPTURE_SHARES) -> dict:
    """Share of the deposits ``ids`` captured in the top ``shares`` of the active volume.

    A deposit is captured in the top share ``s`` when its best voxel's mid-rank share
    (:func:`deposit_ranks`) is at most ``s``.

    Returns
    -------
    dict
        ``{"top5": share of deposits, "top10": ..., "rank_share": {id: share}}``
        (keys named by the percentage).
    """
    ids = [int(i) for i in ids]
    if not ids:
        raise NoPositivesError("no deposit to score")
    ranks = deposit_ranks(prospectivity, active, deposit_id, ids)
    out = {}
    for s in shares:
        if not 0 < s < 1:
            raise VoxprospectError(f"a capture share must lie strictly between 0 and 1, got {s}")
        out[f"top{_pct(s)}"] = float(np.mean([ranks[i] <= s for i in ids]))
    out["rank_share"] = {str(i): round(r, 5) for i, r in ranks.items()}
    return out


def _pct(s: float) -> str:
    p = 100.0 * s
    return f"{p:g}" if abs(p - round(p)) > 1e-9 else str(int(round(p)))


def score_volume(prospectivity, truth: BenchmarkTruth, shares=CAPTURE_SHARES,
                 top_share: float = TRUTH_TOP_SHARE) -> dict:
    """Every benchmark score of one prospectivity volume.

    Returns
    -------
    dict
        ``truth_auc`` (true potential's top ``top_share`` against the rest),
        ``deposit_auc`` (all deposit voxels against the rest), ``undiscovered_auc``
        (undiscovered deposit voxels against the rest, known deposits left out),
        ``undiscovered_capture`` (see :func:`deposit_capture`).
    """
    values, ok = _scored(prospectivity, truth.active)
    out = {"truth_auc": truth_auc(values, truth.potential, ok, top_share=top_share),
           "deposit_auc": deposit_auc(values, ok, truth.mask("all"))}
    if truth.undiscovered:
        out["undiscovered_auc"] = deposit_auc(values, ok, truth.mask("undiscovered"), exclude=truth.mask("known"))
        out["undiscovered_capture"] = deposit_capture(values, ok, truth.deposit_id, truth.undiscovered, shares)
    return out


DEFINITIONS = {
    "truth_auc": "ROC AUC at separating the true potential's top 5% of active voxels from the rest",
    "deposit_auc": "ROC AUC at separating every deposit's voxels (known and undiscovered) from the other "
                   "active voxels",
    "undiscovered_auc": "ROC AUC at separating the undiscovered deposits' voxels from the other active voxels "
                        "(known deposits left out)",
    "undiscovered_capture": "share of the undiscovered deposits whose best voxel ranks (mid-rank for ties) in the "
                            "top 5% / 10% of the active volume",
}


# -- keeping training away from the scored deposits -------------------------------------

def windows_near(centres, window: int, grid, mask, buffer_m: float) -> np.ndarray:
    """Windows that come within ``buffer_m`` of a voxel of ``mask``.

    A ``k x k x k`` window centred on ``centres[n]`` is *near* when any of its cells
    lies within ``buffer_m`` (metres, centre to centre, true cell sizes) of a mask
    voxel. Drop them from training before scoring on ``mask``: then no training
    window overlaps the scored deposits or sees evidence within the buffer of them.

    Parameters
    ----------
    centres : ndarray of int, shape (N, 3)
    window : int
        Odd window size ``k``.
    grid : VoxelGrid
    mask : ndarray of bool, ``grid.shape``
    buffer_m : float
        >= 0; with 0 only windows that contain a mask voxel are near.

    Returns
    -------
    ndarray of bool, shape (N,)
    """
    from scipy import ndimage

    if int(window) != window or window < 1 or window % 2 == 0:
        raise VoxprospectError(f"window size must be a positive odd integer, got {window}")
    if not (buffer_m >= 0 and math.isfinite(buffer_m)):
        raise VoxprospectError(f"the buffer must be a finite distance >= 0 m, got {buffer_m}")
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != tuple(grid.shape):
        raise VoxprospectError(f"the deposit mask has shape {mask.shape}, the grid has {tuple(grid.shape)}")
    centres = np.asarray(centres, dtype=np.int64).reshape(-1, 3)
    if not mask.any() or centres.shape[0] == 0:
        return np.zeros(centres.shape[0], dtype=bool)
    dist = ndimage.distance_transform_edt(~mask, sampling=grid.cell_size)
    # nearest distance from any cell of the window (the edge rule pads by repeating cells)
    nearest = ndimage.minimum_filter(dist, size=int(window), mode="nearest")
    return nearest[tuple(centres.T)] <= float(buffer_m)


#: default buffer (m) around scored deposits: the small district's window extent
#: (3 cells of 100 m) plus its evidence's smoothing length (the 300 m inversion blur)
DEFAULT_BUFFER_M = 600.0
