"""Prediction-area threshold and 3D targets (``voxprospect.workflows.pipeline.run_targets``)."""

from __future__ import annotations

from qgis.core import QgsProcessingOutputHtml, QgsProcessingParameterFile, QgsProcessingParameterFolderDestination

from .base import (VoxprospectAlgorithm, add_target_outputs, add_threshold_parameters, call_library, load_targets,
                   output_of, tr)


class FindTargets(VoxprospectAlgorithm):
    _name = "targets"
    _display = "P-A threshold and 3D targets"
    _help = ("Picks the prospectivity threshold where the prediction-area curves cross (needs "
             "the known orebodies) or uses the threshold you give, groups the voxels above it "
             "into 26-connected 3D targets, and writes the label volume, a CSV table, the P-A "
             "plot and a GeoPackage whose target outlines (per elevation level) and 3D "
             "centroids are added to the map.")

    PROSPECTIVITY, OREBODIES, THRESHOLD, MIN_VOXELS, OUTPUT = (
        "PROSPECTIVITY", "OREBODIES", "THRESHOLD", "MIN_VOXELS", "OUTPUT")

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFile(self.PROSPECTIVITY, tr("Prospectivity volume (.vti)"),
                                                     extension="vti"))
        self.addParameter(QgsProcessingParameterFile(self.OREBODIES, tr("Known orebodies (volume, for P-A)"),
                                                     optional=True))
        add_threshold_parameters(self)
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT, tr("Output folder")))
        add_target_outputs(self)
        self.addOutput(QgsProcessingOutputHtml("RESULTS", tr("Results page")))

    def processAlgorithm(self, parameters, context, feedback):
        from voxprospect.workflows.pipeline import run_targets

        prospectivity = self.parameterAsFile(parameters, self.PROSPECTIVITY, context)
        orebodies = self.parameterAsFile(parameters, self.OREBODIES, context) or None
        threshold = None
        if parameters.get(self.THRESHOLD) not in (None, ""):
            threshold = self.parameterAsDouble(parameters, self.THRESHOLD, context)
        min_voxels = self.parameterAsInt(parameters, self.MIN_VOXELS, context)
        outdir = self.parameterAsString(parameters, self.OUTPUT, context)
        summary = call_library(run_targets, feedback, prospectivity, outdir, orebody_path=orebodies,
                               threshold=threshold, min_voxels=min_voxels)
        results = {self.OUTPUT: outdir, "THRESHOLD_USED": summary.get("threshold"),
                   "TARGET_COUNT": (summary.get("targets") or {}).get("count")}
        feedback.pushInfo(tr("threshold {}: {} targets").format(results["THRESHOLD_USED"],
                                                                results["TARGET_COUNT"]))
        gpkg = output_of(summary, "targets_gpkg")
        if gpkg:
            results.update(load_targets(context, gpkg, threshold=results["THRESHOLD_USED"]))
        if outdir:
            from ..results_html import write_results_html
            results["RESULTS"] = write_results_html(outdir, summary if "command" in summary else None)
        return results
