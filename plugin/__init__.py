"""voxprospect QGIS plugin: 3D mineral prospectivity in the Processing toolbox."""


def classFactory(iface):  # (QGIS's name)
    """Called by QGIS to load the plugin."""
    from .plugin import VoxprospectPlugin
    return VoxprospectPlugin(iface)
