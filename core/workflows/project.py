"""The project file: one TOML file that describes a prospectivity study.

It names the grid, the input volumes, the evidence channels, the orebodies and the
sampling, training, prediction and targeting settings. Paths are relative to the
file. Everything is validated on load, so a mistake is reported with the key and
the file before any work starts. Schema: ``docs/project-file.md``.

Example::

    [project]
    name = "Wulong-like synthetic district"
    seed = 42

    [inputs.geology]
    path = "geology.vti"

    [[evidence]]
    name = "granodiorite"
    kind = "buffer"
    source = "geology"
    layer = "lithology"
    classes = ["Early Cretaceous granodiorite"]
"""

from __future__ import annotations

import difflib
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from voxprospect.errors import ProjectFileError, VoxprospectError
from voxprospect.data.grid import VoxelGrid

from voxprospect.vocabulary import DEFAULT_CHUNK_VOXELS, DEVICES, MODELS, PROTOCOLS
from voxprospect.vocabulary import EDGE_RULES as EDGES
from voxprospect.limits import WINDOW_MAX, check_memory, check_seed

# -- schema ---------------------------------------------------------------------------

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
SAMPLE_KEYS = ("window", "min_distance_m", "edge", "negatives_per_positive")
TRAINING_KEYS = ("models", "epochs", "batch_size", "learning_rate", "protocols", "early_stopping_patience",
                 "device", "weight_decay", "validation_fraction", "augment", "buffer_m", "smoothing_m",
                 "buffer_sweep_m", "sweep_models", "tune_trials", "inner_folds", "ensemble", "calibration")
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
    # project's grid by voxprospect.io.drillholes; options hold its settings
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


@dataclass
class Project:
    """A loaded, validated project file.

    Attributes
    ----------
    path : Path
        The project file (absolute).
    name, seed, output_dir, description
        ``[project]``; ``output_dir`` is resolved (default ``<file dir>/output``).
    grid : VoxelGrid or None
        Explicit grid from ``[grid]`` (origin/cell_size/shape/crs), if given.
    grid_reference : Path or None
        ``[grid] reference``: a volume whose grid every input must share.
    inputs : dict of str to InputSpec
    evidence : list of EvidenceSpec
    orebodies : OrebodySpec or None
    samples, training, prediction, targets
        Settings with defaults filled in.
    raw : dict
        The file's content as parsed (for reports).
    """

    path: Path
    name: str
    seed: int = 42
    output_dir: Path | None = None
    description: str | None = None
    grid: VoxelGrid | None = None
    grid_reference: Path | None = None
    inputs: dict[str, InputSpec] = field(default_factory=dict)
    evidence: list = field(default_factory=list)
    orebodies: OrebodySpec | None = None
    outputs: tuple = ()
    samples: SampleSettings = field(default_factory=SampleSettings)
    training: TrainingSettings = field(default_factory=TrainingSettings)
    prediction: PredictionSettings = field(default_factory=PredictionSettings)
    targets: TargetSettings = field(default_factory=TargetSettings)
    raw: dict = field(default_factory=dict)

    # -- loading data ----------------------------------------------------------------
    def input_paths(self) -> list[Path]:
        """Every file the project reads (inputs, grid reference, orebody file)."""
        paths = [s.path for s in self.inputs.values()]
        for s in self.inputs.values():
            if s.type == "drillholes":
                from voxprospect.io.drillholes import project_input_files
                paths += project_input_files(s.options)
        if self.grid_reference is not None:
            paths.append(self.grid_reference)
        if self.orebodies is not None and self.orebodies.path is not None:
            paths.append(self.orebodies.path)
        return list(dict.fromkeys(paths))

    def target_grid(self) -> VoxelGrid | None:
        """The project's grid: explicit ``[grid]``, else the reference volume's, else None."""
        if self.grid is not None:
            return self.grid
        if self.grid_reference is not None:
            from voxprospect.io import read_volume
            return read_volume(self.grid_reference).grid
        return None

    def load_inputs(self, names=None) -> dict:
        """Read the input volumes (all, or the named ones) with ``read_volume``.

        Returns
        -------
        dict of str to Volume

        Raises
        ------
        ProjectFileError
            If a name is not an input, or an input's format differs from ``format``.
        GridMismatchError
            If an input is not on the project's grid (naming the input).
        InputFileError
            If a file cannot be read.
        """
        from voxprospect.errors import GridMismatchError
        from voxprospect.io import read_volume, sniff_format

        names = list(self.inputs) if names is None else list(names)
        for n in names:
            if n not in self.inputs:
                raise ProjectFileError(self.path, f"no input named {n!r}{_suggest(n, self.inputs)}; "
                                                  f"inputs are: {', '.join(self.inputs) or '(none)'}")
        grid = self.target_grid()
        out = {}
        for n in names:
            spec = self.inputs[n]
            if spec.format is not None:
                found = sniff_format(spec.path)
                if found != spec.format:
                    raise ProjectFileError(self.path, f"inputs.{n}.format is {spec.format!r} but "
                                                      f"{spec.path} is a {found} file")
            if spec.type == "drillholes":
                from voxprospect.io.drillholes import load_project_input
                vol = load_project_input(spec.options, grid, self.path)
            else:
                options = dict(spec.options)
                if grid is not None and "grid" not in options and sniff_format(spec.path) in GRID_TAKING_FORMATS:
                    options["grid"] = grid
                vol = read_volume(spec.path, **options)
            if grid is not None:
                diff = grid.differences(vol.grid)
                if diff:
                    raise GridMismatchError(f"input {n!r} ({spec.path}) is not on the project's grid: "
                                            + "; ".join(diff))
            elif out:
                first_name, first = next(iter(out.items()))
                diff = first.grid.differences(vol.grid)
                if diff:
                    raise GridMismatchError(f"inputs {first_name!r} and {n!r} ({spec.path}) are on different "
                                            "grids: " + "; ".join(diff))
            out[n] = vol
        return out

    def load_orebodies(self):
        """The orebody volume named by ``[orebodies]`` (deposit names applied).

        Raises
        ------
        ProjectFileError
            If the project has no ``[orebodies]`` section.
        """
        from voxprospect.io import read_volume

        if self.orebodies is None:
            raise ProjectFileError(self.path, "the project has no [orebodies] section")
        ob = self.orebodies
        vol = self.load_inputs([ob.source])[ob.source] if ob.path is None else read_volume(ob.path)
        if ob.layer not in vol.layers:
            raise ProjectFileError(self.path, f"orebodies.layer: {ob.layer!r} is not a layer of "
                                              f"{ob.source!r}; layers are: {', '.join(vol.names)}")
        if ob.deposits:
            vol = vol.with_layer(ob.layer, vol[ob.layer], {0: "barren", **ob.deposits})
        return vol

    def source_files(self) -> dict:
        """Input name -> the file it is read from (named in evidence errors)."""
        return {n: s.path for n, s in self.inputs.items()}

    def to_dict(self) -> dict:
        """JSON-ready summary: the raw file content plus resolved paths."""
        return {"path": str(self.path), "name": self.name, "seed": self.seed,
                "output_dir": str(self.output_dir) if self.output_dir else None,
                "inputs": {n: str(s.path) for n, s in self.inputs.items()},
                "evidence": [s.to_dict() for s in self.evidence],
                "samples": asdict(self.samples), "training": _listify(asdict(self.training)),
                "prediction": asdict(self.prediction), "targets": asdict(self.targets),
                "raw": self.raw}


def _listify(d):
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


# -- validation helpers ---------------------------------------------------------------

def _suggest(key, allowed) -> str:
    close = difflib.get_close_matches(str(key), [str(a) for a in allowed], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Checker:
    """Typed access to one table of the file, with errors naming key and file."""

    def __init__(self, path: Path, table: Mapping, where: str, allowed):
        self.path, self.table, self.where = path, table, where
        if not isinstance(table, Mapping):
            self.fail(where, f"must be a table ([{where}]), got {_type_name(table)}")
        for key in table:
            if key not in allowed:
                place = f"[{where}]" if where else "the file's top level"
                self.fail(self.key(key), f"unknown key{_suggest(key, allowed)}; allowed keys in "
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
            self.fail(self.key(key), f"{value!r} is not one of: {', '.join(choices)}{_suggest(value, choices)}")
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
            tc.fail("training.sweep_models", f"unknown model {m!r}{_suggest(m, MODELS)}; "
                                             f"models are: {', '.join(MODELS)}")
    return tuple(value)


def _type_name(v) -> str:
    return {bool: "boolean", int: "integer", float: "float", str: "string", list: "list",
            dict: "table"}.get(type(v), type(v).__name__)


def _resolve(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return (p if p.is_absolute() else base / p).resolve()


def _existing_file(checker: _Checker, key: str, value: str) -> Path:
    p = _resolve(checker.path.parent, value)
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
    vio._load_optional_readers()
    reader = vio._READERS.get(fmt)
    if reader is None:
        return
    params = inspect.signature(reader).parameters.values()
    if any(p.kind is p.VAR_KEYWORD and p.name != "_" for p in params):
        return  # passes them on to another library: cannot be checked here
    allowed = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)][1:]
    for k in options:
        if k not in allowed:
            checker.fail(checker.key(f"options.{k}"),
                         f"unknown option for a {fmt} file{_suggest(k, allowed)}; "
                         f"options it takes: {', '.join(allowed) or '(none)'}")


# -- loading --------------------------------------------------------------------------

def load_project(path) -> Project:
    """Read and validate a project file.

    Parameters
    ----------
    path : path-like
        The ``.toml`` file.

    Returns
    -------
    Project

    Raises
    ------
    ProjectFileError
        Missing file, TOML syntax error (with line and column), unknown section or
        key (with the closest allowed name), wrong type, missing required key, a
        referenced file that does not exist, an invalid evidence channel, or an
        evidence source that is not an input. Every message names the file and
        the key.
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    path = Path(path).expanduser().resolve()
    if not path.exists():
        raise ProjectFileError(path, "file not found")
    if path.is_dir():
        raise ProjectFileError(path, "is a folder, not a project file")
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ProjectFileError(path, f"TOML syntax error: {e}") from None
    except UnicodeDecodeError:
        raise ProjectFileError(path, "not a text (UTF-8) TOML file") from None

    top = _Checker(path, raw, "", SECTIONS)
    base = path.parent

    # [project]
    pc = _Checker(path, top.get("project", "table", {}), "project", PROJECT_KEYS)
    name = pc.get("name", "str", path.stem)
    seed = check_seed(pc.get("seed", "int", 42), "project.seed", path)
    output_dir = _resolve(base, pc.get("output_dir", "str", "output"))
    description = pc.get("description", "str")
    outputs = tuple(pc.get("outputs", "str_list", []))
    for fmt in outputs:
        if fmt not in OUTPUT_FORMATS:
            pc.fail("project.outputs", f"{fmt!r} is not one of: {', '.join(OUTPUT_FORMATS)}"
                                       f"{_suggest(fmt, OUTPUT_FORMATS)}")

    # [inputs.<name>]
    inputs_table = top.get("inputs", "table", {})
    inputs = {}
    for in_name, table in inputs_table.items():
        if isinstance(table, Mapping) and table.get("type", "volume") != "volume":
            if table["type"] not in INPUT_TYPES:
                top.fail(f"inputs.{in_name}.type", f"{table['type']!r} is not one of: {', '.join(INPUT_TYPES)}")
            from voxprospect.io.drillholes import parse_project_input
            settings = parse_project_input(path, in_name, table)
            inputs[in_name] = InputSpec(in_name, settings["collar"], None, settings, settings.get("description"),
                                        type="drillholes")
            continue
        ic = _Checker(path, table, f"inputs.{in_name}", INPUT_KEYS)
        p = _existing_file(ic, "path", ic.get("path", "str", required=True))
        fmt = ic.get("format", "str")
        if fmt is not None and fmt not in FORMATS:
            ic.fail(ic.key("format"), f"{fmt!r} is not one of: {', '.join(FORMATS)}{_suggest(fmt, FORMATS)}")
        options = dict(ic.get("options", "table", {}))
        _check_reader_options(ic, "options", p, options)
        inputs[in_name] = InputSpec(in_name, p, fmt, options, ic.get("description", "str"))

    # [grid]
    grid, grid_reference = None, None
    if "grid" in raw:
        gc = _Checker(path, top.get("grid", "table"), "grid", GRID_KEYS)
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
                grid = VoxelGrid(tuple(origin), tuple(cell_size), tuple(shape), gc.get("crs", "str"))
            except VoxprospectError as e:
                gc.fail("grid", str(e))
        elif "crs" in gc.table:
            gc.fail("grid", "crs alone does not define a grid; add reference or origin/cell_size/shape")

    # [[evidence]]
    from voxprospect.evidence.layers import EvidenceSpec

    ev_list = raw.get("evidence", [])
    if not isinstance(ev_list, list) or not all(isinstance(e, Mapping) for e in ev_list):
        top.fail("evidence", "must be an array of tables ([[evidence]] entries)")
    evidence = []
    for i, entry in enumerate(ev_list):
        label = f"evidence[{i}]" + (f" ({entry['name']})" if isinstance(entry.get("name"), str) else "")
        ec = _Checker(path, entry, label, EVIDENCE_KEYS)
        kwargs = {"name": ec.get("name", "str", required=True), "kind": ec.choice("kind", ("buffer", "geophysics"),
                                                                                   "buffer"),
                  "source": ec.get("source", "str", required=True), "layer": ec.get("layer", "str", required=True)}
        for key, kind in (("classes", "str_list"), ("transform", "str"), ("max_distance_m", "number"),
                          ("buffer_distance_m", "number"), ("standardise", "str"), ("log10", "bool")):
            if key in entry:
                kwargs[key] = ec.get(key, kind)
        if kwargs["source"] not in inputs:
            ec.fail(ec.key("source"), f"{kwargs['source']!r} is not an input{_suggest(kwargs['source'], inputs)}; "
                                      f"inputs are: {', '.join(inputs) or '(none)'}")
        try:
            evidence.append(EvidenceSpec(**kwargs))
        except VoxprospectError as e:
            ec.fail(label, str(e))
    names = [e.name for e in evidence]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        top.fail("evidence", f"channel names must be unique; repeated: {', '.join(dup)}")

    # [orebodies]
    orebodies = None
    if "orebodies" in raw:
        oc = _Checker(path, top.get("orebodies", "table"), "orebodies", OREBODY_KEYS)
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
        orebodies = OrebodySpec(source, oc.get("layer", "str", "orebody"), ob_path, deposits)

    # [samples]
    sc = _Checker(path, top.get("samples", "table", {}), "samples", SAMPLE_KEYS)
    window = sc.positive("window", "int", 3)
    if window % 2 == 0:
        sc.fail("samples.window", f"must be odd (the window is centred on a voxel), got {window}")
    if window > WINDOW_MAX:
        per = window ** 3 * max(len(evidence), 1) * 4
        sc.fail("samples.window", f"{window} is larger than the {WINDOW_MAX} allowed: each window holds "
                                  f"{window ** 3:,} voxels a channel ({per:,} bytes with "
                                  f"{max(len(evidence), 1)} channel(s)); the paper uses 3")
    samples = SampleSettings(window, float(sc.positive("min_distance_m", "number", 800.0, allow_zero=True)),
                             sc.choice("edge", EDGES, "edge"),
                             float(sc.positive("negatives_per_positive", "number", 1.0)))

    # [training]
    tc = _Checker(path, top.get("training", "table", {}), "training", TRAINING_KEYS)
    models = tuple(tc.get("models", "str_list", list(TrainingSettings.models)))
    for m in models:
        if m not in MODELS:
            tc.fail("training.models", f"unknown model {m!r}{_suggest(m, MODELS)}; models are: {', '.join(MODELS)}")
    if not models:
        tc.fail("training.models", "is empty")
    protocols = tuple(tc.get("protocols", "str_list", list(TrainingSettings.protocols)))
    for p in protocols:
        if p not in PROTOCOLS:
            tc.fail("training.protocols", f"unknown protocol {p!r}{_suggest(p, PROTOCOLS)}; "
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
                                tc.positive("inner_folds", "int", 3),
                                ensemble=tc.positive("ensemble", "int", TrainingSettings.ensemble),
                                calibration=tc.choice("calibration", CALIBRATIONS, TrainingSettings.calibration))
    if training.ensemble > 64:
        tc.fail("training.ensemble", f"must be from 1 to 64 members, got {training.ensemble}")
    if not training.validation_fraction < 0.5:
        tc.fail("training.validation_fraction", f"must be below 0.5, got {training.validation_fraction!r}")
    if training.inner_folds < 2:
        tc.fail("training.inner_folds", f"must be at least 2, got {training.inner_folds}")

    # [prediction], [targets]
    prc = _Checker(path, top.get("prediction", "table", {}), "prediction", PREDICTION_KEYS)
    prediction = PredictionSettings(prc.positive("chunk_voxels", "int", DEFAULT_CHUNK_VOXELS))
    tgc = _Checker(path, top.get("targets", "table", {}), "targets", TARGET_KEYS)
    threshold = tgc.table.get("threshold", "pa")
    if isinstance(threshold, str):
        if threshold != "pa":
            tgc.fail("targets.threshold", f"must be \"pa\" or a probability between 0 and 1, got {threshold!r}")
    elif isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
        tgc.fail("targets.threshold", f"must be \"pa\" or a probability between 0 and 1, got {threshold!r}")
    else:
        threshold = float(threshold)
    targets = TargetSettings(threshold, tgc.positive("min_voxels", "int", 1),
                             pa_layer=tgc.choice("pa_layer", PA_LAYERS, TargetSettings.pa_layer))

    return Project(path=path, name=name, seed=seed, output_dir=output_dir, description=description, outputs=outputs,
                   grid=grid,
                   grid_reference=grid_reference, inputs=inputs, evidence=evidence, orebodies=orebodies,
                   samples=samples, training=training, prediction=prediction, targets=targets, raw=raw)


# -- the evidence step ----------------------------------------------------------------

def run_evidence(project_path, out_path=None, progress: Callable[[float, str], None] | None = None) -> dict:
    """Build the evidence stack of a project and write it with ``report.json`` beside it.

    Parameters
    ----------
    project_path : path-like
        The project file.
    out_path : path-like, optional
        The evidence volume to write (``.vti``); default
        ``<output_dir>/evidence.vti``.
    progress : callable, optional
        ``progress(fraction, message)``; may raise :class:`~voxprospect.errors.Cancelled`.

    Returns
    -------
    dict
        The report's content (channels, standardisation statistics, inputs with
        hashes, timings, the output path).

    Raises
    ------
    ProjectFileError
        Invalid project, or a project without evidence channels.
    GridMismatchError, LayerError, InputFileError
        From reading the inputs and building the channels.
    OutputError
        If ``out_path`` is one of the inputs.
    """
    from voxprospect.io.outputs import check_output_file, step_outputs, volume_bytes, volume_suffixes

    project = load_project(project_path)
    if not project.evidence:
        raise ProjectFileError(project.path, "no [[evidence]] channel is defined")
    out = Path(out_path) if out_path is not None else project.output_dir / "evidence.vti"
    inputs = [project.path, *project.input_paths()]
    need = volume_bytes(project.grid.n_cells, len(project.evidence)) if project.grid is not None else 0
    check_output_file(out, volume_suffixes(), what="evidence volume", inputs=inputs, need_bytes=need)
    with step_outputs(files=[out, out.parent / "report.json"]):
        return _evidence_step(project, out, inputs, progress)


def _evidence_step(project, out, inputs, progress) -> dict:
    from voxprospect.evidence.layers import build_evidence
    from voxprospect.io import write_volume
    from voxprospect.report import RunReport

    report = RunReport("evidence", {"project": str(project.path), "out": str(out)}, project.seed)
    for p in inputs:
        report.add_input(p)
    step = progress or (lambda f, m: None)
    sources_used = list(dict.fromkeys(s.source for s in project.evidence))
    with report.timer("read_inputs"):
        step(0.0, "reading inputs")
        sources = project.load_inputs(sources_used)
    with report.timer("build_evidence"):
        evidence = build_evidence(project.evidence, sources,
                                  progress=lambda f, m: step(0.1 + 0.8 * f, m),
                                  source_files=project.source_files())
    evidence = evidence.with_meta(project=project.name, project_file=str(project.path))
    with report.timer("write"):
        step(0.92, f"writing {out}")
        write_volume(evidence, out, inputs=inputs)
    report.add_output(out, role="evidence")
    report["metrics"] = {"channels": evidence.names, "active_cells": int(evidence.active.sum()),
                         "stats": evidence.meta["evidence"]["stats"],
                         "layers": {n: evidence.layer_stats(n) for n in evidence.names}}
    report["project"] = project.to_dict()
    report.write(out.parent)
    step(1.0, "evidence written")
    return report.data
