"""Can a prospectivity of 0.9 be read as nine chances in ten? Reliability, Brier score, calibration.

Measured on held-out windows only (the spatial and deposit protocols' test folds,
:mod:`voxprospect.learn.protocols`):

* **Brier score** (:func:`brier_score`): the mean squared difference between the
  probability and the label (0 perfect). Its baseline on the same fold is the
  *climatological* Brier (:func:`base_rate_brier`): every window given the base rate
  of orebody windows in the fold's *training* side, a forecast that knows nothing
  about the evidence. ``skill = 1 - brier / base_rate_brier`` (> 0: better than the
  base rate).
* **Reliability** (:func:`reliability`): held-out windows binned by probability (10
  equal-width bins); in each bin the observed share of orebody windows against the
  mean probability. A calibrated model lies on the diagonal. The *expected
  calibration error* ``ece`` is the count-weighted mean ``|observed - predicted|``.
* **Calibration** (optional): a monotone map from the raw probability to a
  calibrated one, isotonic regression (scikit-learn's ``IsotonicRegression``) or
  temperature scaling (one factor on the logit, fitted by likelihood). It is fitted
  by :class:`CalibratedModel` on **inner** spatial folds of the training windows it
  is given (out-of-fold probabilities of models that never saw those windows), so
  on an outer fold the calibrator never sees an outer test window;
  ``seen_indices_`` records which samples the calibration used, which the tests check.

**Reading rule** (:func:`chance_verdict`): held-out probabilities "can be read as
chances" when, pooled over the folds, the Brier score beats the base rate and the
reliability error is at most :data:`ECE_READABLE` (0.05); calibrated ones when the
calibrated held-out probabilities pass the same rule. Otherwise they are ranks: a
higher value is more prospective, but 0.9 is not nine in ten.

One caveat the report repeats: the windows are drawn with a fixed ratio of
negatives to positives (1:1 in the paper), so a calibrated probability is the chance
*among windows drawn that way*, not the chance that a voxel of the district is ore
(far rarer). :func:`prior_shift` converts to a stated prior.
"""

from __future__ import annotations

import numpy as np

from voxprospect.errors import NoPositivesError, VoxprospectError

#: Calibration methods a project may ask for (``training.calibration``).
CALIBRATION_METHODS = ("none", "isotonic", "temperature")
#: Reliability bins.
N_BINS = 10
#: Largest expected calibration error at which probabilities are read as chances.
ECE_READABLE = 0.05
_EPS = 1e-6


# -- scores ---------------------------------------------------------------------

def _yp(y, p):
    y = np.asarray(y, dtype=float).reshape(-1)
    p = np.asarray(p, dtype=float).reshape(-1)
    if y.size == 0 or y.size != p.size:
        raise VoxprospectError(f"cannot score {p.size} probabilities against {y.size} labels")
    return y, p


def brier_score(y, p) -> float:
    """Mean of ``(p - y) ** 2`` over the windows (float64)."""
    y, p = _yp(y, p)
    return float(np.mean((p - y) ** 2))


def base_rate_brier(y_test, base_rate: float) -> float:
    """Brier score of the constant forecast ``base_rate`` (the training side's orebody share)."""
    y = np.asarray(y_test, dtype=float).reshape(-1)
    return float(np.mean((float(base_rate) - y) ** 2))


def reliability(y, p, n_bins: int = N_BINS) -> dict:
    """Reliability diagram data and the expected calibration error.

    Returns
    -------
    dict
        ``bins``: per non-empty bin ``{lo, hi, n, mean_predicted, observed}``;
        ``ece``: the count-weighted mean of ``|observed - mean_predicted|``;
        ``mce``: the largest such gap; ``n``.
    """
    y, p = _yp(y, p)
    edges = np.linspace(0.0, 1.0, int(n_bins) + 1)
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, int(n_bins) - 1)
    rows, ece, mce = [], 0.0, 0.0
    for b in range(int(n_bins)):
        sel = which == b
        n = int(sel.sum())
        if not n:
            continue
        pred, obs = float(p[sel].mean()), float(y[sel].mean())
        gap = abs(obs - pred)
        ece += n * gap
        mce = max(mce, gap)
        rows.append({"lo": float(edges[b]), "hi": float(edges[b + 1]), "n": n,
                     "mean_predicted": pred, "observed": obs})
    return {"bins": rows, "ece": ece / y.size, "mce": mce, "n": int(y.size)}


def scores(y, p, base_rate: float) -> dict:
    """Brier, its base-rate baseline, skill and reliability of one set of held-out probabilities."""
    b = brier_score(y, p)
    ref = base_rate_brier(y, base_rate)
    rel = reliability(y, p)
    return {"brier": b, "base_rate_brier": ref, "base_rate": float(base_rate),
            "brier_skill": (1.0 - b / ref) if ref > 0 else None,
            "ece": rel["ece"], "mce": rel["mce"], "reliability": rel["bins"], "n": rel["n"]}


def prior_shift(p, sample_rate: float, prior: float):
    """Probabilities under another share of orebody (Bayes' rule on the odds).

    ``sample_rate`` is the orebody share the model was trained on (0.5 for 1:1
    windows), ``prior`` the share to read the probability against (e.g. the
    district's orebody volume share).
    """
    p = np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    odds = p / (1 - p) * (prior / (1 - prior)) / (sample_rate / (1 - sample_rate))
    return odds / (1 + odds)


# -- calibrators ----------------------------------------------------------------

class TemperatureCalibrator:
    """``p' = sigmoid(logit(p) / T)``, ``T`` fitted by maximum likelihood (``T > 1`` softens)."""

    method = "temperature"

    def fit(self, p, y):
        from scipy.optimize import minimize_scalar

        y, p = _yp(y, p)
        z = _logit(p)

        def nll(log_t):
            q = np.clip(_sigmoid(z / np.exp(log_t)), 1e-12, 1 - 1e-12)
            return -float(np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))

        res = minimize_scalar(nll, bounds=(np.log(0.05), np.log(100.0)), method="bounded",
                              options={"xatol": 1e-6})
        self.temperature_ = float(np.exp(res.x))
        return self

    def transform(self, p):
        return _sigmoid(_logit(np.asarray(p, dtype=float)) / self.temperature_)

    def to_dict(self) -> dict:
        return {"method": self.method, "temperature": self.temperature_}


class IsotonicCalibrator:
    """A non-decreasing step map fitted by isotonic regression (scikit-learn), clipped to [0, 1]."""

    method = "isotonic"

    def fit(self, p, y):
        from sklearn.isotonic import IsotonicRegression

        y, p = _yp(y, p)
        self.iso_ = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, y)
        return self

    def transform(self, p):
        return np.asarray(self.iso_.predict(np.asarray(p, dtype=float).reshape(-1)), dtype=float)

    def to_dict(self) -> dict:
        return {"method": self.method, "x": self.iso_.X_thresholds_.tolist(), "y": self.iso_.y_thresholds_.tolist()}


#: Most knots an isotonic map stored in a checkpoint may have.
MAX_KNOTS = 100_000


def calibrator_from_dict(d: dict):
    """Rebuild a calibrator from its :meth:`to_dict` (a checkpoint's ``calibration``), checked.

    Raises
    ------
    ValueError
        Naming the problem: an unknown method, a temperature that is not a positive
        finite number, isotonic knots that are not two equally long, finite,
        non-decreasing lists with values in [0, 1].
    """
    if not isinstance(d, dict):
        raise ValueError(f"must be an object, got {type(d).__name__}")
    method = d.get("method")
    if method == "temperature":
        t = d.get("temperature")
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not (np.isfinite(t) and t > 0):
            raise ValueError(f"temperature must be a positive number, got {str(t)[:40]}")
        cal = TemperatureCalibrator()
        cal.temperature_ = float(t)
        return cal
    if method == "isotonic":
        x, y = d.get("x"), d.get("y")
        ok = (isinstance(x, list) and isinstance(y, list) and 1 <= len(x) == len(y) <= MAX_KNOTS
              and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in x + y))
        if not ok:
            raise ValueError(f"isotonic knots x and y must be two lists of 1 to {MAX_KNOTS:,} numbers of one length")
        xa, ya = np.asarray(x, float), np.asarray(y, float)
        if not (np.isfinite(xa).all() and np.isfinite(ya).all() and (np.diff(xa) >= 0).all()
                and (np.diff(ya) >= 0).all() and (ya >= 0).all() and (ya <= 1).all()):
            raise ValueError("isotonic knots must be finite and non-decreasing, with values within [0, 1]")
        return KnotCalibrator(xa, ya)
    raise ValueError(f"unknown method {str(method)[:40]!r}; expected isotonic or temperature")


class KnotCalibrator:
    """An isotonic map read back from its knots: linear between them, clipped outside (as scikit-learn)."""

    method = "isotonic"

    def __init__(self, x, y):
        self.x, self.y = np.asarray(x, float), np.asarray(y, float)

    def transform(self, p):
        return np.interp(np.asarray(p, dtype=float), self.x, self.y)

    def to_dict(self) -> dict:
        return {"method": self.method, "x": self.x.tolist(), "y": self.y.tolist()}


def make_calibrator(method: str):
    """A calibrator by name (:data:`CALIBRATION_METHODS`, not ``"none"``)."""
    if method == "isotonic":
        return IsotonicCalibrator()
    if method == "temperature":
        return TemperatureCalibrator()
    raise VoxprospectError(f"unknown calibration {method!r}; use one of {', '.join(CALIBRATION_METHODS)}")


def _logit(p):
    p = np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))


# -- nested calibration -------------------------------------------------------------

class CalibratedModel:
    """A model whose probabilities are calibrated on inner spatial folds of its own training set.

    ``fit(X, y, sample_index=rows)`` (the protocols pass an outer fold's training
    rows): the training windows are split into spatial inner folds
    (:class:`~voxprospect.learn.protocols.SpatialBlockSplitter` k-fold over blocks,
    orebodies whole, the metric buffer); a fresh base model fitted on each inner
    training side predicts its inner test side; the calibrator is fitted on those
    out-of-fold probabilities; then the base model is fitted on all the windows.
    Nothing outside ``rows`` is touched.

    Parameters
    ----------
    make_estimator : callable
        Builds a fresh base model.
    centres : ndarray (N, 3)
        Centres of all the study's samples.
    cell_size, window
    method : {"isotonic", "temperature"}
    inner_folds : int
    buffer_m : float, optional
    seed : int

    Attributes
    ----------
    base_ : the fitted base model
    calibrator_ : IsotonicCalibrator or TemperatureCalibrator
    seen_indices_ : ndarray
        Sample indices (into the study's samples) whose labels fitted the calibrator.
    inner_ : dict
        Inner folds used and the out-of-fold Brier before and after.
    """

    wants_sample_index = True

    def __init__(self, make_estimator, centres, cell_size, window: int, method: str = "isotonic",
                 inner_folds: int = 3, buffer_m: float | None = None, seed: int = 42):
        self.make_estimator = make_estimator
        self.centres = np.asarray(centres, np.int64).reshape(-1, 3)
        self.cell_size = tuple(float(v) for v in cell_size)
        self.window = int(window)
        self.method = method
        self.inner_folds = int(inner_folds)
        self.buffer_m = buffer_m
        self.seed = seed

    def get_params(self, deep=False):
        return {"method": self.method, "inner_folds": self.inner_folds, "seed": self.seed}

    def _inner_folds(self, y, rows):
        from voxprospect.learn.protocols import SpatialBlockSplitter

        last = None
        for k in range(max(self.inner_folds, 2), 1, -1):
            try:
                sp = SpatialBlockSplitter(self.centres[rows], self.cell_size, self.window, self.buffer_m,
                                          n_splits=k, seed=self.seed)
                folds = [(tr, te) for tr, te in sp.split(None, y)
                         if np.unique(y[tr]).size == 2 and te.size]
            except NoPositivesError as exc:
                last = exc
                continue
            if folds:
                return folds
        raise NoPositivesError(f"no spatial inner fold with both classes to train on ({last}); cannot calibrate")

    def fit_calibrator(self, X, y, sample_index=None):
        """Fit only the calibrator, on inner-fold out-of-fold probabilities of ``X`` (no final base fit).

        Sets ``calibrator_``, ``seen_indices_`` and ``inner_``; returns self.
        """
        y = np.asarray(y).reshape(-1).astype(np.int64)
        rows = np.arange(len(y)) if sample_index is None else np.asarray(sample_index, np.int64).reshape(-1)
        if len(rows) != len(y):
            raise ValueError(f"{len(rows)} sample indices for {len(y)} windows")
        oof_p, oof_y, seen = [], [], []
        folds = self._inner_folds(y, rows)
        for tr, te in folds:
            est = self._fit_base(X[tr], y[tr], rows[tr])
            oof_p.append(np.asarray(est.predict_proba(X[te]))[:, 1])
            oof_y.append(y[te])
            seen.append(rows[te])
        p, t = np.concatenate(oof_p), np.concatenate(oof_y)
        self.calibrator_ = make_calibrator(self.method).fit(p, t)
        self.seen_indices_ = np.unique(np.concatenate(seen))
        self.inner_ = {"folds": len(folds), "n_calibration": int(len(t)),
                       "brier_raw": brier_score(t, p),
                       "brier_calibrated": brier_score(t, self.calibrator_.transform(p))}
        return self

    def _fit_base(self, X, y, rows):
        """A fresh base model fitted on ``X`` (the study's samples ``rows``)."""
        from voxprospect.learn.protocols import fit_with_context

        est = _fresh(self.make_estimator)
        if getattr(est, "wants_sample_index", False):  # nested tuning finds its own centres
            return est.fit(X, y, sample_index=rows)
        return fit_with_context(est, X, y, centres=self.centres[rows], cell_size=self.cell_size)

    def fit(self, X, y, sample_index=None):
        self.fit_calibrator(X, y, sample_index)
        rows = np.arange(len(y)) if sample_index is None else np.asarray(sample_index, np.int64).reshape(-1)
        self.base_ = self._fit_base(X, np.asarray(y).reshape(-1).astype(np.int64), rows)
        self.classes_ = np.array([0, 1])
        return self

    def raw_proba(self, X) -> np.ndarray:
        """The base model's uncalibrated class-1 probability."""
        return np.asarray(self.base_.predict_proba(X))[:, 1]

    def predict_proba(self, X) -> np.ndarray:
        q = np.clip(self.calibrator_.transform(self.raw_proba(X)), 0.0, 1.0)
        return np.column_stack([1.0 - q, q])

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    @property
    def fold_details_(self) -> dict:
        return dict(getattr(self.base_, "fold_details_", None) or {}) | {"calibration_inner": self.inner_}


def _fresh(make_estimator):
    if hasattr(make_estimator, "fit") and hasattr(make_estimator, "get_params"):
        from sklearn.base import clone
        return clone(make_estimator)
    return make_estimator()


# -- the verdict --------------------------------------------------------------------

def chance_verdict(raw: dict, calibrated: dict | None = None) -> dict:
    """Whether held-out probabilities can be read as chances, by the stated rule.

    Parameters
    ----------
    raw, calibrated : dict
        :func:`scores` of the raw (and the nested-calibrated) held-out probabilities.

    Returns
    -------
    dict
        ``raw_readable``, ``calibrated_readable`` (None without calibration),
        ``read_as`` ("chances", "chances after calibration" or "ranks") and the ``rule``.
    """
    def ok(s):
        return bool(s["brier"] < s["base_rate_brier"] and s["ece"] <= ECE_READABLE)

    raw_ok = ok(raw)
    cal_ok = None if calibrated is None else ok(calibrated)
    if raw_ok:
        read = "chances"
    elif cal_ok:
        read = "chances after calibration"
    else:
        read = "ranks"
    return {"raw_readable": raw_ok, "calibrated_readable": cal_ok, "read_as": read,
            "rule": (f"probabilities are read as chances when, on held-out folds, their Brier score is below the "
                     f"base-rate Brier and their expected calibration error is at most {ECE_READABLE:g}; otherwise "
                     "they rank the voxels but 0.9 is not nine chances in ten"),
            "caveat": ("chances among windows drawn as in training (the negatives-per-positive ratio), not the "
                       "chance that a voxel of the district is ore; see voxprospect.learn.calibration.prior_shift")}


def heldout_report(folds: list, calibrated_folds: list | None = None, method: str = "none") -> dict:
    """The ``calibration`` entry of one model and protocol, pooled over its folds.

    Parameters
    ----------
    folds : list of (y_train, y_test, p_test)
        Each outer fold's training labels (for the base rate) and held-out labels and probabilities.
    calibrated_folds : list of (y_train, y_test, p_test), optional
        The same folds scored by :class:`CalibratedModel`.
    method : str

    Returns
    -------
    dict
        ``raw`` and ``calibrated`` :func:`scores` (pooled; the base rate of each fold's
        training side), ``verdict`` (:func:`chance_verdict`), ``method``, ``n_folds``.
    """
    def pooled(rows):
        y = np.concatenate([r[1] for r in rows])
        p = np.concatenate([r[2] for r in rows])
        rate = np.concatenate([np.full(len(r[1]), float(np.mean(r[0]))) for r in rows])
        out = scores(y, p, 0.5)
        out["base_rate_brier"] = float(np.mean((rate - y) ** 2))
        out["base_rate"] = float(np.mean(rate))
        ref = out["base_rate_brier"]
        out["brier_skill"] = (1.0 - out["brier"] / ref) if ref > 0 else None
        return out

    raw = pooled(folds)
    cal = pooled(calibrated_folds) if calibrated_folds else None
    return {"method": method, "n_folds": len(folds), "raw": raw, "calibrated": cal,
            "verdict": chance_verdict(raw, cal)}


def plot_reliability(entries: dict, path, title: str | None = None, inputs=()):
    """Reliability diagram: observed orebody share against mean probability per bin.

    ``entries`` maps a label (``"DL4 raw"``...) to a :func:`scores` dict; the
    diagonal is perfect calibration, the dotted line each fold's base rate.
    """
    from voxprospect.io.safe_write import safe_output, verify_png
    from voxprospect.plotting import figure_class

    Figure = figure_class()
    fig = Figure(figsize=(5.6, 5.0), dpi=120)
    ax = fig.add_subplot(111)
    ax.plot([0, 1], [0, 1], color="0.5", lw=0.8, ls="--", label="perfectly calibrated")
    for label, s in entries.items():
        bins = s["reliability"]
        ax.plot([b["mean_predicted"] for b in bins], [b["observed"] for b in bins], "o-", ms=4,
                label=f"{label}: Brier {s['brier']:.3f} (base rate {s['base_rate_brier']:.3f}), ECE {s['ece']:.3f}")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="mean predicted probability (bin)",
           ylabel="observed share of orebody windows", title=title or "Reliability on held-out folds")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    with safe_output(path, inputs, verify=verify_png) as tmp:
        fig.savefig(tmp, format="png")
    return path
