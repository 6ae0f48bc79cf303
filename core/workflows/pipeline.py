"""The steps, as the CLI and the QGIS plugin call them (one import for the front ends).

The code lives in the modules of :mod:`voxprospect.workflows`, in the order the data
flow through them:

=========================  ==============================================================
module                     what it holds
=========================  ==============================================================
``common``                 checks every step makes first (models, device, output folder)
``progress``               progress callables (``say``, ``scaled``, :class:`Progress`)
``training``               :class:`TrainingData`, estimators from ``[training]``, one
                           model scored under every protocol and fitted on all windows
``evaluation``             baselines on the same folds, buffer sweep, undiscovered deposits
``targeting``              whole-grid prediction, P-A threshold and 3D targets
``steps``                  ``run_synth``, ``run_evidence``, ``run_train``, ``run_predict``,
                           ``run_targets``
``export``                 ``run_slices`` (GeoTIFF depth slices), ``run_convert`` (formats)
``info``                   ``describe_file`` (what ``voxprospect info`` prints)
``study``                  ``run_study``, ``run_project``, ``run_ablation``
``tables``, ``summary``    Markdown tables, end summaries, outputs by role, figures
``demo``                   ``run_demo`` and its ``summary.md``
``result``                 :class:`StepResult`, what every step returns
=========================  ==============================================================

Each ``run_*`` reads its inputs, writes its outputs atomically into one folder
together with ``report.json`` (inputs with hashes, parameters, seed, versions,
metrics, timings, outputs by role) and returns a :class:`StepResult` (the report's
content, with ``outputs`` by role). ``progress`` is an optional
``progress(fraction, message)`` callable that may raise
:class:`~voxprospect.errors.Cancelled`.
"""

from voxprospect.workflows.common import MODEL_NAMES, check_device, check_models, check_outdir
from voxprospect.workflows.demo import DEMO_TRAINING, run_demo, write_summary
from voxprospect.workflows.export import run_convert, run_export_targets, run_slices
from voxprospect.workflows.evaluation import BENCHMARK_BUFFER_M, evaluate_baselines, run_buffer_sweep
from voxprospect.workflows.info import describe_file
from voxprospect.workflows.result import StepResult
from voxprospect.workflows.steps import run_evidence, run_predict, run_synth, run_targets, run_train
from voxprospect.workflows.study import run_ablation, run_project, run_study
from voxprospect.workflows.tables import ablation_table, sweep_section
from voxprospect.workflows.targeting import map_targets
from voxprospect.workflows.training import (TrainingData, evaluation_settings, fit_and_evaluate, model_size,
                                            prepare_training, study_plans)

__all__ = ["BENCHMARK_BUFFER_M", "DEMO_TRAINING", "MODEL_NAMES", "StepResult", "TrainingData", "ablation_table",
           "check_device", "check_models", "check_outdir", "describe_file", "evaluate_baselines",
           "evaluation_settings", "fit_and_evaluate", "map_targets", "model_size", "prepare_training",
           "run_ablation", "run_buffer_sweep", "run_convert", "run_demo", "run_evidence", "run_export_targets",
           "run_predict", "run_project", "run_slices", "run_study", "run_synth", "run_targets", "run_train",
           "study_plans", "sweep_section", "write_summary"]
