"""The georeferenced voxel grid every input is brought onto.

Conventions (used everywhere in voxprospect):

- Arrays on a grid have shape ``(nx, ny, nz)`` and are indexed ``[i, j, k]`` with
  ``i`` along x (east), ``j`` along y (north) and ``k`` along z, **elevation positive
  up**: ``k = 0`` is the deepest level.
- ``origin`` is the world coordinate of the *outer corner* of cell ``(0, 0, 0)``,
  i.e. the minimum x, minimum y and minimum (deepest) z of the grid's box. Cell
  centres are at ``origin + (index + 0.5) * cell_size``.
- ``cell_size`` is ``(dx, dy, dz)`` in metres; anisotropic cells are normal.
- ``crs`` is an ``"EPSG:nnnn"`` string or WKT, or ``None`` when unknown.
- Flattened arrays (VTK, Zarr chunks on disk) use Fortran order (x fastest), as VTK's
  ImageData does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from voxprospect.errors import GridMismatchError, VoxprospectError

_REL_TOL = 1e-9
_ABS_TOL = 1e-6
_CELL_REL_TOL = 1e-6


def normalise_crs(crs) -> str | None:
    """Return a canonical CRS string: ``"EPSG:n"`` for codes, stripped WKT otherwise.

    Accepts an int EPSG code, ``"EPSG:n"`` / ``"epsg:n"``, a WKT string, or ``None``.
    """
    if crs is None:
        return None
    if isinstance(crs, (int, np.integer)):
        return f"EPSG:{int(crs)}"
    text = str(crs).strip()
    if not text:
        return None
    if text.lower().startswith("epsg:"):
        code = text.split(":", 1)[1].strip()
        if not code.isdigit():
            raise VoxprospectError(f"CRS {text!r} is not a valid EPSG code")
        return f"EPSG:{int(code)}"
    if text.isdigit():
        return f"EPSG:{int(text)}"
    return text


@dataclass(frozen=True)
class VoxelGrid:
    """A regular, axis-aligned voxel grid in a projected CRS.

    Parameters
    ----------
    origin : (x0, y0, z0)
        World coordinates of the outer corner of cell (0, 0, 0) (minimum x, y and z).
    cell_size : (dx, dy, dz)
        Cell sizes in metres, all positive.
    shape : (nx, ny, nz)
        Number of cells along x, y and z.
    crs : str, optional
        ``"EPSG:nnnn"`` or WKT.

    Raises
    ------
    VoxprospectError
        If a size is not positive or a shape is not a positive integer.
    """

    origin: tuple[float, float, float]
    cell_size: tuple[float, float, float]
    shape: tuple[int, int, int]
    crs: str | None = field(default=None)

    def __post_init__(self):
        origin = tuple(float(v) for v in self.origin)
        cell_size = tuple(float(v) for v in self.cell_size)
        shape = tuple(int(v) for v in self.shape)
        if len(origin) != 3 or len(cell_size) != 3 or len(shape) != 3:
            raise VoxprospectError("a voxel grid needs three origin values, three cell sizes and three counts")
        if not all(math.isfinite(v) for v in origin):
            raise VoxprospectError(f"grid origin {origin} is not finite")
        if not all(v > 0 and math.isfinite(v) for v in cell_size):
            raise VoxprospectError(f"grid cell sizes must be positive, got {cell_size}")
        if not all(v > 0 for v in shape):
            raise VoxprospectError(f"grid shape must be positive, got {shape}")
        object.__setattr__(self, "origin", origin)
        object.__setattr__(self, "cell_size", cell_size)
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "crs", normalise_crs(self.crs))

    # -- comparison -------------------------------------------------------------
    def __eq__(self, other) -> bool:
        if not isinstance(other, VoxelGrid):
            return NotImplemented
        return not self.differences(other)

    def __hash__(self):
        # equality is within a tolerance and a missing CRS matches any: only the shape
        # is the same for every pair of equal grids
        return hash(self.shape)

    def differences(self, other: "VoxelGrid") -> list[str]:
        """Describe how ``other`` differs from this grid (empty list if equal)."""
        out = []
        if self.shape != other.shape:
            out.append(f"shape {self.shape} vs {other.shape}")
        tol = _tolerance(self.cell_size, other.cell_size)
        if not _close(self.origin, other.origin, tol):
            out.append(f"origin {self.origin} vs {other.origin}")
        if not _close(self.cell_size, other.cell_size, tol):
            out.append(f"cell size {self.cell_size} vs {other.cell_size}")
        if self.crs != other.crs and self.crs is not None and other.crs is not None:
            out.append(f"CRS {_short(self.crs)} vs {_short(other.crs)}")
        return out

    def require_same(self, other: "VoxelGrid", what: str = "volumes") -> None:
        """Raise :class:`GridMismatchError` unless ``other`` is the same grid.

        A grid without a CRS matches one with a CRS (the CRS is often unknown in
        exchange formats); two different CRSs never match.
        """
        diff = self.differences(other)
        if diff:
            raise GridMismatchError(f"{what} are on different grids: " + "; ".join(diff))

    # -- geometry ---------------------------------------------------------------
    @property
    def n_cells(self) -> int:
        return int(np.prod(self.shape))

    @property
    def cell_volume(self) -> float:
        """Volume of one cell in cubic metres."""
        return float(np.prod(self.cell_size))

    @property
    def bounds(self) -> tuple[float, float, float, float, float, float]:
        """``(xmin, xmax, ymin, ymax, zmin, zmax)`` of the grid's box."""
        o, d, n = self.origin, self.cell_size, self.shape
        return (o[0], o[0] + d[0] * n[0], o[1], o[1] + d[1] * n[1], o[2], o[2] + d[2] * n[2])

    def axis_centres(self, axis: int) -> np.ndarray:
        """Cell-centre coordinates along one axis (0 = x, 1 = y, 2 = z)."""
        return self.origin[axis] + (np.arange(self.shape[axis]) + 0.5) * self.cell_size[axis]

    def axis_edges(self, axis: int) -> np.ndarray:
        """Cell-edge coordinates along one axis (``n + 1`` values)."""
        return self.origin[axis] + np.arange(self.shape[axis] + 1) * self.cell_size[axis]

    @property
    def elevations(self) -> np.ndarray:
        """Elevation of each level's cell centre, bottom (k = 0) to top."""
        return self.axis_centres(2)

    def index_to_world(self, ijk) -> np.ndarray:
        """Cell-centre world coordinates of integer (or fractional) indices.

        Parameters
        ----------
        ijk : array_like, shape (..., 3)

        Returns
        -------
        ndarray, shape (..., 3), float64
        """
        ijk = np.asarray(ijk, dtype=float)
        return np.asarray(self.origin) + (ijk + 0.5) * np.asarray(self.cell_size)

    def world_to_index(self, xyz, *, clip: bool = False) -> np.ndarray:
        """Index of the cell containing each world point.

        Parameters
        ----------
        xyz : array_like, shape (..., 3)
        clip : bool
            Clip indices into the grid instead of returning out-of-range values.

        Returns
        -------
        ndarray of int64, shape (..., 3). Points outside the grid give indices < 0
        or >= shape unless ``clip``.
        """
        xyz = np.asarray(xyz, dtype=float)
        ijk = np.floor((xyz - np.asarray(self.origin)) / np.asarray(self.cell_size)).astype(np.int64)
        if clip:
            ijk = np.clip(ijk, 0, np.asarray(self.shape) - 1)
        return ijk

    def contains(self, xyz) -> np.ndarray:
        """Boolean array: which world points fall inside the grid's box."""
        ijk = self.world_to_index(xyz)
        return np.all((ijk >= 0) & (ijk < np.asarray(self.shape)), axis=-1)

    def cell_centres(self) -> np.ndarray:
        """All cell centres, shape ``(nx*ny*nz, 3)`` in Fortran (x fastest) order."""
        x, y, z = (self.axis_centres(a) for a in range(3))
        X, Y, Z = np.meshgrid(x, y, z, indexing="ij")
        return np.column_stack([X.ravel(order="F"), Y.ravel(order="F"), Z.ravel(order="F")])

    def level_of_elevation(self, elevation: float) -> int:
        """Index ``k`` of the level whose cells contain ``elevation``."""
        k = int(math.floor((elevation - self.origin[2]) / self.cell_size[2]))
        if not 0 <= k < self.shape[2]:
            raise VoxprospectError(
                f"elevation {elevation} m is outside the grid ({self.bounds[4]} to {self.bounds[5]} m)")
        return k

    # -- serialisation ----------------------------------------------------------
    def to_dict(self) -> dict:
        return {"origin": list(self.origin), "cell_size": list(self.cell_size),
                "shape": list(self.shape), "crs": self.crs}

    @classmethod
    def from_dict(cls, d: dict) -> "VoxelGrid":
        return cls(tuple(d["origin"]), tuple(d["cell_size"]), tuple(d["shape"]), d.get("crs"))

    @classmethod
    def from_bounds(cls, bounds: Iterable[float], cell_size, crs=None) -> "VoxelGrid":
        """Smallest grid of ``cell_size`` cells starting at the box's minimum corner
        that covers ``bounds = (xmin, xmax, ymin, ymax, zmin, zmax)``."""
        xmin, xmax, ymin, ymax, zmin, zmax = (float(v) for v in bounds)
        cs = tuple(float(v) for v in (cell_size if np.ndim(cell_size) else (cell_size,) * 3))
        if len(cs) != 3 or not all(math.isfinite(d) and d > 0 for d in cs):
            raise VoxprospectError(f"cell sizes must be positive numbers, got {cell_size}")
        counts = [(hi - lo) / d for lo, hi, d in ((xmin, xmax, cs[0]), (ymin, ymax, cs[1]), (zmin, zmax, cs[2]))]
        if not all(math.isfinite(c) for c in counts):
            raise VoxprospectError(f"a cell size of {cell_size} over the box {tuple(bounds)} gives no finite grid")
        shape = tuple(max(1, int(math.ceil(round((hi - lo) / d, 9))))
                      for lo, hi, d in ((xmin, xmax, cs[0]), (ymin, ymax, cs[1]), (zmin, zmax, cs[2])))
        return cls((xmin, ymin, zmin), cs, shape, crs)

    def describe(self) -> str:
        b = self.bounds
        return (f"{self.shape[0]} x {self.shape[1]} x {self.shape[2]} cells of "
                f"{self.cell_size[0]:g} x {self.cell_size[1]:g} x {self.cell_size[2]:g} m; "
                f"x {b[0]:.1f}..{b[1]:.1f}, y {b[2]:.1f}..{b[3]:.1f}, z {b[4]:.1f}..{b[5]:.1f}; "
                f"CRS {_short(self.crs) if self.crs else 'unknown'}")


def _tolerance(*cell_sizes) -> float:
    """How far two grids' origins and cell sizes may differ and still be one grid:
    a millionth of the largest cell side. GOCAD voxets and other exchange formats
    store their axes in float32 (500 m cells come back as 500.0000124), so a grid
    typed from ``voxprospect info`` must match the file it describes."""
    return max(_ABS_TOL, _CELL_REL_TOL * max(abs(float(v)) for cs in cell_sizes for v in cs))


def _close(a, b, abs_tol: float = _ABS_TOL) -> bool:
    return all(math.isclose(x, y, rel_tol=_REL_TOL, abs_tol=abs_tol) for x, y in zip(a, b))


def _short(crs: str | None) -> str:
    if crs is None:
        return "None"
    return crs if len(crs) < 60 else crs[:57] + "..."
