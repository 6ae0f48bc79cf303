"""Export a volume layer as GeoTIFF depth slices (``voxprospect.io.write_geotiff_levels``)."""

from __future__ import annotations

from qgis.core import QgsProcessingParameterFile, QgsProcessingParameterRasterDestination, QgsProcessingParameterString

from .base import VOLUME_FILTER, VoxprospectAlgorithm, call_library, style_raster_output, tr


def export_slices(volume_path, out_path, layer=None, progress=None):
    """Read a volume and write one layer as a band-per-level GeoTIFF.

    Parameters
    ----------
    volume_path, out_path : str
    layer : str, optional
        Needed when the volume has several layers.
    progress : callable, optional

    Returns
    -------
    dict
        ``{"output": out_path, "layer": layer, "levels": nz}``.
    """
    from voxprospect.io import read_volume, write_geotiff_levels

    if progress:
        progress(0.0, "reading the volume")
    volume = read_volume(volume_path)
    if progress:
        progress(0.5, "writing the depth slices")
    write_geotiff_levels(volume, out_path, layer=layer or None, inputs=[volume_path])
    if progress:
        progress(1.0, "done")
    return {"output": str(out_path), "layer": layer or volume.names[0], "levels": volume.grid.shape[2]}


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
        summary = call_library(export_slices, feedback, volume, out, layer=layer)
        style_raster_output(context, out, summary["layer"])
        return {self.OUTPUT: out}
