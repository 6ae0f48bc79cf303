"""Export a volume layer as GeoTIFF depth slices (``voxprospect.workflows.export.run_slices``)."""

from __future__ import annotations

from qgis.core import QgsProcessingParameterFile, QgsProcessingParameterRasterDestination, QgsProcessingParameterString

from .base import VOLUME_FILTER, VoxprospectAlgorithm, call_library, style_raster_output, tr


class ExportDepthSlices(VoxprospectAlgorithm):
    _name = "slices"
    _display = "Export depth slices"
    _group = "Visualisation"
    _help = ("Writes one layer of a volume (prospectivity, an evidence layer, lithology...) as a "
             "multi-band GeoTIFF, one band per elevation level, top first, each band described "
             "as z=<elevation> m. Open it in the Depth slices panel to scroll through the levels.")

    VOLUME, LAYER, OUTPUT = "VOLUME", "LAYER", "OUTPUT"

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFile(self.VOLUME, tr("Volume"), fileFilter=VOLUME_FILTER))
        self.addParameter(QgsProcessingParameterString(self.LAYER, tr("Layer (empty: the only one)"),
                                                       defaultValue="", optional=True))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, tr("Depth slices")))

    def processAlgorithm(self, parameters, context, feedback):
        volume = self.parameterAsFile(parameters, self.VOLUME, context)
        layer = self.parameterAsString(parameters, self.LAYER, context).strip() or None
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        from voxprospect.workflows.export import run_slices

        summary = call_library(run_slices, feedback, volume, out, layer=layer)
        style_raster_output(context, out, summary["layer"])
        return {self.OUTPUT: out}
