"""What every step checks before it starts: the models asked for, the torch device,
the output folder (creatable, writable, room for the volumes), and the project's
settings sections as plain dicts."""

from __future__ import annotations

from pathlib import Path


from voxprospect.errors import VoxprospectError
from voxprospect.vocabulary import MODELS



MODEL_NAMES = MODELS


def check_models(models) -> list:
    """Model names, upper-cased; an unknown one stops the run before any work."""
    out = [str(m).strip().upper() for m in models]
    unknown = [m for m in out if m not in MODEL_NAMES]
    if unknown:
        raise VoxprospectError(f"unknown model(s) {', '.join(unknown)}; use any of {', '.join(MODEL_NAMES)}")
    if not out:
        raise VoxprospectError("no model to train; name at least one of " + ", ".join(MODEL_NAMES))
    return out


def check_device(device) -> str:
    """``auto``, ``cpu`` or ``cuda``; ``cuda`` only where torch sees a CUDA device.

    Raises
    ------
    VoxprospectError
    """
    device = "auto" if device is None else str(device)
    if device not in ("auto", "cpu", "cuda"):
        raise VoxprospectError(f"unknown device {device!r}; use auto, cpu or cuda")
    if device == "cuda":
        import torch
        if not torch.cuda.is_available():
            raise VoxprospectError("device cuda was asked for but torch sees no CUDA device "
                                   f"(torch {torch.__version__}); use --device cpu or auto")
    return device


def check_outdir(outdir, project=None) -> Path:
    """The output folder, checked (creatable, writable, room for the volumes) but not created."""
    from voxprospect.io.outputs import check_folder, volume_bytes

    outdir = Path(outdir if outdir is not None else project.output_dir)
    need = 0
    if project is not None and project.grid is not None:
        need = volume_bytes(project.grid.n_cells, max(len(project.evidence), 1))
    return check_folder(outdir, need_bytes=need)


def settings_dict(obj) -> dict:
    """A project settings section as a plain dict (dataclass or mapping)."""
    from dataclasses import asdict, is_dataclass
    d = asdict(obj) if is_dataclass(obj) else dict(obj)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def add_project_inputs(report, project):
    report.add_input(project.path)
    for p in project.input_paths():
        report.add_input(p)


class null_timer:
    def __init__(self, *_):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def buffer_override(buffer_m) -> dict:
    return {} if buffer_m is None else {"buffer_m": float(buffer_m)}


def select_layers(volume, layers, path):
    """``volume`` with only ``layers`` (all when empty); a missing one is a
    :class:`~voxprospect.errors.LayerError` naming ``path`` and the layers there are."""
    from voxprospect.errors import LayerError

    if not layers:
        return volume
    missing = [n for n in layers if n not in volume]
    if missing:
        raise LayerError(f"{path}: no layer {', '.join(map(repr, missing))}; layers are: "
                         f"{', '.join(volume.names) or '(none)'}")
    return volume.select(list(layers))


def check_threshold(threshold) -> None:
    """A target threshold is a probability from 0 to 1 (or None: from the P-A plot)."""
    if threshold is not None and not (isinstance(threshold, (int, float)) and not isinstance(threshold, bool)
                                      and 0.0 <= float(threshold) <= 1.0):
        raise VoxprospectError(f"threshold must be a probability between 0 and 1, got {threshold!r}")


def report_beside(out_path) -> Path:
    """``<OUT>.report.json`` beside a step's single output file."""
    out_path = Path(out_path)
    return out_path.parent / f"{out_path.name}.report.json"


def read_orebodies(path, grid, against, layer: str | None = None):
    """The known orebodies of a volume file on ``grid``: ``(deposit ids, names, layer)``.

    ``layer`` defaults to ``orebody`` when the file has one, else its first layer;
    ``against`` names the other file in a grid mismatch.

    Raises
    ------
    GridMismatchError, LayerError, NoPositivesError
        Naming ``path``.
    """
    import numpy as np

    from voxprospect.errors import LayerError, NoPositivesError
    from voxprospect.io import read_volume

    ob = read_volume(path)
    grid.require_same(ob.grid, f"{against} and {path}")
    if layer is None:
        layer = "orebody" if "orebody" in ob or not ob.names else ob.names[0]
    if layer not in ob:
        raise LayerError(f"{path}: no {layer!r} layer (the known orebodies, deposit ids > 0); "
                         f"layers are: {', '.join(ob.names) or '(none)'}")
    ids = np.asarray(ob[layer])
    if not (ids > 0).any():
        raise NoPositivesError(f"{path}: the layer {layer!r} selects no orebody voxel")
    names = {int(i): n for i, n in ob.classes.get(layer, {}).items() if int(i) > 0}
    return ids, names, layer
