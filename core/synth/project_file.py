"""The synthetic district's ``project.toml``: the paper's seven evidence channels.

Built as tables and written by :func:`voxprospect.io.toml_text.toml_text`, the one
project-file writer (the test suite's tiny projects use it too).
"""

from __future__ import annotations

from voxprospect.io.toml_text import COMMENT, toml_text
from voxprospect.synth.presets import DYKES, GRANODIORITE, UNITS

__all__ = ["district_project_tables", "district_project_toml"]


def _buffer(name: str, layer: str, classes: list[str] | None = None, max_distance_m: int = 2000) -> dict:
    """A 3D distance buffer of a geological object in ``geology.vti``."""
    table = {"name": name, "kind": "buffer", "source": "geology", "layer": layer}
    if classes:
        table["classes"] = classes
    return {**table, "transform": "distance", "max_distance_m": max_distance_m, "standardise": "robust"}


def _inversion(layer: str, log10: bool = False) -> dict:
    """A robust-standardised inversion volume from ``geophysics.vti``."""
    table = {"name": layer, "kind": "geophysics", "source": "geophysics", "layer": layer, "standardise": "robust"}
    return {**table, "log10": True} if log10 else table


def district_project_tables(preset: str, seed: int) -> dict:
    """The district's project file as tables (see :func:`district_project_toml`)."""
    evidence = [_buffer("granodiorite", "lithology", [UNITS[GRANODIORITE]]),
                _buffer("dykes", "lithology", [UNITS[DYKES]]),
                _buffer("faults_ne", "fault_ne"), _buffer("faults_nw", "fault_nw"),
                _inversion("density"), _inversion("susceptibility"), _inversion("resistivity", log10=True)]
    evidence[0] = {COMMENT: "The paper's seven channels: four 3D buffers of geological objects ...", **evidence[0]}
    evidence[4] = {COMMENT: "... and three standardised inversion volumes", **evidence[4]}
    return {
        "project": {"name": f"synthetic Wulong-like district ({preset}, seed {seed})", "seed": seed,
                    "output_dir": "run"},
        "grid": {"reference": "geology.vti"},
        "inputs": {"geology": {"path": "geology.vti"}, "geophysics": {"path": "geophysics.vti"},
                   "orebodies": {"path": "orebodies.vti"}},
        "evidence": evidence,
        "orebodies": {"source": "orebodies", "layer": "orebody"},
        "samples": {"window": 3, "min_distance_m": 800, "edge": "edge", "negatives_per_positive": 1.0},
        "training": {"models": ["DL4", "RF"], "epochs": 200, "batch_size": 256, "learning_rate": 0.001,
                     "protocols": ["random", "spatial", "deposit"], "device": "auto"},
        "targets": {"threshold": "pa", "min_voxels": 1},
    }


def district_project_toml(district) -> str:
    """The project file for a :class:`~voxprospect.synth.presets.District`: the paper's
    seven evidence channels, paths relative to the file."""
    d = district.description
    header = (f"voxprospect project for the synthetic district (preset {d['preset']}, seed {d['seed']}).\n"
              "Paths are relative to this file. Schema: docs/project-file.md.")
    return toml_text(district_project_tables(d["preset"], d["seed"]), header=header)
