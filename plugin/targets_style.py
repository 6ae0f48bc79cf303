"""Styles for target layers: the most prospective targets must stand out.

Target outlines (polygons per elevation level) and 3D centroids (PointZ) get a
graduated renderer on ``max_prospectivity`` (or the first prospectivity field the
layer has): higher classes are brighter and thicker, drawn last so the best targets
lie on top. Outlines are hollow with a dark halo under a bright line, so they read on
both the dark and the bright parts of a depth slice beneath them.
"""

from __future__ import annotations

from qgis.core import (QgsClassificationEqualInterval, QgsFeatureRequest, QgsFillSymbol,
                       QgsGraduatedSymbolRenderer, QgsMarkerSymbol, QgsSimpleFillSymbolLayer, QgsVectorLayer,
                       QgsWkbTypes)
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QColor

#: fields tried in order for the graduated renderer
PROSPECTIVITY_FIELDS = ("max_prospectivity", "mean_prospectivity", "prospectivity", "score")

#: low -> high classes: from a mid blue to a pale yellow, the opposite end of the
#: slices' magma ramp, so outlines never vanish into the raster
TARGET_COLOURS = ("#225ea8", "#1d91c0", "#41b6c4", "#7fcdbb", "#c7e9b4", "#ffffcc")
HALO = QColor(20, 20, 20)


def prospectivity_field(layer: QgsVectorLayer) -> str | None:
    """The field the style classifies on, or None if the layer has none of them."""
    names = [f.name() for f in layer.fields()]
    for candidate in PROSPECTIVITY_FIELDS:
        if candidate in names:
            return candidate
    return None


def _class_colour(i: int, n: int) -> QColor:
    if n <= 1:
        return QColor(TARGET_COLOURS[-1])
    return QColor(TARGET_COLOURS[round(i * (len(TARGET_COLOURS) - 1) / (n - 1))])


def target_symbol(geometry, colour: QColor, weight: float = 1.0):
    """A hollow outline with a dark halo (polygons) or a haloed disc (points)."""
    if geometry == QgsWkbTypes.PointGeometry:
        return QgsMarkerSymbol.createSimple({"name": "circle", "color": colour.name(), "outline_color": "#141414",
                                             "outline_width": "0.4", "size": f"{2.2 + 1.6 * weight:.2f}"})
    symbol = QgsFillSymbol()
    symbol.deleteSymbolLayer(0)
    for stroke, width in ((HALO, 0.9 + 0.9 * weight), (colour, 0.4 + 0.6 * weight)):
        layer = QgsSimpleFillSymbolLayer()
        layer.setBrushStyle(Qt.NoBrush)
        layer.setStrokeColor(stroke)
        layer.setStrokeWidth(width)
        symbol.appendSymbolLayer(layer)
    return symbol


def style_targets_layer(layer: QgsVectorLayer, classes: int = 5) -> bool:
    """Graduated style on the prospectivity field; a single bright style when there is none.

    Returns
    -------
    bool
        True if a graduated renderer was set.
    """
    describe_target_fields(layer)
    geometry = layer.geometryType()
    field = prospectivity_field(layer)
    n = layer.featureCount()
    distinct = len(layer.uniqueValues(layer.fields().indexOf(field))) if field is not None and n > 0 else 0
    if field is None or distinct < 2:
        # one target (or several equal ones): classes would repeat one value ("0.983 - 0.983")
        # and draw it in the lowest, darkest class; one bright symbol reads over the ramp
        from qgis.core import QgsSingleSymbolRenderer
        layer.setRenderer(QgsSingleSymbolRenderer(target_symbol(geometry, _class_colour(1, 1))))
        layer.triggerRepaint()
        return False
    renderer = QgsGraduatedSymbolRenderer(field)
    renderer.setSourceSymbol(target_symbol(geometry, _class_colour(0, 2)))
    # equal intervals: with a handful of targets natural breaks make odd, overlapping labels
    method = QgsClassificationEqualInterval()
    method.setLabelPrecision(3)
    renderer.setClassificationMethod(method)
    renderer.updateClasses(layer, max(2, min(classes, distinct)))
    count = len(renderer.ranges())
    for i in range(count):
        weight = i / (count - 1) if count > 1 else 1.0
        renderer.updateRangeSymbol(i, target_symbol(geometry, _class_colour(i, count), weight))
    renderer.setOrderBy(QgsFeatureRequest.OrderBy([QgsFeatureRequest.OrderByClause(field, True)]))
    renderer.setOrderByEnabled(True)
    layer.setRenderer(renderer)
    layer.triggerRepaint()
    return True


#: how the attribute table and the identify panel name a target's fields (when present)
FIELD_ALIASES = {
    "target_id": "target",
    "max_prospectivity": "max prospectivity",
    "mean_prospectivity": "mean prospectivity",
    "std_mean": "uncertainty: mean std inside",
    "std_max": "uncertainty: max std inside",
    "top_channels": "top evidence channels (strongest first)",
    "volume_m3": "volume (m³)",
    "top_depth_m": "top depth (m below surface)",
}

#: map tip lines: (field, text before, QGIS expression of the value)
_TIP_LINES = (
    ("max_prospectivity", "max prospectivity", 'round("max_prospectivity", 3)'),
    ("mean_prospectivity", "mean prospectivity", 'round("mean_prospectivity", 3)'),
    ("std_mean", "uncertainty (std): mean", 'round("std_mean", 3)'),
    ("std_max", "uncertainty (std): max", 'round("std_max", 3)'),
    ("top_channels", "driven by", "replace(\"top_channels\", ';', ', ')"),
    ("top_depth_m", "top depth (m)", 'round("top_depth_m", 0)'),
    ("deposits", "known deposits", '"deposits"'),
)


#: columns the library writes empty (NULL) when a prediction has no spread or no attributions
_OPTIONAL_FIELDS = ("std_mean", "std_max", "top_channels")


def _has_values(layer: QgsVectorLayer, name: str) -> bool:
    """Whether a field holds at least one value (not NULL, not empty)."""
    from qgis.core import NULL

    idx = layer.fields().indexOf(name)
    return any(v is not None and v != NULL and v != "" for v in layer.uniqueValues(idx, 4))


def describe_target_fields(layer: QgsVectorLayer) -> list[str]:
    """Aliases and a map tip for a target layer's fields, as far as it has them.

    The uncertainty inside each target (``std_mean``, ``std_max``) and the evidence it
    rests on (``top_channels``, ``;``-separated, strongest first) are shown when the
    GeoPackage carries them with values (the library writes them empty, NULL, for a
    prediction without spread or attributions).

    Returns
    -------
    list of str
        The fields the map tip shows.
    """
    names = layer.fields().names()
    for name, alias in FIELD_ALIASES.items():
        if name in names:
            layer.setFieldAlias(names.index(name), alias)
    shown = [(f, text, expr) for f, text, expr in _TIP_LINES
             if f in names and (f not in _OPTIONAL_FIELDS or _has_values(layer, f))]
    head = "<b>target [% \"target_id\" %]</b>" if "target_id" in names else ""
    if "level" in names and "elevation_m" in names:
        head += " at z=[% \"elevation_m\" %] m"
    lines = [f"{text}: [% {expr} %]" for _, text, expr in shown]
    layer.setMapTipTemplate("<br>".join([head] + lines if head else lines))
    if "target_id" in names:
        layer.setDisplayExpression("'target ' || \"target_id\"")
    return [f for f, _, _ in shown]
