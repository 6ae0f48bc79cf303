"""Whole-grid prediction: a prospectivity volume from a trained model.

The model scores the ``k x k x k`` evidence window centred on every active voxel and
the probability of class 1 (mineralised) becomes the ``prospectivity`` layer. Inactive
voxels (above topography, outside the study volume) get NaN.

Memory stays bounded whatever the grid size: the grid is cut into blocks of at most
``chunk_voxels`` cells; each block is read from the evidence with an overlap of
``k // 2`` cells (its "halo"), padded with the edge rule only where it touches the
grid's boundary, and only its active voxels are cut into windows. Windows of
consecutive blocks are pooled into batches of at most ``chunk_voxels`` windows before
the model sees them. Neither all windows nor a padded copy of the whole evidence
stack ever exists, and the result equals cutting every window from the padded whole
grid at once (``samples.pad_stack`` + ``samples.extract_windows``), value for value.

Evidence NaN (inactive cells, gaps in a geophysical volume) is filled before the
windows are cut with the per-channel neutral values training used
(:func:`resolve_fill`: the checkpoint's ``fill_values``, else the evidence's
recorded ones; ``voxprospect.evidence.layers.neutral_fill``), so a gap reads as "average
evidence" exactly as it did in training.

A faster exact path for fully convolutional models (issue 6) can replace the
per-window path: register it with :func:`register_fast_path`; ``method="auto"`` uses
the first registered path that accepts the model, ``method="windows"`` forces the
per-window path.
"""

from __future__ import annotations

import sys
from typing import Callable

import numpy as np

from voxprospect.errors import LayerError, VoxprospectError
from voxprospect.learn.samples import check_window, extract_windows
from voxprospect.data.volume import Volume
from voxprospect.vocabulary import DEFAULT_CHUNK_VOXELS, EDGE_RULES
from voxprospect.data.blocks import block_shape, block_starts, padded_block, resolve_fill

#: Registered exact fast paths: name -> (accepts(model) -> bool, predict(...) -> ndarray).
#: ``predict(model, evidence, channels, window, edge, chunk_voxels, progress)`` returns
#: the ``(nx, ny, nz)`` float32 probability of class 1, NaN on inactive voxels, or
#: ``(3, nx, ny, nz)``: the members' mean, standard deviation and 10 % quantile.
_FAST_PATHS: dict[str, tuple[Callable, Callable]] = {}



def register_fast_path(name: str, accepts: Callable, predict: Callable) -> None:
    """Register an exact, faster prediction path for some models.

    Parameters
    ----------
    name : str
        Name usable as ``predict_volume(..., method=name)``.
    accepts : callable
        ``accepts(model) -> bool``: whether the path can serve this model.
    predict : callable
        ``predict(model, evidence, channels, window, edge, chunk_voxels, progress)``
        returning the ``(nx, ny, nz)`` float32 probability of class 1 with NaN on
        inactive voxels, or ``(3, nx, ny, nz)`` with the members' std and 10 %
        quantile after the mean. It must give the same values as the per-window path.
    """
    if name == "windows" or name == "auto":
        raise ValueError(f"{name!r} is reserved")
    _FAST_PATHS[name] = (accepts, predict)


def predict_volume(model, evidence: Volume, channels=None, window: int | None = None,
                   edge: str | None = None, chunk_voxels: int = DEFAULT_CHUNK_VOXELS, progress=None,
                   layer_name: str = "prospectivity", method: str = "auto", uncertainty: bool = True) -> Volume:
    """Probability of class 1 on every active voxel of the evidence grid.

    Parameters
    ----------
    model : estimator
        Anything with ``predict_proba(X) -> (N, 2)`` where ``X`` is the window array
        ``(N, C, k, k, k)`` float32 (``CNNClassifier``, ``RandomForestModel``, a
        loaded checkpoint). Its ``channels`` and ``window`` attributes, when present,
        give the defaults and are checked against the arguments.
    evidence : Volume
        The evidence layers (standardised with the training statistics).
    channels : list of str, optional
        Evidence layers in the model's input order; default ``model.channels``, else
        every layer of ``evidence``.
    window : int, optional
        Window size ``k`` (odd); default ``model.window`` (or a fitted estimator's
        ``window_``).
    edge : {"edge", "zero"}, optional
        Padding rule at the grid's boundary; default ``model.edge`` (checkpoints
        record it), else ``"edge"``. It must be the rule used in training.
    chunk_voxels : int
        Largest number of cells per block and of windows per model call; bounds
        memory to about ``chunk_voxels * C * k**3 * 4`` bytes of windows.
    progress : callable, optional
        ``progress(fraction, message)``; may raise :class:`~voxprospect.errors.Cancelled`.
        When omitted, a tqdm bar is shown if stderr is a terminal.
    layer_name : str
        Name of the output layer.
    method : str
        ``"auto"`` (a registered fast path that accepts the model, else windows),
        ``"windows"`` (per-window path), or the name of a registered fast path.
    uncertainty : bool
        Also write ``<layer_name>_std`` and ``<layer_name>_q10``: the standard
        deviation and 10 % quantile over the model's members (an ensemble's
        networks, a forest's trees; :mod:`voxprospect.learn.ensemble`). ``layer_name``
        is then the members' mean. A single model has no spread: std 0, q10 = value.

    Returns
    -------
    Volume
        On the evidence grid with the evidence's active mask and float32 layers
        ``layer_name`` (and its ``_std`` and ``_q10``); ``meta["prediction"]`` records
        channels, window, edge rule, method and the members (``uncertainty``).

    Raises
    ------
    LayerError
        If a channel is missing from the evidence, or the channels differ from the
        ones the model was trained on.
    VoxprospectError
        If the window size is unknown or differs from the model's, or the edge rule
        is unknown or differs from the model's.
    """
    channels = _resolve_channels(model, evidence, channels)
    window = resolve_window(model, window)
    trained_edge = getattr(model, "edge", None)
    if edge is None:
        edge = trained_edge or "edge"
    if edge not in EDGE_RULES:
        raise VoxprospectError(f"unknown edge rule {edge!r}; use one of {', '.join(EDGE_RULES)}")
    if trained_edge is not None and edge != trained_edge:
        raise VoxprospectError(f"the model was trained with the {trained_edge!r} edge rule, "
                               f"not {edge!r}")
    chunk_voxels = int(chunk_voxels)
    if chunk_voxels < 1:
        raise VoxprospectError(f"chunk_voxels must be at least 1, got {chunk_voxels}")

    _load_builtin_fast_paths()
    if method == "auto":
        chosen = next((n for n, (accepts, _) in _FAST_PATHS.items() if accepts(model)), "windows")
    else:
        chosen = method
        if chosen != "windows" and chosen not in _FAST_PATHS:
            raise VoxprospectError(f"unknown prediction method {method!r}; use auto, windows"
                                   + "".join(f", {n}" for n in _FAST_PATHS))

    report, close = _progress_reporter(progress)
    try:
        if chosen == "windows":
            proba = _predict_windows(model, evidence, channels, window, edge, chunk_voxels, report,
                                     summary=uncertainty)
        else:
            proba = _FAST_PATHS[chosen][1](model, evidence, channels, window, edge, chunk_voxels, report)
            proba = np.asarray(proba, dtype=np.float32)
            proba[..., ~evidence.active] = np.nan
    finally:
        close()

    from voxprospect.learn.ensemble import uncertainty_record

    fill = resolve_fill(model, evidence, channels)
    meta = {"prediction": {"channels": list(channels), "window": int(window), "edge": edge,
                           "method": chosen, "model": type(model).__name__,
                           "nan_fill": dict(zip(channels, fill.astype(float).tolist())),
                           "uncertainty": uncertainty_record(model) if uncertainty else None}}
    return Volume(evidence.grid, _layers(model, proba, layer_name, uncertainty), evidence.active, {}, meta)


def _layers(model, proba: np.ndarray, name: str, uncertainty: bool) -> dict:
    """The output layers from a path's ``(nx, ny, nz)`` or ``(3, nx, ny, nz)`` result."""
    if proba.ndim == 4:
        if not uncertainty:
            return {name: proba[0]}
        return {name: proba[0], f"{name}_std": proba[1], f"{name}_q10": proba[2]}
    if not uncertainty:
        return {name: proba}
    from voxprospect.learn.ensemble import n_members_of

    if n_members_of(model) > 1:
        # a registered path that returns the mean alone cannot say how the members spread
        spread = np.full_like(proba, np.nan)
        return {name: proba, f"{name}_std": spread, f"{name}_q10": spread.copy()}
    std = np.where(np.isfinite(proba), 0.0, np.nan).astype(np.float32)
    return {name: proba, f"{name}_std": std, f"{name}_q10": proba.copy()}


def _load_builtin_fast_paths() -> None:
    """Register the fast paths shipped with voxprospect (the learn layer's zero-skip path).

    Imported here, not registered from there, so imports go down the flow only
    (mapping -> learn). Light: torch loads only when a path runs.
    """
    from voxprospect.learn import fastpredict

    if fastpredict.METHOD_NAME not in _FAST_PATHS:
        register_fast_path(fastpredict.METHOD_NAME, fastpredict.accepts, fastpredict.predict_fast_summary)


# -- the per-window path ----------------------------------------------------------

def _predict_windows(model, evidence, channels, window, edge, chunk_voxels, report, summary=False) -> np.ndarray:
    grid = evidence.grid
    active = evidence.active
    out = np.full(((3,) if summary else ()) + tuple(grid.shape), np.nan, dtype=np.float32)
    n_active = int(active.sum())
    if n_active == 0:
        return out
    r = window // 2
    block = block_shape(grid.shape, chunk_voxels)
    layers = [evidence[c] for c in channels]
    fill = resolve_fill(model, evidence, channels)

    from voxprospect.learn.ensemble import n_members_of, predict_uncertainty

    many = summary and n_members_of(model) > 1
    pending_windows: list[np.ndarray] = []
    pending_index: list[np.ndarray] = []
    pending = 0
    done = 0

    def flush():
        nonlocal pending, done
        if not pending:
            return
        X = np.concatenate(pending_windows) if len(pending_windows) > 1 else pending_windows[0]
        idx = np.concatenate(pending_index) if len(pending_index) > 1 else pending_index[0]
        if many:
            u = predict_uncertainty(model, X)
            p1 = np.stack([u["mean"], u["std"], u["q10"]]).astype(np.float32)
        else:
            p1 = class1_probability(model, X)
            if summary:  # one model: no spread
                p1 = np.stack([p1, np.zeros_like(p1), p1])
        out[..., idx[:, 0], idx[:, 1], idx[:, 2]] = p1
        done += len(idx)
        pending_windows.clear()
        pending_index.clear()
        pending = 0
        report(done / n_active, f"predicted {done:,} of {n_active:,} voxels")

    report(0.0, f"predicting {n_active:,} voxels")
    for lo in block_starts(grid.shape, block):
        hi = tuple(min(a + b, n) for a, b, n in zip(lo, block, grid.shape))
        sub_active = active[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
        if not sub_active.any():
            continue
        n_here = int(sub_active.sum())
        if pending + n_here > chunk_voxels:
            flush()
        padded = padded_block(layers, grid.shape, lo, hi, r, edge, fill)
        local = np.argwhere(sub_active)
        # the padded block starts at grid index lo - r, so a window's start in the
        # padded block is its centre's index relative to lo
        pending_windows.append(extract_windows(padded, local, window))
        pending_index.append(local + np.asarray(lo))
        pending += n_here
    flush()
    return out


def class1_probability(model, X: np.ndarray) -> np.ndarray:
    proba = np.asarray(model.predict_proba(X))
    if proba.ndim != 2 or proba.shape[0] != len(X):
        raise VoxprospectError(f"the model returned probabilities of shape {proba.shape} "
                               f"for {len(X)} windows; expected ({len(X)}, 2)")
    col = 1
    classes = getattr(model, "classes_", None)
    if classes is not None:
        hits = np.flatnonzero(np.asarray(classes) == 1)
        if hits.size == 0:
            raise VoxprospectError(f"the model has no class 1 (classes {list(classes)})")
        col = int(hits[0])
    return proba[:, col].astype(np.float32)


# -- argument checks --------------------------------------------------------------

def _resolve_channels(model, evidence: Volume, channels) -> list[str]:
    trained = getattr(model, "channels", None)
    trained = list(trained) if trained is not None else None
    if channels is None:
        channels = trained if trained is not None else evidence.names
    channels = [str(c) for c in channels]
    if not channels:
        raise LayerError("no evidence channels to predict from")
    if trained is not None and channels != trained:
        raise LayerError(f"the model was trained on channels {trained}; asked to predict from "
                         f"{channels}")
    missing = [c for c in channels if c not in evidence]
    if missing:
        raise LayerError(f"the evidence has no channel {', '.join(map(repr, missing))} that the "
                         f"model needs; evidence layers are: {', '.join(evidence.names) or '(none)'}")
    n_in = _model_input_channels(model)
    if n_in is not None and n_in != len(channels):
        raise LayerError(f"the model takes {n_in} evidence channels, {len(channels)} given ({channels})")
    return channels


def _model_input_channels(model) -> int | None:
    for attr in ("n_channels_", "in_channels"):
        v = getattr(model, attr, None)
        if isinstance(v, (int, np.integer)):
            return int(v)
    return None


def resolve_window(model, window) -> int:
    trained = getattr(model, "window", None)
    if trained is None:
        trained = getattr(model, "window_", None)
    if window is None:
        window = trained
    if window is None:
        raise VoxprospectError("the window size is unknown: the model does not record it; pass window=")
    try:
        check_window(window)
    except ValueError as exc:
        raise VoxprospectError(str(exc)) from None
    if trained is not None and int(trained) != int(window):
        raise VoxprospectError(f"the model was trained on {trained}-cell windows, not {window}")
    return int(window)


def _progress_reporter(progress):
    """A ``report(fraction, message)`` function and a ``close()`` for it."""
    if progress is not None:
        return progress, lambda: None
    if getattr(sys.stderr, "isatty", lambda: False)():
        from tqdm.auto import tqdm
        bar = tqdm(total=1000, desc="predict", unit="‰", leave=False)

        def report(fraction, message):
            bar.n = int(round(fraction * 1000))
            bar.set_postfix_str(message, refresh=False)
            bar.refresh()
        return report, bar.close
    return (lambda fraction, message: None), (lambda: None)
