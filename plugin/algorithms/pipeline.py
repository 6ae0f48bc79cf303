"""The whole pipeline from a project file (``voxprospect.workflows.pipeline.run_project``)."""

from __future__ import annotations

from qgis.core import (QgsProcessingOutputHtml, QgsProcessingOutputFolder, QgsProcessingOutputRasterLayer,
                       QgsProcessingOutputVectorLayer,
                       QgsProcessingParameterFile, QgsProcessingParameterFolderDestination)

from .base import PROJECT_EXTENSION, VoxprospectAlgorithm, call_library, output_of, load_slices, load_targets, tr


class RunPipeline(VoxprospectAlgorithm):
    _name = "runproject"
    _display = "Run whole pipeline"
    _help = ("Evidence, training windows, models (evaluated under every protocol of the "
             "project), prediction, P-A threshold and targets, as the project file says. "
             "The prospectivity depth slices and the targets are added to the map. Leave the "
             "output folder empty to use the project's output_dir.")

    PROJECT, OUTPUT = "PROJECT", "OUTPUT"

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFile(self.PROJECT, tr("Project file (.toml)"),
                                                     extension=PROJECT_EXTENSION))
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT, tr("Output folder"),
                                                                  optional=True, createByDefault=False))
        self.addOutput(QgsProcessingOutputFolder("FOLDER", tr("Results folder")))
        self.addOutput(QgsProcessingOutputRasterLayer("SLICES", tr("Prospectivity depth slices")))
        self.addOutput(QgsProcessingOutputVectorLayer("OUTLINES", tr("Target outlines")))
        self.addOutput(QgsProcessingOutputVectorLayer("CENTROIDS", tr("Target centroids")))
        self.addOutput(QgsProcessingOutputHtml("RESULTS", tr("Results page")))

    def processAlgorithm(self, parameters, context, feedback):
        from voxprospect.workflows.pipeline import run_project

        project = self.parameterAsFile(parameters, self.PROJECT, context)
        outdir = self.parameterAsString(parameters, self.OUTPUT, context) or None
        summary = call_library(run_project, feedback, project, outdir)
        outdir = summary.get("outdir") or outdir
        results = {self.OUTPUT: outdir, "FOLDER": outdir}
        primary = summary.get("primary_model") or ""
        slices = output_of(summary, "prospectivity_geotiff", f"_{primary}." if primary else "")
        if slices:
            load_slices(context, slices, tr("prospectivity"), "SLICES")
            results["SLICES"] = slices
        gpkg = output_of(summary, "targets_gpkg", f"_{primary}." if primary else "")
        if gpkg:
            results.update(load_targets(context, gpkg))
        if outdir:
            from ..results_html import write_results_html
            results["RESULTS"] = write_results_html(outdir, summary if "command" in summary else None)
        return results
