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
