"""Build the evidence stack from a project file (``voxprospect.workflows.pipeline.run_evidence``)."""

from __future__ import annotations

from qgis.core import QgsProcessingParameterFile, QgsProcessingParameterFileDestination

from .base import PROJECT_EXTENSION, VoxprospectAlgorithm, call_library, tr


class BuildEvidence(VoxprospectAlgorithm):
    _name = "evidence"
    _display = "Build evidence volume"
    _help = ("Voxelises the project's geological objects and geophysical inversions onto its "
             "grid and derives the evidence layers (distance buffers, fuzzy memberships, "
             "standardised geophysics) into one .vti volume.")

    PROJECT, OUTPUT = "PROJECT", "OUTPUT"

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFile(self.PROJECT, tr("Project file (.toml)"),
                                                     extension=PROJECT_EXTENSION))
        self.addParameter(QgsProcessingParameterFileDestination(self.OUTPUT, tr("Evidence volume"),
                                                                fileFilter="VTK ImageData (*.vti)"))

    def processAlgorithm(self, parameters, context, feedback):
        from voxprospect.workflows.pipeline import run_evidence

        project = self.parameterAsFile(parameters, self.PROJECT, context)
        out = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        call_library(run_evidence, feedback, project, out)
        return {self.OUTPUT: out}
