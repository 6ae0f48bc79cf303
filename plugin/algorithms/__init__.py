"""The Processing algorithms, one short adapter per pipeline step.

The list is built on demand so that importing the plugin package never imports
an algorithm module (they need QGIS's processing classes; the library itself is only
imported when an algorithm runs).
"""

from __future__ import annotations


def algorithm_classes() -> list:
    """Every voxprospect algorithm class, in the order data flows through them."""
    from .evidence import BuildEvidence
    from .export_results import ExportResults
    from .export_targets import ExportTargets
    from .pipeline import RunPipeline
    from .predict import PredictProspectivity
    from .slices import ExportDepthSlices
    from .synth import BuildSyntheticDistrict
    from .targets import FindTargets
    from .train import TrainModel

    return [BuildSyntheticDistrict, BuildEvidence, TrainModel, PredictProspectivity, FindTargets,
            ExportTargets, ExportResults, ExportDepthSlices, RunPipeline]
