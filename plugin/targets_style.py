"""Styles for target layers: the most prospective targets must stand out.

Target outlines (polygons per elevation level) and 3D centroids (PointZ) get a
graduated renderer on ``max_prospectivity`` (or the first prospectivity field the
layer has), light-to-dark on a warm ramp, drawn in increasing order so the best
targets lie on top.
"""

from __future__ import annotations

from qgis.core import (QgsClassificationJenks, QgsFeatureRequest, QgsGraduatedSymbolRenderer,
                       QgsSymbol, QgsVectorLayer, QgsWkbTypes)
from qgis.PyQt.QtGui import QColor

from .slices import color_ramp

#: fields tried in order for the graduated renderer
PROSPECTIVITY_FIELDS = ("max_prospectivity", "mean_prospectivity", "prospectivity", "score")

TARGET_RAMP = "Reds"


def prospectivity_field(layer: QgsVectorLayer) -> str | None:
    """The field the style classifies on, or None if the layer has none of them."""
    names = [f.name() for f in layer.fields()]
    for candidate in PROSPECTIVITY_FIELDS:
        if candidate in names:
            return candidate
    return None


def style_targets_layer(layer: QgsVectorLayer, classes: int = 5) -> bool:
    """Graduated style on the prospectivity field; a plain outline when there is none.

    Returns
    -------
    bool
        True if a graduated renderer was set.
    """
    geometry = layer.geometryType()
    symbol = QgsSymbol.defaultSymbol(geometry)
    if geometry == QgsWkbTypes.PolygonGeometry:
        # semi-opaque fills with a dark outline keep the slice underneath readable
        symbol.setOpacity(0.75)
        symbol.symbolLayer(0).setStrokeColor(QColor(30, 30, 30))
        symbol.symbolLayer(0).setStrokeWidth(0.4)
    elif geometry == QgsWkbTypes.PointGeometry:
        symbol.setSize(3.2)
        symbol.symbolLayer(0).setStrokeColor(QColor(20, 20, 20))
    field = prospectivity_field(layer)
    if field is None or layer.featureCount() == 0:
        layer.renderer().setSymbol(symbol) if hasattr(layer.renderer(), "setSymbol") else None
        layer.triggerRepaint()
        return False
    renderer = QgsGraduatedSymbolRenderer(field)
    renderer.setSourceSymbol(symbol)
    renderer.setSourceColorRamp(color_ramp(TARGET_RAMP))
    renderer.setClassificationMethod(QgsClassificationJenks())
    renderer.updateClasses(layer, min(classes, max(1, layer.featureCount())))
    renderer.setOrderBy(QgsFeatureRequest.OrderBy([QgsFeatureRequest.OrderByClause(field, True)]))
    renderer.setOrderByEnabled(True)
    layer.setRenderer(renderer)
    layer.triggerRepaint()
    return True
