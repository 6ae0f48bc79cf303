"""Which evidence a model rests on: permutation importance per channel on held-out folds.

For one fitted model and its held-out (test) windows, a channel's importance is the
fall in ROC AUC when that channel's values are shuffled between the test windows:
every test window keeps its other channels and receives the whole ``k x k x k``
block of the permuted channel from another test window. The model is not refitted;
what changes is only what it sees. A channel the model ignores falls by 0; a channel
it relies on falls by up to the model's skill over chance (``AUC - 0.5``) or more.

Repeats: each repeat draws one permutation of the test windows (seeded by ``seed`` and
the repeat number) and applies it to every channel in turn, so the channels are
compared on the same shuffles; the spread over repeats is the sample standard
deviation of the falls. When a protocol has several folds (leave one deposit out),
each fold's windows are shuffled among themselves, and the AUCs are computed on the
pooled held-out predictions, exactly as the protocol's own pooled score.

The folds are the study's own (:func:`voxprospect.learn.protocols.evaluate_protocols` calls
a :class:`ImportanceRecorder` with every fold's fitted model), so the importance is
measured on the same held-out windows as the scores beside it, by the same models.

- :func:`permutation_importance`: one fitted model, one set of held-out windows.
- :class:`ImportanceRecorder`: the hook for the evaluation protocols.
- :func:`importance_table_markdown`, :func:`plot_importance`: the table and the bar plot.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voxprospect.errors import VoxprospectError

#: Protocols whose folds importance is measured on by default: the honest spatial one.
DEFAULT_IMPORTANCE_PROTOCOLS = ("spatial",)
DEFAULT_REPEATS = 5
DEFINITION = ("fall in ROC AUC on the held-out windows of the protocol's folds when one channel's whole "
              "window values are shuffled between the held-out windows (model not refitted); mean and "
              "sample standard deviation over repeats; positive = the model relies on the channel")


def shuffle_channel(X: np.ndarray, channel: int, order: np.ndarray) -> np.ndarray:
    """A copy of windows ``X`` whose ``channel`` is taken from the windows ``order``.

    Parameters
    ----------
    X : ndarray, shape (N, C, ...)
    channel : int
    order : ndarray of int, shape (N,)
        A permutation of ``range(N)``: window ``i`` receives the channel of window ``order[i]``.
    """
    out = np.array(X, copy=True)
    out[:, channel] = X[order, channel]
    return out


def repeat_orders(n: int, n_repeats: int, seed: int) -> list:
    """The seeded permutations of ``n`` held-out windows, one per repeat."""
    return [np.random.default_rng([int(seed), r]).permutation(n) for r in range(int(n_repeats))]


def class1(estimator, X) -> np.ndarray:
    """Probability of class 1 from ``estimator.predict_proba`` (column of class 1)."""
    p = np.asarray(estimator.predict_proba(X), dtype=np.float64)
    col = 1
    classes = getattr(estimator, "classes_", None)
    if classes is not None:
        hits = np.flatnonzero(np.asarray(classes) == 1)
        if hits.size:
            col = int(hits[0])
    return p[:, col] if p.ndim == 2 else p.reshape(-1)


def shuffled_probabilities(estimator, X, n_repeats: int = DEFAULT_REPEATS, seed: int = 0) -> np.ndarray:
    """Class-1 probabilities with each channel shuffled, ``(C, n_repeats, N)``."""
    X = np.asarray(X)
    if X.ndim < 2 or X.shape[0] < 2:
        raise VoxprospectError(f"permutation importance needs at least two held-out windows, got {X.shape[0]}")
    orders = repeat_orders(X.shape[0], n_repeats, seed)
    out = np.empty((X.shape[1], len(orders), X.shape[0]), dtype=np.float64)
    for c in range(X.shape[1]):
        for r, order in enumerate(orders):
            out[c, r] = class1(estimator, shuffle_channel(X, c, order))
    return out


def summarise(y, base_p, shuffled_p, channels) -> dict:
    """AUC falls from held-out labels, unshuffled and shuffled probabilities.

    Parameters
    ----------
    y : ndarray (N,)
    base_p : ndarray (N,)
    shuffled_p : ndarray (C, R, N)
    channels : list of str

    Returns
    -------
    dict
        ``base_auc``, ``channels`` (one row per channel: ``channel``, ``mean``,
        ``std``, ``drops``), ``ranking`` (channels by mean fall, strongest first),
        ``n_repeats``, ``n_test``; ``skipped`` when the held-out set has one class.
    """
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y).astype(int).reshape(-1)
    if np.unique(y).size < 2:
        return {"skipped": "the held-out windows hold a single class; ROC AUC is undefined"}
    base = float(roc_auc_score(y, base_p))
    rows = []
    for c, name in enumerate(channels):
        drops = np.array([base - roc_auc_score(y, p) for p in shuffled_p[c]], dtype=np.float64)
        std = float(drops.std(ddof=1)) if drops.size > 1 else 0.0
        rows.append({"channel": str(name), "mean": float(drops.mean()), "std": std,
                     "drops": [float(d) for d in drops]})
    ranking = [r["channel"] for r in sorted(rows, key=lambda r: -r["mean"])]
    return {"base_auc": base, "channels": rows, "ranking": ranking,
            "n_repeats": int(shuffled_p.shape[1]), "n_test": int(y.size)}


def permutation_importance(estimator, X, y, channels=None, n_repeats: int = DEFAULT_REPEATS,
                           seed: int = 0) -> dict:
    """Permutation importance of every channel of one fitted model on held-out windows.

    Parameters
    ----------
    estimator : fitted estimator
        ``predict_proba(X) -> (N, 2)``.
    X : ndarray, shape (N, C, k, k, k)
        Held-out windows (never the model's training windows).
    y : ndarray of {0, 1}, shape (N,)
    channels : list of str, optional
        Names in channel order (default ``"channel <c>"``).
    n_repeats : int
        Shuffles per channel (at least 1; 2 or more give a spread).
    seed : int

    Returns
    -------
    dict
        See :func:`summarise`, plus ``seed`` and ``definition``.
    """
    X = np.asarray(X)
    channels = _channel_names(channels, X.shape[1])
    n_repeats = _check_repeats(n_repeats)
    base = class1(estimator, X)
    out = summarise(y, base, shuffled_probabilities(estimator, X, n_repeats, seed), channels)
    return {**out, "seed": int(seed), "definition": DEFINITION}


class ImportanceRecorder:
    """Collects permutation importance from the evaluation protocols' fitted fold models.

    Pass it as ``on_fitted`` to :func:`voxprospect.learn.protocols.evaluate_protocols`:
    it is called with ``(protocol, split, estimator, X, labels)`` after each fold's
    model is fitted and scored, shuffles the fold's held-out windows channel by
    channel and keeps the probabilities. :meth:`result` pools the folds of each
    protocol.

    Parameters
    ----------
    channels : list of str
    n_repeats : int
    seed : int
    protocols : iterable of str
        Protocols to measure on (default the spatial one).
    """

    def __init__(self, channels, n_repeats: int = DEFAULT_REPEATS, seed: int = 0,
                 protocols=DEFAULT_IMPORTANCE_PROTOCOLS):
        self.channels = [str(c) for c in channels]
        self.n_repeats = _check_repeats(n_repeats)
        self.seed = int(seed)
        self.protocols = [("random" if p == "paper" else str(p)) for p in protocols]
        self._folds: dict = {}
        self.seconds = 0.0

    def __call__(self, protocol, split, estimator, X, labels) -> None:
        if protocol not in self.protocols:
            return
        import time
        t0 = time.perf_counter()
        try:
            self._record(protocol, split, estimator, X, labels)
        finally:
            self.seconds += time.perf_counter() - t0

    def _record(self, protocol, split, estimator, X, labels) -> None:
        test = np.asarray(split.test, dtype=np.int64)
        if test.size < 2:
            return
        Xt = np.asarray(X)[test]
        if Xt.shape[1] != len(self.channels):
            raise VoxprospectError(f"importance: the windows have {Xt.shape[1]} channels, "
                                   f"{len(self.channels)} names given")
        # each fold its own seed stream, so a fold's shuffles do not depend on the others
        fold_seed = self.seed + 1000 * len(self._folds.get(protocol, []))
        self._folds.setdefault(protocol, []).append(
            (np.asarray(labels)[test], class1(estimator, Xt),
             shuffled_probabilities(estimator, Xt, self.n_repeats, fold_seed)))

    def result(self) -> dict:
        """``{protocol: summary}`` (see :func:`summarise`), the folds of each protocol pooled."""
        out = {}
        for protocol in self.protocols:
            folds = self._folds.get(protocol)
            if not folds:
                out[protocol] = {"skipped": "no fitted fold of this protocol (the protocol was skipped, or every "
                                            "fold's training side held a single class)"}
                continue
            y = np.concatenate([f[0] for f in folds])
            base = np.concatenate([f[1] for f in folds])
            shuffled = np.concatenate([f[2] for f in folds], axis=2)
            out[protocol] = {**summarise(y, base, shuffled, self.channels), "n_folds": len(folds),
                             "seed": self.seed, "seconds": float(self.seconds)}
        return out


# -- reporting ---------------------------------------------------------------------------

def importance_table_markdown(importance: dict, protocol: str = "spatial") -> str:
    """One row per channel, one ``mean ± std`` column per model (AUC fall).

    Parameters
    ----------
    importance : dict
        ``{model: {protocol: summary}}`` as in ``report.json``'s ``importance.models``.
    """
    models = [m for m, v in importance.items() if "channels" in v.get(protocol, {})]
    if not models:
        return ""
    channels = [r["channel"] for r in importance[models[0]][protocol]["channels"]]
    head = ["channel"] + [f"{m} AUC fall" for m in models]
    lines = [f"Permutation importance ({protocol} protocol): fall in ROC AUC when the channel is shuffled "
             "between held-out windows, mean ± std over repeats.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in channels:
        row = [c]
        for m in models:
            r = next((r for r in importance[m][protocol]["channels"] if r["channel"] == c), None)
            row.append("n/a" if r is None else f"{r['mean']:+.3f} ± {r['std']:.3f}")
        lines.append("| " + " | ".join(row) + " |")
    lines.append("| base AUC | " + " | ".join(f"{importance[m][protocol]['base_auc']:.3f}" for m in models) + " |")
    return "\n".join(lines) + "\n"


def plot_importance(summary: dict, path, title: str | None = None, inputs=()) -> Path:
    """Bar chart of the AUC falls with error bars (one std over repeats), as a PNG.

    Parameters
    ----------
    summary : dict
        One protocol's summary (:func:`summarise`).
    path : path-like
        Output PNG, written atomically.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from voxprospect.io.safe_write import safe_output, verify_png
    from voxprospect.plotting import figure_class

    if "channels" not in summary:
        raise VoxprospectError(f"no importance to plot: {summary.get('skipped', 'empty summary')}")
    rows = sorted(summary["channels"], key=lambda r: r["mean"])
    Figure = figure_class()
    fig = Figure(figsize=(6.4, 0.9 + 0.38 * len(rows)))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(111)
    y = np.arange(len(rows))
    ax.barh(y, [r["mean"] for r in rows], xerr=[r["std"] for r in rows], color="tab:orange",
            ecolor="black", capsize=3)
    ax.set_yticks(y, [r["channel"] for r in rows])
    ax.axvline(0.0, color="grey", lw=0.8)
    ax.set_xlabel(f"Fall in ROC AUC when shuffled (base AUC {summary['base_auc']:.3f}; "
                  f"{summary['n_repeats']} repeats)")
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_title(title or "Permutation importance")
    fig.tight_layout()
    with safe_output(path, inputs, verify=verify_png) as tmp:
        fig.savefig(tmp, format="png", dpi=130)
    return Path(path)


def _channel_names(channels, n):
    if channels is None:
        return [f"channel {c}" for c in range(n)]
    channels = [str(c) for c in channels]
    if len(channels) != n:
        raise VoxprospectError(f"importance: {n} channels in the windows, {len(channels)} names given")
    return channels


def _check_repeats(n_repeats) -> int:
    n = int(n_repeats)
    if n < 1:
        raise VoxprospectError(f"importance repeats must be at least 1, got {n_repeats}")
    return n
