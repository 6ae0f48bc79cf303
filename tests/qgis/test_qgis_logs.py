"""Each library message appears once in the algorithm dialog's log and in a plain feedback's log."""

from __future__ import annotations

import logging

STEPS = ["Reading the volume", "Writing depth slices"]


def _library_run(progress=None):
    """Speaks as the pipeline does: _say logs and reports progress, chunks repeat the message."""
    from voxprospect.workflows.progress import say as _say
    for i, step in enumerate(STEPS):
        _say(progress, i / len(STEPS), step)
        for chunk in range(3):
            progress((i + chunk / 3) / len(STEPS), step)
    logging.getLogger("voxprospect.workflows.pipeline").info("wrote out.tif")
    return {}


def _dialog_log(dialog):
    from qgis.PyQt.QtWidgets import QTextEdit
    # the dialog's log is the text edit that is not its help panel
    texts = [w.toPlainText() for w in dialog.findChildren(QTextEdit)]
    return next(t for t in texts if "wrote out.tif" in t)


def test_progress_lines_once_in_the_algorithm_dialog(provider, qgis_app):
    from processing.gui.AlgorithmDialog import AlgorithmDialog
    from qgis.core import QgsApplication
    from voxprospect_plugin.algorithms.base import call_library

    dialog = AlgorithmDialog(QgsApplication.processingRegistry().createAlgorithmById("voxprospect:slices"))
    feedback = dialog.createFeedback()
    call_library(_library_run, feedback)
    qgis_app.processEvents()
    lines = _dialog_log(dialog).splitlines()
    for text in STEPS + ["wrote out.tif"]:
        assert lines.count(text) == 1, lines
    assert lines.index(STEPS[0]) < lines.index(STEPS[1]) < lines.index("wrote out.tif")


def test_progress_lines_once_in_a_plain_feedback(provider):
    from qgis.core import QgsProcessingFeedback
    from voxprospect_plugin.algorithms.base import call_library

    feedback = QgsProcessingFeedback()
    call_library(_library_run, feedback)
    lines = feedback.textLog().splitlines()
    assert lines == STEPS + ["wrote out.tif"]
