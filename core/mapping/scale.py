"""Out-of-core and distributed volumes: chunked Zarr arrays computed on Dask.

A district grid of 10^8 voxels and seven evidence channels is several GB; this
module keeps such volumes on disk as chunked Zarr arrays and runs the two
neighbourhood operations of the pipeline chunk by chunk, each chunk read with
just the overlap it needs:

* **evidence buffering** (:func:`distance_to_mask`): the capped distance of a cell
  depends only on mask cells within the cap, so a chunk read with a halo of
  ``ceil(cap / cell size) + 1`` cells per axis gives exactly the in-memory
  :func:`voxprospect.evidence.layers.distance_to_mask`;
* **prediction** (:func:`predict_dask`): a window reaches ``k // 2`` cells from its
  centre, so chunks read with that halo (the grid's own boundary padded with the
  edge rule, as :func:`voxprospect.learn.samples.pad_stack` does) give exactly the
  in-memory :func:`voxprospect.mapping.predict.predict_volume`; RCNN-LAM networks run the
  exact zero-skip path (:mod:`voxprospect.learn.fastpredict`), other models their
  ``predict_proba``.

Both return lazy dask arrays; :func:`compute` and :func:`write_zarr_array` run
them on the local threaded scheduler, on a ``dask.distributed`` cluster given by
its scheduler address (``"tcp://host:8786"``), or on a ``Client``. Zarr groups
written by :func:`write_zarr` hold one array per layer, the ``active`` mask and
the grid in the group's attributes.

``dask``, ``distributed`` and ``zarr`` are imported inside the functions (the
``scale`` extra of the package).
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import numpy as np

from voxprospect.errors import InputFileError, LayerError, VoxprospectError
from voxprospect.data.grid import VoxelGrid
from voxprospect.io.safe_write import safe_output_dir
from voxprospect.data.volume import Volume

ZARR_FORMAT_TAG = "voxprospect-volume"
DEFAULT_CHUNKS = (64, 64, 64)


# -- Zarr volumes --------------------------------------------------------------------

def _grid_attrs(grid: VoxelGrid) -> dict:
    return {"origin": list(grid.origin), "cell_size": list(grid.cell_size), "shape": list(grid.shape),
            "crs": grid.crs}


def _chunks3(chunks, shape) -> tuple[int, int, int]:
    if isinstance(chunks, int):
        chunks = (chunks,) * 3
    chunks = tuple(int(c) for c in chunks)
    if len(chunks) != 3 or min(chunks) < 1:
        raise VoxprospectError(f"chunks must be three positive sizes, got {chunks}")
    return tuple(min(c, s) for c, s in zip(chunks, shape))


def write_zarr(volume: Volume, path, chunks=DEFAULT_CHUNKS, inputs=()) -> Path:
    """Write a volume as a Zarr group: one chunked array per layer plus ``active``.

    Parameters
    ----------
    volume : Volume
    path : path-like
        Output folder (``*.zarr`` by convention); written atomically.
    chunks : int or (cx, cy, cz)
        Chunk shape in cells.
    inputs : iterable of path-like
        Files the output may not overwrite.

    Returns
    -------
    pathlib.Path
    """
    import zarr

    chunks = _chunks3(chunks, volume.grid.shape)
    with safe_output_dir(path, inputs) as tmp:
        group = zarr.open_group(str(tmp), mode="w")
        for name in volume.names:
            arr = np.ascontiguousarray(volume[name])
            z = group.create_array(name, shape=arr.shape, chunks=chunks, dtype=arr.dtype)
            z[...] = arr
        z = group.create_array("active", shape=volume.grid.shape, chunks=chunks, dtype=bool)
        z[...] = volume.active
        from voxprospect.report import jsonable
        group.attrs.update({"format": ZARR_FORMAT_TAG, "grid": _grid_attrs(volume.grid),
                            "layers": volume.names,
                            "classes": {k: {str(i): n for i, n in v.items()} for k, v in volume.classes.items()},
                            "meta": jsonable(dict(volume.meta))})
    return Path(path)


class ZarrVolume:
    """A volume on disk: the grid plus lazy dask arrays of its layers.

    Attributes
    ----------
    path : pathlib.Path
    grid : VoxelGrid
    layers : dict of str to dask.array.Array
    active : dask.array.Array of bool
    classes, meta : dict
    """

    def __init__(self, path, grid, layers, active, classes, meta):
        self.path, self.grid, self.layers, self.active = path, grid, layers, active
        self.classes, self.meta = classes, meta

    @property
    def names(self) -> list[str]:
        return list(self.layers)

    def __getitem__(self, name):
        try:
            return self.layers[name]
        except KeyError:
            raise LayerError(f"{self.path}: no layer {name!r}; layers are {', '.join(self.layers)}") from None

    def load(self, scheduler=None) -> Volume:
        """Read everything into an in-memory :class:`~voxprospect.data.volume.Volume`."""
        arrays = compute(*self.layers.values(), self.active, scheduler=scheduler)
        return Volume(self.grid, dict(zip(self.layers, arrays[:-1])), arrays[-1], self.classes, self.meta)


def open_zarr(path) -> ZarrVolume:
    """Open a group written by :func:`write_zarr` as lazy dask arrays.

    Raises
    ------
    InputFileError
        If the folder is missing or is not a voxprospect Zarr volume.
    """
    import dask.array as da
    import zarr

    path = Path(path)
    if not path.exists():
        raise InputFileError(path, "Zarr volume not found")
    try:
        group = zarr.open_group(str(path), mode="r")
    except Exception as exc:  # zarr raises several error types for a non-group folder
        raise InputFileError(path, f"not a Zarr group ({exc})") from None
    attrs = dict(group.attrs)
    if attrs.get("format") != ZARR_FORMAT_TAG:
        raise InputFileError(path, "a Zarr group but not a voxprospect volume (format tag missing)")
    g = attrs["grid"]
    grid = VoxelGrid(tuple(g["origin"]), tuple(g["cell_size"]), tuple(g["shape"]), g.get("crs"))
    layers = {name: da.from_zarr(group[name]) for name in attrs["layers"]}
    active = da.from_zarr(group["active"])
    classes = {k: {int(i): n for i, n in v.items()} for k, v in attrs.get("classes", {}).items()}
    return ZarrVolume(path, grid, layers, active, classes, attrs.get("meta", {}))


# -- running on a scheduler -----------------------------------------------------------

@contextlib.contextmanager
def _scheduler(scheduler):
    """``dask.config`` context for None (local threads), an address or a Client."""
    import dask

    if scheduler is None:
        yield {}
        return
    if isinstance(scheduler, str) and ("://" in scheduler or ":" in scheduler):
        from distributed import Client

        with Client(scheduler, set_as_default=False) as client:
            yield {"scheduler": client}
        return
    if isinstance(scheduler, str):
        with dask.config.set(scheduler=scheduler):
            yield {}
        return
    yield {"scheduler": scheduler}  # a distributed.Client


def compute(*arrays, scheduler=None):
    """Compute dask arrays locally or on a cluster.

    Parameters
    ----------
    *arrays : dask.array.Array
    scheduler : None, str or distributed.Client
        None: dask's default (threads); ``"tcp://host:port"``: the scheduler of a
        running ``dask.distributed`` cluster; ``"threads"``, ``"processes"``,
        ``"synchronous"``: a local scheduler; or a ``Client``.

    Returns
    -------
    tuple of ndarray (one ndarray when one array is given)
    """
    import dask

    with _scheduler(scheduler) as kw:
        out = dask.compute(*arrays, **kw)
    return out[0] if len(arrays) == 1 else out


def write_zarr_array(array, path, name: str, grid: VoxelGrid, active=None, scheduler=None,
                     inputs=()) -> Path:
    """Compute a lazy 3D array chunk by chunk straight into a new Zarr volume.

    The result never needs to fit in memory: each chunk is written as soon as it is
    computed. The group is a voxprospect volume with one layer ``name`` (and the
    ``active`` mask when given), so :func:`open_zarr` reads it back. ``array`` may
    be a dict ``{layer: array}`` of several layers on one grid (``name`` unused).

    Returns
    -------
    pathlib.Path
    """
    import dask.array as da
    import zarr

    from voxprospect.report import jsonable

    arrays = dict(array) if isinstance(array, dict) else {name: array}
    array = next(iter(arrays.values()))
    with safe_output_dir(path, inputs) as tmp:
        group = zarr.open_group(str(tmp), mode="w")
        layer_names = list(arrays)
        if active is not None:
            arrays["active"] = da.asarray(active).rechunk(array.chunks)
        targets = {}
        for key, arr in arrays.items():
            targets[key] = group.create_array(key, shape=arr.shape, chunks=tuple(c[0] for c in arr.chunks),
                                              dtype=arr.dtype)
        if active is None:
            z = group.create_array("active", shape=grid.shape, chunks=tuple(c[0] for c in array.chunks),
                                   dtype=bool)
            z[...] = True
        with _scheduler(scheduler) as kw:
            if "scheduler" in kw:  # a cluster: one graph, the workers' memory manager spills
                da.store([arrays[k] for k in targets], [targets[k] for k in targets], lock=False, **kw)
            else:
                _store_in_batches(arrays, targets)
        group.attrs.update({"format": ZARR_FORMAT_TAG, "grid": _grid_attrs(grid), "layers": layer_names,
                            "classes": {}, "meta": jsonable({"written_by": "voxprospect.mapping.scale"})})
    return Path(path)


def _store_in_batches(arrays: dict, targets: dict, per_worker: int = 2) -> None:
    """Store lazy arrays a few chunks at a time (local schedulers), so memory stays flat.

    One ``da.store`` of a whole overlapped graph lets dask's local scheduler compute
    every chunk's inputs early and hold them until the neighbours that read their
    halo are done: the peak grew with the grid (about a byte a voxel at 10^8,
    ``benchmarks/scale.py``). Storing ``per_worker`` chunks per worker thread at a
    time bounds what is held to those chunks and their halos; the inputs of a
    halo are recomputed by the next batch (cheap: masks and reads), the costly
    per-chunk work is not repeated. The values written are the same.
    """
    import itertools
    import os

    import dask
    import dask.array as da

    workers = int(dask.config.get("num_workers", None) or os.cpu_count() or 1)
    for key, arr in arrays.items():
        starts = [np.cumsum((0,) + tuple(c))[:-1] for c in arr.chunks]
        index = list(itertools.product(*(range(len(c)) for c in arr.chunks)))
        step = max(1, per_worker * workers)
        for b in range(0, len(index), step):
            batch = index[b:b + step]
            sources = [arr.blocks[i] for i in batch]
            regions = [tuple(slice(int(starts[a][i[a]]), int(starts[a][i[a]] + arr.chunks[a][i[a]]))
                             for a in range(arr.ndim)) for i in batch]
            da.store(sources, [targets[key]] * len(batch), regions=regions, lock=False)


# -- evidence buffering --------------------------------------------------------------

def buffer_halo(cell_size, max_distance_m: float) -> tuple[int, int, int]:
    """Cells per axis a chunk must read around itself for capped distances to be exact.

    A mask cell farther than ``max_distance_m`` along one axis is farther than the
    cap in Euclidean distance, so it cannot change a capped value; one more cell
    covers rounding.
    """
    return tuple(int(math.floor(float(max_distance_m) / float(c))) + 1 for c in cell_size)


def _distance_block(block, cell_size, max_distance_m):
    from voxprospect.evidence.layers import distance_to_mask

    return distance_to_mask(block, cell_size, max_distance_m)


def distance_to_mask(mask, cell_size, max_distance_m: float, chunks=None):
    """Capped metric distance to a mask, chunk by chunk: equals the in-memory result.

    Parameters
    ----------
    mask : dask.array.Array, zarr array or ndarray of bool, shape (nx, ny, nz)
    cell_size : (dx, dy, dz)
        Cell sizes in metres.
    max_distance_m : float
        The cap (required: it bounds the overlap).
    chunks : int or tuple, optional
        Re-chunk the mask first.

    Returns
    -------
    dask.array.Array of float32
        Lazy; :func:`compute` or :func:`write_zarr_array` it.

    Raises
    ------
    VoxprospectError
        If the cap is missing or not a finite positive number.
    """
    import dask.array as da

    if max_distance_m is None or not (float(max_distance_m) > 0 and math.isfinite(float(max_distance_m))):
        raise VoxprospectError("chunked distances need a finite positive max_distance_m: the cap "
                               f"bounds how far a chunk must look (got {max_distance_m})")
    cell_size = tuple(float(c) for c in cell_size)
    mask = da.asarray(mask).astype(bool)
    if chunks is not None:
        mask = mask.rechunk(_chunks3(chunks, mask.shape))
    halo = buffer_halo(cell_size, max_distance_m)
    # a halo deeper than a neighbouring chunk would need cells two chunks away
    mask = mask.rechunk(tuple(max(c[0], min(h, s)) for c, h, s in zip(mask.chunks, halo, mask.shape)))
    depth = {i: min(h, s) for i, (h, s) in enumerate(zip(halo, mask.shape))}
    return mask.map_overlap(_distance_block, depth=depth, boundary="none", dtype=np.float32,
                            cell_size=cell_size, max_distance_m=float(max_distance_m))


def buffer_evidence(mask, cell_size, transform: str, max_distance_m: float,
                    buffer_distance_m: float | None = None, chunks=None):
    """Chunked :func:`voxprospect.evidence.layers.buffer_evidence` of the distance to a mask.

    Returns
    -------
    dask.array.Array of float32
    """
    from voxprospect.evidence import layers as evidence

    dist = distance_to_mask(mask, cell_size, max_distance_m, chunks)
    return dist.map_blocks(evidence.buffer_evidence, transform, max_distance_m, buffer_distance_m,
                           dtype=np.float32)


# -- prediction ----------------------------------------------------------------------

def _fill_channels(block, fill, block_info=None):
    """NaN/inf of a ``(C, ...)`` block to one fill value per channel (the block's
    channels located through dask's ``block_info``)."""
    block = np.array(block, dtype=np.float32)
    c0, c1 = (0, block.shape[0]) if not block_info else block_info[0]["array-location"][0]
    bad = ~np.isfinite(block)
    block[bad] = np.broadcast_to(fill[c0:c1], block.shape)[bad]
    return block


def _predict_block(padded, active, model, window, fast, tuned=(None, None), summary=False):
    """Probabilities of one chunk from its evidence read with a ``k // 2`` halo
    (with ``summary``: the members' mean, std and q10 stacked on a first axis)."""
    from voxprospect.mapping.predict import class1_probability
    from voxprospect.learn.samples import extract_windows

    active = np.asarray(active, dtype=bool)
    out = np.full(((3,) if summary else ()) + active.shape, np.nan, dtype=np.float32)
    if not active.any():
        return out
    padded = np.nan_to_num(np.asarray(padded, dtype=np.float32), copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    if fast:
        from voxprospect.learn.fastpredict import predict_padded_block
        out[..., active] = predict_padded_block(model, padded, active, window, *tuned, summary=summary)
        return out
    windows = extract_windows(padded, np.argwhere(active), window)
    from voxprospect.learn.ensemble import n_members_of, predict_uncertainty

    if summary and n_members_of(model) > 1:
        u = predict_uncertainty(model, windows)
        out[..., active] = np.stack([u["mean"], u["std"], u["q10"]]).astype(np.float32)
    else:
        p = class1_probability(model, windows)
        out[..., active] = np.stack([p, np.zeros_like(p), p]) if summary else p
    return out


def predict_dask(model, layers, active, window: int | None = None, edge: str | None = None,
                 channels=None, chunks=None, method: str = "auto", uncertainty: bool = False):
    """Probability of class 1 chunk by chunk: equals ``predict_volume`` value for value.

    Parameters
    ----------
    model : estimator
        As for :func:`voxprospect.mapping.predict.predict_volume` (must pickle to reach
        a distributed cluster's workers).
    layers : ZarrVolume, dict of str to array, or list of arrays
        Evidence channels (dask, zarr or numpy arrays of the grid's shape). A dict
        or ZarrVolume is read in ``channels`` order (default ``model.channels``).
    active : array of bool
        Cells to predict (others get NaN).
    window : int, optional
        Default ``model.window``.
    edge : {"edge", "zero"}, optional
        Default the model's training rule, else ``"edge"``.
    channels : list of str, optional
    chunks : int or tuple, optional
        Re-chunk the evidence first (each chunk must hold at least ``k // 2`` cells).
    method : {"auto", "windows"}
        ``"auto"`` runs the zero-skip path for RCNN-LAM networks (and ensembles of them).
    uncertainty : bool
        Return the members' mean, standard deviation and 10 % quantile stacked,
        ``(3, nx, ny, nz)`` (:mod:`voxprospect.learn.ensemble`); every member runs on
        each chunk's windows, cut once.

    Returns
    -------
    dask.array.Array of float32, shape (nx, ny, nz) (an ensemble's mean), or
    (3, nx, ny, nz) with ``uncertainty``

    Raises
    ------
    LayerError, VoxprospectError
        Missing channels, unknown window size or edge rule.
    """
    import dask.array as da

    from voxprospect.mapping.predict import resolve_window
    from voxprospect.vocabulary import EDGE_RULES

    if isinstance(layers, ZarrVolume):
        layers = layers.layers
    if isinstance(layers, dict):
        names = list(channels if channels is not None else getattr(model, "channels", None) or layers)
        missing = [c for c in names if c not in layers]
        if missing:
            raise LayerError(f"the evidence has no channel {', '.join(map(repr, missing))}; "
                             f"layers are {', '.join(layers)}")
        arrays = [layers[c] for c in names]
    else:
        arrays = list(layers)
    window = resolve_window(model, window)
    edge = edge or getattr(model, "edge", None) or "edge"
    if edge not in EDGE_RULES:
        raise VoxprospectError(f"unknown edge rule {edge!r}; use one of {', '.join(EDGE_RULES)}")
    r = int(window) // 2

    active = da.asarray(active).astype(bool)
    if chunks is not None:
        active = active.rechunk(_chunks3(chunks, active.shape))
    # every chunk must be at least the halo deep along each axis
    active = active.rechunk(tuple(max(c[0], r) if s >= r else s for c, s in zip(active.chunks, active.shape)))
    stack = da.stack([da.asarray(a).astype(np.float32).rechunk(active.chunks) for a in arrays])
    # NaN -> the training's neutral fill before the halo is made, as the in-memory path
    # fills before padding (voxprospect.data.blocks.resolve_fill; 0 without a record)
    names = names if isinstance(layers, dict) else list(getattr(model, "channels", None) or range(len(arrays)))
    rec = (getattr(model, "fill_values", None)
           or (getattr(model, "training_report", None) or {}).get("fill_values") or {})
    fill = np.asarray([float(rec.get(c, 0.0)) for c in names], dtype=np.float32).reshape(-1, 1, 1, 1)
    stack = stack.map_blocks(_fill_channels, fill=fill, dtype=np.float32)
    boundary = "nearest" if edge == "edge" else 0.0
    padded = da.overlap.overlap(stack, depth={0: 0, 1: r, 2: r, 3: r},
                                boundary={0: "none", 1: boundary, 2: boundary, 3: boundary})
    fast, tuned = False, (None, None)
    if method == "auto":
        from voxprospect.learn.fastpredict import accepts, networks_of, resolve_settings
        fast = accepts(model)
        if fast:  # the machine's tuning, looked up (or measured) once here, not in every worker
            s = resolve_settings(networks_of(model)[0], int(window), need_block=False)
            tuned = (s.batch_size, s.transform_axes)
    elif method != "windows":
        raise VoxprospectError(f"unknown prediction method {method!r}; use auto or windows")
    if uncertainty:
        # the channels in one block, so that axis can become the (mean, std, q10) one
        return da.map_blocks(_predict_block, padded.rechunk({0: -1}), active, dtype=np.float32,
                             chunks=((3,),) + tuple(active.chunks), model=model, window=int(window), fast=fast,
                             tuned=tuned, summary=True)
    return da.map_blocks(_predict_block, padded, active, dtype=np.float32, drop_axis=0,
                         chunks=active.chunks, model=model, window=int(window), fast=fast, tuned=tuned)


def predict_zarr(model, evidence_path, out_path, window=None, edge=None, scheduler=None,
                 layer_name: str = "prospectivity", method: str = "auto") -> Path:
    """Predict a Zarr evidence volume into a new Zarr volume, out of core.

    Parameters
    ----------
    model : estimator
    evidence_path, out_path : path-like
        Zarr folders (the output is written atomically and may not be the input).
    window, edge, method
        As in :func:`predict_dask`.
    scheduler : None, str or distributed.Client
        As in :func:`compute`; a scheduler address runs the chunks on that cluster.
    layer_name : str
        The mean's layer; ``<layer_name>_std`` and ``<layer_name>_q10`` are written beside it.

    Returns
    -------
    pathlib.Path
    """
    vol = open_zarr(evidence_path)
    stacked = predict_dask(model, vol, vol.active, window=window, edge=edge, method=method, uncertainty=True)
    arrays = {layer_name: stacked[0], f"{layer_name}_std": stacked[1], f"{layer_name}_q10": stacked[2]}
    return write_zarr_array(arrays, out_path, layer_name, vol.grid, active=vol.active,
                            scheduler=scheduler, inputs=[evidence_path])
