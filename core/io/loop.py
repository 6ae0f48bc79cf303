"""LoopStructural geological models evaluated on a voxprospect grid.

A LoopStructural ``GeologicalModel`` (built in memory from points and orientations, or
saved as a JSON *recipe* with ``model.save_recipe``) is evaluated at the cell centres of
a :class:`~voxprospect.data.grid.VoxelGrid`, like the gempy path
(:func:`voxprospect.io.gempy_model.compute_geomodel_on_grid`). The result is a
:class:`~voxprospect.data.volume.Volume` with

- ``lithology`` (int16): LoopStructural's stratigraphic id + 1 (``model.evaluate_model``),
  so 0 = no unit of the column (LoopStructural's -1); class table from the column's
  unit names;
- ``scalar_<feature>`` (float64): the scalar field of every stratigraphic (non-fault)
  feature;
- ``fault_block_<fault>`` (int8, 0/1): the side of each fault (sign of the fault
  frame's first coordinate, which is 0 on the fault surface);
- ``fault_block`` (int16): the combined fault compartment id (one bit per fault).

Cells whose centre lies outside the model's bounding box are inactive: LoopStructural
extrapolates there without data.

Saved models are read from recipes (:func:`load_loop_recipe`), faults included: a
fault entry gains the parameters LoopStructural's recipe does not keep
(:mod:`voxprospect.io.loop_recipe`). LoopStructural's other save format
(``to_file``) is a ``dill`` pickle, which can run code when loaded; voxprospect never
unpickles a user's file and says so (the ``pickle`` format below).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import warnings
from pathlib import Path

import numpy as np

from voxprospect.errors import InputFileError, VoxprospectError
from voxprospect.data.grid import VoxelGrid
from voxprospect.data.volume import Volume
from voxprospect.io._optional import require
from voxprospect.io.loop_recipe import build_features, check_bounding_box, check_fault_data, plan_features

RECIPE_SCHEMA = "LoopStructural.GeologicalModelRecipe"
#: cell centres evaluated per call; bounds LoopStructural's temporary arrays
DEFAULT_CHUNK_POINTS = 200_000


def _safe(name) -> str:
    return re.sub(r"[^0-9A-Za-z_]+", "_", str(name)).strip("_") or "feature"


@contextlib.contextmanager
def _quiet():
    """LoopStructural logs every solve at INFO and warns on deprecated calls; our
    console output is the CLI's."""
    prefixes = ("LoopStructural", "loop_interpolation", "loop_common")
    names = [n for n in logging.root.manager.loggerDict if n.startswith(prefixes)]
    # each of LoopStructural's module loggers carries its own level, so set them all
    loggers = [logging.getLogger(n) for n in dict.fromkeys([*prefixes, *names])]
    levels = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, lv in zip(loggers, levels):
            lg.setLevel(lv)


def _is_fault(feature) -> bool:
    from LoopStructural.modelling.features.fault import FaultSegment
    return isinstance(feature, FaultSegment)


def unit_table(model) -> dict[int, str]:
    """``{lithology id: unit name}`` in LoopStructural's own numbering (+1).

    ``GeologicalModel.evaluate_model`` counts units group by group from the oldest
    group, over the groups that have a feature in the model; ids here follow the same
    count, so they name what ``evaluate_model`` returns.
    """
    table = {}
    s_id = 0
    for group in reversed(model.stratigraphic_column.get_groups()):
        if model.feature_name_index.get(group.name, -1) < 0:
            continue
        for unit in group.units:
            table[s_id + 1] = str(unit.name)
            s_id += 1
    return table


def strat_ids(model, values: dict) -> np.ndarray | None:
    """The stratigraphic ids ``model.evaluate_model`` gives, from feature values at hand.

    ``values`` maps a feature name to its values at the points. Units are numbered as in
    :func:`unit_table` (group by group from the oldest, over the groups with a feature in
    the model); a point gets the id of the unit whose value range holds its group's
    value strictly inside, later groups over earlier ones, and -1 outside every unit.
    Returns None when a group's feature is not in ``values``.
    """
    n = len(next(iter(values.values()))) if values else 0
    out = np.full(n, -1, dtype=np.int64)
    s_id = 0
    for group in reversed(model.stratigraphic_column.get_groups()):
        index = model.feature_name_index.get(group.name, -1)
        if index < 0:
            continue
        vals = values.get(model.features[index].name)
        if vals is None:
            return None
        for unit in group.units:
            out[(vals > unit.min()) & (vals < unit.max())] = s_id
            s_id += 1
    return out


def _evaluate(model, centres, strat, faults, chunk_points, progress):
    """Units, scalar fields and fault sides at ``centres``, ``chunk_points`` at a time."""
    n = len(centres)
    lith = np.full(n, -1, dtype=np.int16)
    fields = {f.name: np.full(n, np.nan) for f in strat}
    sides = {f.name: np.zeros(n, dtype=np.int8) for f in faults}
    try:
        with _quiet():
            model.update(progressbar=False)
            for start in range(0, n, chunk_points):
                stop = min(n, start + chunk_points)
                if progress is not None:
                    progress(start / max(n, 1), f"LoopStructural: cells {start:,}-{stop:,} of {n:,}")
                pts = centres[start:stop]
                for f in strat:
                    fields[f.name][start:stop] = model.evaluate_feature_value(f.name, pts)
                # the units from the fields just evaluated: each fault is applied to
                # the points once, not again by evaluate_model
                ids = strat_ids(model, {name: v[start:stop] for name, v in fields.items()})
                lith[start:stop] = np.asarray(model.evaluate_model(pts) if ids is None else ids, dtype=np.int16)
                for f in faults:
                    sides[f.name][start:stop] = (np.asarray(f.evaluate_value(pts)) > 0).astype(np.int8)
    except VoxprospectError:
        raise
    except Exception as e:  # LoopStructural raises assorted errors on ill-posed models
        raise VoxprospectError(f"LoopStructural could not evaluate the model: {type(e).__name__}: {e}") from None
    if progress is not None:
        progress(1.0, "LoopStructural: done")
    return lith, fields, sides


def compute_loop_model_on_grid(model, grid: VoxelGrid, *, active=None,
                               chunk_points: int = DEFAULT_CHUNK_POINTS, progress=None) -> Volume:
    """Evaluate a LoopStructural ``GeologicalModel`` at the cell centres of ``grid``.

    Parameters
    ----------
    model : LoopStructural.GeologicalModel
        A model with its features built (``model.update()`` is called if needed); its
        coordinates must be in the grid's CRS.
    grid : VoxelGrid
    active : ndarray of bool, optional
        Cells to evaluate (``grid.shape``); combined with the model's bounding box.
    chunk_points : int
        Cell centres per LoopStructural call.
    progress : callable, optional
        ``progress(fraction, message)``.

    Returns
    -------
    Volume
        Layers ``lithology``, ``scalar_<feature>``, ``fault_block_<fault>`` and
        ``fault_block``; meta ``loopstructural`` with feature, fault and unit names and
        each fault's displacement.

    Raises
    ------
    VoxprospectError
        If the model has no features or LoopStructural fails on it.
    """
    require("LoopStructural")
    features = list(getattr(model, "features", []))
    if not features:
        raise VoxprospectError("the LoopStructural model has no features")
    mask = np.ones(grid.shape, dtype=bool) if active is None else np.asarray(active, dtype=bool).copy()
    if mask.shape != grid.shape:
        raise VoxprospectError(f"active mask has shape {mask.shape}, the grid has {grid.shape}")
    lo = np.asarray(model.bounding_box.origin, dtype=float)
    hi = np.asarray(model.bounding_box.maximum, dtype=float)
    centres_all = grid.cell_centres()
    inside = np.all((centres_all >= lo - 1e-9) & (centres_all <= hi + 1e-9), axis=1)
    flat_mask = mask.ravel(order="F") & inside
    centres = centres_all[flat_mask]

    faults = [f for f in features if _is_fault(f)]
    strat = [f for f in features if not _is_fault(f)]
    lith, fields, sides = _evaluate(model, centres, strat, faults, max(1, int(chunk_points)), progress)

    def to_grid(values, dtype_, fill):
        out = np.full(grid.n_cells, fill, dtype=dtype_)
        out[flat_mask] = values
        return out.reshape(grid.shape, order="F")

    table = unit_table(model)
    layers = {"lithology": to_grid(lith + 1, np.int16, 0)}
    classes = {"lithology": {0: "no unit", **table}}
    for f in strat:
        layers["scalar_" + _safe(f.name)] = to_grid(fields[f.name], np.float64, np.nan)
    combined = np.zeros(grid.shape, dtype=np.int16)
    for bit, f in enumerate(faults):
        block = to_grid(sides[f.name], np.int8, 0)
        layers["fault_block_" + _safe(f.name)] = block
        combined |= (block.astype(np.int16) & 1) << bit
    if faults:
        layers["fault_block"] = combined
    meta = {"loopstructural": {"features": [f.name for f in strat], "faults": [f.name for f in faults],
                               "fault_displacements": {f.name: float(getattr(f, "displacement", np.nan))
                                                       for f in faults},
                               "units": list(table.values()),
                               "bounding_box": [lo.tolist(), hi.tolist()]}}
    return Volume(grid, layers, flat_mask.reshape(grid.shape, order="F"), classes, meta)


def model_grid(model, crs=None) -> VoxelGrid:
    """The model's bounding box cut into its own interpolation resolution (``nsteps``)."""
    bb = model.bounding_box
    lo = np.asarray(bb.origin, dtype=float)
    hi = np.asarray(bb.maximum, dtype=float)
    steps = getattr(bb, "nsteps", None)
    steps = np.asarray((50, 50, 50) if steps is None else steps, dtype=int).clip(1)
    return VoxelGrid(tuple(lo), tuple((hi - lo) / steps), tuple(steps), crs)


def load_loop_recipe(path):
    """Rebuild a LoopStructural model, faults included, from a JSON recipe.

    The recipe is LoopStructural's own (``model.save_recipe``): box, data (inline or a
    CSV named relative to the recipe's folder), stratigraphic column and features. Its
    features are foliations and faults; a fault entry carries the parameters a saved
    recipe lacks (``displacement``, ``cuts``, geometry; :mod:`voxprospect.io.loop_recipe`,
    ``docs/formats.md``). The box, data and column are read by LoopStructural
    (``GeologicalModel.from_recipe_dict``); the features are built through its
    ``create_and_add_fault`` and ``create_and_add_foliation``, each fault before the
    features it cuts.

    Raises
    ------
    InputFileError
        If the file is not a recipe, names a missing data file, holds features a
        recipe cannot rebuild (folds, unconformities, regions), a fault with an unknown
        key, no displacement, no data or cutting a feature the recipe lacks, or
        LoopStructural cannot rebuild it.
    """
    p = Path(path)
    if not p.exists():
        raise InputFileError(p, "file not found")
    LoopStructural = require("LoopStructural", p)
    try:
        recipe = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputFileError(p, f"not a valid JSON LoopStructural recipe ({e})") from None
    if not isinstance(recipe, dict) or recipe.get("schema") != RECIPE_SCHEMA:
        raise InputFileError(p, f"not a LoopStructural recipe (no \"schema\": \"{RECIPE_SCHEMA}\")")
    body = recipe.get("model", {})
    if not isinstance(body, dict):
        raise InputFileError(p, "the recipe's \"model\" is not an object")
    check_bounding_box(body.get("bounding_box"), p)
    plan = plan_features(body.get("features"), p)
    src = body.get("data_source")
    if isinstance(src, dict) and src.get("kind") == "reference" or isinstance(src, str):
        ref = Path(src["path"] if isinstance(src, dict) else src)
        ref = ref if ref.is_absolute() else p.parent / ref
        if not ref.exists():
            raise InputFileError(p, f"the recipe's data file {ref} does not exist")
        body = {**body, "data_source": {"kind": "reference", "path": str(ref)}}
    try:
        with _quiet():
            # the box, the data and the column; the features are ours to build
            model = LoopStructural.GeologicalModel.from_recipe_dict(
                {**recipe, "model": {**body, "features": []}})
    except Exception as e:
        raise InputFileError(p, f"LoopStructural cannot rebuild the recipe ({type(e).__name__}: {e})") from None
    check_fault_data(model.data, plan, p)
    with _quiet():
        build_features(model, plan, p)
    try:
        with _quiet():
            _restore_group_names(model, body)
            model.update(progressbar=False)
    except Exception as e:
        raise InputFileError(p, f"LoopStructural cannot rebuild the recipe ({type(e).__name__}: {e})") from None
    return model


def _restore_group_names(model, body) -> None:
    """Restore the unit value ranges and tie the column's groups back to their features.

    A recipe's stratigraphic column does not keep which feature each group of units
    belongs to (LoopStructural's ``group_mapping``), so a rebuilt model would place no
    unit at all. A ``group_mapping`` table in the recipe's column is used when there;
    otherwise, when the groups have only default names and there are as many as there
    are foliations, the oldest group goes to the first foliation, and so on (the order
    in which LoopStructural models are built).
    """
    column = model.stratigraphic_column
    # the rebuilt column's units have no scalar-value ranges until they are recomputed
    # from the thicknesses (StratigraphicColumn.from_dict adds them without notifying)
    column.update_unit_values()
    saved = (body.get("stratigraphic_column") or {}).get("group_mapping")
    if isinstance(saved, dict):
        column.group_mapping.update({str(k): str(v) for k, v in saved.items()})
        return
    groups = list(reversed(column.get_groups()))  # oldest first
    foliations = [f.name for f in model.features if not _is_fault(f)]
    if groups and len(groups) == len(foliations) and all(
            model.feature_name_index.get(g.name, -1) < 0 for g in groups):
        n = len(groups)
        for age, name in enumerate(foliations):
            column.group_mapping[f"Group_{n - 1 - age}"] = name


def read_loop_volume(path, grid: VoxelGrid | None = None, crs=None, **kwargs) -> Volume:
    """Read a LoopStructural recipe and evaluate it on ``grid`` (default: :func:`model_grid`)."""
    model = load_loop_recipe(path)
    target = grid if grid is not None else model_grid(model, crs)
    return compute_loop_model_on_grid(model, target, **kwargs).with_meta(source=str(path))


def refuse_pickle(path, **_kwargs):
    """Python pickles (LoopStructural's ``to_file``, scikit-learn dumps, ...) are never loaded."""
    raise InputFileError(path, "is a Python pickle (e.g. LoopStructural's GeologicalModel.to_file); "
                         "voxprospect never loads pickles, because loading one can run any code; save "
                         "the model with model.save_recipe('model.json') and read that")


def _register():
    from voxprospect.io import register_reader
    register_reader("loopstructural-recipe", read_loop_volume)
    register_reader("pickle", refuse_pickle)


_register()
