"""Plain arrays of pyvista meshes, as the interchange writers (geoh5, OMF) take them."""

from __future__ import annotations

import numpy as np

__all__ = ["segment_arrays", "triangle_arrays", "unique_name"]


def triangle_arrays(mesh) -> tuple[np.ndarray, np.ndarray]:
    """``(vertices (n, 3) float, triangles (m, 3) int)`` of a surface, triangulated first."""
    tri = mesh.triangulate()
    return np.asarray(tri.points, float), np.asarray(tri.faces).reshape(-1, 4)[:, 1:]


def segment_arrays(mesh) -> tuple[np.ndarray, np.ndarray]:
    """``(vertices (n, 3) float, segments (m, 2) int)`` of a polyline mesh: every
    polyline cut into its two-point segments."""
    lines = np.asarray(mesh.lines)
    segs, i = [], 0
    while i < len(lines):
        n = lines[i]
        ids = lines[i + 1:i + 1 + n]
        segs += list(zip(ids[:-1], ids[1:]))
        i += n + 1
    return np.asarray(mesh.points, float), np.asarray(segs, int).reshape(-1, 2)


def unique_name(name: str, taken) -> str:
    """``name``, or ``name_2``, ``name_3``... the first not in ``taken`` (meshes read from
    one file keep every object, even when names repeat)."""
    unique, k = name, 2
    while unique in taken:
        unique, k = f"{name}_{k}", k + 1
    return unique
