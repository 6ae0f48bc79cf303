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

The schema (sections, keys, defaults, checks) is :mod:`~voxprospect.workflows.project_schema`;
this module reads the file (:func:`load_project`), loads the data it names
(:class:`Project`) and runs the evidence step (:func:`run_evidence`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

from voxprospect.data.grid import VoxelGrid
from voxprospect.errors import GridMismatchError, OutputError, ProjectFileError
from voxprospect.workflows.project_schema import (AUGMENTS, EVIDENCE_KEYS, FORMATS, GRID_KEYS, GRID_TAKING_FORMATS,
                                                  INPUT_KEYS, INPUT_TYPES, OREBODY_KEYS, OUTPUT_FORMATS,
                                                  PREDICTION_KEYS, PROJECT_KEYS, SAMPLE_KEYS, SECTIONS, TARGET_KEYS,
                                                  TRAINING_KEYS, InputSpec, OrebodySpec, PredictionSettings,
                                                  SampleSettings, TargetSettings, TrainingSettings, parse_tables,
                                                  suggest)

__all__ = ["AUGMENTS", "EVIDENCE_KEYS", "FORMATS", "GRID_KEYS", "GRID_TAKING_FORMATS", "INPUT_KEYS", "INPUT_TYPES",
           "OREBODY_KEYS", "OUTPUT_FORMATS", "PREDICTION_KEYS", "PROJECT_KEYS", "SAMPLE_KEYS", "SECTIONS",
           "TARGET_KEYS", "TRAINING_KEYS", "InputSpec", "OrebodySpec", "PredictionSettings", "Project",
           "SampleSettings", "TargetSettings", "TrainingSettings", "load_project", "run_evidence"]


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
    grid_crs : str or None
        ``[grid] crs``: the CRS of the grid and of every input that carries none (voxets,
        UBC meshes); an input or reference in another CRS is refused.
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
    grid_crs: str | None = None
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
            return self._with_crs(read_volume(self.grid_reference).grid, f"grid.reference ({self.grid_reference})")
        return None

    def _with_crs(self, grid: VoxelGrid, what: str) -> VoxelGrid:
        """``grid`` in ``[grid] crs`` when it carries none; refused when it carries another."""
        from voxprospect.io.crs import adopt_crs

        labelled = adopt_crs(grid, self.grid_crs)
        if labelled is None:
            raise GridMismatchError(f"{what} is in {grid.crs}, but the project's grid.crs is {self.grid_crs} "
                                    f"({self.path}); reproject it or correct grid.crs")
        return labelled

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
        from voxprospect.io import read_volume, sniff_format

        names = list(self.inputs) if names is None else list(names)
        for n in names:
            if n not in self.inputs:
                raise ProjectFileError(self.path, f"no input named {n!r}{suggest(n, self.inputs)}; "
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
                from voxprospect.gridding.drillholes import load_project_input
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
                if vol.grid.crs is None and grid.crs is not None:  # a voxet or mesh: the project's CRS
                    vol = replace(vol, grid=grid)
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
        """Input name -> the file it is read from (named in evidence errors).

        A drillholes input is a database labelled onto the grid, not one file: its
        entry names the project file and the input (the layers and classes are those
        its ``[[evidence]]`` asks of the logs), with the collar table.
        """
        return {n: (f"{self.path}: input {n!r} (drillholes, {Path(s.path).name})" if s.type == "drillholes"
                    else s.path) for n, s in self.inputs.items()}

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
        the key (the checks: :func:`voxprospect.workflows.project_schema.parse_tables`).
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
        raise ProjectFileError(path, _not_toml(path) or f"TOML syntax error: {e}") from None
    except UnicodeDecodeError:
        raise ProjectFileError(path, "not a text (UTF-8) TOML file") from None
    return Project(path=path, raw=raw, **parse_tables(path, raw))


# -- the evidence step ----------------------------------------------------------------

def run_evidence(project_path, out_path=None, progress: Callable[[float, str], None] | None = None,
                 cap_at_length: bool | None = None) -> dict:
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
    cap_at_length : bool, optional
        Overrides the drillholes inputs' ``cap_at_length`` (None keeps theirs).

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

    from voxprospect.workflows.drilling import set_cap_at_length
    project = set_cap_at_length(load_project(project_path), cap_at_length)
    if not project.evidence:
        raise ProjectFileError(project.path, "no [[evidence]] channel is defined")
    out = Path(out_path) if out_path is not None else project.output_dir / "evidence.vti"
    inputs = [project.path, *project.input_paths()]
    need = volume_bytes(project.grid.n_cells, len(project.evidence)) if project.grid is not None else 0
    from voxprospect.io.outputs import GEOTIFF_SUFFIXES
    if out.name.lower().endswith(GEOTIFF_SUFFIXES) and len(project.evidence) > 1:
        # refused before the work: a GeoTIFF holds one layer, the stack has several
        raise OutputError(f"{out}: a GeoTIFF holds one layer and the evidence has {len(project.evidence)} "
                          "channels; write the stack as .vti (or .vo, .msh, .omf, .geoh5) and export a channel "
                          "with voxprospect slices")
    check_output_file(out, volume_suffixes(), what="evidence volume", inputs=inputs, need_bytes=need)
    from voxprospect.workflows.drilling import drillhole_volume_paths
    drill_paths = drillhole_volume_paths(project, out.parent)
    for p in drill_paths:
        check_output_file(p, volume_suffixes(), what="drillhole volume", inputs=inputs)
    with step_outputs(files=[out, out.parent / "report.json", *drill_paths]):
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
    from voxprospect.workflows.drilling import drillhole_qa, write_drillhole_volumes
    if drillhole_qa(sources):
        report["drillhole_qa"] = drillhole_qa(sources)
    with report.timer("write_drillholes"):
        write_drillhole_volumes(project, sources, out.parent, report, inputs)
    report["metrics"] = {"channels": evidence.names, "active_cells": int(evidence.active.sum()),
                         "stats": evidence.meta["evidence"]["stats"],
                         "layers": {n: evidence.layer_stats(n) for n in evidence.names}}
    report["project"] = project.to_dict()
    report.write(out.parent)
    step(1.0, "evidence written")
    return report.data


def _not_toml(path) -> str | None:
    """What ``path`` is when it is a data file given where a project file belongs, else None."""
    from voxprospect.io import sniff_format

    if Path(path).suffix.lower() == ".toml":
        return None
    try:
        fmt = sniff_format(path)
    except Exception:  # not a format we read either: the TOML error stands
        return None
    if not fmt or fmt == "project":
        return None
    return (f"this is a {fmt} file, not a project file (a .toml text; docs/project-file.md); "
            "give the project file, or see voxprospect info for what this file holds")
