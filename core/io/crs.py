"""Coordinate reference systems checked where they enter: a project's ``[grid] crs``, a
drillhole input's ``crs``, ``voxprospect convert --crs``.

:mod:`voxprospect.data.grid` keeps a CRS as text (``"EPSG:n"`` or WKT) and only
normalises it; whether the text names a real CRS is asked of PROJ, through rasterio
(already a dependency for GeoTIFFs), so ``EPSG:999999`` is refused when the project is
loaded, not after training when the first GeoTIFF is written.
"""

from __future__ import annotations

from voxprospect.data.grid import normalise_crs
from voxprospect.errors import VoxprospectError


def check_crs(crs, where: str) -> str | None:
    """The canonical text of ``crs`` (``None`` stays ``None``), once PROJ knows it.

    Parameters
    ----------
    crs : str or int or None
        An EPSG code, ``"EPSG:n"`` or WKT.
    where : str
        What the message names (``"project.toml: grid.crs"``).

    Raises
    ------
    VoxprospectError
        Naming ``where`` and the CRS when PROJ does not know it.
    """
    try:
        text = normalise_crs(crs)
    except VoxprospectError as e:
        raise VoxprospectError(f"{where}: {e}") from None
    if text is None:
        return None
    from rasterio.crs import CRS
    from rasterio.errors import CRSError

    try:
        CRS.from_user_input(text)
    except CRSError as e:
        raise VoxprospectError(f"{where}: {text!r} is not a known coordinate reference system ({e})") from None
    return text


def same_crs(a, b) -> bool:
    """Whether two CRS texts name the same system (``EPSG:32612`` and its WKT do).

    ``None`` (unknown) is never the same as a CRS here: callers decide what an
    unknown CRS means.
    """
    if a is None or b is None:
        return a is b
    if normalise_crs(a) == normalise_crs(b):
        return True
    from rasterio.crs import CRS
    from rasterio.errors import CRSError

    try:
        return CRS.from_user_input(normalise_crs(a)) == CRS.from_user_input(normalise_crs(b))
    except CRSError:
        return False
