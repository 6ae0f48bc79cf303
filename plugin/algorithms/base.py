"""What every voxprospect algorithm shares: feedback -> progress, errors -> messages.

An algorithm is a short adapter: read parameters, call one ``voxprospect`` function
through :func:`call_library`, register outputs. The library reports progress through
``progress(fraction, message)``; :func:`progress_from_feedback` makes that callable
from QGIS's ``feedback`` and raises :class:`voxprospect.errors.Cancelled` when the
user presses Cancel, so long runs stop between chunks instead of freezing QGIS.
"""

from __future__ import annotations

import logging
import os

from qgis.core import (QgsProcessingAlgorithm, QgsProcessingContext, QgsProcessingException,
                       QgsProcessingLayerPostProcessorInterface, QgsProcessingOutputNumber,
                       QgsProcessingOutputVectorLayer, QgsProcessingParameterNumber)
from qgis.PyQt.QtCore import QCoreApplication

from .. import deps

ICON_PATH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "icons", "icon.svg")


def tr(text: str) -> str:
    return QCoreApplication.translate("voxprospect", text)


def _progress_text_is_logged(feedback) -> bool:
    """Does ``feedback`` write its progress text to a log by itself?

    The algorithm dialog's feedback (a C++ subclass) signals ``progressTextChanged``
    to the dialog, which logs it; a plain ``QgsProcessingFeedback`` has no such
    signal and keeps progress text out of its text log.
    """
    signal = getattr(feedback, "progressTextChanged", None)
    if signal is None:
        return False
    try:
        return feedback.receivers(signal) > 0
    except Exception:  # an unknown feedback: log it ourselves
        return False


class _OneLog:
    """Each library message reaches the algorithm's log once.

    The library says a step both ways: ``log.info(message)`` then
    ``progress(fraction, message)``. The algorithm dialog logs
    ``setProgressText`` by itself, so writing the message with ``pushInfo`` as
    well showed it two or three times. Here a logged INFO record is held back
    until the next event: if ``progress`` brings the same text, the dialog's
    progress label (which logs it) is the only copy; otherwise it is pushed as
    info. Warnings go out at once, after whatever is held.
    """

    def __init__(self, feedback):
        self.feedback = feedback
        self.pending = None
        self.last_progress = None
        self.label_logs = _progress_text_is_logged(feedback)

    def info(self, text):
        self.flush()
        self.pending = text

    def warning(self, text):
        self.flush()
        self.feedback.reportError(text, fatalError=False)

    def progress_text(self, text):
        if self.pending == text:
            self.pending = None
        else:
            self.flush()
        if text != self.last_progress:
            # the library repeats a step's message with each chunk: one line per step
            self.last_progress = text
            self.feedback.setProgressText(text)
            if not self.label_logs:  # qgis_process, processing.run: the text log is all there is
                self.feedback.pushInfo(text)

    def flush(self):
        if self.pending is not None:
            text, self.pending = self.pending, None
            self.feedback.pushInfo(text)


def progress_from_feedback(feedback, log=None):
    """A ``progress(fraction, message)`` callable that reports to ``feedback``.

    Raises
    ------
    voxprospect.errors.Cancelled
        From the callable, as soon as the user has pressed Cancel.
    """
    from voxprospect.errors import Cancelled

    if log is None and feedback is not None:
        log = _OneLog(feedback)

    def progress(fraction: float, message: str = "") -> None:
        if feedback is None:
            return
        if feedback.isCanceled():
            raise Cancelled("cancelled by the user")
        feedback.setProgress(max(0.0, min(100.0, 100.0 * float(fraction))))
        if message:
            log.progress_text(message)

    return progress


class _FeedbackLogHandler(logging.Handler):
    """Sends the library's log records to the algorithm's log panel (through :class:`_OneLog`)."""

    def __init__(self, log: _OneLog):
        super().__init__(logging.INFO)
        self.log = log

    def emit(self, record):
        try:
            text = self.format(record)
            if record.levelno >= logging.WARNING:
                self.log.warning(text)
            else:
                self.log.info(text)
        except Exception:  #  logging must never break a run
            pass


def call_library(func, feedback, *args, **kwargs):
    """Run one voxprospect function with QGIS feedback; user errors become messages.

    Parameters
    ----------
    func : callable
        A pipeline function taking ``progress=``.
    feedback : QgsProcessingFeedback
    *args, **kwargs
        Passed to ``func``.

    Returns
    -------
    whatever ``func`` returns (the run's summary dict for pipeline functions).

    Raises
    ------
    QgsProcessingException
        With the library's message for a :class:`~voxprospect.errors.VoxprospectError`
        (wrong file, no positives...), with "cancelled" when the user cancelled, and
        with the install command when a dependency fails to import.
    """
    from voxprospect.errors import Cancelled, VoxprospectError

    logger = logging.getLogger("voxprospect")
    one_log = _OneLog(feedback) if feedback is not None else None
    handler = _FeedbackLogHandler(one_log) if feedback is not None else None
    old_level = logger.level
    if handler is not None:
        logger.addHandler(handler)
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)
    try:
        return func(*args, progress=progress_from_feedback(feedback, one_log), **kwargs)
    except Cancelled:
        raise QgsProcessingException(tr("Cancelled by the user.")) from None
    except VoxprospectError as e:
        raise QgsProcessingException(str(e)) from None
    except ImportError as e:
        name = getattr(e, "name", None) or str(e)
        raise QgsProcessingException(
            tr("a Python package failed to import ({})\n").format(name)
            + deps.install_message([deps.REQUIRED.get(name.split(".")[0], name.split(".")[0])])) from None
    finally:
        if handler is not None:
            one_log.flush()
            logger.removeHandler(handler)
            logger.setLevel(old_level)


def load_on_completion(context: QgsProcessingContext, uri: str, name: str, output_name: str,
                       post_processor=None, layer_type=None) -> None:
    """Ask QGIS to add ``uri`` to the project when the algorithm has finished.

    Layers are loaded on the main thread after the run (algorithms run in a worker
    thread and must not touch the project), exactly like a destination parameter's.
    """
    details = QgsProcessingContext.LayerDetails(name, context.project(), output_name)
    if layer_type is not None:
        details.layerTypeHint = layer_type
    if post_processor is not None:
        details.setPostProcessor(post_processor)
    context.addLayerToLoadOnCompletion(uri, details)


class StyleSlices(QgsProcessingLayerPostProcessorInterface):
    """Give a loaded depth-slice GeoTIFF the shared pseudo-colour style."""

    _keep = []  # QGIS holds post-processors by raw pointer: keep them alive

    def __init__(self, band: int = 1):
        super().__init__()
        self.band = band

    def postProcessLayer(self, layer, context, feedback):  # (QGIS API)
        from ..slices import style_depth_slices
        style_depth_slices(layer, band=self.band)

    @classmethod
    def create(cls, band: int = 1):
        obj = cls(band)
        cls._keep.append(obj)
        return obj


class StyleTargets(QgsProcessingLayerPostProcessorInterface):
    """Graduated style on max_prospectivity for target outlines and centroids."""

    _keep = []

    def postProcessLayer(self, layer, context, feedback):  # (QGIS API)
        from ..targets_style import style_targets_layer
        style_targets_layer(layer)

    @classmethod
    def create(cls):
        obj = cls()
        cls._keep.append(obj)
        return obj


class VoxprospectAlgorithm(QgsProcessingAlgorithm):
    """Base class: naming, grouping, icon and a fresh instance per run."""

    _name = ""
    _display = ""
    _group = "Pipeline"
    _help = ""

    def name(self):
        return self._name

    def displayName(self):
        return tr(self._display)

    def group(self):
        return tr(self._group)

    def groupId(self):
        return self._group.lower().replace(" ", "")

    def shortHelpString(self):
        return tr(self._help)

    def icon(self):
        from qgis.PyQt.QtGui import QIcon
        return QIcon(ICON_PATH)

    def createInstance(self):
        return type(self)()


SLICES_FILTER = "GeoTIFF depth slices (*.tif *.tiff)"
VOLUME_FILTER = ("Volumes (*.vti *.vtk *.vtr *.vts *.tif *.tiff *.vo *.msh *.geoh5 *.omf *.json *.ts);;"
                 "All files (*)")
PROJECT_EXTENSION = "toml"

TARGET_LAYERS = ("target_outlines", "target_centroids", "target_drill_points")


def style_raster_output(context: QgsProcessingContext, path: str, name: str | None = None) -> None:
    """Style a raster destination QGIS will load (pseudo-colour over all levels)."""
    if path and context.willLoadLayerOnCompletion(path):
        details = context.layerToLoadOnCompletionDetails(path)
        if name:
            details.name = name
        details.setPostProcessor(StyleSlices.create())


def load_slices(context: QgsProcessingContext, path: str, name: str, output_name: str) -> None:
    """Load a depth-slice GeoTIFF written by the library (not a destination parameter)."""
    from qgis.core import QgsProcessingUtils
    load_on_completion(context, path, name, output_name, StyleSlices.create(),
                       QgsProcessingUtils.LayerHint.Raster)


def threshold_label(threshold) -> str:
    """The threshold as layer names show it: 3 significant figures ("p ≥ 0.623")."""
    if threshold is None:
        return ""
    return f" (p ≥ {float(threshold):.3g})"


def load_targets(context: QgsProcessingContext, gpkg: str, prefix: str = "", threshold=None) -> dict:
    """Load a targets GeoPackage's outline, centroid and drill-point layers, styled, on completion.

    Layer names carry the threshold, rounded: "target outlines (p ≥ 0.623)".

    Returns
    -------
    dict
        ``{"OUTLINES": uri, "CENTROIDS": uri, "DRILL_POINTS": uri}`` for the algorithm's
        outputs (no ``DRILL_POINTS`` when the GeoPackage has none).
    """
    import fiona
    from qgis.core import QgsProcessingUtils
    try:
        present = set(fiona.listlayers(gpkg))
    except Exception:  # let QGIS report an unreadable file when it loads it
        present = set(TARGET_LAYERS)
    uris = {}
    suffix = threshold_label(threshold)
    for key, layer in zip(("OUTLINES", "CENTROIDS", "DRILL_POINTS"), TARGET_LAYERS):
        if layer not in present:
            continue
        uri = f"{gpkg}|layername={layer}"
        load_on_completion(context, uri, prefix + layer.replace("_", " ") + suffix, key, StyleTargets.create(),
                           QgsProcessingUtils.LayerHint.Vector)
        uris[key] = uri
    return uris


def output_of(result, role: str, contains: str = "") -> str | None:
    """The first file of ``role`` that a step wrote (its result's outputs by role).

    Every step returns a :class:`voxprospect.workflows.StepResult` whose ``outputs``
    list what it wrote by role, so nothing is guessed from file names or folders.
    """
    for path in result.outputs_of(role, contains) if hasattr(result, "outputs_of") else ():
        if path.is_file():
            return str(path)
    return None


def add_threshold_parameters(alg) -> None:
    """The THRESHOLD (empty: from the P-A plot) and MIN_VOXELS parameters of the target algorithms."""
    alg.addParameter(QgsProcessingParameterNumber("THRESHOLD", tr("Threshold (empty: from P-A)"),
                                                  QgsProcessingParameterNumber.Double, None,
                                                  optional=True, minValue=0.0, maxValue=1.0))
    alg.addParameter(QgsProcessingParameterNumber("MIN_VOXELS", tr("Smallest target (voxels)"),
                                                  QgsProcessingParameterNumber.Integer, 1, minValue=1))


def add_target_outputs(alg) -> None:
    """The layers and numbers every target algorithm returns (see :func:`load_targets`)."""
    alg.addOutput(QgsProcessingOutputVectorLayer("OUTLINES", tr("Target outlines")))
    alg.addOutput(QgsProcessingOutputVectorLayer("CENTROIDS", tr("Target centroids")))
    alg.addOutput(QgsProcessingOutputVectorLayer("DRILL_POINTS", tr("Drill points (most prospective voxel "
                                                                    "of each target)")))
    alg.addOutput(QgsProcessingOutputNumber("THRESHOLD_USED", tr("Threshold used")))
    alg.addOutput(QgsProcessingOutputNumber("TARGET_COUNT", tr("Number of targets")))
