"""The district's structures and its gempy model.

:func:`district_geometry` draws the faults, the two intrusions' cupolas, the dykes, the
fold and the topography from the seed (local coordinates: metres from the SW corner);
:func:`build_geomodel` turns them into a gempy ``GeoModel``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from voxprospect.synth.presets import EXTENT_XY, ORIGIN_XY, DistrictPreset

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


def district_geometry(rng: np.random.Generator) -> dict:
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
