"""Workflows: the steps the command line and the QGIS plugin call.

The project file (:mod:`~voxprospect.workflows.project`: TOML schema, validation,
paths) and the steps (synth, evidence, train, predict, targets in
:mod:`~voxprospect.workflows.steps`; the study and ablation in
:mod:`~voxprospect.workflows.study`; the demo in :mod:`~voxprospect.workflows.demo`;
all gathered in :mod:`~voxprospect.workflows.pipeline`), each writing its outputs and
a ``report.json`` and returning a :class:`~voxprospect.workflows.result.StepResult`.
The top of the flow: it may import every stage, and nothing in ``voxprospect``
imports it. The front ends (``cli/``, ``plugin/``) call only this layer.
"""

from voxprospect.workflows.pipeline import (run_ablation, run_demo, run_evidence, run_predict, run_project,
                                            run_synth, run_targets, run_train)
from voxprospect.workflows.project import Project, load_project
from voxprospect.workflows.result import StepResult

__all__ = ["Project", "StepResult", "load_project", "run_ablation", "run_demo", "run_evidence", "run_predict",
           "run_project", "run_synth", "run_targets", "run_train"]
