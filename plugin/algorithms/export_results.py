"""Results for the modelling packages: a geoh5 workspace (Geoscience ANALYST) or an OMF
project (Leapfrog, Deswik), through ``voxprospect.workflows.export_results.run_export_results``."""

from __future__ import annotations

from qgis.core import (QgsProcessingOutputNumber, QgsProcessingParameterEnum, QgsProcessingParameterFile,
                       QgsProcessingParameterFileDestination, QgsProcessingParameterNumber,
                       QgsProcessingParameterString)

from .base import VOLUME_FILTER, VoxprospectAlgorithm, call_library, tr

#: the formats offered, in the order of the FORMAT enum
FORMATS = ("geoh5", "omf")
FORMAT_NAMES = ("geoh5 (Geoscience ANALYST)", "OMF (Leapfrog, Deswik)")


class ExportResults(VoxprospectAlgorithm):
    _name = "exportresults"
    _display = "Export results to geoh5 / OMF"
    _group = "Visualisation"
    _help = ("Writes a prospectivity volume with all its layers (the mean, and when the prediction "
             "wrote them its uncertainty prospectivity_std, lower quantile prospectivity_q10 and "
             "attributions) as one block model, plus the targets as closed surfaces (one per target, "
             "following the voxel faces) and a target_id layer: a geoh5 workspace for Geoscience "
             "ANALYST, or an OMF project for Leapfrog and Deswik. Targets come from a target volume "
             "(voxprospect:targets) or from a threshold. Needs geoh5py or omf in QGIS's Python "
             "(voxprospect[interop]).")

    PROSPECTIVITY, FORMAT, LAYERS, TARGETS, THRESHOLD, LAYER, OUTPUT = (
        "PROSPECTIVITY", "FORMAT", "LAYERS", "TARGETS", "THRESHOLD", "LAYER", "OUTPUT")

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFile(self.PROSPECTIVITY, tr("Prospectivity volume"),
                                                     fileFilter=VOLUME_FILTER))
        self.addParameter(QgsProcessingParameterEnum(self.FORMAT, tr("Format"), options=list(FORMAT_NAMES),
                                                     defaultValue=0))
        self.addParameter(QgsProcessingParameterString(self.LAYERS, tr("Layers (comma-separated; empty: all)"),
                                                       defaultValue="", optional=True))
        self.addParameter(QgsProcessingParameterFile(self.TARGETS, tr("Target volume (target_id)"),
                                                     optional=True, fileFilter=VOLUME_FILTER))
        self.addParameter(QgsProcessingParameterNumber(self.THRESHOLD, tr("Or: targets above this threshold"),
                                                       QgsProcessingParameterNumber.Double, None,
                                                       optional=True, minValue=0.0, maxValue=1.0))
        self.addParameter(QgsProcessingParameterString(self.LAYER, tr("Layer the targets are found on"),
                                                       defaultValue="prospectivity"))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT, tr("Results file"), fileFilter="geoh5 workspace (*.geoh5);;OMF project (*.omf)"))
        self.addOutput(QgsProcessingOutputNumber("TARGET_COUNT", tr("Number of targets written")))

    def processAlgorithm(self, parameters, context, feedback):
        prospectivity = self.parameterAsFile(parameters, self.PROSPECTIVITY, context)
        fmt = FORMATS[self.parameterAsEnum(parameters, self.FORMAT, context)]
        layers = [n.strip() for n in self.parameterAsString(parameters, self.LAYERS, context).split(",")
                  if n.strip()] or None
        targets = self.parameterAsFile(parameters, self.TARGETS, context) or None
        threshold = None
        if parameters.get(self.THRESHOLD) not in (None, ""):
            threshold = self.parameterAsDouble(parameters, self.THRESHOLD, context)
        layer = self.parameterAsString(parameters, self.LAYER, context).strip() or "prospectivity"
        out = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        from voxprospect.workflows.export_results import run_export_results
        summary = call_library(run_export_results, feedback, prospectivity, out, fmt=fmt, layers=layers,
                               targets_path=targets, threshold=threshold, layer=layer)
        feedback.pushInfo(tr("{}: layers {}, {} targets").format(summary["output"], ", ".join(summary["layers"]),
                                                                 summary["count"]))
        return {self.OUTPUT: summary["output"], "TARGET_COUNT": summary["count"]}
