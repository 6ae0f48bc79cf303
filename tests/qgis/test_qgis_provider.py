"""The provider registers every voxprospect algorithm with typed parameters."""

from __future__ import annotations

import pytest

EXPECTED = {"synth", "evidence", "train", "predict", "targets", "exporttargets", "exportresults", "slices",
            "runproject", "installpackages"}


def test_provider_registers_every_algorithm(provider):
    from qgis.core import QgsApplication
    registry = QgsApplication.processingRegistry()
    assert registry.providerById("voxprospect") is provider
    assert {a.name() for a in provider.algorithms()} == EXPECTED
    for name in EXPECTED:
        alg = registry.algorithmById(f"voxprospect:{name}")
        assert alg is not None, name
        assert alg.displayName() and alg.shortHelpString(), name
        assert not alg.icon().isNull(), name


@pytest.mark.parametrize("alg_id, kinds", [
    ("voxprospect:synth", {"PRESET": "enum", "SEED": "number", "OUTPUT": "folderDestination"}),
    ("voxprospect:train", {"PROJECT": "file", "MODEL": "enum", "EPOCHS": "number",
                           "OUTPUT": "folderDestination"}),
    ("voxprospect:predict", {"MODEL": "file", "EVIDENCE": "file", "OUTPUT": "fileDestination",
                             "SLICES": "rasterDestination"}),
    ("voxprospect:targets", {"PROSPECTIVITY": "file", "THRESHOLD": "number", "OUTPUT": "folderDestination"}),
    ("voxprospect:exporttargets", {"PROSPECTIVITY": "file", "THRESHOLD": "number", "OUTPUT": "fileDestination"}),
    ("voxprospect:slices", {"VOLUME": "file", "LAYER": "string", "OUTPUT": "rasterDestination"}),
])
def test_parameters_are_typed(provider, alg_id, kinds):
    from qgis.core import QgsApplication
    alg = QgsApplication.processingRegistry().algorithmById(alg_id)
    for name, kind in kinds.items():
        param = alg.parameterDefinition(name)
        assert param is not None, f"{alg_id} has no {name}"
        assert param.type() == kind, f"{alg_id}.{name} is {param.type()}"


def test_optional_overrides_are_optional(provider):
    from qgis.core import QgsApplication, QgsProcessingParameterDefinition
    alg = QgsApplication.processingRegistry().algorithmById("voxprospect:train")
    for name in ("EPOCHS", "SEED"):
        assert alg.parameterDefinition(name).flags() & QgsProcessingParameterDefinition.FlagOptional
    assert not alg.parameterDefinition("PROJECT").flags() & QgsProcessingParameterDefinition.FlagOptional
