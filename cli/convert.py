"""``voxprospect convert IN OUT``: between volume formats (.vti, GOCAD .vo, UBC .msh, GeoTIFF)."""

from __future__ import annotations

from pathlib import Path

import click

from .options import _volume_output, cell_size_option, echo


@click.command(short_help="Convert between volume formats.")
@click.argument("src", metavar="IN", type=click.Path(dir_okay=False))
@click.argument("dst", metavar="OUT", type=click.Path(dir_okay=False), callback=_volume_output)
@click.option("--layer", "layers", multiple=True, help="Layer to keep (repeat for several; default all).")
@click.option("--like", type=click.Path(dir_okay=False),
              help="Resample onto the grid of this volume file (needed for irregular meshes).")
@cell_size_option
@click.option("--method", type=click.Choice(["mean", "linear", "nearest"]), default="mean", show_default=True,
              help="Resampling of rectilinear inputs (UBC meshes, .vtr).")
def convert(src, dst, layers, like, cell_size, method):
    """Read IN (format recognised by content: .vti, GOCAD Voxet, UBC-GIF mesh + model,
    VTK, OcTree, geoh5, OMF, LoopStructural recipe, multi-object GOCAD) and write OUT
    in the format of its extension: .vti, .vo (GOCAD Voxet + @@ property files),
    .msh (UBC-GIF mesh + one .mod per layer), .tif (GeoTIFF depth slices, one layer),
    .geoh5 (a block model, for Geoscience ANALYST), .omf (a volume, for Leapfrog). OUT is written atomically
    and may never be IN. A report
    ``OUT.report.json`` records the inputs and the grid."""
    from voxprospect.errors import OutputError
    from voxprospect.io import check_volume_output
    from voxprospect.io.outputs import check_output_file, step_outputs, volume_suffixes
    from voxprospect.io.safe_write import check_outputs_not_inputs

    if Path(src).resolve() == Path(dst).resolve():
        raise OutputError(f"{dst}: refusing to overwrite the input file; choose another OUT")
    # before any work: OUT, its side files and its report replace no input nor a file one uses
    ins = [src] + ([like] if like else [])
    check_output_file(dst, volume_suffixes(), what="converted volume", inputs=ins)
    check_volume_output(dst, ins)
    check_outputs_not_inputs(Path(dst).parent / f"{Path(dst).name}.report.json", ins)
    # a GOCAD voxet or UBC mesh is several files beside OUT: what appears there is the step's
    with step_outputs(folders=[Path(dst).parent]):
        _convert(src, dst, layers, like, cell_size, method)


def _convert(src, dst, layers, like, cell_size, method):
    import numpy as np

    from voxprospect.io import read_volume, write_volume
    from voxprospect.report import RunReport

    report = RunReport("convert", {"in": src, "out": dst, "layers": list(layers), "like": like,
                                   "cell_size": cell_size, "method": method})
    report.add_input(src)
    kwargs = {"method": method}
    if like:
        report.add_input(like)
        kwargs["grid"] = read_volume(like).grid
    elif cell_size is not None:
        kwargs["cell_size"] = cell_size
    from voxprospect.limits import MemoryLimitError
    with report.timer("read"):
        try:
            vol = _read(src, kwargs)
        except MemoryLimitError as e:
            if e.path is not None:
                raise
            how = f"--cell-size {cell_size:g}" if cell_size is not None else f"the grid of {like}"
            raise MemoryLimitError(src, f"resampling onto {how}: {e.problem}") from None
    if layers:
        missing = [n for n in layers if n not in vol]
        if missing:
            from voxprospect.errors import LayerError
            raise LayerError(f"{src}: no layer {', '.join(map(repr, missing))}; layers are: "
                             f"{', '.join(vol.names) or '(none)'}")
        vol = vol.select(layers)
    empty = [n for n in vol.names if vol[n].dtype.kind == "f" and not np.isfinite(vol[n][vol.active]).any()]
    for n in empty:  # converted as asked, but never without a word
        click.echo(f"Warning: {src}: layer {n!r} has no finite value in the active cells (all NaN)", err=True)
    report["empty_layers"] = empty
    with report.timer("write"):
        write_volume(vol, dst, inputs=[src] + ([like] if like else []))
    report.add_output(dst, role="converted_volume")
    report["grid"] = vol.grid.to_dict()
    report["layers"] = vol.names
    report.write(Path(dst).parent, f"{Path(dst).name}.report.json")
    echo(False, f"{dst}: {vol.grid.describe()}; layers {', '.join(vol.names) or '(none)'}")


def _read(src, kwargs):
    """read_volume, with a grid from --cell-size built for formats that take a grid."""
    from voxprospect.data.grid import VoxelGrid
    from voxprospect.io import read_volume, sniff_format

    fmt = sniff_format(src)
    if fmt in ("vtk-xml", "vtk-legacy"):
        return read_volume(src, **kwargs)
    cell_size = kwargs.pop("cell_size", None)
    if fmt == "ubc-mesh":
        if cell_size:
            from voxprospect.io.ubc import mesh_bounds, read_ubc, resample_rectilinear
            rect = read_ubc(src)
            return resample_rectilinear(rect, VoxelGrid.from_bounds(mesh_bounds(rect), cell_size), kwargs["method"])
        return read_volume(src, **kwargs)
    if fmt in ("geoh5", "omf", "ubc-octree", "loopstructural-recipe", "gempy"):
        # meshes and models are averaged / evaluated straight onto the requested grid
        grid = kwargs.get("grid")
        if grid is None and cell_size:
            box = read_volume(src).grid
            grid = VoxelGrid.from_bounds(box.bounds, cell_size, box.crs)
        return read_volume(src, grid=grid) if grid is not None else read_volume(src)
    vol = read_volume(src)
    grid = kwargs.get("grid") or (VoxelGrid.from_bounds(vol.grid.bounds, cell_size, vol.grid.crs)
                                  if cell_size else None)
    if grid is not None and grid != vol.grid:
        from voxprospect.data.rectilinear import resample_to_grid
        vol = resample_to_grid(vol, grid, "nearest" if kwargs["method"] == "nearest" else "linear")
    return vol
