"""Figures a geologist looks at: depth slices and cross-sections of a prospectivity volume.

Every run and the demo draw them beside their outputs:

- **depth slices**: a few horizontal levels (elevation in m a.s.l.), one panel each;
- **cross-sections**: a west-east and a south-north vertical section through the most
  prospective voxel.

Axes are world coordinates in metres (easting, northing, elevation), the CRS is named
on the figure, known orebodies are outlined in black and targets in white, so a figure
can be read without the software. Matplotlib's object API is used (no pyplot state), so
figures can be drawn from worker threads and inside QGIS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voxprospect.data.volume import Volume
from voxprospect.errors import LayerError
from voxprospect.io.safe_write import safe_output

__all__ = ["FigureSet", "choose_levels", "draw_sections"]


@dataclass
class FigureSet:
    """What :func:`draw_sections` drew: the files by role and the levels and sections shown."""

    paths: dict[str, Path] = field(default_factory=dict)
    levels_m: list[float] = field(default_factory=list)
    section_x_m: float | None = None  # easting of the south-north section
    section_y_m: float | None = None  # northing of the west-east section

    def describe(self) -> dict:
        """JSON-ready description for reports and summaries."""
        return {"files": {k: str(v) for k, v in self.paths.items()},
                "depth_slice_elevations_m": [round(z, 2) for z in self.levels_m],
                "section_we_northing_m": None if self.section_y_m is None else round(self.section_y_m, 2),
                "section_sn_easting_m": None if self.section_x_m is None else round(self.section_x_m, 2)}


def choose_levels(values: np.ndarray, n: int = 3) -> list[int]:
    """Level indices ``k`` to show: ``n`` levels spread over those holding data, the most prospective first.

    The level with the highest mean over its finite voxels comes first; the others are
    spread evenly over the levels that hold any finite value, so a figure never shows
    an empty (all-air) level.
    """
    finite = np.isfinite(values)
    has = np.flatnonzero(finite.any(axis=(0, 1)))
    if has.size == 0:
        return []
    with np.errstate(invalid="ignore"):
        sums = np.where(finite, values, 0.0).sum(axis=(0, 1))
        counts = finite.sum(axis=(0, 1))
        means = np.where(counts > 0, sums / np.maximum(counts, 1), -np.inf)
    best = int(np.argmax(means))
    picks = [best]
    for k in np.linspace(has[0], has[-1], num=max(n, 1) + 1).round().astype(int):
        k = int(has[np.argmin(np.abs(has - k))])
        if k not in picks and len(picks) < n:
            picks.append(k)
    return picks


def _section_through(values: np.ndarray) -> tuple[int, int]:
    """Column ``(i, j)`` of the most prospective voxel; among voxels tied at the maximum
    (a saturated map holds hundreds), the one nearest their middle, not the first in
    memory order, which sat in a corner of the grid."""
    top = np.nanmax(values)
    tied = np.argwhere(values >= top)
    middle = np.median(tied, axis=0)
    i, j, _ = tied[int(np.argmin(((tied - middle) ** 2).sum(axis=1)))]
    return int(i), int(j)


def _edges(grid, axis):
    o, d, n = grid.origin[axis], grid.cell_size[axis], grid.shape[axis]
    return o + d * np.arange(n + 1)


def _centres(grid, axis):
    return _edges(grid, axis)[:-1] + grid.cell_size[axis] / 2


def _outline(ax, xs, ys, mask2d, colour, label):
    """Outline a boolean mask on a section (cell centres), if it has any cell."""
    if mask2d is None or not mask2d.any() or min(mask2d.shape) < 2:
        return None
    cs = ax.contour(xs, ys, mask2d.T.astype(float), levels=[0.5], colors=[colour], linewidths=1.0)
    return cs, label


def _panel(ax, xe, ye, image, norm, title, xlab, ylab, outlines):
    mesh = ax.pcolormesh(xe, ye, np.ma.masked_invalid(image).T, cmap="viridis", norm=norm, shading="flat")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(xlab, fontsize=8)
    ax.set_ylabel(ylab, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.ticklabel_format(useOffset=False, style="plain")  # whole coordinates, not "+4.4e6"
    for xs, ys, m, colour, label in outlines:
        _outline(ax, xs, ys, m, colour, label)
    return mesh


def draw_sections(prospectivity: Volume, outdir, name: str = "prospectivity", layer: str = "prospectivity",
                  orebody=None, targets=None, n_levels: int = 3, inputs=()) -> FigureSet:
    """Draw depth slices and two cross-sections of one layer as PNGs in ``outdir``.

    Parameters
    ----------
    prospectivity : Volume
        Holds ``layer`` (NaN where inactive).
    outdir : path-like
        Folder for ``<name>_depth_slices.png`` and ``<name>_sections.png``.
    name : str
        File-name prefix (e.g. the model's name).
    orebody, targets : ndarray, optional
        Known orebody mask (``> 0``) and target labels (``> 0``) on the same grid, outlined.
    n_levels : int
        Depth slices to draw.
    inputs : iterable of path-like
        The run's inputs, which no figure may overwrite.

    Returns
    -------
    FigureSet

    Raises
    ------
    LayerError
        If the layer is missing or holds no finite value.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    if layer not in prospectivity.layers:
        raise LayerError(f"no layer {layer!r} to draw; the volume has {', '.join(prospectivity.layers)}")
    values = np.asarray(prospectivity.layers[layer], dtype=np.float64)
    values = np.where(prospectivity.active, values, np.nan)
    if not np.isfinite(values).any():
        raise LayerError(f"layer {layer!r} holds no finite value to draw")
    grid = prospectivity.grid
    ore = None if orebody is None else np.asarray(orebody) > 0
    tgt = None if targets is None else np.asarray(targets) > 0
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    norm = Normalize(vmin=min(lo, 0.0) if lo >= 0 else lo, vmax=max(hi, 1.0) if hi <= 1 else hi)
    crs = grid.crs or "no CRS"
    xe, ye, ze = (_edges(grid, a) for a in range(3))
    xc, yc, zc = (_centres(grid, a) for a in range(3))
    outdir = Path(outdir)
    result = FigureSet()

    # depth slices
    levels = choose_levels(values, n_levels)
    fig = Figure(figsize=(4.2 * max(len(levels), 1), 4.0), layout="constrained")
    FigureCanvasAgg(fig)
    mesh = None
    for p, k in enumerate(levels):
        ax = fig.add_subplot(1, len(levels), p + 1)
        ax.set_aspect("equal")
        outlines = [(xc, yc, None if ore is None else ore[:, :, k], "black", "orebody"),
                    (xc, yc, None if tgt is None else tgt[:, :, k], "white", "target")]
        mesh = _panel(ax, xe, ye, values[:, :, k], norm, f"z = {zc[k]:.0f} m a.s.l.", "Easting (m)",
                      "Northing (m)" if p == 0 else "", outlines)
    if mesh is not None:
        fig.colorbar(mesh, ax=fig.axes, label=f"{layer} (0-1)", shrink=0.8)
    fig.suptitle(f"{name}: depth slices ({crs}); black: known orebodies, white: targets", fontsize=10)
    path = outdir / f"{name}_depth_slices.png"
    with safe_output(path, inputs) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    result.paths["depth_slices"] = path
    result.levels_m = [float(zc[k]) for k in levels]

    # cross-sections through the most prospective voxel
    i, j = _section_through(values)
    result.section_y_m, result.section_x_m = float(yc[j]), float(xc[i])
    fig = Figure(figsize=(10.0, 6.4), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(2, 1, 1)
    mesh = _panel(ax, xe, ze, values[:, j, :], norm, f"West-east section at northing {yc[j]:.0f} m",
                  "Easting (m)", "Elevation (m)",
                  [(xc, zc, None if ore is None else ore[:, j, :], "black", "orebody"),
                   (xc, zc, None if tgt is None else tgt[:, j, :], "white", "target")])
    ax = fig.add_subplot(2, 1, 2)
    _panel(ax, ye, ze, values[i, :, :], norm, f"South-north section at easting {xc[i]:.0f} m",
           "Northing (m)", "Elevation (m)",
           [(yc, zc, None if ore is None else ore[i, :, :], "black", "orebody"),
            (yc, zc, None if tgt is None else tgt[i, :, :], "white", "target")])
    fig.colorbar(mesh, ax=fig.axes, label=f"{layer} (0-1)", shrink=0.8)
    fig.suptitle(f"{name}: cross-sections ({crs}); black: known orebodies, white: targets", fontsize=10)
    path = outdir / f"{name}_sections.png"
    with safe_output(path, inputs) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    result.paths["sections"] = path
    return result
