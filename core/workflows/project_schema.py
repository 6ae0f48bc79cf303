"""The project file's schema: what each section may hold, its defaults, and the checks
that turn a parsed TOML file into validated settings.

:func:`parse_tables` checks the sections in a fixed order and raises one
:class:`~voxprospect.errors.ProjectFileError` naming the key and the file at the first
mistake; :func:`voxprospect.workflows.project.load_project` reads the file and wraps the
result in a :class:`~voxprospect.workflows.project.Project`, which loads the data.
Schema for users: ``docs/project-file.md``. The words (models, protocols, edge rules,
devices) come from :mod:`voxprospect.vocabulary`.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from voxprospect.data.grid import VoxelGrid
from voxprospect.errors import ProjectFileError, VoxprospectError
from voxprospect.limits import WINDOW_MAX, check_memory, check_seed
from voxprospect.vocabulary import ATTRIBUTION_MODES, DEFAULT_CHUNK_VOXELS, DEVICES, MODELS, PROTOCOLS
from voxprospect.vocabulary import EDGE_RULES as EDGES

SECTIONS = ("project", "grid", "inputs", "evidence", "orebodies", "samples", "training", "prediction",
            "targets")
PROJECT_KEYS = ("name", "seed", "output_dir", "description", "outputs")
#: extra result formats ``run`` writes (``[project] outputs``), see io/results.py
OUTPUT_FORMATS = ("geoh5", "omf")
GRID_KEYS = ("reference", "origin", "cell_size", "shape", "crs")
INPUT_KEYS = ("path", "format", "options", "description", "type")
INPUT_TYPES = ("volume", "drillholes")
EVIDENCE_KEYS = ("name", "kind", "source", "layer", "classes", "transform", "max_distance_m",
                 "buffer_distance_m", "standardise", "log10")
OREBODY_KEYS = ("source", "layer", "deposits")
SAMPLE_KEYS = ("window", "min_distance_m", "edge", "negatives_per_positive", "negatives")
#: ``[samples] negatives``: where the negatives come from ("auto": drilled when the
#: orebodies come from a drillholes input with a cut-off, distal otherwise).
NEGATIVE_MODES = ("auto", "drilled", "distal")
TRAINING_KEYS = ("models", "epochs", "batch_size", "learning_rate", "protocols", "early_stopping_patience",
                 "device", "weight_decay", "validation_fraction", "augment", "buffer_m", "smoothing_m",
                 "buffer_sweep_m", "sweep_models", "tune_trials", "inner_folds",
                 "importance", "importance_repeats", "attributions", "attribution_steps", "attribution_voxels",
                 "ensemble", "calibration")
AUGMENTS = ("none", "flips", "flips+z", "symmetry", "symmetry+z")
PREDICTION_KEYS = ("chunk_voxels",)
TARGET_KEYS = ("threshold", "min_voxels", "pa_layer")
#: Layers a prediction-area plot (and the target threshold) may be drawn on: the
#: members' mean, their 10 % quantile, or the mean's percentile rank (saturated probabilities).
PA_LAYERS = ("mean", "q10", "rank")
CALIBRATIONS = ("none", "isotonic", "temperature")

FORMATS = ("vti", "vtk-xml", "vtk-legacy", "geotiff", "gocad-voxet", "ubc-mesh",
           "loopstructural-recipe", "geoh5", "omf", "ubc-octree", "gempy")
# Formats that are evaluated or resampled onto a grid (models, meshes): they get the
# project's grid unless their options name one.
GRID_TAKING_FORMATS = ("gempy", "loopstructural-recipe", "geoh5", "omf", "ubc-octree")


@dataclass(frozen=True)
class InputSpec:
    """One input volume: ``[inputs.<name>]``."""

    name: str
    path: Path
    format: str | None = None
    options: dict = field(default_factory=dict)
    description: str | None = None
    # "drillholes": collar/survey/interval tables built into a volume on the
    # project's grid by voxprospect.gridding.drillholes; options hold its settings
    type: str = "volume"


@dataclass(frozen=True)
class OrebodySpec:
    """The known orebodies: ``[orebodies]``.

    ``source`` is an input name or a file path (resolved); ``deposits`` optionally
    renames the deposit ids of ``layer``'s class table.
    """

    source: str
    layer: str = "orebody"
    path: Path | None = None
    deposits: dict[int, str] | None = None


@dataclass(frozen=True)
class SampleSettings:
    """``[samples]``: training windows (METHOD.md, Samples)."""

    window: int = 3
    min_distance_m: float = 800.0
    edge: str = "edge"
    negatives_per_positive: float = 1.0
    negatives: str = "auto"


@dataclass(frozen=True)
class TrainingSettings:
    """``[training]``: models, optimiser settings and evaluation protocols."""

    models: tuple[str, ...] = ("DL4", "RF")
    epochs: int = 200
    batch_size: int = 256
    learning_rate: float = 0.001
    protocols: tuple[str, ...] = PROTOCOLS
    early_stopping_patience: int | None = 10
    device: str = "auto"
    #: AdamW's decoupled weight decay (0: the paper's plain Adam).
    weight_decay: float = 1e-4
    #: Share of each fit's training windows held out as spatial blocks to pick the
    #: best epoch (0: none, every epoch trains and the last is kept).
    validation_fraction: float = 0.2
    #: Symmetry augmentation of the CNN's windows (rotations about z need square cells).
    augment: str = "symmetry"
    # evaluation (voxprospect.learn.protocols): metric buffer between train and test windows
    # (None: the window's extent plus smoothing_m), the buffer sweep's distances
    # (metres or "window") and the models swept besides the baselines (None: RF only)
    buffer_m: float | None = None
    smoothing_m: float = 250.0
    buffer_sweep_m: tuple = (0.0, "window", 250.0, 500.0, 1000.0)
    sweep_models: tuple[str, ...] | None = None
    tune_trials: int = 30
    inner_folds: int = 3
    # evidence importance (voxprospect.learn.importance, docs/uncertainty.md): permutation
    # importance on the spatial folds, and Integrated-Gradients attributions of the CNNs
    # on the targets' voxels (at most attribution_voxels a target) or the whole grid
    importance: bool = True
    importance_repeats: int = 5
    attributions: str = "off"
    attribution_steps: int = 16
    attribution_voxels: int = 64
    #: CNN members trained from different seeds (deep ensemble; 1: a single network).
    ensemble: int = 5
    #: Calibration of the held-out probabilities, fitted on inner spatial folds
    #: ("none", "isotonic", "temperature"; voxprospect.learn.calibration).
    calibration: str = "none"


@dataclass(frozen=True)
class PredictionSettings:
    """``[prediction]``: voxels predicted per chunk (bounds memory)."""

    chunk_voxels: int = DEFAULT_CHUNK_VOXELS


@dataclass(frozen=True)
class TargetSettings:
    """``[targets]``: ``threshold`` is ``"pa"`` (prediction-area crossing) or a
    probability; bodies smaller than ``min_voxels`` are dropped."""

    threshold: str | float = "pa"
    min_voxels: int = 1
    #: the layer the P-A plot and threshold are drawn on (PA_LAYERS)
    pa_layer: str = "mean"


# -- validation helpers ---------------------------------------------------------------

def suggest(key, allowed) -> str:
    close = difflib.get_close_matches(str(key), [str(a) for a in allowed], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class TableChecker:
    """Typed access to one table of the file, with errors naming key and file."""

    def __init__(self, path: Path, table: Mapping, where: str, allowed):
        self.path, self.table, self.where = path, table, where
        if not isinstance(table, Mapping):
            self.fail(where, f"must be a table ([{where}]), got {_type_name(table)}")
        for key in table:
            if key not in allowed:
                place = f"[{where}]" if where else "the file's top level"
                self.fail(self.key(key), f"unknown key{suggest(key, allowed)}; allowed keys in "
                                         f"{place}: {', '.join(allowed)}")

    def key(self, key) -> str:
        return f"{self.where}.{key}" if self.where else str(key)

    def fail(self, key, problem):
        raise ProjectFileError(self.path, f"{key}: {problem}")

    def get(self, key, kind, default=None, required=False):
        if key not in self.table:
            if required:
                self.fail(self.key(key), "missing required key")
            return default
        value = self.table[key]
        checks = {
            "str": lambda v: isinstance(v, str),
            "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
            "bool": lambda v: isinstance(v, bool),
            "table": lambda v: isinstance(v, Mapping),
            "str_list": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
            "number_list3": lambda v: (isinstance(v, list) and len(v) == 3 and
                                       all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)),
            "int_list3": lambda v: (isinstance(v, list) and len(v) == 3 and
                                    all(isinstance(x, int) and not isinstance(x, bool) for x in v)),
        }
        wanted = {"str": "a string", "int": "an integer", "number": "a number", "bool": "true or false",
                  "table": "a table", "str_list": "a list of strings",
                  "number_list3": "a list of three numbers", "int_list3": "a list of three integers"}
        if not checks[kind](value):
            self.fail(self.key(key), f"must be {wanted[kind]}, got {_type_name(value)} {value!r}")
        return value

    def choice(self, key, choices, default):
        value = self.get(key, "str", default)
        if value not in choices:
            self.fail(self.key(key), f"{value!r} is not one of: {', '.join(choices)}{suggest(value, choices)}")
        return value

    def positive(self, key, kind, default, allow_zero=False):
        value = self.get(key, kind, default)
        if value is not None and not (value > 0 or (allow_zero and value == 0)):
            self.fail(self.key(key), f"must be {'>= 0' if allow_zero else 'positive'}, got {value!r}")
        return value


def _opt_float(v):
    return None if v is None else float(v)


def _sweep_list(tc) -> tuple:
    """``training.buffer_sweep_m``: distances in metres (>= 0) or "window"."""
    value = tc.table.get("buffer_sweep_m", list(TrainingSettings.buffer_sweep_m))
    ok = isinstance(value, list) and value and all(
        (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0)
        or v == "window" for v in value)
    if not ok:
        tc.fail("training.buffer_sweep_m", f"must be a non-empty list of distances in metres (>= 0) or "
                                           f"\"window\", got {value!r}")
    return tuple(v if v == "window" else float(v) for v in value)


def _sweep_models(tc):
    value = tc.get("sweep_models", "str_list", None)
    if value is None:
        return None
    for m in value:
        if m not in MODELS:
            tc.fail("training.sweep_models", f"unknown model {m!r}{suggest(m, MODELS)}; "
                                             f"models are: {', '.join(MODELS)}")
    return tuple(value)


def _importance_keys(tc, training):
    """``training.importance`` ... ``attribution_voxels``; ``attributions = true`` means the targets."""
    from dataclasses import replace

    mode = tc.table.get("attributions", TrainingSettings.attributions)
    if isinstance(mode, bool):
        mode = "targets" if mode else "off"
    if mode not in ATTRIBUTION_MODES:
        tc.fail("training.attributions", f"must be true, false or one of {', '.join(ATTRIBUTION_MODES)}, "
                                         f"got {mode!r}{suggest(mode, ATTRIBUTION_MODES)}")
    return replace(training, importance=tc.get("importance", "bool", TrainingSettings.importance),
                   importance_repeats=tc.positive("importance_repeats", "int", TrainingSettings.importance_repeats),
                   attributions=mode,
                   attribution_steps=tc.positive("attribution_steps", "int", TrainingSettings.attribution_steps),
                   attribution_voxels=tc.positive("attribution_voxels", "int", TrainingSettings.attribution_voxels))


def _type_name(v) -> str:
    return {bool: "boolean", int: "integer", float: "float", str: "string", list: "list",
            dict: "table"}.get(type(v), type(v).__name__)


def resolve_path(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return (p if p.is_absolute() else base / p).resolve()


def _existing_file(checker: TableChecker, key: str, value: str) -> Path:
    p = resolve_path(checker.path.parent, value)
    if not p.exists():
        checker.fail(checker.key(key), f"file not found: {p}")
    return p


def _check_reader_options(checker, key, path: Path, options: Mapping) -> None:
    """Refuse reader options the file's reader does not take (they were silently ignored)."""
    import inspect

    from voxprospect import io as vio

    if not options:
        return
    try:
        fmt = vio.sniff_format(path)
    except VoxprospectError:
        return  # the reader will say what is wrong with the file itself
    reader = vio.reader_for(fmt)
    if reader is None:
        return
    params = inspect.signature(reader).parameters.values()
    if any(p.kind is p.VAR_KEYWORD and p.name != "_" for p in params):
        return  # passes them on to another library: cannot be checked here
    allowed = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)][1:]
    for k in options:
        if k not in allowed:
            checker.fail(checker.key(f"options.{k}"),
                         f"unknown option for a {fmt} file{suggest(k, allowed)}; "
                         f"options it takes: {', '.join(allowed) or '(none)'}")


# -- the sections, in the order they are checked ----------------------------------------

def parse_tables(path: Path, raw: Mapping) -> dict:
    """Validate a parsed project file, section by section.

    Returns
    -------
    dict
        The :class:`~voxprospect.workflows.project.Project` fields (all but ``path``
        and ``raw``), defaults filled in and paths resolved against the file's folder.

    Raises
    ------
    ProjectFileError
        The first mistake found, naming the key and the file.
    """
    top = TableChecker(path, raw, "", SECTIONS)
    fields = _parse_project(top, path)
    inputs = _parse_inputs(top, path)
    grid, grid_reference, grid_crs = _parse_grid(top, path, raw, inputs)
    evidence = _parse_evidence(top, path, raw, inputs)
    orebodies = _parse_orebodies(top, path, raw, inputs)
    samples = _parse_samples(top, path, len(evidence))
    training = _parse_training(top, path)
    prc = TableChecker(path, top.get("prediction", "table", {}), "prediction", PREDICTION_KEYS)
    prediction = PredictionSettings(prc.positive("chunk_voxels", "int", DEFAULT_CHUNK_VOXELS))
    return {**fields, "grid": grid, "grid_reference": grid_reference, "grid_crs": grid_crs, "inputs": inputs,
            "evidence": evidence,
            "orebodies": orebodies, "samples": samples, "training": training, "prediction": prediction,
            "targets": _parse_targets(top, path)}


def _parse_project(top: TableChecker, path: Path) -> dict:
    """``[project]``: name, seed, output folder, description, extra result formats."""
    pc = TableChecker(path, top.get("project", "table", {}), "project", PROJECT_KEYS)
    outputs = tuple(pc.get("outputs", "str_list", []))
    fields = {"name": pc.get("name", "str", path.stem), "seed": check_seed(pc.get("seed", "int", 42), "project.seed",
                                                                           path),
              "output_dir": resolve_path(path.parent, pc.get("output_dir", "str", "output")),
              "description": pc.get("description", "str"), "outputs": outputs}
    for fmt in outputs:
        if fmt not in OUTPUT_FORMATS:
            pc.fail("project.outputs", f"{fmt!r} is not one of: {', '.join(OUTPUT_FORMATS)}"
                                       f"{suggest(fmt, OUTPUT_FORMATS)}")
    return fields


def _parse_inputs(top: TableChecker, path: Path) -> dict:
    """``[inputs.<name>]``: volume files (path, format, reader options) or drillhole tables."""
    inputs = {}
    for in_name, table in top.get("inputs", "table", {}).items():
        if isinstance(table, Mapping) and table.get("type", "volume") != "volume":
            if table["type"] not in INPUT_TYPES:
                top.fail(f"inputs.{in_name}.type", f"{table['type']!r} is not one of: {', '.join(INPUT_TYPES)}")
            from voxprospect.io.drillholes import parse_project_input
            settings = parse_project_input(path, in_name, table)
            inputs[in_name] = InputSpec(in_name, settings["collar"], None, settings, settings.get("description"),
                                        type="drillholes")
            continue
        ic = TableChecker(path, table, f"inputs.{in_name}", INPUT_KEYS)
        p = _existing_file(ic, "path", ic.get("path", "str", required=True))
        fmt = ic.get("format", "str")
        if fmt is not None and fmt not in FORMATS:
            ic.fail(ic.key("format"), f"{fmt!r} is not one of: {', '.join(FORMATS)}{suggest(fmt, FORMATS)}")
        options = dict(ic.get("options", "table", {}))
        _check_reader_options(ic, "options", p, options)
        inputs[in_name] = InputSpec(in_name, p, fmt, options, ic.get("description", "str"))
    return inputs


def _parse_grid(top: TableChecker, path: Path, raw: Mapping, inputs: dict):
    """``[grid]``: ``(grid, grid_reference, crs)``, an explicit grid or a reference volume
    (or neither), and the CRS ``[grid] crs`` gives (checked with PROJ), or None."""
    grid, grid_reference = None, None
    if "grid" not in raw:
        return grid, grid_reference, None
    gc = TableChecker(path, top.get("grid", "table"), "grid", GRID_KEYS)
    crs = _grid_crs(gc)
    if "reference" in gc.table:
        if any(k in gc.table for k in ("origin", "cell_size", "shape")):
            gc.fail("grid", "give either reference or origin/cell_size/shape, not both")
        ref = gc.get("reference", "str")
        grid_reference = inputs[ref].path if ref in inputs else _existing_file(gc, "reference", ref)
    elif any(k in gc.table for k in ("origin", "cell_size", "shape")):
        origin = gc.get("origin", "number_list3", required=True)
        cell_size = gc.get("cell_size", "number_list3", required=True)
        shape = gc.get("shape", "int_list3", required=True)
        if any(n < 1 for n in shape):
            gc.fail("grid.shape", f"must be three positive cell counts, got {shape}")
        n_cells = math.prod(shape)
        # the evidence stack (float32 a channel) plus the active mask, at the least
        n_channels = max(sum(isinstance(e, Mapping) for e in raw.get("evidence", []) or []), 1)
        check_memory(n_cells, 4 * n_channels + 1, f"grid.shape {shape} with {n_channels} evidence channel(s)",
                     path)
        try:
            grid = VoxelGrid(tuple(origin), tuple(cell_size), tuple(shape), crs)
        except VoxprospectError as e:
            gc.fail("grid", str(e))
    elif crs is not None:
        gc.fail("grid", "crs alone does not define a grid; add reference or origin/cell_size/shape")
    return grid, grid_reference, crs


def _grid_crs(gc: TableChecker) -> str | None:
    """``[grid] crs``, refused unless PROJ knows it."""
    from voxprospect.io.crs import check_crs

    value = gc.get("crs", "str")
    try:
        return check_crs(value)
    except VoxprospectError as e:
        gc.fail("grid.crs", str(e))


def _parse_evidence(top: TableChecker, path: Path, raw: Mapping, inputs: dict) -> list:
    """``[[evidence]]``: the channels, each an :class:`~voxprospect.evidence.layers.EvidenceSpec`."""
    from voxprospect.evidence.layers import EvidenceSpec

    ev_list = raw.get("evidence", [])
    if not isinstance(ev_list, list) or not all(isinstance(e, Mapping) for e in ev_list):
        top.fail("evidence", "must be an array of tables ([[evidence]] entries)")
    evidence = []
    for i, entry in enumerate(ev_list):
        label = f"evidence[{i}]" + (f" ({entry['name']})" if isinstance(entry.get("name"), str) else "")
        ec = TableChecker(path, entry, label, EVIDENCE_KEYS)
        kwargs = {"name": ec.get("name", "str", required=True), "kind": ec.choice("kind", ("buffer", "geophysics"),
                                                                                   "buffer"),
                  "source": ec.get("source", "str", required=True), "layer": ec.get("layer", "str", required=True)}
        for key, kind in (("classes", "str_list"), ("transform", "str"), ("max_distance_m", "number"),
                          ("buffer_distance_m", "number"), ("standardise", "str"), ("log10", "bool")):
            if key in entry:
                kwargs[key] = ec.get(key, kind)
        if kwargs["source"] not in inputs:
            ec.fail(ec.key("source"), f"{kwargs['source']!r} is not an input{suggest(kwargs['source'], inputs)}; "
                                      f"inputs are: {', '.join(inputs) or '(none)'}")
        try:
            evidence.append(EvidenceSpec(**kwargs))
        except VoxprospectError as e:
            ec.fail(label, str(e))
    names = [e.name for e in evidence]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        top.fail("evidence", f"channel names must be unique; repeated: {', '.join(dup)}")
    return evidence


def _parse_orebodies(top: TableChecker, path: Path, raw: Mapping, inputs: dict) -> OrebodySpec | None:
    """``[orebodies]``: an input name or a file, its layer, optional deposit names."""
    if "orebodies" not in raw:
        return None
    oc = TableChecker(path, top.get("orebodies", "table"), "orebodies", OREBODY_KEYS)
    source = oc.get("source", "str", required=True)
    ob_path = None if source in inputs else _existing_file(oc, "source", source)
    deposits = None
    if "deposits" in oc.table:
        dep_table = oc.get("deposits", "table")
        deposits = {}
        for k, v in dep_table.items():
            if not str(k).isdigit() or not isinstance(v, str):
                oc.fail("orebodies.deposits", f"entries must be <id> = \"name\" with an integer id, got {k!r}")
            deposits[int(k)] = v
    return OrebodySpec(source, oc.get("layer", "str", "orebody"), ob_path, deposits)


def _parse_samples(top: TableChecker, path: Path, n_evidence: int) -> SampleSettings:
    """``[samples]``: an odd window no larger than :data:`~voxprospect.limits.WINDOW_MAX`."""
    sc = TableChecker(path, top.get("samples", "table", {}), "samples", SAMPLE_KEYS)
    window = sc.positive("window", "int", 3)
    if window % 2 == 0:
        sc.fail("samples.window", f"must be odd (the window is centred on a voxel), got {window}")
    if window > WINDOW_MAX:
        per = window ** 3 * max(n_evidence, 1) * 4
        sc.fail("samples.window", f"{window} is larger than the {WINDOW_MAX} allowed: each window holds "
                                  f"{window ** 3:,} voxels a channel ({per:,} bytes with "
                                  f"{max(n_evidence, 1)} channel(s)); the paper uses 3")
    return SampleSettings(window, float(sc.positive("min_distance_m", "number", 800.0, allow_zero=True)),
                          sc.choice("edge", EDGES, "edge"),
                          float(sc.positive("negatives_per_positive", "number", 1.0)),
                          sc.choice("negatives", NEGATIVE_MODES, "auto"))


def _parse_training(top: TableChecker, path: Path) -> TrainingSettings:
    """``[training]``: models and protocols from the vocabulary, optimiser and evaluation settings."""
    tc = TableChecker(path, top.get("training", "table", {}), "training", TRAINING_KEYS)
    models = tuple(tc.get("models", "str_list", list(TrainingSettings.models)))
    for m in models:
        if m not in MODELS:
            tc.fail("training.models", f"unknown model {m!r}{suggest(m, MODELS)}; models are: {', '.join(MODELS)}")
    if not models:
        tc.fail("training.models", "is empty")
    protocols = tuple(tc.get("protocols", "str_list", list(TrainingSettings.protocols)))
    for p in protocols:
        if p not in PROTOCOLS:
            tc.fail("training.protocols", f"unknown protocol {p!r}{suggest(p, PROTOCOLS)}; "
                                          f"protocols are: {', '.join(PROTOCOLS)}")
    training = TrainingSettings(models, tc.positive("epochs", "int", 200), tc.positive("batch_size", "int", 256),
                                float(tc.positive("learning_rate", "number", 0.001)), protocols,
                                tc.positive("early_stopping_patience", "int", TrainingSettings.early_stopping_patience),
                                tc.choice("device", DEVICES, "auto"),
                                float(tc.positive("weight_decay", "number", TrainingSettings.weight_decay,
                                                  allow_zero=True)),
                                float(tc.positive("validation_fraction", "number",
                                                  TrainingSettings.validation_fraction, allow_zero=True)),
                                tc.choice("augment", AUGMENTS, TrainingSettings.augment),
                                _opt_float(tc.positive("buffer_m", "number", None, allow_zero=True)),
                                float(tc.positive("smoothing_m", "number", 250.0, allow_zero=True)),
                                _sweep_list(tc),
                                _sweep_models(tc),
                                tc.positive("tune_trials", "int", 30),
                                tc.positive("inner_folds", "int", 3))
    if not training.validation_fraction < 0.5:
        tc.fail("training.validation_fraction", f"must be below 0.5, got {training.validation_fraction!r}")
    if training.inner_folds < 2:
        tc.fail("training.inner_folds", f"must be at least 2, got {training.inner_folds}")
    return _ensemble_keys(tc, _importance_keys(tc, training))


def _ensemble_keys(tc, training):
    """``ensemble`` (1 to 64 CNN members) and ``calibration`` (:data:`CALIBRATIONS`)."""
    from dataclasses import replace

    ensemble = tc.positive("ensemble", "int", TrainingSettings.ensemble)
    if ensemble > 64:
        tc.fail("training.ensemble", f"must be from 1 to 64 members, got {ensemble}")
    return replace(training, ensemble=ensemble,
                   calibration=tc.choice("calibration", CALIBRATIONS, TrainingSettings.calibration))


def _parse_targets(top: TableChecker, path: Path) -> TargetSettings:
    """``[targets]``: ``"pa"`` or a probability threshold, the smallest target kept."""
    tgc = TableChecker(path, top.get("targets", "table", {}), "targets", TARGET_KEYS)
    threshold = tgc.table.get("threshold", "pa")
    if isinstance(threshold, str):
        if threshold != "pa":
            tgc.fail("targets.threshold", f"must be \"pa\" or a probability between 0 and 1, got {threshold!r}")
    elif isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
        tgc.fail("targets.threshold", f"must be \"pa\" or a probability between 0 and 1, got {threshold!r}")
    else:
        threshold = float(threshold)
    return TargetSettings(threshold, tgc.positive("min_voxels", "int", 1),
                          pa_layer=tgc.choice("pa_layer", PA_LAYERS, TargetSettings.pa_layer))
