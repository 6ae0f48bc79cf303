"""Depth slices in the map: one multi-band GeoTIFF, band per elevation level.

voxprospect writes a volume layer as a GeoTIFF whose band ``b`` (1-based) holds the
level ``k = nz - b`` (top first) and whose band description is ``z=<elev> m``
(:func:`voxprospect.io.write_geotiff_levels`). Showing another depth is then only
a change of the renderer's band: no file is read or written, so a slider over the
levels is instant.

This module holds the logic, free of widgets, so it runs (and is tested) headless;
:mod:`.dock` only wires widgets to :class:`DepthSlices`.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from qgis.core import (QgsColorRampShader, QgsMapLayerLegend, QgsRasterBandStats, QgsRasterLayer, QgsRasterShader,
                       QgsSingleBandPseudoColorRenderer, QgsStyle)

_Z_RE = re.compile(r"z=\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*m")

#: colour ramp for continuous layers (prospectivity, distances, geophysics); perceptually
#: uniform and readable in grey, so highs stand out in print too.
DEFAULT_RAMP = "Magma"


# stops of matplotlib's magma and of ColorBrewer's Reds, for a QGIS whose default style
# has no ramps (a bare QgsApplication without its prefix path)
_FALLBACK_RAMPS = {
    "Magma": ["#000004", "#3b0f70", "#8c2981", "#de4968", "#fe9f6d", "#fcfdbf"],
    "Reds": ["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"],
}


def color_ramp(name: str):
    """A colour ramp of QGIS's default style, or a built-in copy when the style lacks it."""
    from qgis.core import QgsGradientColorRamp, QgsGradientStop
    from qgis.PyQt.QtGui import QColor

    ramp = QgsStyle.defaultStyle().colorRamp(name)
    if ramp is not None:
        return ramp
    colours = [QColor(c) for c in _FALLBACK_RAMPS.get(name, _FALLBACK_RAMPS["Magma"])]
    n = len(colours) - 1
    stops = [QgsGradientStop(i / n, c) for i, c in enumerate(colours[1:-1], start=1)]
    return QgsGradientColorRamp(colours[0], colours[-1], False, stops)


def band_elevations(layer: QgsRasterLayer) -> list[float | None]:
    """Elevation (m) of each band, band 1 first, from the ``z=<elev> m`` descriptions.

    ``None`` for a band without such a description (a GeoTIFF not written by
    voxprospect).
    """
    out = []
    provider = layer.dataProvider()
    for b in range(1, layer.bandCount() + 1):
        m = _Z_RE.search(provider.generateBandName(b) or "")
        out.append(float(m.group(1)) if m else None)
    return out


def band_maxima(layer: QgsRasterLayer, sample_size: int = 250_000) -> list[tuple[float, float] | None]:
    """(minimum, maximum) of each band, band 1 first; None for an all-nodata band (air)."""
    provider = layer.dataProvider()
    out = []
    for b in range(1, layer.bandCount() + 1):
        stats = provider.bandStatistics(b, QgsRasterBandStats.Min | QgsRasterBandStats.Max,
                                        layer.extent(), sample_size)
        lo, hi = float(stats.minimumValue), float(stats.maximumValue)
        # an all-nodata band comes back as min=+DBL_MAX, max=-DBL_MAX (elementCount stays 0
        # for Min|Max statistics, so it cannot tell); older providers gave 0, 0
        empty = not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo or abs(lo) > 1e300 \
            or (stats.elementCount == 0 and lo == hi == 0)
        out.append(None if empty else (lo, hi))
    return out


def value_range(layer: QgsRasterLayer, sample_size: int = 250_000) -> tuple[float, float]:
    """Minimum and maximum over all bands, so one colour means one value at every depth."""
    known = [m for m in band_maxima(layer, sample_size) if m is not None]
    if not known:
        return 0.0, 1.0
    lo, hi = min(m[0] for m in known), max(m[1] for m in known)
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi


def tidy_number(value: float, digits: int = 3) -> str:
    """A legend label: 4.6e-15 -> "0", 0.98349 -> "0.983"."""
    text = f"{round(float(value), digits):.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


#: the shared layer names of a prediction volume (docs/uncertainty.md)
MEAN_LAYER, STD_LAYER, Q10_LAYER, ATTRIBUTION_PREFIX = ("prospectivity", "prospectivity_std", "prospectivity_q10",
                                                       "attribution_")

#: ramp for the uncertainty (std) layer: another hue family than the prospectivity's magma,
#: so a glance tells which of the two the map shows
UNCERTAINTY_RAMP = "Viridis"


def layer_kind(name: str) -> str:
    """What a volume layer holds, from its shared name.

    Returns
    -------
    str
        ``"prospectivity"`` (the mean), ``"uncertainty"`` (``prospectivity_std``),
        ``"quantile"`` (``prospectivity_q10``), ``"attribution"`` (``attribution_<channel>``)
        or ``"other"``.
    """
    name = (name or "").strip().lower()
    if name == STD_LAYER:
        return "uncertainty"
    if name == Q10_LAYER:
        return "quantile"
    if name.startswith(ATTRIBUTION_PREFIX):
        return "attribution"
    if name == MEAN_LAYER or "prospectivity" in name:
        return "prospectivity"
    return "other"


def layer_description(name: str) -> str:
    """A layer choice as the dock lists it: "prospectivity_std (uncertainty)"."""
    kind = layer_kind(name)
    extra = {"uncertainty": "uncertainty", "quantile": "lower quantile",
             "attribution": "evidence attribution"}.get(kind)
    if kind == "prospectivity" and name == MEAN_LAYER:
        return name
    return f"{name} ({extra})" if extra else name


def ramp_for(name: str) -> str:
    """The colour ramp of a layer: viridis for the uncertainty, magma for the rest.

    The 10th percentile keeps the prospectivity's ramp (one colour, one probability).
    """
    return UNCERTAINTY_RAMP if layer_kind(name) == "uncertainty" else DEFAULT_RAMP


def legend_title(base_name: str, vmin: float, vmax: float) -> str:
    """What the ramp stands for: "Prospectivity (0–1)" for a prospectivity layer.

    The uncertainty layer reads "Uncertainty (std of prospectivity)", the lower quantile
    "Prospectivity, 10th percentile (0–1)", an attribution "Attribution of <channel>".
    """
    raw = (base_name or "value").strip()
    kind = layer_kind(raw)
    in_unit = vmin >= -1e-6 and vmax <= 1 + 1e-6
    if kind == "uncertainty":
        return "Uncertainty (std of prospectivity)"
    if kind == "quantile":
        return "Prospectivity, 10th percentile" + (" (0–1)" if in_unit else "")
    if kind == "attribution":
        return "Attribution of " + raw[len(ATTRIBUTION_PREFIX):].replace("_", " ")
    name = raw.replace("_", " ")
    if kind == "prospectivity" and in_unit:
        return "Prospectivity (0–1)"
    return name[:1].upper() + name[1:]


def style_depth_slices(layer: QgsRasterLayer, band: int = 1, ramp_name: str | None = None,
                       vmin: float | None = None, vmax: float | None = None, classes: int = 6) -> None:
    """Give ``layer`` a pseudo-colour renderer on ``band`` with a ramp fixed over all levels.

    Parameters
    ----------
    layer : QgsRasterLayer
    band : int
        1-based band (band 1 is the top level).
    ramp_name : str, optional
        A ramp of QGIS's default style ("Magma", "Viridis", ...); by default
        :func:`ramp_for` the layer's name (viridis for the uncertainty).
    vmin, vmax : float, optional
        Value range of the ramp; the range over all bands when omitted.
    classes : int
        Number of legend entries.
    """
    if vmin is None or vmax is None:
        lo, hi = value_range(layer)
        vmin = lo if vmin is None else vmin
        vmax = hi if vmax is None else vmax
    base_name = re.sub(r"\s*z=.*$", "", layer.name())
    ramp = color_ramp(ramp_name or ramp_for(base_name))
    ramp_shader = QgsColorRampShader(vmin, vmax, ramp, QgsColorRampShader.Interpolated,
                                     QgsColorRampShader.Continuous)
    ramp_shader.classifyColorRamp(classes, -1)
    try:  # a tidy continuous legend bar: "0.11" rather than "0.109561"
        from qgis.core import QgsColorRampLegendNodeSettings
        legend = QgsColorRampLegendNodeSettings()
        legend.setMinimumLabel(tidy_number(vmin))
        # the ramp names its quantity: "1 · Prospectivity (0–1)"
        title = legend_title(base_name, vmin, vmax)
        legend.setMaximumLabel(f"{tidy_number(vmax)} · {title}")
        ramp_shader.setLegendSettings(legend)
    except ImportError:  # QGIS < 3.18 has no legend settings; the default labels are fine
        pass
    shader = QgsRasterShader(vmin, vmax)
    shader.setRasterShaderFunction(ramp_shader)
    renderer = QgsSingleBandPseudoColorRenderer(layer.dataProvider(), band, shader)
    renderer.setClassificationMin(vmin)
    renderer.setClassificationMax(vmax)
    layer.setRenderer(renderer)
    layer.triggerRepaint()


class DepthSlices:
    """Scroll a depth-slice GeoTIFF layer through its elevation levels.

    Parameters
    ----------
    layer : QgsRasterLayer
        A GeoTIFF written by :func:`voxprospect.io.write_geotiff_levels`.
    base_name : str, optional
        Layer name before the elevation (``"prospectivity"`` shows as
        ``"prospectivity z=-300 m"``); the layer's name when omitted.
    style : bool
        Apply :func:`style_depth_slices` unless the layer already has a
        pseudo-colour renderer.

    Notes
    -----
    Levels are numbered as in the library: ``k = 0`` is the deepest, ``k = nz - 1``
    the top; band ``b = nz - k``.
    """

    def __init__(self, layer: QgsRasterLayer, base_name: str | None = None, style: bool = True):
        if not layer.isValid():
            raise ValueError(f"{layer.source()}: not a valid raster layer")
        self.layer = layer
        self.base_name = base_name or re.sub(r"\s*z=.*$", "", layer.name()) or "slices"
        self.elevations_by_band = band_elevations(layer)
        self.ranges_by_band = band_maxima(layer)
        if style and not isinstance(layer.renderer(), QgsSingleBandPseudoColorRenderer):
            # GDAL's default for a many-band GeoTIFF is an RGB composite of bands 1-3
            style_depth_slices(layer, band=1)
        r = layer.renderer()
        known = [m for m in self.ranges_by_band if m is not None]
        vmin = r.classificationMin() if hasattr(r, "classificationMin") else min((m[0] for m in known), default=0)
        vmax = r.classificationMax() if hasattr(r, "classificationMax") else max((m[1] for m in known), default=1)
        self.title = legend_title(self.base_name, vmin, vmax)
        self._rename()
        self.refresh_legend()

    # -- levels -------------------------------------------------------------------
    @property
    def n_levels(self) -> int:
        return self.layer.bandCount()

    @property
    def band(self) -> int:
        r = self.layer.renderer()
        return int(r.band()) if hasattr(r, "band") else 1

    @property
    def level(self) -> int:
        """Current level ``k`` (0 = deepest)."""
        return self.n_levels - self.band

    def elevation(self, level: int | None = None) -> float | None:
        """Elevation (m) of ``level`` (default: the current one)."""
        level = self.level if level is None else level
        return self.elevations_by_band[self.n_levels - 1 - level]

    @property
    def elevations(self) -> list[float | None]:
        """Elevations by level, deepest first."""
        return self.elevations_by_band[::-1]

    @property
    def non_empty_levels(self) -> list[int]:
        """Levels holding at least one valid value (air levels above topography excluded)."""
        return [self.n_levels - b for b, m in enumerate(self.ranges_by_band, start=1) if m is not None]

    def best_level(self) -> int:
        """The most prospective non-empty level (the highest maximum; ties: the upper one)."""
        ranked = [(m[1], self.n_levels - b) for b, m in enumerate(self.ranges_by_band, start=1) if m is not None]
        return max(ranked)[1] if ranked else self.n_levels - 1

    @property
    def cell_height(self) -> float | None:
        known = [z for z in self.elevations if z is not None]
        return abs(known[-1] - known[0]) / (len(known) - 1) if len(known) > 1 else None

    @property
    def surface_elevation(self) -> float | None:
        """Top of the highest level holding data: the model's surface (topography's top)."""
        levels = self.non_empty_levels
        if not levels:
            return None
        z = self.elevation(max(levels))
        dz = self.cell_height
        return None if z is None else z + (dz or 0.0) / 2

    def depth(self, level: int | None = None) -> float | None:
        """Depth (m) of ``level``'s centre below :attr:`surface_elevation`."""
        z, top = self.elevation(level), self.surface_elevation
        return None if z is None or top is None else top - z

    def nearest_level(self, elevation: float) -> int:
        """The level whose elevation is closest to ``elevation``."""
        known = [(abs(z - elevation), k) for k, z in enumerate(self.elevations) if z is not None]
        if not known:
            raise ValueError(f"{self.layer.source()}: bands carry no z=<elev> m description")
        return min(known)[1]

    # -- switching ----------------------------------------------------------------
    def set_level(self, level: int) -> int:
        """Show level ``k`` (clamped to the grid); only the renderer's band changes.

        Returns
        -------
        int
            The band now displayed.
        """
        level = max(0, min(self.n_levels - 1, int(level)))
        band = self.n_levels - level
        renderer = self.layer.renderer()
        if renderer is None or not hasattr(renderer, "setBand"):
            style_depth_slices(self.layer, band=band)
        elif renderer.band() != band:
            renderer.setBand(band)
            self.layer.triggerRepaint()
            self.layer.emitStyleChanged()
        self._rename()
        self.refresh_legend()
        return band

    def refresh_legend(self):
        """Rebuild the layer's legend for the band shown.

        QGIS builds a raster legend once, titled with the band ("Band 01: z=475 m");
        switching the renderer's band leaves it on the first level. A fresh default
        legend, set on the layer, makes the layer tree rebuild its nodes.
        """
        self.layer.setLegend(QgsMapLayerLegend.defaultRasterLegend(self.layer))

    def legend_texts(self, model=None) -> list[str]:
        """The legend lines of this layer as the layer tree shows them."""
        from qgis.core import QgsLayerTreeLayer
        from qgis.PyQt.QtCore import Qt
        node = QgsLayerTreeLayer(self.layer) if model is None else model.rootGroup().findLayer(self.layer.id())
        nodes = self.layer.legend().createLayerTreeModelLegendNodes(node) if model is None else \
            model.layerLegendNodes(node)
        return [str(n.data(Qt.DisplayRole)) for n in nodes if n.data(Qt.DisplayRole)]

    def set_elevation(self, elevation: float) -> int:
        """Show the level nearest to ``elevation`` (m); returns that level."""
        level = self.nearest_level(elevation)
        self.set_level(level)
        return level

    def _rename(self):
        z = self.elevation()
        self.layer.setName(f"{self.base_name} z={z:g} m" if z is not None else
                           f"{self.base_name} band {self.band}")


def load_depth_slices(path, name: str | None = None) -> QgsRasterLayer:
    """Open a depth-slice GeoTIFF as a styled raster layer (not added to a project).

    Raises
    ------
    ValueError
        If QGIS cannot read the file.
    """
    path = Path(path)
    layer = QgsRasterLayer(str(path), name or path.stem, "gdal")
    if not layer.isValid():
        raise ValueError(f"{path}: QGIS cannot open this raster")
    style_depth_slices(layer, band=1)
    return layer


def volume_layer_names(path) -> list[str]:
    """Names of a volume file's layers, without reading its arrays when it is .vti.

    A depth-slice GeoTIFF holds one layer (its ``layer`` tag); other formats are read
    through the library.
    """
    path = Path(path)
    if path.suffix.lower() in (".tif", ".tiff"):
        return [path.stem]
    if path.suffix.lower() == ".vti":
        import vtk  # header only: cell array names come from UpdateInformation
        reader = vtk.vtkXMLImageDataReader()
        reader.SetFileName(str(path))
        reader.UpdateInformation()
        names = [reader.GetCellArrayName(i) for i in range(reader.GetNumberOfCellArrays())]
        names += [reader.GetPointArrayName(i) for i in range(reader.GetNumberOfPointArrays())]
        hidden = {"active", "vtkGhostType", "vtkValidPointMask"}
        return [n for n in names if n and n not in hidden and not n.startswith("_")]
    from voxprospect.io import read_volume
    return read_volume(path).names


def default_slices_path(volume_path, layer: str | None) -> Path:
    """Where the dock writes a volume's depth slices: beside it if that folder is writable."""
    import os
    volume_path = Path(volume_path)
    name = f"{volume_path.stem}_{layer or 'layer'}_slices.tif"
    if os.access(volume_path.parent, os.W_OK):
        return volume_path.with_name(name)
    from qgis.core import QgsProcessingUtils
    return Path(QgsProcessingUtils.generateTempFilename(name))


def slices_parameters(volume_path, layer: str | None, out_path=None) -> dict:
    """Parameters of ``voxprospect:slices`` for the dock (same algorithm as the toolbox)."""
    out = out_path or default_slices_path(volume_path, layer)
    return {"VOLUME": str(volume_path), "LAYER": layer or "", "OUTPUT": str(out)}


def open_depth_slices(path, layer: str | None = None, project=None, out_path=None,
                      feedback=None) -> DepthSlices:
    """Show a volume layer (or a depth-slice GeoTIFF) as scrollable slices in ``project``.

    A ``.tif`` is opened as it is; any other volume is first exported with the
    ``voxprospect:slices`` Processing algorithm (the dock and the toolbox share it).
    Runs synchronously; the dock runs the export as a background task instead.

    Returns
    -------
    DepthSlices
    """
    from qgis.core import QgsProject
    path = Path(path)
    if path.suffix.lower() not in (".tif", ".tiff"):
        import processing
        result = processing.run("voxprospect:slices", slices_parameters(path, layer, out_path),
                                feedback=feedback)
        tif = result["OUTPUT"]
    else:
        tif = str(path)
    name = layer or path.stem
    project = project or QgsProject.instance()
    existing = find_layer_by_source(project, tif)
    if existing is not None:  # shown before (by the dock or the toolbox): reuse it, reloaded
        existing.dataProvider().reloadData()
        existing.reload()
        return DepthSlices(existing, base_name=name, style=False)
    raster = load_depth_slices(tif, name)
    add_below_vectors(project, raster)
    slices = DepthSlices(raster, base_name=name, style=False)
    slices.set_level(slices.best_level())  # the top levels are often all air
    return slices


def _same_file(a, b) -> bool:
    import os
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def find_layer_by_source(project, path) -> QgsRasterLayer | None:
    """The raster layer of ``project`` reading ``path``, if any."""
    for layer in project.mapLayers().values():
        if isinstance(layer, QgsRasterLayer) and _same_file(layer.source().split("|")[0], path):
            return layer
    return None


def slice_layers(project) -> list[QgsRasterLayer]:
    """Raster layers of ``project`` that are depth slices (bands described ``z=<elev> m``)."""
    out = []
    for layer in project.mapLayers().values():
        if isinstance(layer, QgsRasterLayer) and layer.isValid() and layer.bandCount() > 1:
            if any(z is not None for z in band_elevations(layer)):
                out.append(layer)
    return out


def outline_layers(project) -> list:
    """Target-outline layers of ``project`` (fields ``target_id`` and ``level``)."""
    from qgis.core import QgsVectorLayer
    out = []
    for layer in project.mapLayers().values():
        if isinstance(layer, QgsVectorLayer) and layer.isValid():
            names = set(layer.fields().names())
            if {"target_id", "level"} <= names:
                out.append(layer)
    return out


def follow_level(layers, level: int) -> None:
    """Show only ``level``'s outlines in each layer (a subset filter on ``"level"``)."""
    for layer in layers:
        wanted = f'"level" = {int(level)}'
        if layer.subsetString() != wanted:
            layer.setSubsetString(wanted)
            layer.triggerRepaint()


def show_only(project, shown, hidden) -> None:
    """Tick ``shown`` and untick ``hidden`` in the layer tree (both stay in the project)."""
    root = project.layerTreeRoot()
    for layer, on in ((hidden, False), (shown, True)):
        try:
            node = root.findLayer(layer.id())
        except RuntimeError:  # a layer already deleted
            continue
        if node is not None:
            node.setItemVisibilityChecked(on)


def add_below_vectors(project, layer) -> None:
    """Add a raster layer under the project's vector layers (targets stay on top of the slice).

    It goes just above the highest raster already in the layer tree's top group (a
    basemap stays under it), or at the bottom when there is none.
    """
    from qgis.core import QgsLayerTreeLayer
    project.addMapLayer(layer, False)
    root = project.layerTreeRoot()
    children = root.children()
    index = len(children)
    for i, node in enumerate(children):
        if isinstance(node, QgsLayerTreeLayer) and isinstance(node.layer(), QgsRasterLayer):
            index = i
            break
    root.insertLayer(index, layer)
