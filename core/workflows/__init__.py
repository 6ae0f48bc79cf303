"""Workflows: the steps the command line and the QGIS plugin call.

The project file (:mod:`~voxprospect.workflows.project`: TOML schema, validation,
paths) and the steps (:mod:`~voxprospect.workflows.pipeline`: synth, evidence,
train, predict, targets, study, ablation, demo), each writing its outputs and a
``report.json``. The top of the flow: it may import every stage, and nothing in
``voxprospect`` imports it. The front ends (``cli/``, ``plugin/``) call only this layer.
"""

from voxprospect.workflows.pipeline import (run_ablation, run_demo, run_evidence, run_predict, run_project,
                                            run_synth, run_targets, run_train)
from voxprospect.workflows.project import Project, load_project

__all__ = ["Project", "load_project", "run_ablation", "run_demo", "run_evidence", "run_predict", "run_project",
           "run_synth", "run_targets", "run_train"]
