"""The synthetic district's sizes, units, rock properties and fixed constants.

Everything here is data: the presets (:data:`PRESETS`), the lithology table
(:data:`UNITS`), each unit's density, susceptibility and resistivity
(:data:`ROCK_PROPERTIES`), the deposits' sizes and spacing, the correlation lengths, and
the :class:`District` the builder returns. Details: ``docs/synthetic-district.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
