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


def check_crs(crs, where: str | None = None) -> str | None:
    """The canonical text of ``crs`` (``None`` stays ``None``), once PROJ knows it.

    Parameters
    ----------
    crs : str or int or None
        An EPSG code, ``"EPSG:n"`` or WKT.
    where : str, optional
        What the message starts with (``"--crs"``); callers that add their own context
        (a project key) leave it out.

    Raises
    ------
    VoxprospectError
        Naming the CRS (and ``where``) when PROJ does not know it.
    """
    prefix = f"{where}: " if where else ""
    try:
        text = normalise_crs(crs)
    except VoxprospectError as e:
        raise VoxprospectError(f"{prefix}{e}") from None
    if text is None:
        return None
    from rasterio.crs import CRS
    from rasterio.errors import CRSError

    try:
        CRS.from_user_input(text)
    except CRSError as e:
        raise VoxprospectError(f"{prefix}{text!r} is not a known coordinate reference system ({e})") from None
    return text


def adopt_crs(grid, crs):
    """``grid`` in ``crs``: labelled when it carries no CRS (voxets, UBC meshes), itself when
    it is already in ``crs`` (or ``crs`` is None), None when it is in another CRS, which
    a label cannot fix (the caller says what to do: nothing here reprojects)."""
    from dataclasses import replace

    if crs is None:
        return grid
    if grid.crs is None:
        return replace(grid, crs=crs)
    return grid if same_crs(grid.crs, crs) else None


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
