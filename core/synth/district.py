"""The built-in synthetic district: a Wulong-like intrusion-related gold district.

A district to run the whole pipeline on when a user has no data yet, with a known
answer. Its geology is a real gempy model computed on our grid
(:func:`voxprospect.io.gempy_model.compute_geomodel_on_grid`):

- Paleoproterozoic Liaohe Group strata (Lieryu leptynite, Dashiqiao marble,
  Gaixian phyllite) folded into a gentle NE-trending anticline over Archean gneiss;
- a Late Jurassic granite batholith (a gempy erosive group shaped as a cupola);
- an Early Cretaceous granodiorite stock (a younger erosive cupola);
- NE-NNE-striking faults F_NE1, F_NE2 and a NW-striking fault F_NW1 (gempy fault
  groups offsetting the strata and the granite; normal throws learned by gempy
  from offset contact points);
- Early Cretaceous NE-NNE dykes: tabular bodies added onto gempy's lithology
  (gempy has no tabular-intrusion primitive; each dyke is a plane with a width,
  a strike length and a depth range).

The evidence explains the mineralisation only in part (a benchmark a trivial score
cannot win):

- a hidden mineral system decides where ore forms: nonlinear, 3D-contextual controls
  (NE-NNE faults, strongest in their hanging walls, near the granodiorite's contact
  and above its roof; NE x NW fault intersections; dykes; a depth window; reactive
  hosts) plus a correlated random field with a stated correlation length
  (:data:`HIDDEN_CORRELATION_M`) and noise that no evidence sees;
- density, susceptibility and resistivity come from unit properties and alteration
  halos around every fault and the intrusions' aureoles (with their own correlated
  variation), smoothed like an inversion, plus noise; never from the potential or
  the deposits (they depend on ``seed`` only, the deposits on ``deposit_seed``);
- :attr:`DistrictPreset.n_deposits` deposits are drawn from the potential, at least
  :data:`DEPOSIT_SEPARATION_M` apart: the known ones are the training labels
  (``orebodies.vti``), the undiscovered ones are only in ``truth.vti`` for scoring
  (:mod:`voxprospect.synth.benchmark`).

Details: ``docs/synthetic-district.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from voxprospect.errors import VoxprospectError
from voxprospect.data.grid import VoxelGrid
from voxprospect.data.volume import Volume

GENERATOR = "voxprospect.synth/1"
CRS = "EPSG:32651"  # WGS 84 / UTM zone 51N, the Liaodong peninsula's zone
ORIGIN_XY = (600_000.0, 4_460_000.0)
EXTENT_XY = (8_000.0, 6_400.0)


@dataclass(frozen=True)
class DistrictPreset:
    """Size of a synthetic district.

    Parameters
    ----------
    name : str
    cell_size : (dx, dy, dz) in metres
    z_bottom, z_top : float
        Elevations (m) of the grid's base and top; the top is above the highest
        topography, so the upper cells are air (inactive).
    n_deposits, n_known : int
        Deposits drawn from the hidden potential, and how many of them are known
        (training labels); the others are undiscovered (scoring only).
    """

    name: str
    cell_size: tuple[float, float, float]
    z_bottom: float
    z_top: float = 500.0
    n_deposits: int = 20
    n_known: int = 12

    def grid(self) -> VoxelGrid:
        """The preset's voxel grid (UTM 51N)."""
        dx, dy, dz = self.cell_size
        shape = (int(round(EXTENT_XY[0] / dx)), int(round(EXTENT_XY[1] / dy)),
                 int(round((self.z_top - self.z_bottom) / dz)))
        return VoxelGrid((ORIGIN_XY[0], ORIGIN_XY[1], self.z_bottom), self.cell_size, shape, CRS)


#: ``tiny`` is for tests only (a few seconds); ``small`` is the quick district a new
#: user builds (< 2 min on 2 cores); ``paper`` uses the paper's 50 m cells to 5 km depth.
PRESETS = {
    "tiny": DistrictPreset("tiny", (200.0, 200.0, 100.0), -1500.0),
    "small": DistrictPreset("small", (100.0, 100.0, 50.0), -2000.0),
    "paper": DistrictPreset("paper", (50.0, 50.0, 50.0), -5000.0),
}

#: lithology ids and names of the district (oldest first); 0 is air
UNITS = {
    0: "air",
    1: "Archean gneiss",
    2: "Lieryu leptynite",
    3: "Dashiqiao marble",
    4: "Gaixian phyllite",
    5: "Late Jurassic granite",
    6: "Early Cretaceous granodiorite",
    7: "Early Cretaceous dykes",
}
GRANITE, GRANODIORITE, DYKES = 5, 6, 7

#: unit properties: density (g/cm3), magnetic susceptibility (SI), resistivity (ohm m)
ROCK_PROPERTIES = {
    1: (2.74, 0.0030, 4000.0),
    2: (2.68, 0.0010, 2500.0),
    3: (2.78, 0.0002, 8000.0),
    4: (2.72, 0.0008, 600.0),
    5: (2.61, 0.0040, 6000.0),
    6: (2.70, 0.0150, 3000.0),
    7: (2.85, 0.0250, 1500.0),
}

#: ore volume of a deposit, drawn uniformly in this range (m3); voxel counts follow the cell size
DEPOSIT_VOLUME_M3 = (0.3e8, 0.8e8)
#: least distance (m, centre to centre) between voxels of two different deposits
DEPOSIT_SEPARATION_M = 800.0
#: a deposit grows within this ellipsoid (x, y, z radii in m) around its seed cell
DEPOSIT_RADII_M = (800.0, 800.0, 500.0)
#: deposit seed cells are drawn with probability proportional to potential ** this
DEPOSIT_SHARPNESS = 8.0
#: correlation length (m) of the hidden field of the mineral system (1/e lag)
HIDDEN_CORRELATION_M = 500.0
#: correlation length (m) of the alteration halos' own variation (1/e lag)
ALTERATION_CORRELATION_M = 400.0
#: inversion-like blur: sigma (m) of the Gaussian smoothing of each property model
INVERSION_BLUR_M = {"density": 250.0, "susceptibility": 200.0, "resistivity": 300.0}


@dataclass
class District:
    """A synthetic district: four volumes on one grid and a description.

    Attributes
    ----------
    geology : Volume
        ``lithology`` (int16, :data:`UNITS`), ``fault_ne`` and ``fault_nw`` (uint8
        fault-zone masks), ``fault_block_F_*`` (int8, side of each fault).
    geophysics : Volume
        ``density`` (g/cm3), ``susceptibility`` (SI), ``resistivity`` (ohm m), NaN
        in air.
    orebodies : Volume
        ``orebody`` (int16): the *known* deposits only (ids ``1..n_known``), the
        training labels.
    truth : Volume
        For evaluation only: ``true_potential`` (float32, 0..1, NaN in air), the
        field the deposits were drawn from; ``deposit_id`` (int16): every deposit,
        known and undiscovered (ids above ``n_known``); ``hidden_field`` (float32):
        the mineral system's correlated component no evidence sees. Its meta
        ``deposits`` lists each deposit's id, name, style and ``known`` flag.
    description : dict
        Preset, seeds, units, faults, dykes, deposits (voxel counts, depths,
        known or not), the mineral system's weights.
    """

    geology: Volume
    geophysics: Volume
    orebodies: Volume
    truth: Volume
    description: dict = field(default_factory=dict)

    @property
    def grid(self) -> VoxelGrid:
        return self.geology.grid

    @property
    def known_ids(self) -> list[int]:
        return [d["id"] for d in self.truth.meta["deposits"] if d["known"]]

    @property
    def undiscovered_ids(self) -> list[int]:
        return [d["id"] for d in self.truth.meta["deposits"] if not d["known"]]


# -- geometry of the district (local coordinates: metres from the SW corner) ----------

def _unit(v):
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


@dataclass(frozen=True)
class FaultPlane:
    """A planar fault: a point on it, strike and dip (degrees, right-hand rule)."""

    name: str
    family: str  # "NE" or "NW"
    point: tuple[float, float, float]
    strike: float
    dip: float
    throw: float  # hanging wall down (m), learned by gempy from offset contacts

    @property
    def strike_vector(self):
        s = math.radians(self.strike)
        return np.array([math.sin(s), math.cos(s), 0.0])

    @property
    def normal(self):
        """Unit normal pointing up into the hanging wall (dip direction side)."""
        dd, d = math.radians(self.strike + 90.0), math.radians(self.dip)
        return np.array([math.sin(d) * math.sin(dd), math.sin(d) * math.cos(dd), math.cos(d)])

    @property
    def dip_vector(self):
        dd, d = math.radians(self.strike + 90.0), math.radians(self.dip)
        return np.array([math.cos(d) * math.sin(dd), math.cos(d) * math.cos(dd), -math.sin(d)])

    def signed_distance(self, xyz):
        return (np.asarray(xyz, dtype=float) - np.asarray(self.point)) @ self.normal


@dataclass(frozen=True)
class Cupola:
    """An intrusion roof: flat top of ``top_radius`` at ``top_z``, flanks dipping
    ``flank_dip`` degrees outward; elliptical with ``elongation`` along ``azimuth``."""

    name: str
    centre: tuple[float, float]
    top_z: float
    top_radius: float
    flank_dip: float
    elongation: float
    azimuth: float

    def radius_at(self, z):
        return self.top_radius + np.maximum(0.0, self.top_z - np.asarray(z, float)) / math.tan(
            math.radians(self.flank_dip))


@dataclass(frozen=True)
class Dyke:
    """A tabular dyke: centre point, strike, dip, width, strike length, depth range."""

    name: str
    centre: tuple[float, float, float]
    strike: float
    dip: float
    width: float
    length: float
    z_min: float


def _geometry(rng: np.random.Generator) -> dict:
    """The district's structures, jittered by the seed (local coordinates)."""
    j = lambda s: float(rng.normal(0.0, s))
    faults = [
        FaultPlane("F_NE1", "NE", (3700 + j(120), 3300 + j(120), 0.0), 22 + j(3), 78 + j(2), 120.0),
        FaultPlane("F_NE2", "NE", (5900 + j(120), 3200 + j(120), 0.0), 40 + j(3), 74 + j(2), 150.0),
        FaultPlane("F_NW1", "NW", (5600 + j(150), 1900 + j(150), 0.0), 305 + j(3), 82 + j(2), 60.0),
    ]
    granite = Cupola("Late Jurassic granite", (2300 + j(200), 3900 + j(200)), 650.0 + j(40),
                     1200.0 + j(100), 70.0, 1.35, 45.0)
    granodiorite = Cupola("Early Cretaceous granodiorite", (4750 + j(120), 3550 + j(120)), 180.0 + j(40),
                          450.0 + j(40), 68.0, 1.3, 30.0)
    dykes = [
        Dyke("dyke 1", (4150 + j(80), 3100 + j(80), -600.0), 25 + j(3), 85.0, 80.0, 3000.0, -1800.0),
        Dyke("dyke 2", (5350 + j(80), 4300 + j(80), -600.0), 35 + j(3), 80.0, 70.0, 2400.0, -1600.0),
        Dyke("dyke 3", (2900 + j(80), 2200 + j(80), -600.0), 18 + j(3), 88.0, 60.0, 2200.0, -1500.0),
        Dyke("dyke 4", (6400 + j(80), 4700 + j(80), -600.0), 42 + j(3), 82.0, 90.0, 2600.0, -1700.0),
    ]
    fold = {"axis_azimuth": 45.0 + j(4), "wavelength": 6500.0 + j(300), "amplitude": 220.0 + j(30),
            "phase": float(rng.uniform(0, 2 * math.pi)), "plunge_gradient": 0.03 + j(0.01)}
    topo = {"base": 240.0, "relief": 110.0, "phase_x": float(rng.uniform(0, 2 * math.pi)),
            "phase_y": float(rng.uniform(0, 2 * math.pi))}
    return {"faults": faults, "granite": granite, "granodiorite": granodiorite, "dykes": dykes,
            "fold": fold, "topography": topo}


def _topography(geom, u, v):
    """Gentle hills: 130-350 m, higher to the north-west."""
    t = geom["topography"]
    return (t["base"] + 0.5 * t["relief"] * np.sin(2 * np.pi * u / 7000 + t["phase_x"])
            * np.cos(2 * np.pi * v / 9000 + t["phase_y"])
            + 0.35 * t["relief"] * np.sin(2 * np.pi * (u + v) / 5200 + t["phase_y"])
            + 30.0 * (v / EXTENT_XY[1] - u / EXTENT_XY[0]))


#: base elevations of the Liaohe Group units at the fold's hinge (oldest last)
STRATA_BASES = (("Gaixian phyllite", -250.0), ("Dashiqiao marble", -750.0), ("Lieryu leptynite", -1400.0))


def _fold_surface(geom, u, v, base):
    """Elevation of a folded contact and its gradient (dz/du, dz/dv)."""
    f = geom["fold"]
    az = math.radians(f["axis_azimuth"])
    axis = np.array([math.sin(az), math.cos(az)])
    across = np.array([axis[1], -axis[0]])
    du, dv = np.asarray(u) - 4000.0, np.asarray(v) - 3200.0
    s = du * across[0] + dv * across[1]
    a = du * axis[0] + dv * axis[1]
    k = 2 * np.pi / f["wavelength"]
    z = base + f["amplitude"] * np.cos(k * s + f["phase"]) - f["plunge_gradient"] * a
    dzds = -f["amplitude"] * k * np.sin(k * s + f["phase"])
    dzdu = dzds * across[0] - f["plunge_gradient"] * axis[0]
    dzdv = dzds * across[1] - f["plunge_gradient"] * axis[1]
    return z, dzdu, dzdv


# -- the gempy model ------------------------------------------------------------------

def build_geomodel(preset: DistrictPreset, geom: dict):
    """The district's gempy ``GeoModel`` (world coordinates, EPSG:32651).

    Groups, youngest first: granodiorite (erosive cupola), faults F_NE1, F_NE2,
    F_NW1 (each offsetting the granite and the strata), Late Jurassic granite
    (erosive cupola), Liaohe Group (three conformable contacts over the Archean
    basement). Topography is attached, so cells above it are inactive.
    """
    from voxprospect.io.gempy_model import import_gempy

    gp = import_gempy()
    from gempy.core.data import (OrientationsTable, StructuralElement, StructuralFrame, StructuralGroup,
                                 SurfacePointsTable)
    from gempy.core.data.grid_modules import Topography
    from gempy_engine.core.data.stack_relation_type import StackRelationType

    x0, y0 = ORIGIN_XY
    colours = iter(["#b2182b", "#ef8a62", "#f4a582", "#fddbc7", "#92c5de", "#4393c3", "#2166ac", "#053061",
                    "#1b7837", "#5aae61"])

    def element(name, points, orientations):
        p = np.asarray(points, dtype=float)
        o = np.asarray(orientations, dtype=float)
        sp = SurfacePointsTable.from_arrays(x=p[:, 0] + x0, y=p[:, 1] + y0, z=p[:, 2], names=name)
        ori = OrientationsTable.from_arrays(x=o[:, 0] + x0, y=o[:, 1] + y0, z=o[:, 2],
                                            G_x=o[:, 3], G_y=o[:, 4], G_z=o[:, 5], names=name)
        return StructuralElement(name=name, surface_points=sp, orientations=ori, color=next(colours))

    faults = geom["faults"]

    def throw_at(points):
        """Vertical offset of contact points: hanging walls down by each fault's throw."""
        dz = np.zeros(len(points))
        for f in faults:
            dz -= f.throw * (f.signed_distance(points) > 0)
        return dz

    # Liaohe Group: contact points on a lattice, offset across the faults
    # (gempy's cost grows with the number of points and orientations times the
    # number of cells, so every structure gets the fewest data that shape it)
    uu, vv = np.meshgrid(np.linspace(400, 7600, 4), np.linspace(400, 6000, 3), indexing="ij")
    uu, vv = uu.ravel(), vv.ravel()
    strata = []
    for name, base in STRATA_BASES:
        z, dzdu, dzdv = _fold_surface(geom, uu, vv, base)
        pts = np.column_stack([uu, vv, z])
        pts[:, 2] += throw_at(pts)
        pick = [1, 10]
        oris = [(uu[i], vv[i], pts[i, 2], *_unit([-dzdu[i], -dzdv[i], 1.0])) for i in pick]
        strata.append(element(name, pts, oris))
    liaohe = StructuralGroup(name="Liaohe_Group", elements=strata, structural_relation=StackRelationType.ERODE)

    granite = StructuralGroup(name="Late_Jurassic_granite", elements=[_cupola_element(element, geom["granite"], -1900)],
                              structural_relation=StackRelationType.ERODE)
    granodiorite = StructuralGroup(name="Early_Cretaceous_granodiorite",
                                   elements=[_cupola_element(element, geom["granodiorite"], -1900)],
                                   structural_relation=StackRelationType.ERODE)

    fault_groups = []
    for f in faults:
        c = np.array(f.point)
        pts = [c + a * f.strike_vector + b * f.dip_vector for a in (-3000, 0, 3000) for b in (0, 2000)]
        oris = [(*(c + 1000 * f.dip_vector), *f.normal)]
        fault_groups.append(StructuralGroup(name=f.name, elements=[element(f.name, pts, oris)],
                                            structural_relation=StackRelationType.FAULT,
                                            fault_relations=[liaohe]))

    frame = StructuralFrame(structural_groups=[*fault_groups, granodiorite, granite, liaohe],
                            color_gen=gp.data.ColorsGenerator())
    g = preset.grid()
    b = g.bounds
    model = gp.create_geomodel(project_name="voxprospect synthetic district", extent=list(b),
                               resolution=[8, 8, 8], structural_frame=frame)
    # topography raster on the model's extent (gempy expects it to fit exactly)
    tu = np.linspace(0.0, EXTENT_XY[0], 81)
    tv = np.linspace(0.0, EXTENT_XY[1], 65)
    TU, TV = np.meshgrid(tu, tv, indexing="ij")
    values_2d = np.stack([TU + x0, TV + y0, _topography(geom, TU, TV)], axis=-1)
    model.grid.topography = Topography(_regular_grid=model.grid.regular_grid, values_2d=values_2d)
    return model


def _cupola_element(element, cupola: Cupola, z_floor: float):
    """Contact points on rings down the cupola's flanks, with inward-pointing poles.

    gempy puts an erosive group's unit on the side its field increases towards, so
    the poles point into the intrusion.
    """
    cu, cv = cupola.centre
    az = math.radians(cupola.azimuth)
    long_ax = np.array([math.sin(az), math.cos(az)])
    short_ax = np.array([long_ax[1], -long_ax[0]])
    pts, oris = [(cu, cv, cupola.top_z)], [(cu, cv, cupola.top_z, 0.0, 0.0, -1.0)]
    tan = math.tan(math.radians(cupola.flank_dip))
    for ring, z in enumerate(np.linspace(cupola.top_z - 1.0, z_floor, 3)):
        r = float(cupola.radius_at(z))
        for k, t in enumerate(np.linspace(0, 2 * np.pi, 6, endpoint=False)):
            d = math.cos(t) * cupola.elongation * long_ax + math.sin(t) * short_ax
            p = np.array([cu, cv]) + r * d
            pts.append((p[0], p[1], z))
            if ring == 1 and k % 2 == 0:
                outward = _unit([d[0] * tan, d[1] * tan, 1.0 * np.linalg.norm(d)])
                oris.append((p[0], p[1], z, *(-outward)))
    return element(cupola.name, pts, oris)


# -- composition on the grid ----------------------------------------------------------

def _dyke_mask(grid: VoxelGrid, dyke: Dyke, local_xyz) -> np.ndarray:
    """Cells of a tabular dyke; at least one cell thick so it never breaks up."""
    s = math.radians(dyke.strike)
    dd, d = math.radians(dyke.strike + 90.0), math.radians(dyke.dip)
    normal = np.array([math.sin(d) * math.sin(dd), math.sin(d) * math.cos(dd), math.cos(d)])
    along = np.array([math.sin(s), math.cos(s), 0.0])
    rel = local_xyz - np.asarray(dyke.centre)
    across = rel @ normal
    half = max(dyke.width / 2.0, 0.5 * min(grid.cell_size[0], grid.cell_size[1]))
    # a gentle undulation along strike, as dykes pinch and swell
    wobble = 0.5 * half * np.sin(2 * np.pi * (rel @ along) / 900.0)
    return ((np.abs(across - wobble) <= half) & (np.abs(rel @ along) <= dyke.length / 2.0)
            & (local_xyz[..., 2] >= dyke.z_min))


def _zone_of_blocks(block: np.ndarray) -> np.ndarray:
    """Cells on either side of a fault surface: where the side changes between
    face neighbours."""
    zone = np.zeros(block.shape, dtype=bool)
    for axis in range(3):
        diff = np.diff(block, axis=axis) != 0
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis] = slice(0, -1)
        hi[axis] = slice(1, None)
        zone[tuple(lo)] |= diff
        zone[tuple(hi)] |= diff
    return zone


def _smooth_noise(rng, shape, sigma_cells):
    """Correlated Gaussian noise with unit standard deviation."""
    from scipy import ndimage

    n = ndimage.gaussian_filter(rng.standard_normal(shape), sigma_cells, mode="nearest")
    sd = n.std()
    return n / sd if sd > 0 else n


def _fill_air_from_below(values: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Copy each column's top active value into the air above it, so smoothing does
    not drag air into the rocks."""
    out = values.copy()
    nz = values.shape[2]
    k = np.arange(nz)[None, None, :]
    top = np.where(active.any(axis=2), np.max(np.where(active, k, -1), axis=2), 0)
    top_val = np.take_along_axis(values, top[:, :, None], axis=2)
    out[~active] = np.broadcast_to(top_val, values.shape)[~active]
    return out


def _gaussian_field(rng, shape, cell_size, correlation_m):
    """A stationary Gaussian random field with unit variance and correlation length
    ``correlation_m``: white noise smoothed by a Gaussian of sigma ``correlation_m / 2``
    (its correlation ``exp(-r^2 / (4 sigma^2))`` falls to 1/e at ``r = correlation_m``)."""
    from scipy import ndimage

    sigma = tuple(0.5 * correlation_m / c for c in cell_size)
    # periodic smoothing keeps the variance the same up to the grid's faces
    n = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
    sd = n.std()
    return n / sd if sd > 0 else n


def _random_streams(seed: int, deposit_seed: int) -> dict:
    """Independent generators: the geometry (as before, so a seed keeps its gempy
    geology), the geophysics, the hidden field and the deposits. The geophysics do not
    depend on ``deposit_seed``: the evidence never sees how the deposits were drawn."""
    return {"geometry": np.random.default_rng(seed),
            "geophysics": np.random.default_rng([seed, 1]),
            "hidden": np.random.default_rng([deposit_seed, 2]),
            "deposits": np.random.default_rng([deposit_seed, 3])}


def make_district(preset: str = "small", seed: int = 42,
                  progress: Callable[[float, str], None] | None = None,
                  deposit_seed: int | None = None, use_cache: bool = True) -> District:
    """Build the synthetic district.

    Parameters
    ----------
    preset : {"small", "paper", "tiny"}
        ``small``: 100 x 100 x 50 m cells to 2 km depth (about 230,000 active
        voxels); ``paper``: 50 m cells to 5 km depth (2.3 million cells, minutes);
        ``tiny``: 200 x 200 x 100 m cells, for tests.
    seed : int
        Jitters the structures and the geophysical noise; the same seed gives
        bit-identical volumes.
    progress : callable, optional
        ``progress(fraction, message)``; may raise :class:`~voxprospect.errors.Cancelled`.
    deposit_seed : int, optional
        Seed of the hidden field and of the deposits (default: ``seed``). The
        geology and the geophysics depend on ``seed`` only, so two districts that
        differ in ``deposit_seed`` share every evidence volume and differ in their
        deposits: the evidence holds no trace of the labels.
    use_cache : bool
        Read gempy's result from the user cache folder when an intact entry for
        this preset and seed exists, and store it there otherwise
        (:mod:`voxprospect.synth.gempycache`; the district is bit-identical
        either way). ``VOXPROSPECT_CACHE_DIR=off`` disables it too.

    Returns
    -------
    District
        Its attribute ``gempy_cached`` says whether gempy was skipped.

    Raises
    ------
    VoxprospectError
        Unknown preset, or fewer deposits fit at the stated separation than asked.
    """

    from voxprospect.io.gempy_model import compute_geomodel_on_grid

    if preset not in PRESETS:
        raise VoxprospectError(f"unknown district preset {preset!r}; use one of: small, paper")
    step = progress or (lambda f, m: None)
    p = PRESETS[preset]
    grid = p.grid()
    seed = int(seed)
    deposit_seed = seed if deposit_seed is None else int(deposit_seed)
    rngs = _random_streams(seed, deposit_seed)
    geom = _geometry(rngs["geometry"])

    def compute_gempy():
        step(0.0, "building the gempy model")
        model = build_geomodel(p, geom)
        return compute_geomodel_on_grid(model, grid, dtype="float32", chunk_points=300_000,
                                        progress=lambda f, m: step(0.05 + 0.6 * f, m))

    if use_cache:  # gempy's result per seed and preset, verified by hash (voxprospect.synth.gempycache)
        from voxprospect.synth.gempycache import cached_geomodel
        gempy_vol, cache_hit = cached_geomodel(preset, seed, geom, grid, compute_gempy,
                                               functions=(build_geomodel, _cupola_element, compute_geomodel_on_grid))
        if cache_hit:
            step(0.65, "gempy model read from the cache")
    else:
        gempy_vol, cache_hit = compute_gempy(), False
    active = gempy_vol.active
    step(0.66, "composing units, dykes and fault zones")

    # gempy's element names -> the district's unit ids
    name_to_unit = {n: i for i, n in UNITS.items()}
    name_to_unit["basement"] = 1
    lut = np.zeros(max(gempy_vol.classes["lithology"]) + 1, dtype=np.int16)
    for gid, name in gempy_vol.classes["lithology"].items():
        lut[gid] = name_to_unit.get(name, 0)
    litho = lut[gempy_vol["lithology"]]

    X, Y, Z = np.meshgrid(*(grid.axis_centres(a) for a in range(3)), indexing="ij")
    local = np.stack([X - ORIGIN_XY[0], Y - ORIGIN_XY[1], Z], axis=-1)
    dyke_cells = np.zeros(grid.shape, dtype=bool)
    for d in geom["dykes"]:
        dyke_cells |= _dyke_mask(grid, d, local)
    dyke_cells &= active
    litho[dyke_cells] = DYKES
    litho[~active] = 0

    blocks = {f.name: gempy_vol[f"fault_block_{f.name}"] for f in geom["faults"]}
    zones = {name: _zone_of_blocks(b) & active for name, b in blocks.items()}
    fault_ne = np.zeros(grid.shape, dtype=bool)
    fault_nw = np.zeros(grid.shape, dtype=bool)
    for f in geom["faults"]:
        (fault_ne if f.family == "NE" else fault_nw)[...] |= zones[f.name]

    topo = np.where(active.any(axis=2),
                    grid.axis_edges(2)[np.max(np.where(active, np.arange(grid.shape[2])[None, None, :] + 1, 0),
                                              axis=2)], grid.bounds[4])
    depth = topo[:, :, None] - Z
    fields = _geological_fields(grid, geom, litho, active, dyke_cells, fault_ne, fault_nw, local)

    step(0.72, "geophysics")
    geophys, alteration_info = _geophysics(grid, litho, active, fields, rngs["geophysics"])

    step(0.8, "hidden mineral system")
    potential, hidden, controls = _true_potential(grid, geom, litho, active, fields, depth, local, rngs["hidden"])

    step(0.86, "placing deposits")
    deposit_id, deposits = _place_deposits(p, grid, geom, litho, active, potential, depth, local, fields,
                                           rngs["deposits"], seed, deposit_seed)
    n_known = sum(1 for d in deposits if d["known"])
    orebody = np.where(deposit_id <= n_known, deposit_id, 0).astype(np.int16)

    # -- volumes ---------------------------------------------------------------------
    step(0.95, "assembling volumes")
    description = _describe(p, seed, deposit_seed, grid, geom, litho, active, deposit_id, deposits, fault_ne,
                            fault_nw, Z, depth, controls, alteration_info)
    prov = {"generator": GENERATOR, "preset": p.name, "seed": seed, "deposit_seed": deposit_seed}
    geo_layers = {"lithology": litho.astype(np.int16), "fault_ne": fault_ne.astype(np.uint8),
                  "fault_nw": fault_nw.astype(np.uint8)}
    for f in geom["faults"]:
        geo_layers[f"fault_block_{f.name}"] = blocks[f.name].astype(np.int8)
    geology = Volume(grid, geo_layers, active, {"lithology": UNITS},
                     {**prov, "kind": "geological model (gempy)",
                      "units": {UNITS[i]: {"density_g_cm3": v[0], "susceptibility_si": v[1],
                                           "resistivity_ohm_m": v[2]} for i, v in ROCK_PROPERTIES.items()},
                      "gempy": gempy_vol.meta.get("gempy", {})})
    geophysics = Volume(grid, geophys, active, {},
                        {**prov, "kind": "synthetic inversions",
                         "units": {"density": "g/cm3", "susceptibility": "SI", "resistivity": "ohm m"},
                         "inversion_blur_sigma_m": dict(INVERSION_BLUR_M)})
    names = {d["id"]: d["name"] for d in deposits}
    table = [{k: d[k] for k in ("id", "name", "known", "style")} for d in deposits]
    orebodies = Volume(grid, {"orebody": orebody}, active,
                       {"orebody": {0: "barren", **{i: n for i, n in names.items() if i <= n_known}}},
                       {**prov, "kind": "known orebody models (training labels)",
                        "note": "undiscovered deposits are not in this file; see truth.vti"})
    truth = Volume(grid, {"true_potential": potential, "deposit_id": deposit_id.astype(np.int16),
                          "hidden_field": hidden}, active,
                   {"deposit_id": {0: "barren", **names}},
                   {**prov, "kind": "hidden truth (evaluation only)", "deposits": table,
                    "separation_m": DEPOSIT_SEPARATION_M, "hidden_correlation_m": HIDDEN_CORRELATION_M})
    step(1.0, "district built")
    district = District(geology, geophysics, orebodies, truth, description)
    district.gempy_cached = cache_hit  # not a field: never written, only reported
    return district


def _distance(mask, cell_size, indices=False):
    from scipy import ndimage

    if not mask.any():
        return (np.full(mask.shape, 1e5), None) if indices else np.full(mask.shape, 1e5)
    return ndimage.distance_transform_edt(~mask, sampling=cell_size, return_indices=indices)


def _geological_fields(grid, geom, litho, active, dyke_cells, fault_ne, fault_nw, local) -> dict:
    """Distances (m) to the district's geological objects, and the direction to the
    granodiorite (for the roof control)."""
    cs = grid.cell_size
    gd = litho == GRANODIORITE
    intrusive = np.isin(litho, (GRANITE, GRANODIORITE))
    d_gd_out, idx = _distance(gd, cs, indices=True)
    # vertical component of the unit vector from a cell to its nearest granodiorite cell
    if idx is not None:
        dz = grid.axis_centres(2)[idx[2]] - local[..., 2]
        roof = np.clip(-dz / np.maximum(d_gd_out, 1e-6), 0.0, 1.0)  # 1: the stock lies straight below
        del idx
    else:
        roof = np.zeros(grid.shape)
    roof[gd] = 0.0
    return {"gd": gd, "d_gd_out": d_gd_out, "d_gd_in": _distance(~gd & active, cs), "roof": roof,
            "d_intrusion": _distance(intrusive, cs), "intrusive": intrusive,
            "d_fault": _distance(fault_ne | fault_nw, cs), "d_dyke": _distance(dyke_cells, cs),
            "signed": {f.name: f.signed_distance(local) for f in geom["faults"]}}


#: weights of the hidden mineral system's score (``docs/synthetic-district.md``)
CONTROLS = {"fault_contact": 6.0, "fault": 0.5, "intersection": 3.0, "dyke": 0.6, "depth": 1.2, "host": 1.0,
            "hidden": 0.45, "noise": 0.25, "offset": -4.0,
            "shell_centre_m": 300.0, "shell_width_m": 400.0, "fault_efold_m": 150.0, "intersection_efold_m": 350.0}


def _true_potential(grid, geom, litho, active, fields, depth, local, rng):
    """The hidden mineral-system field: a logistic function of nonlinear, 3D-contextual
    controls plus a correlated hidden field and noise the evidence cannot see."""
    w = CONTROLS
    # contact shell: outside the granodiorite, strongest 100-500 m out; a thin carapace inside
    d_out, d_in = fields["d_gd_out"], fields["d_gd_in"]
    shell = np.where(fields["gd"], 0.5 * np.exp(-d_in / 100.0),
                     np.exp(-0.5 * ((d_out - w["shell_centre_m"]) / w["shell_width_m"]) ** 2))
    # 3D context: the roof of the stock (the stock below) traps fluids, its flanks less
    contact = shell * np.where(fields["gd"], 1.0, 0.3 + 0.7 * fields["roof"])
    broad = np.exp(-d_out / 1200.0)
    # NE-NNE faults: closeness to the fault plane, strongest in the hanging wall
    ne = [f for f in geom["faults"] if f.family == "NE"]
    nw = [f for f in geom["faults"] if f.family == "NW"]
    fault = np.zeros(grid.shape)
    for f in ne:
        s = fields["signed"][f.name]
        hanging = 1.0 / (1.0 + np.exp(-s / 60.0))
        fault = np.maximum(fault, np.exp(-np.abs(s) / w["fault_efold_m"]) * (0.25 + 0.75 * hanging))
    # NE x NW intersections: closeness to the intersection line
    inter = np.zeros(grid.shape)
    for f in ne:
        for g in nw:
            r = np.hypot(fields["signed"][f.name], fields["signed"][g.name])
            inter = np.maximum(inter, np.exp(-r / w["intersection_efold_m"]))
    dyke = np.exp(-fields["d_dyke"] / 200.0)
    depth_window = np.exp(-0.5 * ((depth - 900.0) / 700.0) ** 2)
    host = np.select([litho == 3, litho == 4, litho == 2, litho == GRANITE, litho == DYKES],
                     [0.5, 0.3, 0.2, 0.1, 0.2], 0.0)
    hidden = _gaussian_field(rng, grid.shape, grid.cell_size, HIDDEN_CORRELATION_M)
    noise = rng.standard_normal(grid.shape)
    score = (w["fault_contact"] * fault * contact + w["fault"] * fault + w["intersection"] * inter * (0.3 + 0.7 * broad)
             + w["dyke"] * dyke * fault + w["depth"] * depth_window + w["host"] * host
             + w["hidden"] * hidden + w["noise"] * noise + w["offset"])
    potential = (1.0 / (1.0 + np.exp(-score))).astype(np.float32)
    potential[~active] = np.nan
    hidden = hidden.astype(np.float32)
    hidden[~active] = np.nan
    controls = {"weights": dict(w), "hidden_correlation_m": HIDDEN_CORRELATION_M,
                "share_of_score_variance": _variance_shares(
                    active, {"fault x contact": w["fault_contact"] * fault * contact, "fault": w["fault"] * fault,
                             "intersection": w["intersection"] * inter * (0.3 + 0.7 * broad),
                             "dyke x fault": w["dyke"] * dyke * fault, "depth": w["depth"] * depth_window,
                             "host": w["host"] * host, "hidden field": w["hidden"] * hidden,
                             "noise": w["noise"] * noise})}
    return potential, hidden, controls


def _variance_shares(active, terms: dict) -> dict:
    var = {k: float(np.var(np.asarray(v, dtype=float)[active])) for k, v in terms.items()}
    total = sum(var.values()) or 1.0
    return {k: round(v / total, 3) for k, v in var.items()}


def _geophysics(grid, litho, active, fields, rng):
    """Density, susceptibility and resistivity: unit properties, alteration halos
    around every fault and the intrusions' aureoles (with their own correlated
    variation), smoothed like an inversion, plus correlated noise. Neither the true
    potential nor the deposits enter."""
    from scipy import ndimage

    cs = grid.cell_size
    props = np.zeros((8, 3))
    for uid, vals in ROCK_PROPERTIES.items():
        props[uid] = vals
    props[0] = props[1]
    density = props[litho, 0].copy()
    suscept = props[litho, 1].copy()
    log_res = np.log10(props[litho, 2])
    vary = _gaussian_field(rng, grid.shape, cs, ALTERATION_CORRELATION_M)
    alteration = ((0.7 * np.exp(-fields["d_fault"] / 200.0)
                   + 0.5 * np.exp(-fields["d_intrusion"] / 400.0) * ~fields["intrusive"])
                  * np.exp(0.5 * vary))
    alteration = np.clip(alteration, 0.0, 1.5)
    alteration[~active] = 0.0
    density -= 0.03 * alteration               # sericite-clay alteration lowers density a little
    suscept *= np.exp(-0.8 * alteration)       # magnetite destroyed
    log_res -= 0.7 * alteration                # wet, clay-altered rock conducts

    def inversion_like(values, sigma_m, noise, log=False):
        sigma = tuple(sigma_m / c for c in cs)
        filled = _fill_air_from_below(values, active)
        smooth = ndimage.gaussian_filter(filled, sigma, mode="nearest")
        out = smooth + noise * _smooth_noise(rng, grid.shape, tuple(max(1.0, s) for s in sigma))
        out = 10.0 ** out if log else out
        out = out.astype(np.float32)
        out[~active] = np.nan
        return out

    vols = {"density": inversion_like(density, INVERSION_BLUR_M["density"], 0.01),
            "susceptibility": inversion_like(np.log10(np.maximum(suscept, 1e-5)),
                                             INVERSION_BLUR_M["susceptibility"], 0.05, log=True),
            "resistivity": inversion_like(log_res, INVERSION_BLUR_M["resistivity"], 0.06, log=True)}
    return vols, {"alteration_correlation_m": ALTERATION_CORRELATION_M,
                  "inversion_blur_sigma_m": dict(INVERSION_BLUR_M)}


_NEIGHBOURS = np.array([(a, b, c) for a in (-1, 0, 1) for b in (-1, 0, 1) for c in (-1, 0, 1)
                        if (a, b, c) != (0, 0, 0)])


def _grow(potential, seed_index, allowed, n_target, local, radii):
    """A connected (26-neighbour) body grown from ``seed_index`` by always adding the
    highest-potential allowed neighbour, within an ellipsoid of ``radii`` (m)."""
    import heapq

    shape = potential.shape
    centre = local[seed_index]
    taken = np.zeros(shape, dtype=bool)
    queued = np.zeros(shape, dtype=bool)
    heap = [(-float(potential[seed_index]), seed_index)]
    queued[seed_index] = True
    chosen = []
    inv_r = 1.0 / np.asarray(radii)
    while heap and len(chosen) < n_target:
        _, ijk = heapq.heappop(heap)
        taken[ijk] = True
        chosen.append(ijk)
        for off in _NEIGHBOURS:
            n = (ijk[0] + off[0], ijk[1] + off[1], ijk[2] + off[2])
            if not all(0 <= n[a] < shape[a] for a in range(3)) or queued[n] or not allowed[n]:
                continue
            if (((local[n] - centre) * inv_r) ** 2).sum() > 1.0:
                continue
            queued[n] = True
            heapq.heappush(heap, (-float(potential[n]), n))
    return chosen


def _place_deposits(p, grid, geom, litho, active, potential, depth, local, fields, rng, seed, deposit_seed):
    """Draw ``p.n_deposits`` deposits from the potential, at least
    :data:`DEPOSIT_SEPARATION_M` apart; the first ``p.n_known`` of a random order
    are the known ones (ids ``1..n_known``), the rest are undiscovered."""
    pot = np.nan_to_num(potential.astype(float), nan=0.0)
    eligible = active & (depth >= 100.0) & np.isfinite(potential)
    occupied = np.zeros(grid.shape, dtype=bool)
    bodies = []
    for k in range(p.n_deposits):
        free = eligible.copy()
        if occupied.any():
            free &= _distance(occupied, grid.cell_size) >= DEPOSIT_SEPARATION_M
        idx = np.flatnonzero(free)
        if idx.size == 0:
            raise VoxprospectError(f"seed {deposit_seed}: only {k} of {p.n_deposits} deposits fit "
                                   f"{DEPOSIT_SEPARATION_M:g} m apart; try another seed")
        weights = pot.ravel()[idx] ** DEPOSIT_SHARPNESS
        start = int(rng.choice(idx, p=weights / weights.sum()))
        volume = float(rng.uniform(*DEPOSIT_VOLUME_M3))
        n_target = max(1, int(round(volume / grid.cell_volume)))
        cells = _grow(pot, tuple(int(v) for v in np.unravel_index(start, grid.shape)), free, n_target, local,
                      DEPOSIT_RADII_M)
        occupied[tuple(np.array(cells).T)] = True
        bodies.append((start, cells))
    order = rng.permutation(len(bodies))
    known = set(order[:p.n_known].tolist())
    ranked = sorted(range(len(bodies)), key=lambda b: (b not in known, b))
    deposit_id = np.zeros(grid.shape, dtype=np.int16)
    deposits = []
    for new_id, b in enumerate(ranked, start=1):
        start, cells = bodies[b]
        deposit_id[tuple(np.array(cells).T)] = new_id
        style = _deposit_style(geom, fields, np.unravel_index(start, grid.shape))
        deposits.append({"id": new_id, "name": f"D{new_id} {style}", "known": b in known, "style": style,
                         "seed_local_m": [round(float(v), 1) for v in local[np.unravel_index(start, grid.shape)]]})
    return deposit_id, deposits


def _deposit_style(geom, fields, ijk) -> str:
    near = [(abs(float(fields["signed"][f.name][ijk])), f.name) for f in geom["faults"]]
    dist, name = min(near)
    if dist <= 200.0:
        return f"vein ({name})"
    if fields["d_gd_out"][ijk] <= 600.0:
        return "contact"
    return "disseminated"


def _describe(p, seed, deposit_seed, grid, geom, litho, active, deposit_id, deposits, fault_ne, fault_nw, Z,
              depth, controls, alteration_info) -> dict:
    units = {UNITS[i]: int(((litho == i) & active).sum()) for i in UNITS if i}
    table = {}
    for d in deposits:
        m = deposit_id == d["id"]
        info = {"id": d["id"], "known": d["known"], "style": d["style"], "voxels": int(m.sum()),
                "volume_m3": float(m.sum() * grid.cell_volume)}
        info["elevation_m"] = [float(Z[m].min()), float(Z[m].max())]
        info["depth_below_surface_m"] = [round(float(depth[m].min()), 1), round(float(depth[m].max()), 1)]
        hosts = np.unique(litho[m], return_counts=True)
        info["host_units"] = {UNITS[int(h)]: int(c) for h, c in zip(*hosts)}
        table[d["name"]] = info
    known = [d["name"] for d in deposits if d["known"]]
    return {
        "generator": GENERATOR, "preset": p.name, "seed": seed, "deposit_seed": deposit_seed,
        "grid": grid.to_dict(), "active_voxels": int(active.sum()),
        "orebody_voxels": int(sum(table[n]["voxels"] for n in known)),
        "undiscovered_voxels": int(sum(v["voxels"] for v in table.values() if not v["known"])),
        "units": units,
        "faults": [{"name": f.name, "family": f.family, "strike_deg": round(f.strike, 1),
                    "dip_deg": round(f.dip, 1), "throw_m": f.throw} for f in geom["faults"]],
        "fault_zone_voxels": {"NE-NNE": int(fault_ne.sum()), "NW": int(fault_nw.sum())},
        "dykes": [{"name": d.name, "strike_deg": round(d.strike, 1), "dip_deg": d.dip, "width_m": d.width,
                   "length_m": d.length} for d in geom["dykes"]],
        "deposits": table,
        "known_deposits": known,
        "undiscovered_deposits": [d["name"] for d in deposits if not d["known"]],
        "deposit_separation_m": DEPOSIT_SEPARATION_M,
        "mineral_system": controls,
        "geophysics": alteration_info,
    }

# -- writing ----------------------------------------------------------------------------

#: files :func:`write_district` writes (besides report.json)
DISTRICT_FILES = ("geology.vti", "geophysics.vti", "orebodies.vti", "truth.vti", "README.md", "project.toml")


def existing_outputs(outdir) -> list[Path]:
    """District files already present in ``outdir`` (what a write would replace)."""
    out = Path(outdir)
    return [out / n for n in (*DISTRICT_FILES, "report.json") if (out / n).exists()]


def write_district(district: District, outdir, overwrite: bool = True, report=None) -> list[Path]:
    """Write a district's volumes, a README, a ready project file and ``report.json``.

    Files: ``geology.vti``, ``geophysics.vti``, ``orebodies.vti``, ``truth.vti``,
    ``README.md``, ``project.toml`` (the paper's seven evidence channels) and
    ``report.json``. Each is written atomically; other files in ``outdir`` are
    never touched. The volumes and text files carry no timestamp, so the same
    seed gives byte-identical files (``report.json`` records the run's time).

    Parameters
    ----------
    district : District
    outdir : path-like
        Created if missing.
    overwrite : bool
        Replace district files already in ``outdir``; when False an existing one
        raises :class:`~voxprospect.errors.OutputError`.
    report : voxprospect.report.RunReport, optional
        The run's report (one is made when omitted); written as ``report.json``.

    Returns
    -------
    list of Path
        The files written, ``report.json`` last.

    Raises
    ------
    OutputError
        If ``outdir`` is a file, or a district file exists and ``overwrite`` is False.
    """
    from voxprospect.errors import OutputError
    from voxprospect.io import write_volume
    from voxprospect.report import RunReport, write_text_atomic

    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder")
    if not overwrite:
        found = existing_outputs(out)
        if found:
            raise OutputError(f"{out}: already holds a district ({', '.join(p.name for p in found)}); "
                              "choose an empty folder or allow overwriting (--overwrite)")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, vol in (("geology.vti", district.geology), ("geophysics.vti", district.geophysics),
                      ("orebodies.vti", district.orebodies), ("truth.vti", district.truth)):
        write_volume(vol, out / name)
        written.append(out / name)
    written.append(write_text_atomic(out / "README.md", district_readme(district)))
    written.append(write_text_atomic(out / "project.toml", district_project_toml(district)))
    if report is None:
        report = RunReport("synth", {"preset": district.description.get("preset"), "outdir": str(out)},
                           district.description.get("seed"))
    for p in written:
        report.add_output(p, role=f"district_{Path(p).name.split('.')[0].lower()}")
    report["metrics"] = {"active_voxels": district.description["active_voxels"],
                         "orebody_voxels": district.description["orebody_voxels"],
                         "undiscovered_voxels": district.description["undiscovered_voxels"],
                         "deposits": {k: v["voxels"] for k, v in district.description["deposits"].items()}}
    report["district"] = district.description
    written.append(report.write(out))
    return written


def run_synth(outdir, preset: str = "small", seed: int = 42,
              progress: Callable[[float, str], None] | None = None, overwrite: bool = True) -> dict:
    """Build the synthetic district and write it to ``outdir``.

    Parameters
    ----------
    outdir : path-like
    preset : {"small", "paper"}
    seed : int
    progress : callable, optional
        ``progress(fraction, message)``; may raise :class:`~voxprospect.errors.Cancelled`.
    overwrite : bool
        See :func:`write_district`.

    Returns
    -------
    dict
        The content of ``report.json`` (parameters, files, deposit voxel counts,
        timings).

    Raises
    ------
    VoxprospectError
        Unknown preset; :class:`~voxprospect.errors.OutputError` for an unusable
        ``outdir``.
    """
    from voxprospect.errors import OutputError
    from voxprospect.report import RunReport

    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder")
    if not overwrite and existing_outputs(out):
        raise OutputError(f"{out}: already holds a district ({', '.join(p.name for p in existing_outputs(out))}); "
                          "choose an empty folder or allow overwriting (--overwrite)")
    from voxprospect.io.outputs import check_folder, step_outputs
    from voxprospect.limits import check_seed

    seed = check_seed(seed, "seed")
    # the way out is checked before minutes of modelling, not after
    check_folder(out, what="district folder")
    report = RunReport("synth", {"preset": preset, "seed": int(seed), "outdir": str(out)}, int(seed))
    step = progress or (lambda f, m: None)
    with report.timer("make_district"):
        district = make_district(preset, seed, progress=lambda f, m: step(0.9 * f, m))
    report["gempy_cache"] = "hit" if getattr(district, "gempy_cached", False) else "computed"
    step(0.9, f"writing {out}")
    with step_outputs(folders=[out]), report.timer("write"):
        write_district(district, out, overwrite=True, report=report)
    step(1.0, "done")
    return report.data


def district_readme(district: District) -> str:
    """A short Markdown description of a district (no timestamp, so it is reproducible)."""
    d = district.description
    g = district.grid
    lines = [
        f"# Synthetic Wulong-like gold district (preset `{d['preset']}`, seed {d['seed']})",
        "",
        "Built by `voxprospect synth` with gempy: Liaohe Group strata over Archean gneiss, a Late",
        "Jurassic granite, an Early Cretaceous granodiorite stock and dykes, NE-NNE and NW faults.",
        f"{len(d['deposits'])} deposits were drawn from a hidden true-potential field, at least",
        f"{d['deposit_separation_m']:g} m apart: {len(d['known_deposits'])} are known (`orebodies.vti`, the training",
        f"labels) and {len(d['undiscovered_deposits'])} are undiscovered (only in `truth.vti`, for scoring). The",
        "evidence explains the potential only in part. See docs/synthetic-district.md in voxprospect.",
        "",
        f"Grid: {g.describe()}; {d['active_voxels']:,} active voxels below the topography.",
        "",
        "| file | layers |",
        "|---|---|",
        "| geology.vti | lithology (class ids), fault_ne, fault_nw (fault-zone masks), "
        "fault_block_F_* (side of each fault) |",
        "| geophysics.vti | density (g/cm3), susceptibility (SI), resistivity (ohm m) |",
        "| orebodies.vti | orebody (0 barren, 1-n the known deposits) |",
        "| truth.vti | true_potential (0-1), deposit_id (every deposit, known and undiscovered), "
        "hidden_field; evaluation only |",
        "| project.toml | the paper's seven evidence channels, ready for `voxprospect evidence` |",
        "",
        "## Units (active voxels)",
        "",
    ]
    for name, n in d["units"].items():
        lines.append(f"- {name}: {n:,}")
    lines += ["", "## Faults", ""]
    for f in d["faults"]:
        lines.append(f"- {f['name']} ({f['family']}): strike {f['strike_deg']:g}, dip {f['dip_deg']:g}, "
                     f"throw {f['throw_m']:g} m")
    lines += ["", "## Dykes", ""]
    for k in d["dykes"]:
        lines.append(f"- {k['name']}: strike {k['strike_deg']:g}, dip {k['dip_deg']:g}, "
                     f"{k['width_m']:g} m wide, {k['length_m']:g} m long")
    lines += ["", "## Deposits", "", "| id | deposit | known | style | voxels | depth below surface (m) | hosts |",
              "|---|---|---|---|---|---|---|"]
    for name, info in d["deposits"].items():
        depth = info.get("depth_below_surface_m", [0, 0])
        hosts = ", ".join(f"{h} {c}" for h, c in info.get("host_units", {}).items())
        lines.append(f"| {info['id']} | {name} | {'known' if info['known'] else 'undiscovered'} | {info['style']} | "
                     f"{info['voxels']} | {depth[0]:g}-{depth[1]:g} | {hosts} |")
    lines += ["", f"{d['orebody_voxels']} known and {d['undiscovered_voxels']} undiscovered orebody voxels.", ""]
    return "\n".join(lines)


def district_project_toml(district: District) -> str:
    """The project file for the district: the paper's seven evidence channels."""
    d = district.description
    return f'''# voxprospect project for the synthetic district (preset {d["preset"]}, seed {d["seed"]}).
# Paths are relative to this file. Schema: docs/project-file.md.

[project]
name = "synthetic Wulong-like district ({d["preset"]}, seed {d["seed"]})"
seed = {d["seed"]}
output_dir = "run"

[grid]
reference = "geology.vti"

[inputs.geology]
path = "geology.vti"

[inputs.geophysics]
path = "geophysics.vti"

[inputs.orebodies]
path = "orebodies.vti"

# The paper's seven channels: four 3D buffers of geological objects ...
[[evidence]]
name = "granodiorite"
kind = "buffer"
source = "geology"
layer = "lithology"
classes = ["{UNITS[GRANODIORITE]}"]
transform = "distance"
max_distance_m = 2000
standardise = "robust"

[[evidence]]
name = "dykes"
kind = "buffer"
source = "geology"
layer = "lithology"
classes = ["{UNITS[DYKES]}"]
transform = "distance"
max_distance_m = 2000
standardise = "robust"

[[evidence]]
name = "faults_ne"
kind = "buffer"
source = "geology"
layer = "fault_ne"
transform = "distance"
max_distance_m = 2000
standardise = "robust"

[[evidence]]
name = "faults_nw"
kind = "buffer"
source = "geology"
layer = "fault_nw"
transform = "distance"
max_distance_m = 2000
standardise = "robust"

# ... and three standardised inversion volumes
[[evidence]]
name = "density"
kind = "geophysics"
source = "geophysics"
layer = "density"
standardise = "robust"

[[evidence]]
name = "susceptibility"
kind = "geophysics"
source = "geophysics"
layer = "susceptibility"
standardise = "robust"

[[evidence]]
name = "resistivity"
kind = "geophysics"
source = "geophysics"
layer = "resistivity"
standardise = "robust"
log10 = true

[orebodies]
source = "orebodies"
layer = "orebody"

[samples]
window = 3
min_distance_m = 800
edge = "edge"
negatives_per_positive = 1.0

[training]
models = ["DL4", "RF"]
epochs = 200
batch_size = 256
learning_rate = 0.001
protocols = ["random", "spatial", "deposit"]
device = "auto"

[targets]
threshold = "pa"
min_voxels = 1
'''
