"""Targets of a prospectivity volume as GeoPackage layers (``voxprospect.workflows.export.run_export_targets``)."""

from __future__ import annotations

from qgis.core import QgsProcessingParameterFile, QgsProcessingParameterFileDestination, QgsProcessingParameterString

from .base import VoxprospectAlgorithm, add_target_outputs, add_threshold_parameters, call_library, load_targets, tr


class ExportTargets(VoxprospectAlgorithm):
    _name = "exporttargets"
    _display = "Export targets to GeoPackage"
    _group = "Visualisation"
    _help = ("Groups the voxels of a prospectivity volume above a threshold (yours, or the "
             "prediction-area crossing against the known orebodies) into 3D targets and "
             "writes them as a GeoPackage: target outlines per elevation level (polygons with "
             "the target's attributes) and 3D centroids (PointZ). Both are added to the map, "
             "styled by max_prospectivity.")

    PROSPECTIVITY, LAYER, THRESHOLD, OREBODIES, MIN_VOXELS, OUTPUT = (
        "PROSPECTIVITY", "LAYER", "THRESHOLD", "OREBODIES", "MIN_VOXELS", "OUTPUT")

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFile(self.PROSPECTIVITY, tr("Prospectivity volume (.vti)"),
                                                     extension="vti"))
        self.addParameter(QgsProcessingParameterString(self.LAYER, tr("Prospectivity layer"),
                                                       defaultValue="prospectivity"))
        self.addParameter(QgsProcessingParameterFile(self.OREBODIES, tr("Known orebodies (volume, for P-A)"),
                                                     optional=True))
        add_threshold_parameters(self)
        self.addParameter(QgsProcessingParameterFileDestination(self.OUTPUT, tr("Targets GeoPackage"),
                                                                fileFilter="GeoPackage (*.gpkg)"))
        add_target_outputs(self)

    def processAlgorithm(self, parameters, context, feedback):
        prospectivity = self.parameterAsFile(parameters, self.PROSPECTIVITY, context)
        layer = self.parameterAsString(parameters, self.LAYER, context).strip() or None
        threshold = None
        if parameters.get(self.THRESHOLD) not in (None, ""):
            threshold = self.parameterAsDouble(parameters, self.THRESHOLD, context)
        orebodies = self.parameterAsFile(parameters, self.OREBODIES, context) or None
        min_voxels = self.parameterAsInt(parameters, self.MIN_VOXELS, context)
        out = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        from voxprospect.workflows.export import run_export_targets

        summary = call_library(run_export_targets, feedback, prospectivity, out, threshold=threshold,
                               orebody_path=orebodies, layer=layer, min_voxels=min_voxels)
        feedback.pushInfo(tr("threshold {:.4g}: {} targets").format(summary["threshold"], summary["count"]))
        results = {self.OUTPUT: out, "THRESHOLD_USED": summary["threshold"], "TARGET_COUNT": summary["count"]}
        results.update(load_targets(context, out, threshold=summary["threshold"]))
        return results
