"""The words voxprospect uses, defined once: the CLI, the plugin and the project schema read them here.

Changing a name or a default here changes it everywhere: in the TOML validation, the
click choices, the QGIS parameter enums and the docs' tables.
"""

from __future__ import annotations

#: RCNN-LAM presets (METHOD.md: DL1 plain residual, DL2 deeper, DL3/DL4 with attention).
CNN_PRESETS = ("DL1", "DL2", "DL3", "DL4")
#: Every model a study can train: the CNN presets and the random forest.
MODELS = CNN_PRESETS + ("RF",)
DEFAULT_MODEL = "DL4"

#: Evaluation protocols: the paper's random split (leaky, reported for comparison),
#: spatial blocks, leave-one-deposit-out.
PROTOCOLS = ("random", "spatial", "deposit")

#: How a window is filled where it leaves the grid.
EDGE_RULES = ("edge", "zero")
DEFAULT_EDGE = "edge"

#: Evidence layer kinds, distance transforms and standardisers.
EVIDENCE_KINDS = ("buffer", "distance", "geophysics")
TRANSFORMS = ("distance", "binary", "fuzzy")
STANDARDISERS = ("robust", "zscore", "minmax", "none")

#: Built-in synthetic district presets a user can ask for ("tiny" is for tests).
DISTRICT_PRESETS = ("small", "paper")
DEFAULT_DISTRICT_PRESET = "small"

#: Compute devices.
DEVICES = ("auto", "cpu", "cuda")

#: File suffixes.
CHECKPOINT_SUFFIX = ".vxp.safetensors"
REPORT_NAME = "report.json"

#: Default sizes.
DEFAULT_WINDOW = 3
DEFAULT_MIN_DISTANCE_M = 800.0
#: Cells per prediction block (and windows per batch): bounded memory, cache-resident products.
DEFAULT_CHUNK_VOXELS = 262_144
DEFAULT_SEED = 42

#: where a CNN's Integrated-Gradients attributions are computed (``[training] attributions``)
ATTRIBUTION_MODES = ("off", "targets", "grid")

__all__ = ["CNN_PRESETS", "MODELS", "DEFAULT_MODEL", "PROTOCOLS", "EDGE_RULES", "DEFAULT_EDGE", "EVIDENCE_KINDS",
           "TRANSFORMS", "STANDARDISERS", "DISTRICT_PRESETS", "DEFAULT_DISTRICT_PRESET", "DEVICES",
           "CHECKPOINT_SUFFIX", "REPORT_NAME", "DEFAULT_WINDOW", "DEFAULT_MIN_DISTANCE_M", "DEFAULT_CHUNK_VOXELS",
           "DEFAULT_SEED", "ATTRIBUTION_MODES"]
