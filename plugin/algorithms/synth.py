"""Build the synthetic demo district (``voxprospect.workflows.pipeline.run_synth``)."""

from __future__ import annotations


from voxprospect.vocabulary import DISTRICT_PRESETS
from qgis.core import (QgsProcessingOutputFile, QgsProcessingOutputFolder, QgsProcessingParameterEnum,
                       QgsProcessingParameterFolderDestination, QgsProcessingParameterNumber)

from .base import VoxprospectAlgorithm, call_library, tr

PRESETS = list(DISTRICT_PRESETS) + ["tiny"]  # tiny: a few seconds, for checks and tests


class BuildSyntheticDistrict(VoxprospectAlgorithm):
    _name = "synth"
    _display = "Build synthetic demo district"
    _group = "Data"
    _help = ("Builds the built-in Wulong-like synthetic gold district with gempy: geological "
             "model, density and susceptibility inversions, known orebodies, and a ready "
             "project.toml for the other algorithms. 'small' takes about a minute; 'paper' is "
             "the paper-sized grid; 'tiny' (coarse cells, seconds) is for trying the tools out.")

    PRESET, SEED, OUTPUT, PROJECT = "PRESET", "SEED", "OUTPUT", "PROJECT"

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterEnum(self.PRESET, tr("District size"), options=PRESETS,
                                                     defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(self.SEED, tr("Random seed"),
                                                       QgsProcessingParameterNumber.Integer, 42, minValue=0))
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT, tr("Output folder")))
        self.addOutput(QgsProcessingOutputFile(self.PROJECT, tr("Project file")))
        self.addOutput(QgsProcessingOutputFolder("FOLDER", tr("District folder")))

    def processAlgorithm(self, parameters, context, feedback):
        from voxprospect.workflows.pipeline import run_synth

        outdir = self.parameterAsString(parameters, self.OUTPUT, context)
        preset = PRESETS[self.parameterAsEnum(parameters, self.PRESET, context)]
        seed = self.parameterAsInt(parameters, self.SEED, context)
        summary = call_library(run_synth, feedback, outdir, preset=preset, seed=seed)
        project = summary.output("district_project")
        feedback.pushInfo(tr("project file: {}").format(project))
        return {self.OUTPUT: outdir, "FOLDER": outdir, self.PROJECT: str(project)}
