"""Results for the modelling packages: a geoh5 workspace (Geoscience ANALYST) or an OMF
project (Leapfrog, Deswik), through ``voxprospect.io.results.write_results``."""

from __future__ import annotations

from pathlib import Path

from qgis.core import (QgsProcessingOutputNumber, QgsProcessingParameterEnum, QgsProcessingParameterFile,
                       QgsProcessingParameterFileDestination, QgsProcessingParameterNumber,
                       QgsProcessingParameterString)

from .base import VOLUME_FILTER, VoxprospectAlgorithm, call_library, tr

#: the formats offered, in the order of the FORMAT enum
FORMATS = ("geoh5", "omf")
FORMAT_NAMES = ("geoh5 (Geoscience ANALYST)", "OMF (Leapfrog, Deswik)")


def export_results(prospectivity_path, out_path, fmt=None, layers=None, targets_path=None, threshold=None,
                   layer="prospectivity", min_voxels=1, progress=None):
    """Write a prospectivity volume (and its targets) as geoh5 or OMF.

    Parameters
    ----------
    prospectivity_path : str
        The prediction volume: ``prospectivity`` and, when the prediction wrote them,
        ``prospectivity_std``, ``prospectivity_q10`` and ``attribution_<channel>``.
    out_path : str
        The ``.geoh5`` or ``.omf`` to write (atomically).
    fmt : {"geoh5", "omf"}, optional
        Default: from the suffix of ``out_path``.
    layers : list of str, optional
        The volume layers written; all of them by default.
    targets_path : str, optional
        A target label volume (``target_id``, from ``voxprospect:targets``).
    threshold : float, optional
        Without ``targets_path``: find the targets on ``layer`` at this cut-off.
    layer : str
        The layer targets are found on (the mean).
    min_voxels : int

    Returns
    -------
    dict
        ``{"output", "format", "layers", "targets"}``.

    Raises
    ------
    VoxprospectError
        A wrong file, layer or format, or a missing geoh5py / omf (the message says how
        to install it).
    """
    from voxprospect.errors import VoxprospectError
    from voxprospect.io import read_volume
    from voxprospect.io.results import RESULT_FORMATS, write_results

    def step(f, msg):
        if progress:
            progress(f, msg)

    out_path = Path(out_path)
    if fmt is None:
        fmt = next((k for k, s in RESULT_FORMATS.items() if out_path.suffix.lower() == s), None)
    if fmt not in RESULT_FORMATS:
        raise VoxprospectError(f"{out_path}: choose the format (geoh5 or OMF) or end the file name in "
                               + " or ".join(RESULT_FORMATS.values()))
    if out_path.suffix.lower() != RESULT_FORMATS[fmt]:
        out_path = out_path.with_name(out_path.name + RESULT_FORMATS[fmt])
    step(0.0, "reading the prospectivity volume")
    volume = read_volume(prospectivity_path)
    inputs = [prospectivity_path]
    if layers:
        missing = [n for n in layers if n not in volume]
        if missing:
            raise VoxprospectError(f"{prospectivity_path}: no layer named {', '.join(map(repr, missing))} "
                                   f"(it has {', '.join(volume.names)})")
        volume = volume.select(list(layers))
    targets = None
    if targets_path:
        step(0.2, "reading the targets")
        targets = read_volume(targets_path)
        volume.grid.require_same(targets.grid, f"{prospectivity_path} and {targets_path}")
        if "target_id" not in targets:
            raise VoxprospectError(f"{targets_path}: no target_id layer (write it with voxprospect:targets)")
        inputs.append(targets_path)
    elif threshold is not None:
        from voxprospect.mapping.targets import find_targets, targets_volume
        source = read_volume(prospectivity_path) if layers and layer not in volume else volume
        step(0.2, f"targets above {threshold:.4g}")
        targets = targets_volume(find_targets(source, threshold=threshold, layer=layer, min_voxels=min_voxels))
    step(0.5, f"writing {out_path.name}")
    write_results(volume, out_path, targets=targets, inputs=inputs, fmt=fmt)
    count = 0
    if targets is not None:
        import numpy as np
        count = int(len(np.unique(np.asarray(targets["target_id"])[np.asarray(targets["target_id"]) > 0])))
    step(1.0, "done")
    return {"output": str(out_path), "format": fmt, "layers": list(volume.names), "targets": count}


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
        summary = call_library(export_results, feedback, prospectivity, out, fmt=fmt, layers=layers,
                               targets_path=targets, threshold=threshold, layer=layer)
        feedback.pushInfo(tr("{}: layers {}, {} targets").format(summary["output"], ", ".join(summary["layers"]),
                                                                 summary["targets"]))
        return {self.OUTPUT: summary["output"], "TARGET_COUNT": summary["targets"]}
