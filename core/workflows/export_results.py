"""A prediction and its targets for the modelling packages, as one step: a geoh5 workspace
(Geoscience ANALYST) or an OMF project (Leapfrog, Deswik).

:func:`run_export_results` is what the QGIS plugin's *Export results to geoh5 / OMF*
runs: it reads a prediction volume (``prospectivity`` and, when the prediction wrote
them, ``prospectivity_std``, ``prospectivity_q10`` and ``attribution_<channel>``), takes
the targets from a target label volume or finds them on the mean at a threshold, and
writes them through :func:`voxprospect.io.results.write_results`, with
``<OUT>.report.json`` beside the file, like the other single-file steps
(:mod:`voxprospect.workflows.export`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voxprospect.errors import LayerError, VoxprospectError
from voxprospect.report import RunReport
from voxprospect.workflows.common import check_threshold, report_beside, select_layers
from voxprospect.workflows.progress import say
from voxprospect.workflows.result import StepResult

__all__ = ["run_export_results"]


def _result_format(out_path: Path, fmt: str | None) -> tuple[str, Path]:
    """The format and the file name with its suffix (added when ``out_path`` lacks it)."""
    from voxprospect.io.results import RESULT_FORMATS

    if fmt is None:
        fmt = next((k for k, s in RESULT_FORMATS.items() if out_path.suffix.lower() == s), None)
    if fmt not in RESULT_FORMATS:
        raise VoxprospectError(f"{out_path}: choose the format ({', '.join(RESULT_FORMATS)}) or end the file "
                               f"name in {' or '.join(RESULT_FORMATS.values())}")
    if out_path.suffix.lower() != RESULT_FORMATS[fmt]:
        out_path = out_path.with_name(out_path.name + RESULT_FORMATS[fmt])
    return fmt, out_path


def _targets(volume, prospectivity_path, targets_path, threshold, layer, min_voxels):
    """The target label volume: read (checked against the grid) or found at ``threshold``."""
    from voxprospect.io import read_volume
    from voxprospect.mapping.targets import find_targets, targets_volume

    if targets_path:
        targets = read_volume(targets_path)
        volume.grid.require_same(targets.grid, f"{prospectivity_path} and {targets_path}")
        if "target_id" not in targets:
            raise LayerError(f"{targets_path}: no target_id layer (the target volume voxprospect targets "
                             f"writes); layers are: {', '.join(targets.names) or '(none)'}")
        return targets
    if threshold is None:
        return None
    if layer not in volume:
        raise LayerError(f"{prospectivity_path}: no layer {layer!r} to find targets on; layers are: "
                         f"{', '.join(volume.names)}")
    return targets_volume(find_targets(volume, threshold=float(threshold), layer=layer, min_voxels=int(min_voxels)))


def run_export_results(prospectivity_path, out_path, fmt: str | None = None, layers=None, targets_path=None,
                       threshold=None, layer: str = "prospectivity", min_voxels: int = 1,
                       progress=None) -> StepResult:
    """Write a prediction volume (chosen layers, all by default) and its targets as geoh5 or OMF.

    Parameters
    ----------
    prospectivity_path : path-like
    out_path : path-like
        The ``.geoh5`` or ``.omf``; the format's suffix is added when missing.
    fmt : {"geoh5", "omf"}, optional
        Default: from the suffix of ``out_path``.
    layers : list of str, optional
    targets_path : path-like, optional
        A target label volume (``target_id``).
    threshold : float, optional
        Without ``targets_path``: find the targets on ``layer`` at this cut-off (0..1).
    layer : str
        The layer targets are found on (the mean, ``prospectivity``).
    min_voxels : int

    Returns
    -------
    StepResult
        The report, with ``output``, ``format``, ``layers`` and ``count`` (targets written).

    Raises
    ------
    VoxprospectError
        A wrong file, layer, format or threshold, or a missing geoh5py / omf (the message
        gives the install command). Nothing is left behind.
    """
    from voxprospect.io import read_volume
    from voxprospect.io.outputs import check_output_file, step_outputs
    from voxprospect.io.safe_write import check_outputs_not_inputs

    check_threshold(threshold)
    fmt, out_path = _result_format(Path(out_path), fmt)
    report_path = report_beside(out_path)
    inputs = [prospectivity_path] + ([targets_path] if targets_path else [])
    check_output_file(out_path, (out_path.suffix.lower(),), what=f"{fmt} results", inputs=inputs)
    check_outputs_not_inputs(report_path, inputs)
    say(progress, 0.0, "reading the prediction volume")
    full = read_volume(prospectivity_path)
    volume = select_layers(full, layers, prospectivity_path)
    say(progress, 0.2, "targets")
    targets = _targets(full, prospectivity_path, targets_path, threshold, layer, min_voxels)
    report = RunReport("export_results", {"prospectivity": str(prospectivity_path), "format": fmt,
                                          "layers": list(volume.names), "targets": targets_path,
                                          "threshold": threshold, "layer": layer, "min_voxels": int(min_voxels),
                                          "out": str(out_path)})
    for p in inputs:
        report.add_input(p)
    count = 0
    if targets is not None:
        ids = np.asarray(targets["target_id"])
        count = int(np.unique(ids[ids > 0]).size)
    with step_outputs(files=[out_path, report_path]):
        from voxprospect.io.results import write_results
        say(progress, 0.5, f"writing {out_path.name}")
        with report.timer("write"):
            write_results(volume, out_path, targets=targets, inputs=inputs, fmt=fmt)
        report.add_output(out_path, role=f"results_{fmt}")
        report["layers"] = list(volume.names)
        report["targets"] = {"count": count, "source": "target volume" if targets_path else
                             (f"{layer} >= {float(threshold):g}" if threshold is not None else None)}
        report["metrics"] = {"targets": count}
        report.write(report_path.parent, report_path.name)
    say(progress, 1.0, "done")
    return StepResult(report.data | {"output": str(out_path), "format": fmt, "layers": list(volume.names),
                                     "count": count}, report_path)
