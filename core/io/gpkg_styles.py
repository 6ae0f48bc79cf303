"""Default QGIS styles inside a GeoPackage (the ``layer_styles`` table).

QGIS applies the style a GeoPackage's ``layer_styles`` table marks as default when
the layer is loaded, by hand or by a script. Without it, target outlines get QGIS's
filled default symbol, which hides the depth slice underneath. The table is the one
QGIS itself writes (``QgsVectorLayer.saveStyleToDatabase``), registered in
``gpkg_contents`` as an attributes table so GDAL (and QGIS through it) can read it;
it is written here with fiona so the CLI needs no QGIS.

The styles are plain QML: hollow outlines with a dark halo under a pale line (they
read over both ends of the magma ramp), and haloed markers for points.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

#: pale yellow line over a dark halo: the opposite end of the slices' magma ramp
LINE = "255,255,204,255"
HALO = "20,20,20,255"

_SCHEMA = {"geometry": "None", "properties": {
    "f_table_catalog": "str", "f_table_schema": "str", "f_table_name": "str", "f_geometry_column": "str",
    "styleName": "str", "styleQML": "str", "styleSLD": "str", "useAsDefault": "bool",
    "description": "str", "owner": "str", "ui": "str", "update_time": "datetime"}}


def _props(d: dict) -> str:
    return "".join(f"<prop k={quoteattr(k)} v={quoteattr(str(v))}/>" for k, v in d.items())


def _fill_layer(colour: str, width: float) -> str:
    return ('<layer class="SimpleFill" enabled="1" locked="0" pass="0">'
            + _props({"style": "no", "color": "0,0,0,0", "outline_style": "solid", "outline_color": colour,
                      "outline_width": f"{width:g}", "outline_width_unit": "MM", "joinstyle": "miter"})
            + "</layer>")


def _marker_layer(colour: str, size: float) -> str:
    return ('<layer class="SimpleMarker" enabled="1" locked="0" pass="0">'
            + _props({"name": "circle", "color": colour, "outline_color": HALO, "outline_width": "0.4",
                      "outline_width_unit": "MM", "size": f"{size:g}", "size_unit": "MM"})
            + "</layer>")


def outline_qml(label_field: str | None = "target_id") -> str:
    """QML of hollow, haloed polygon outlines (labelled by ``label_field``)."""
    symbol = ('<symbol type="fill" name="0" alpha="1" clip_to_extent="1" force_rhr="0">'
              + _fill_layer(HALO, 1.4) + _fill_layer(LINE, 0.7) + "</symbol>")
    return _qml(symbol, label_field)


def point_qml(colour: str = "255,255,204,255", size: float = 3.2, label_field: str | None = "target_id") -> str:
    """QML of a haloed disc marker."""
    symbol = ('<symbol type="marker" name="0" alpha="1" clip_to_extent="1" force_rhr="0">'
              + _marker_layer(colour, size) + "</symbol>")
    return _qml(symbol, label_field)


def _qml(symbol: str, label_field: str | None) -> str:
    labels = ""
    if label_field:
        labels = ('<labeling type="simple"><settings calloutType="simple">'
                  f'<text-style fieldName={quoteattr(label_field)} fontSize="9" textColor="255,255,255,255" '
                  'isExpression="0"><text-buffer bufferDraw="1" bufferSize="0.8" bufferColor="20,20,20,255"/>'
                  '</text-style><placement placement="0" dist="1"/></settings></labeling>')
    return ('<!DOCTYPE qgis PUBLIC \'http://mrcc.com/qgis.dtd\' \'SYSTEM\'>'
            '<qgis version="3.22.0" styleCategories="Symbology|Labeling" labelsEnabled="'
            + ("1" if label_field else "0") + '">'
            '<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">'
            f"<symbols>{symbol}</symbols><rotation/><sizescale/></renderer-v2>{labels}</qgis>")


def write_layer_styles(gpkg, styles: dict, geometry_column: str = "geom") -> None:
    """Add ``layer_styles`` rows to ``gpkg``, one default style per layer.

    Parameters
    ----------
    gpkg : path-like
        An existing GeoPackage (usually the temporary file of an atomic write).
    styles : dict
        ``{layer name: (style name, QML text)}``.
    geometry_column : str
        The layers' geometry column (``geom`` for files written by fiona/GDAL).
    """
    import datetime

    import fiona

    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None, microsecond=0)
    with fiona.open(gpkg, "w", driver="GPKG", layer="layer_styles", schema=_SCHEMA) as dst:
        for layer, (name, qml) in styles.items():
            dst.write({"geometry": None, "properties": {
                "f_table_catalog": "", "f_table_schema": "", "f_table_name": layer,
                "f_geometry_column": geometry_column, "styleName": name, "styleQML": qml, "styleSLD": "",
                "useAsDefault": True, "description": "voxprospect default style", "owner": "", "ui": "",
                "update_time": now.isoformat()}})
