"""Train a model (``voxprospect.workflows.pipeline.run_train``)."""

from __future__ import annotations


from qgis.core import (QgsProcessingOutputFile, QgsProcessingParameterDefinition, QgsProcessingParameterEnum,
                       QgsProcessingParameterFile,
                       QgsProcessingParameterFolderDestination, QgsProcessingParameterNumber)

from .base import PROJECT_EXTENSION, VoxprospectAlgorithm, call_library, tr

MODELS = ["DL4", "DL3", "DL2", "DL1", "RF"]
# first entry: leave the choice to the project file (its [training] device, else auto)
DEVICES = ["as the project says", "cpu", "cuda"]


class TrainModel(VoxprospectAlgorithm):
    _name = "train"
    _display = "Train prospectivity model"
    _help = ("Trains RCNN-LAM (presets DL1-DL4 of the paper's Table 1) or the random-forest "
             "baseline on windows cut around the project's known orebodies, evaluates it "
             "under the project's protocols (random, spatial blocks, leave-one-deposit-out) "
             "and writes the checkpoint (model.vxp.safetensors), curves and report.json. "
             "Epochs and seed default to the project's values.")

    PROJECT, MODEL, EPOCHS, SEED, DEVICE, OUTPUT, CHECKPOINT = (
        "PROJECT", "MODEL", "EPOCHS", "SEED", "DEVICE", "OUTPUT", "CHECKPOINT")

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFile(self.PROJECT, tr("Project file (.toml)"),
                                                     extension=PROJECT_EXTENSION))
        self.addParameter(QgsProcessingParameterEnum(self.MODEL, tr("Model"), options=MODELS, defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(self.EPOCHS, tr("Epochs (empty: the project's)"),
                                                       QgsProcessingParameterNumber.Integer, None,
                                                       optional=True, minValue=1))
        self.addParameter(QgsProcessingParameterNumber(self.SEED, tr("Random seed (empty: the project's)"),
                                                       QgsProcessingParameterNumber.Integer, None,
                                                       optional=True, minValue=0))
        device = QgsProcessingParameterEnum(self.DEVICE, tr("Torch device (CNN)"), options=DEVICES, defaultValue=0)
        device.setFlags(device.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        self.addParameter(device)
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT, tr("Output folder")))
        self.addOutput(QgsProcessingOutputFile(self.CHECKPOINT, tr("Model checkpoint")))

    def processAlgorithm(self, parameters, context, feedback):
        from voxprospect.workflows.pipeline import run_train

        project = self.parameterAsFile(parameters, self.PROJECT, context)
        outdir = self.parameterAsString(parameters, self.OUTPUT, context)
        model = MODELS[self.parameterAsEnum(parameters, self.MODEL, context)]
        epochs = optional_int(self, parameters, self.EPOCHS, context)
        seed = optional_int(self, parameters, self.SEED, context)
        choice = self.parameterAsEnum(parameters, self.DEVICE, context)
        device = DEVICES[choice] if choice else None
        summary = call_library(run_train, feedback, project, outdir, model=model, seed=seed, epochs=epochs,
                               device=device)
        checkpoint = summary.output("checkpoint")
        for protocol, m in (summary.get("metrics") or {}).items():
            if isinstance(m, dict):
                feedback.pushInfo(f"{protocol}: " + ", ".join(
                    f"{k} {v:.3f}" for k, v in m.items() if isinstance(v, (int, float))))
        return {self.OUTPUT: outdir, self.CHECKPOINT: str(checkpoint)}


def optional_int(alg, parameters, name, context):
    """An optional integer parameter: None when left empty."""
    value = parameters.get(name)
    if value is None or value == "":
        return None
    return alg.parameterAsInt(parameters, name, context)
