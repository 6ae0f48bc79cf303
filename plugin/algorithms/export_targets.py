"""Targets of a prospectivity volume as GeoPackage layers (``voxprospect.mapping.targets``)."""

from __future__ import annotations

from qgis.core import (QgsProcessingOutputNumber, QgsProcessingOutputVectorLayer, QgsProcessingParameterFile,
                       QgsProcessingParameterFileDestination, QgsProcessingParameterNumber,
                       QgsProcessingParameterString)

from .base import VoxprospectAlgorithm, call_library, load_targets, tr


def export_targets(prospectivity_path, out_path, threshold=None, orebody_path=None, layer="prospectivity",
                   min_voxels=1, progress=None):
    """Delineate the targets of a prospectivity volume and write them as a GeoPackage.

    Parameters
    ----------
    prospectivity_path : str
        Volume with the prospectivity layer.
    out_path : str
        The ``.gpkg`` to write (layers ``target_outlines`` and ``target_centroids``).
    threshold : float, optional
        Prospectivity cut-off; when omitted, the prediction-area crossing computed
        against ``orebody_path``'s orebodies.
    orebody_path : str, optional
        Volume with an ``orebody`` layer (non-zero inside known orebodies).
    layer : str
    min_voxels : int
        Smaller targets are dropped.
    progress : callable, optional

    Returns
    -------
    dict
        ``{"output", "threshold", "count"}``.

    Raises
    ------
    VoxprospectError
        If neither a threshold nor orebodies are given, or a file or layer is wrong.
    """
    import numpy as np
    from voxprospect.errors import VoxprospectError
    from voxprospect.io import read_volume
    from voxprospect.mapping.targets import find_targets, write_targets_gpkg

    def step(f, msg):
        if progress:
            progress(f, msg)

    step(0.0, "reading the prospectivity volume")
    volume = read_volume(prospectivity_path)
    layer = layer or ("prospectivity" if "prospectivity" in volume else volume.names[0])
    inputs = [prospectivity_path]
    orebody_mask = None
    if orebody_path:
        orebodies = read_volume(orebody_path)
        volume.grid.require_same(orebodies.grid, f"{prospectivity_path} and {orebody_path}")
        orebody_layer = "orebody" if "orebody" in orebodies else orebodies.names[0]
        orebody_mask = np.asarray(orebodies[orebody_layer]) > 0
        inputs.append(orebody_path)
    if threshold is None:
        if orebody_mask is None:
            raise VoxprospectError("give a threshold, or the known orebodies to pick it from the "
                                   "prediction-area plot")
        from voxprospect.learn.evaluate import prediction_area
        step(0.2, "prediction-area threshold")
        threshold = float(prediction_area(volume, orebody_mask=orebody_mask, layer=layer).target_threshold)
    step(0.4, f"targets above {threshold:.4g}")
    # known orebodies, when given, are named in the targets that contain them
    targets = find_targets(volume, threshold=threshold, layer=layer, deposits=orebody_mask,
                           min_voxels=min_voxels)
    step(0.7, "writing the GeoPackage")
    write_targets_gpkg(targets, volume.grid, out_path, prospectivity=volume[layer], inputs=inputs)
    step(1.0, "done")
    return {"output": str(out_path), "threshold": threshold, "count": len(targets)}


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
        self.addParameter(QgsProcessingParameterNumber(self.THRESHOLD, tr("Threshold (empty: from P-A)"),
                                                       QgsProcessingParameterNumber.Double, None,
                                                       optional=True, minValue=0.0, maxValue=1.0))
        self.addParameter(QgsProcessingParameterFile(self.OREBODIES, tr("Known orebodies (volume, for P-A)"),
                                                     optional=True))
        self.addParameter(QgsProcessingParameterNumber(self.MIN_VOXELS, tr("Smallest target (voxels)"),
                                                       QgsProcessingParameterNumber.Integer, 1, minValue=1))
        self.addParameter(QgsProcessingParameterFileDestination(self.OUTPUT, tr("Targets GeoPackage"),
                                                                fileFilter="GeoPackage (*.gpkg)"))
        self.addOutput(QgsProcessingOutputVectorLayer("OUTLINES", tr("Target outlines")))
        self.addOutput(QgsProcessingOutputVectorLayer("CENTROIDS", tr("Target centroids")))
        self.addOutput(QgsProcessingOutputVectorLayer("DRILL_POINTS", tr("Drill points (most prospective voxel "
                                                                         "of each target)")))
        self.addOutput(QgsProcessingOutputNumber("THRESHOLD_USED", tr("Threshold used")))
        self.addOutput(QgsProcessingOutputNumber("TARGET_COUNT", tr("Number of targets")))

    def processAlgorithm(self, parameters, context, feedback):
        prospectivity = self.parameterAsFile(parameters, self.PROSPECTIVITY, context)
        layer = self.parameterAsString(parameters, self.LAYER, context).strip() or None
        threshold = None
        if parameters.get(self.THRESHOLD) not in (None, ""):
            threshold = self.parameterAsDouble(parameters, self.THRESHOLD, context)
        orebodies = self.parameterAsFile(parameters, self.OREBODIES, context) or None
        min_voxels = self.parameterAsInt(parameters, self.MIN_VOXELS, context)
        out = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        summary = call_library(export_targets, feedback, prospectivity, out, threshold=threshold,
                               orebody_path=orebodies, layer=layer, min_voxels=min_voxels)
        feedback.pushInfo(tr("threshold {:.4g}: {} targets").format(summary["threshold"], summary["count"]))
        results = {self.OUTPUT: out, "THRESHOLD_USED": summary["threshold"], "TARGET_COUNT": summary["count"]}
        results.update(load_targets(context, out, threshold=summary["threshold"]))
        return results
