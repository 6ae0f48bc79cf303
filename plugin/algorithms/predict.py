"""Predict a prospectivity volume (``voxprospect.workflows.pipeline.run_predict``)."""

from __future__ import annotations

from qgis.core import (QgsProcessingParameterFile, QgsProcessingParameterFileDestination,
                       QgsProcessingParameterRasterDestination)

from .base import VoxprospectAlgorithm, call_library, style_raster_output, tr


class PredictProspectivity(VoxprospectAlgorithm):
    _name = "predict"
    _display = "Predict prospectivity volume"
    _help = ("Applies a trained model (model.vxp.safetensors) to every active voxel of an "
             "evidence volume, in chunks, and writes the prospectivity volume (.vti). "
             "Optionally also writes it as GeoTIFF depth slices (band per elevation level, "
             "top first), loaded into the map for the Depth slices panel.")

    MODEL, EVIDENCE, OUTPUT, SLICES = "MODEL", "EVIDENCE", "OUTPUT", "SLICES"

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFile(self.MODEL, tr("Trained model (.vxp.safetensors)"),
                                                     extension="safetensors"))
        self.addParameter(QgsProcessingParameterFile(self.EVIDENCE, tr("Evidence volume (.vti)"),
                                                     extension="vti"))
        self.addParameter(QgsProcessingParameterFileDestination(self.OUTPUT, tr("Prospectivity volume"),
                                                                fileFilter="VTK ImageData (*.vti)"))
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.SLICES, tr("Prospectivity depth slices (GeoTIFF)"), optional=True, createByDefault=True))

    def processAlgorithm(self, parameters, context, feedback):
        from voxprospect.workflows.pipeline import run_predict

        model = self.parameterAsFile(parameters, self.MODEL, context)
        evidence = self.parameterAsFile(parameters, self.EVIDENCE, context)
        out = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        slices = self.parameterAsOutputLayer(parameters, self.SLICES, context) or None
        summary = call_library(run_predict, feedback, model, evidence, out, geotiff=slices)
        if summary and summary.get("active_voxels") is not None:
            feedback.pushInfo(tr("{:,} voxels predicted").format(summary["active_voxels"]))
        results = {self.OUTPUT: out}
        if slices:
            style_raster_output(context, slices, tr("prospectivity"))
            results[self.SLICES] = slices
        return results
