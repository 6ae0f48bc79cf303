"""How good is a model, and where to draw the line: metrics and the prediction-area plot.

- :func:`classification_metrics`: accuracy, ROC AUC and F1 on held-out windows.
- :func:`prediction_area`: the prediction-area (P-A) curves of a prospectivity volume
  (Yousefi & Carranza 2015; Yousefi & Nykanen 2016) and their crossing, which gives
  the target threshold; :func:`plot_prediction_area` draws them.
- :func:`truth_auc` and :func:`heldout_capture`: checks against a synthetic district's
  true potential and against a deposit left out of training.

P-A curves. For a threshold ``t`` the *prediction rate* is the share of known
mineralisation at or above ``t`` (orebody voxels, or deposits, see ``basis``) and the
*volume share* is the share of the active (study) volume at or above ``t``. Both fall
as ``t`` rises. Drawn against ``t`` with the volume share on an inverted right axis,
the curves cross where ``prediction_rate = 1 - volume_share``: the threshold there
balances a small target volume against a high share of known mineralisation captured.
The figure of merit is the *normalised density* ``Nd = prediction_rate / volume_share``
at the crossing (how many times denser known mineralisation is inside the targets
than in the study volume at large); its natural log is the evidential weight
``W = ln(Nd)`` of Yousefi & Nykanen (2016). A model no better than chance crosses at
``Nd = 1``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voxprospect.errors import LayerError, NoPositivesError, VoxprospectError
from voxprospect.io.safe_write import safe_output, verify_png


# -- classification metrics -------------------------------------------------------

def classification_metrics(y_true, proba, threshold: float = 0.5) -> dict:
    """Accuracy, ROC AUC and F1 of class-1 probabilities.

    Parameters
    ----------
    y_true : array_like of {0, 1}, shape (N,)
    proba : array_like, shape (N,) or (N, 2)
        Probability of class 1, or ``predict_proba`` output (column 1 is class 1).
    threshold : float
        Probability at or above which a window is called mineralised.

    Returns
    -------
    dict
        ``{"accuracy", "auc", "f1", "n", "n_positive"}``; ``auc`` is None when the
        held-out set has a single class (ROC AUC is undefined there). This is the one
        metric function: the evaluation protocols (:mod:`voxprospect.learn.protocols`), the
        baselines and the buffer sweep all score with it.

    Raises
    ------
    VoxprospectError
        If the lengths differ or the set is empty.
    """
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    y = np.asarray(y_true).astype(int).ravel()
    p = np.asarray(proba, dtype=float)
    if p.ndim == 2:
        p = p[:, 1]
    p = p.ravel()
    if y.size == 0 or y.size != p.size:
        raise VoxprospectError(f"cannot score {p.size} probabilities against {y.size} labels")
    pred = (p >= threshold).astype(int)
    auc = float(roc_auc_score(y, p)) if np.unique(y).size == 2 else None
    return {"accuracy": float(accuracy_score(y, pred)), "auc": auc,
            "f1": float(f1_score(y, pred, zero_division=0.0)),
            "n": int(y.size), "n_positive": int(y.sum())}


# -- prediction-area --------------------------------------------------------------

@dataclass
class PAResult:
    """Prediction-area curves and their crossing.

    Attributes
    ----------
    thresholds : ndarray
        Prospectivity thresholds, ascending.
    prediction_rate_curve, volume_share_curve : ndarray
        Share (0-1) of known mineralisation and of the active volume at or above each
        threshold.
    threshold, prediction_rate, volume_share : float
        At the crossing (linear interpolation between the two thresholds around it);
        ``prediction_rate + volume_share == 1`` there.
    normalized_density : float
        ``prediction_rate / volume_share`` at the crossing (the figure of merit).
    weight : float
        ``ln(normalized_density)``.
    basis : {"voxels", "deposits"}
        What the prediction rate counts.
    n_known : int
        Number of known orebody voxels (or deposits) scored.
    n_active : int
        Number of active voxels with a prospectivity value.
    """

    thresholds: np.ndarray
    prediction_rate_curve: np.ndarray
    volume_share_curve: np.ndarray
    threshold: float
    prediction_rate: float
    volume_share: float
    normalized_density: float
    weight: float
    basis: str
    n_known: int
    n_active: int
    label: str = field(default="prospectivity")
    max_value: float | None = None

    @property
    def target_threshold(self) -> float:
        """The threshold to delineate targets with: the crossing, but never above the
        highest prospectivity value.

        Saturated probabilities (many voxels at exactly 1.0) can put the interpolated
        crossing just above every value, where no voxel would be left to target; the
        highest value is then the sharpest threshold that still selects some.
        """
        return float(min(self.threshold, self.thresholds_max))

    @property
    def thresholds_max(self) -> float:
        return float(self.max_value if self.max_value is not None else self.thresholds[-1])

    def to_dict(self, curves: bool = False) -> dict:
        """The crossing as plain numbers (``report.json``'s ``pa``), curves optional."""
        d = {"threshold": self.threshold, "target_threshold": self.target_threshold,
             "prediction_rate": self.prediction_rate,
             "volume_share": self.volume_share, "normalized_density": self.normalized_density,
             "weight": self.weight, "basis": self.basis, "n_known": self.n_known,
             "n_active": self.n_active}
        if curves:
            d["curves"] = {"threshold": self.thresholds.tolist(),
                           "prediction_rate": self.prediction_rate_curve.tolist(),
                           "volume_share": self.volume_share_curve.tolist()}
        return d


def prediction_area(prospectivity, active=None, orebody_mask=None, deposit_labels=None,
                    n_thresholds: int = 200, basis: str | None = None, layer: str = "prospectivity",
                    thresholds=None) -> PAResult:
    """Prediction-area curves of a prospectivity volume and the threshold where they cross.

    Parameters
    ----------
    prospectivity : Volume or ndarray, shape (nx, ny, nz)
        With a Volume, ``layer`` is read and its active mask is the default.
    active : ndarray of bool, optional
        Study volume; default the Volume's mask (or every finite voxel of an array).
        Voxels with NaN prospectivity are never counted.
    orebody_mask : ndarray of bool or Volume, optional
        Known orebody voxels (the ``"voxels"`` basis); a Volume's ``orebody`` (or
        only) layer, non-zero = orebody.
    deposit_labels : ndarray of int or Volume, optional
        Deposit id per voxel (0 = none). With ``basis="deposits"`` a deposit counts as
        predicted at ``t`` when any of its voxels is at or above ``t``; with
        ``basis="voxels"`` its voxels are the orebody voxels.
    n_thresholds : int
        Number of thresholds evenly spaced from the lowest to the highest
        prospectivity of the study volume, joined by as many of its quantiles.
    basis : {"voxels", "deposits"}, optional
        Default ``"voxels"`` with an orebody mask, ``"deposits"`` with deposit labels
        only.
    layer : str
        Prospectivity layer of a Volume.
    thresholds : array_like, optional
        Explicit ascending thresholds instead of ``n_thresholds``.

    Returns
    -------
    PAResult

    Raises
    ------
    NoPositivesError
        If no known orebody voxel (or deposit) lies in the scored study volume.
    LayerError
        If the study volume has no prospectivity value.
    """
    values, active = values_and_active(prospectivity, active, layer)
    scored = active & np.isfinite(values)
    if not scored.any():
        raise LayerError(f"layer {layer!r} has no value inside the study volume")
    orebody_mask = _single_layer(orebody_mask, ("orebody", "orebodies"), values.shape)
    deposit_labels = _single_layer(deposit_labels, ("deposits",), values.shape)
    if basis is None:
        basis = "voxels" if orebody_mask is not None or deposit_labels is None else "deposits"
    if basis not in ("voxels", "deposits"):
        raise VoxprospectError(f"unknown P-A basis {basis!r}; use 'voxels' or 'deposits'")

    known, what = _known_values(values, scored, basis, orebody_mask, deposit_labels)
    if known.size == 0:
        raise NoPositivesError(f"no known {what} lies inside the study volume; "
                               "the prediction-area plot needs at least one")

    vals = np.sort(np.asarray(values[scored], dtype=float))
    known = np.sort(known)
    if thresholds is None:
        thresholds = _default_thresholds(vals, n_thresholds)
    t = np.asarray(thresholds, dtype=float)
    if t.ndim != 1 or t.size < 2 or np.any(np.diff(t) <= 0):
        raise VoxprospectError("P-A thresholds must be at least two ascending values")

    rate = _share_at_or_above(known, t)
    share = _share_at_or_above(vals, t)
    thr, pr, vs = _crossing(t, rate, share, vals[-1])
    nd = pr / vs if vs > 0 else float("inf")
    return PAResult(thresholds=t, prediction_rate_curve=rate, volume_share_curve=share,
                    threshold=thr, prediction_rate=pr, volume_share=vs,
                    normalized_density=float(nd), weight=float(math.log(nd)) if nd > 0 else float("-inf"),
                    basis=basis, n_known=int(known.size), n_active=int(vals.size),
                    label=layer, max_value=float(vals[-1]))


def _known_values(values, scored, basis, orebody_mask, deposit_labels):
    """``(prospectivity of the known orebody voxels or deposits, what they are)``; a
    deposit's value is its best voxel's (it is found as soon as that one is)."""
    if basis == "voxels":
        if orebody_mask is None:
            if deposit_labels is None:
                raise NoPositivesError("a prediction-area plot needs known orebody voxels; none given")
            orebody_mask = np.asarray(deposit_labels) > 0
        ore = np.asarray(orebody_mask)
        if ore.dtype != bool:
            ore = np.nan_to_num(ore.astype(float)) != 0  # NaN (no value) is not orebody
        known = np.asarray(values[ore & scored], dtype=float)
        what = "orebody voxel"
    else:
        if deposit_labels is None:
            raise NoPositivesError("basis 'deposits' needs deposit labels; none given")
        labels = np.asarray(deposit_labels)
        inside = (labels > 0) & scored
        ids = np.unique(labels[inside])
        from scipy import ndimage
        # a deposit is found as soon as its best voxel is at or above the threshold
        known = np.asarray(ndimage.maximum(values, labels=np.where(inside, labels, 0), index=ids),
                           dtype=float).reshape(-1)
        what = "deposit"
    return known, what


def _default_thresholds(vals: np.ndarray, n_thresholds: int) -> np.ndarray:
    """``n_thresholds`` evenly spaced values over the sorted ``vals`` joined by as many quantiles."""
    if n_thresholds < 2:
        raise VoxprospectError(f"n_thresholds must be at least 2, got {n_thresholds}")
    # Evenly spaced values plus the volume's quantiles: a well-trained model piles
    # its probabilities near 0 and 1, where even spacing alone would step over the
    # crossing in one jump and the interpolated rates would miss the real ones.
    even = np.linspace(vals[0], vals[-1], int(n_thresholds))
    quant = np.unique(np.quantile(vals, np.linspace(0.0, 1.0, int(n_thresholds))))
    # a quantile that equals an even step up to rounding is that step
    tol = 1e-9 * max(1.0, float(vals[-1] - vals[0]))
    pos = np.clip(np.searchsorted(even, quant), 1, even.size - 1)
    gap = np.minimum(np.abs(quant - even[pos - 1]), np.abs(quant - even[pos]))
    return np.unique(np.concatenate([even, quant[gap > tol]]))


def _share_at_or_above(sorted_values: np.ndarray, t: np.ndarray) -> np.ndarray:
    below = np.searchsorted(sorted_values, t, side="left")
    return (sorted_values.size - below) / sorted_values.size


def _crossing(t, rate, share, vmax):
    """Where ``rate + share - 1`` changes sign, linearly interpolated.

    ``rate + share - 1`` is 1 at or below the lowest value and falls to -1 above the
    highest; if the thresholds end before it turns negative, the curves are
    continued to (just above the maximum, 0, 0).
    """
    f = rate + share - 1.0
    if f[0] <= 0:
        return float(t[0]), float(rate[0]), float(share[0])
    neg = np.flatnonzero(f <= 0)
    if neg.size:
        i = int(neg[0])
        t0, t1, r0, r1, s0, s1 = t[i - 1], t[i], rate[i - 1], rate[i], share[i - 1], share[i]
    else:
        step = t[-1] - t[-2]
        t0, t1 = t[-1], max(t[-1], vmax) + step
        r0, r1, s0, s1 = rate[-1], 0.0, share[-1], 0.0
    f0, f1 = r0 + s0 - 1.0, r1 + s1 - 1.0
    w = f0 / (f0 - f1)
    return (float(t0 + w * (t1 - t0)), float(r0 + w * (r1 - r0)), float(s0 + w * (s1 - s0)))


def values_and_active(prospectivity, active, layer):
    from voxprospect.data.volume import Volume

    if isinstance(prospectivity, Volume):
        values = np.asarray(prospectivity[layer], dtype=float)
        if active is None:
            active = prospectivity.active
    else:
        values = np.asarray(prospectivity, dtype=float)
    if active is None:
        active = np.isfinite(values)
    active = np.asarray(active, dtype=bool)
    if active.shape != values.shape:
        raise VoxprospectError(f"active mask of shape {active.shape} does not match the "
                               f"prospectivity volume's {values.shape}")
    return values, active


def _single_layer(obj, preferred, shape):
    """An array from an array or from a Volume's preferred (or only) layer."""
    from voxprospect.data.volume import Volume

    if obj is None:
        return None
    if isinstance(obj, Volume):
        name = next((n for n in preferred if n in obj), None)
        if name is None:
            if len(obj.names) != 1:
                raise LayerError(f"choose the known-mineralisation layer: the volume has "
                                 f"{', '.join(obj.names)}, none named {' or '.join(preferred)}")
            name = obj.names[0]
        obj = obj[name]
    arr = np.asarray(obj)
    if arr.shape != shape:
        raise VoxprospectError(f"known mineralisation of shape {arr.shape} does not match the "
                               f"prospectivity volume's {shape}")
    return arr


def plot_prediction_area(result: PAResult, path, title: str | None = None, inputs=()) -> Path:
    """Draw the P-A plot as a PNG, with the crossing marked and annotated.

    Prediction rate (%) on the left axis and volume share (%) on an inverted right
    axis, both against the threshold, as in Yousefi & Nykanen (2016): where the curves
    cross, ``prediction_rate = 100% - volume_share``.

    Parameters
    ----------
    result : PAResult
    path : path-like
        Output PNG, written atomically.
    title : str, optional
    inputs : iterable of path-like
        The run's inputs, which the plot may not overwrite.

    Returns
    -------
    Path
    """
    fig = prediction_area_figure(result, title)  # imports matplotlib.figure quietly first
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig)
    with safe_output(path, inputs, verify=verify_png) as tmp:
        fig.savefig(tmp, format="png", dpi=150)
    return Path(path)


def prediction_area_figure(result: PAResult, title: str | None = None):
    """The P-A plot as a matplotlib ``Figure`` (no pyplot state), for embedding."""
    from voxprospect.plotting import figure_class
    Figure = figure_class()

    fig = Figure(figsize=(6.4, 4.6))
    ax = fig.add_subplot(111)
    known = "known deposits" if result.basis == "deposits" else "known orebody voxels"
    ax.plot(result.thresholds, 100 * result.prediction_rate_curve, color="tab:red", lw=1.8,
            label=f"Prediction rate ({known})")
    ax.set_xlabel(f"Threshold ({result.label})")
    ax.set_ylabel("Prediction rate (%)", color="tab:red")
    ax.set_ylim(0, 100)
    ax.set_xlim(result.thresholds[0], result.thresholds[-1])
    ax.grid(True, alpha=0.3)

    right = ax.twinx()
    right.plot(result.thresholds, 100 * result.volume_share_curve, color="tab:blue", lw=1.8,
               label="Volume share (study volume)")
    right.set_ylabel("Volume share (%)", color="tab:blue")
    right.set_ylim(100, 0)  # inverted, so the curves cross where rate = 100% - share

    ax.plot([result.threshold], [100 * result.prediction_rate], "o", color="black", ms=6,
            label="Crossing", zorder=5)
    ax.axvline(result.threshold, color="black", lw=0.8, ls="--")
    span = result.thresholds[-1] - result.thresholds[0]
    x_frac = (result.threshold - result.thresholds[0]) / span if span > 0 else 0.5
    ax.annotate(f"threshold {result.threshold:.3g}\n"
                f"prediction rate {100 * result.prediction_rate:.1f}%\n"
                f"volume share {100 * result.volume_share:.1f}%\n"
                f"Nd {result.normalized_density:.2f}, W {result.weight:.2f}",
                xy=(result.threshold, 100 * result.prediction_rate),
                # the curves make an X: the wider of its left and right wedges is empty
                xytext=(0.03, 0.5) if x_frac > 0.5 else (0.97, 0.5), textcoords="axes fraction",
                ha="left" if x_frac > 0.5 else "right", va="center", fontsize=8,
                bbox=dict(boxstyle="round", fc="white", alpha=0.85),
                arrowprops=dict(arrowstyle="->", lw=0.8))
    handles = ax.get_legend_handles_labels()
    handles_r = right.get_legend_handles_labels()
    ax.legend(handles[0] + handles_r[0], handles[1] + handles_r[1], loc="upper center",
              bbox_to_anchor=(0.5, -0.14), ncol=3, fontsize=8, frameon=False)
    ax.set_title(title or "Prediction-area plot")
    fig.tight_layout()
    return fig


# -- checks against truth -------------------------------------------------------------

def truth_auc(prospectivity, truth, active=None, top_share: float = 0.05, layer: str = "prospectivity") -> float:
    """ROC AUC of the prediction at separating the true potential's top voxels from the rest.

    Parameters
    ----------
    prospectivity : Volume or ndarray
    truth : ndarray, shape (nx, ny, nz)
        The synthetic district's true-potential field.
    active : ndarray of bool, optional
    top_share : float
        The top ``top_share`` of active voxels by true potential (ties at the cut
        included) are the positives.

    Returns
    -------
    float
        NaN when the cut leaves a single class.
    """
    from sklearn.metrics import roc_auc_score

    values, active = values_and_active(prospectivity, active, layer)
    truth = np.asarray(truth, dtype=float)
    ok = active & np.isfinite(values) & np.isfinite(truth)
    if not ok.any():
        raise LayerError("no active voxel has both a prediction and a true potential")
    t = truth[ok]
    n_top = max(1, int(math.ceil(top_share * t.size)))
    cut = np.partition(t, t.size - n_top)[t.size - n_top]
    y = t >= cut
    if y.all() or not y.any():
        return float("nan")
    return float(roc_auc_score(y, values[ok]))


def heldout_capture(prospectivity, active, deposit_mask, top_share: float = 0.10,
                    layer: str = "prospectivity") -> float:
    """Share of a deposit's voxels inside the most prospective ``top_share`` of the volume.

    Ties at the cut are shared out fairly: if the cut falls inside a run of equal
    values, each tied voxel counts with the fraction of the run that fits in the top
    volume (the expectation under random tie-breaking), so a model with saturated
    probabilities is not credited with more than ``top_share`` of the volume.

    Parameters
    ----------
    prospectivity : Volume or ndarray
    active : ndarray of bool or None
    deposit_mask : ndarray of bool
        The held-out deposit's voxels.
    top_share : float

    Returns
    -------
    float in [0, 1]

    Raises
    ------
    NoPositivesError
        If the deposit has no voxel in the scored study volume.
    """
    values, active = values_and_active(prospectivity, active, layer)
    ok = active & np.isfinite(values)
    dep = np.asarray(deposit_mask, dtype=bool) & ok
    if not dep.any():
        raise NoPositivesError("the held-out deposit has no voxel inside the study volume")
    v = values[ok]
    n_top = max(1, int(math.ceil(top_share * v.size)))
    cut = np.partition(v, v.size - n_top)[v.size - n_top]
    above = int((v > cut).sum())
    tied = int((v == cut).sum())
    tie_weight = (n_top - above) / tied
    d = values[dep]
    return float(((d > cut).sum() + tie_weight * (d == cut).sum()) / d.size)
