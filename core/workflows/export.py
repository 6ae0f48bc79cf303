"""Steps that turn one volume into another file: GeoTIFF depth slices, format conversion
and a targets GeoPackage.

Like every step, each checks its way out before any work (suffix, folder, never an
input), writes atomically, records ``report.json`` (``<OUT>.report.json`` beside the
file, since these write one file rather than a folder) and returns a
:class:`~voxprospect.workflows.result.StepResult`. The CLI's ``slices`` and ``convert``
and the plugin's slice export are adapters over them.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from voxprospect.errors import GridMismatchError, LayerError, OutputError, VoxprospectError
from voxprospect.report import RunReport
from voxprospect.workflows.common import check_threshold, read_orebodies, report_beside, select_layers
from voxprospect.workflows.progress import say
from voxprospect.workflows.result import StepResult

__all__ = ["run_convert", "run_export_targets", "run_slices"]

log = logging.getLogger(__name__)


def run_slices(volume_path, out_path, layer: str | None = None, progress=None) -> StepResult:
    """Write one layer of a volume as a multi-band GeoTIFF, one band per level, top first.

    Each band is described as ``z=<elevation> m`` (what the QGIS depth-slice dock
    scrolls). ``layer`` is needed when the volume has several.

    Raises
    ------
    LayerError, OutputError, InputFileError
    """
    from voxprospect.io import read_volume, write_geotiff_levels
    from voxprospect.io.outputs import GEOTIFF_SUFFIXES, check_output_file, step_outputs
    from voxprospect.io.safe_write import check_outputs_not_inputs

    out_path, report_path = Path(out_path), report_beside(out_path)
    check_output_file(out_path, GEOTIFF_SUFFIXES, what="GeoTIFF", inputs=[volume_path])
    check_outputs_not_inputs(report_path, [volume_path])
    say(progress, 0.0, "reading the volume")
    vol = read_volume(volume_path)
    if layer is not None and layer not in vol:
        raise LayerError(f"{volume_path}: no layer {layer!r}; layers are: {', '.join(vol.names) or '(none)'}")
    if layer is None and len(vol.names) != 1:
        raise LayerError(f"{volume_path}: choose a layer to export (--layer); the volume has "
                         f"{', '.join(vol.names) or 'no layer'}")
    layer = layer or vol.names[0]
    report = RunReport("slices", {"volume": str(volume_path), "layer": layer, "out": str(out_path)})
    report.add_input(volume_path)
    with step_outputs(files=[out_path, report_path]):
        say(progress, 0.5, "writing the depth slices")
        with report.timer("write"):
            write_geotiff_levels(vol, out_path, layer=layer, inputs=[volume_path])
        report.add_output(out_path, role="depth_slices")
        el = vol.grid.elevations
        report["levels"] = {"count": int(vol.grid.shape[2]), "top_elevation_m": float(el[-1]),
                            "bottom_elevation_m": float(el[0]), "band_order": "top first"}
        report["layer"] = layer
        report.write(report_path.parent, report_path.name)
    say(progress, 1.0, "done")
    return StepResult(report.data | {"output": str(out_path)}, report_path)


def run_convert(src, dst, layers=(), like=None, cell_size=None, method: str = "mean", progress=None,
                crs=None) -> StepResult:
    """Read ``src`` (format recognised by content) and write ``dst`` in the format of its suffix.

    ``like`` (a volume file) or ``cell_size`` give the grid to resample onto
    (irregular meshes need one); ``method`` is the resampling of rectilinear inputs.
    ``crs`` labels a volume that carries no CRS (GOCAD voxets, UBC meshes), so that its
    GeoTIFFs and target layers lie where they belong; a volume in another CRS is refused
    (relabelling is not reprojecting).
    ``dst`` never replaces ``src`` nor a file ``src`` uses (a voxet's property files).
    Layers without a finite value in the active cells are converted, and named in the
    report's ``empty_layers`` and a warning.
    """
    from voxprospect.io import check_volume_output, write_volume
    from voxprospect.io.outputs import check_output_file, step_outputs, volume_suffixes
    from voxprospect.io.safe_write import check_outputs_not_inputs

    from voxprospect.io.crs import check_crs

    if Path(src).resolve() == Path(dst).resolve():
        raise OutputError(f"{dst}: refusing to overwrite the input file; choose another OUT")
    if like and cell_size:
        raise VoxprospectError(f"{src}: give --like or --cell-size, not both (--like {like} fixes the cells)")
    crs = check_crs(crs, "--crs")
    ins = [src] + ([like] if like else [])
    check_output_file(dst, volume_suffixes(), what="converted volume", inputs=ins)
    check_volume_output(dst, ins)
    report_path = report_beside(dst)
    check_outputs_not_inputs(report_path, ins)
    report = RunReport("convert", {"in": str(src), "out": str(dst), "layers": list(layers), "like": like,
                                   "cell_size": cell_size, "method": method, "crs": crs})
    for p in ins:
        report.add_input(p)
    # a GOCAD voxet or UBC mesh is several files beside OUT: what appears there is the step's
    with step_outputs(folders=[Path(dst).parent]):
        say(progress, 0.0, f"reading {src}")
        with report.timer("read"):
            vol = _read_for_convert(src, like, cell_size, method)
        vol = select_layers(vol, layers, src)
        vol = _labelled(vol, crs, src)
        empty = [n for n in vol.names if vol[n].dtype.kind == "f" and not np.isfinite(vol[n][vol.active]).any()]
        report["empty_layers"] = empty
        report["warnings"] = [f"{src}: layer {n!r} has no finite value in the active cells (all NaN)"
                              for n in empty]  # converted as asked, but never without a word
        for w in report["warnings"]:
            log.info(w)
        say(progress, 0.6, f"writing {dst}")
        with report.timer("write"):
            write_volume(vol, dst, inputs=ins)
        report.add_output(dst, role="converted_volume")
        report["grid"] = vol.grid.to_dict()
        report["layers"] = vol.names
        report.write(report_path.parent, report_path.name)
    say(progress, 1.0, "done")
    return StepResult(report.data | {"output": str(dst), "describe": vol.grid.describe()}, report_path)


def _labelled(vol, crs, src):
    """``vol`` in ``crs`` (``--crs``) when it carries none; refused when it carries another."""
    from dataclasses import replace

    from voxprospect.io.crs import adopt_crs

    grid = adopt_crs(vol.grid, crs)
    if grid is None:
        raise GridMismatchError(f"{src}: the volume is in {vol.grid.crs}, not {crs}; --crs labels a volume without "
                                "a CRS, it does not reproject")
    return vol if grid is vol.grid else replace(vol, grid=grid)


def _read_for_convert(src, like, cell_size, method):
    """read_volume onto the grid asked for (``like``'s, or one of ``cell_size`` over the input's box)."""
    from voxprospect.data.grid import VoxelGrid
    from voxprospect.io import read_volume, sniff_format
    from voxprospect.limits import MemoryLimitError

    grid = read_volume(like).grid if like else None
    try:
        fmt = sniff_format(src)
        if fmt in ("vtk-xml", "vtk-legacy"):
            return read_volume(src, method=method, **({"grid": grid} if grid is not None else
                                                      {"cell_size": cell_size} if cell_size else {}))
        if fmt == "ubc-mesh":
            if cell_size and grid is None:
                from voxprospect.io.ubc import mesh_bounds, read_ubc, resample_rectilinear
                rect = read_ubc(src)
                return resample_rectilinear(rect, VoxelGrid.from_bounds(mesh_bounds(rect), cell_size), method)
            return read_volume(src, method=method, **({"grid": grid} if grid is not None else {}))
        if fmt in ("geoh5", "omf", "ubc-octree", "loopstructural-recipe", "gempy"):
            # meshes and models are averaged / evaluated straight onto the requested grid
            if grid is None and cell_size:
                box = read_volume(src).grid
                grid = VoxelGrid.from_bounds(box.bounds, cell_size, box.crs)
            return read_volume(src, grid=grid) if grid is not None else read_volume(src)
        vol = read_volume(src)
        if grid is None and cell_size:
            grid = VoxelGrid.from_bounds(vol.grid.bounds, cell_size, vol.grid.crs)
        if grid is not None and grid != vol.grid:
            from voxprospect.data.rectilinear import resample_to_grid
            vol = resample_to_grid(vol, grid, "nearest" if method == "nearest" else "linear")
        return vol
    except MemoryLimitError as e:
        if e.path is not None:
            raise
        how = f"cell size {cell_size:g}" if cell_size is not None else f"the grid of {like}"
        raise MemoryLimitError(src, f"resampling onto {how}: {e.problem}") from None
    except (GridMismatchError, LayerError) as e:  # "does not overlap the grid": which source, which grid
        if not like or str(e).startswith(str(src)):
            raise
        raise type(e)(f"{src} onto the grid of {like}: {e}") from None


def run_export_targets(prospectivity_path, out_path, threshold=None, orebody_path=None, layer=None,
                       min_voxels: int = 1, progress=None) -> StepResult:
    """The targets of a prospectivity volume as one GeoPackage (outlines per level, centroids, drill points).

    ``threshold`` is the prospectivity cut-off; when omitted, the prediction-area
    crossing against the known orebodies of ``orebody_path`` (its ``orebody`` layer, or
    its only layer). ``layer`` defaults to ``prospectivity``. Writes ``out_path`` and
    ``<out_path>.report.json``.

    Raises
    ------
    VoxprospectError
        Neither a threshold nor orebodies, a threshold outside 0..1, a wrong file or layer.
    """
    from voxprospect.errors import VoxprospectError
    from voxprospect.io import read_volume
    from voxprospect.io.outputs import check_output_file, step_outputs
    from voxprospect.io.safe_write import check_outputs_not_inputs
    from voxprospect.mapping.targets import find_targets, write_targets_gpkg

    check_threshold(threshold)
    if threshold is None and not orebody_path:
        raise VoxprospectError(f"{prospectivity_path}: give a threshold, or the known orebodies to pick it from "
                               "the prediction-area plot")
    out_path, report_path = Path(out_path), report_beside(out_path)
    inputs = [prospectivity_path] + ([orebody_path] if orebody_path else [])
    check_output_file(out_path, (".gpkg",), what="targets GeoPackage", inputs=inputs)
    check_outputs_not_inputs(report_path, inputs)
    say(progress, 0.0, "reading the prospectivity volume")
    volume = read_volume(prospectivity_path)
    layer = layer or ("prospectivity" if "prospectivity" in volume else volume.names[0])
    if layer not in volume:
        raise LayerError(f"{prospectivity_path}: no layer {layer!r}; layers are: {', '.join(volume.names)}")
    volume.require_finite(layer, prospectivity_path)
    report = RunReport("export_targets", {"prospectivity": str(prospectivity_path), "orebodies": orebody_path,
                                          "layer": layer, "threshold": threshold, "min_voxels": int(min_voxels),
                                          "out": str(out_path)})
    for p in inputs:
        report.add_input(p)
    orebody_mask = None
    if orebody_path:
        orebody_mask = read_orebodies(orebody_path, volume.grid, prospectivity_path)[0] > 0
    if threshold is None:
        from voxprospect.learn.evaluate import prediction_area
        say(progress, 0.2, "prediction-area threshold")
        threshold = float(prediction_area(volume, orebody_mask=orebody_mask, layer=layer).target_threshold)
        report["threshold_rule"] = "prediction-area crossing against the known orebodies"
    say(progress, 0.4, f"targets above {threshold:.4g}")
    with step_outputs(files=[out_path, report_path]):
        with report.timer("targets"):
            targets = find_targets(volume, threshold=float(threshold), layer=layer, deposits=orebody_mask,
                                   min_voxels=int(min_voxels))
        say(progress, 0.7, "writing the GeoPackage")
        with report.timer("write"):
            write_targets_gpkg(targets, volume.grid, out_path, prospectivity=volume[layer], inputs=inputs)
        report.add_output(out_path, role="targets_gpkg")
        report["threshold"] = float(threshold)
        report["targets"] = targets.summary()
        report["metrics"] = {"targets": len(targets)}
        report.write(report_path.parent, report_path.name)
    say(progress, 1.0, "done")
    return StepResult(report.data | {"output": str(out_path), "count": len(targets)}, report_path)
