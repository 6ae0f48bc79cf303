"""Building the synthetic district: :func:`make_district`.

The steps, each in its own module: the seed's structures and the gempy model
(:mod:`~voxprospect.synth.geomodel`), the units, dykes and fault zones on the grid and the
geophysics (:mod:`~voxprospect.synth.fields`), the hidden mineral system and the deposits
(:mod:`~voxprospect.synth.deposits`).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from voxprospect.data.volume import Volume
from voxprospect.errors import VoxprospectError
from voxprospect.synth.deposits import describe_district, place_deposits, true_potential
from voxprospect.synth.fields import dyke_mask, fault_zone, geological_fields, synthetic_geophysics
from voxprospect.synth.geomodel import build_geomodel, district_geometry
from voxprospect.synth.presets import (DEPOSIT_SEPARATION_M, DYKES, GENERATOR, HIDDEN_CORRELATION_M,
                                       INVERSION_BLUR_M, ORIGIN_XY, PRESETS, ROCK_PROPERTIES, UNITS, District)

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
    if preset not in PRESETS:
        raise VoxprospectError(f"unknown district preset {preset!r}; use one of: small, paper")
    step = progress or (lambda f, m: None)
    p = PRESETS[preset]
    grid = p.grid()
    seed = int(seed)
    deposit_seed = seed if deposit_seed is None else int(deposit_seed)
    rngs = _random_streams(seed, deposit_seed)
    geom = district_geometry(rngs["geometry"])

    gempy_vol, cache_hit = _gempy_on_grid(preset, p, seed, geom, grid, step, use_cache)
    step(0.66, "composing units, dykes and fault zones")
    local = _local_coordinates(grid)
    units = _compose_units(grid, geom, gempy_vol, local)
    litho, active = units["lithology"], units["active"]
    depth = units["depth"]
    fields = geological_fields(grid, geom, litho, active, units["dyke_cells"], units["fault_ne"], units["fault_nw"],
                               local)

    step(0.72, "geophysics")
    geophys, alteration_info = synthetic_geophysics(grid, litho, active, fields, rngs["geophysics"])

    step(0.8, "hidden mineral system")
    potential, hidden, controls = true_potential(grid, geom, litho, active, fields, depth, local, rngs["hidden"])

    step(0.86, "placing deposits")
    deposit_id, deposits = place_deposits(p, grid, geom, litho, active, potential, depth, local, fields,
                                          rngs["deposits"], seed, deposit_seed)

    step(0.95, "assembling volumes")
    description = describe_district(p, seed, deposit_seed, grid, geom, litho, active, deposit_id, deposits,
                                    units["fault_ne"], units["fault_nw"], local[..., 2], depth, controls,
                                    alteration_info)
    prov = {"generator": GENERATOR, "preset": p.name, "seed": seed, "deposit_seed": deposit_seed}
    geology = _geology_volume(grid, geom, units, prov, gempy_vol.meta.get("gempy", {}))
    geophysics = Volume(grid, geophys, active, {},
                        {**prov, "kind": "synthetic inversions",
                         "units": {"density": "g/cm3", "susceptibility": "SI", "resistivity": "ohm m"},
                         "inversion_blur_sigma_m": dict(INVERSION_BLUR_M)})
    orebodies, truth = _deposit_volumes(grid, active, deposit_id, deposits, potential, hidden, prov)
    step(1.0, "district built")
    district = District(geology, geophysics, orebodies, truth, description)
    district.gempy_cached = cache_hit  # not a field: never written, only reported
    return district


def _gempy_on_grid(preset, p, seed, geom, grid, step, use_cache):
    """gempy's model on the grid, read from the user cache when an intact entry exists
    (:mod:`voxprospect.synth.gempycache`, keyed by the model-building code too)."""
    import voxprospect.synth.geomodel as geomodel
    from voxprospect.io.gempy_model import compute_geomodel_on_grid

    def compute():
        step(0.0, "building the gempy model")
        model = build_geomodel(p, geom)
        return compute_geomodel_on_grid(model, grid, dtype="float32", chunk_points=300_000,
                                        progress=lambda f, m: step(0.05 + 0.6 * f, m))

    if not use_cache:
        return compute(), False
    from voxprospect.synth.gempycache import cached_geomodel
    vol, hit = cached_geomodel(preset, seed, geom, grid, compute, functions=(geomodel, compute_geomodel_on_grid))
    if hit:
        step(0.65, "gempy model read from the cache")
    return vol, hit


def _local_coordinates(grid) -> np.ndarray:
    """Cell centres in local coordinates (metres from the district's SW corner), ``(nx, ny, nz, 3)``."""
    X, Y, Z = np.meshgrid(*(grid.axis_centres(a) for a in range(3)), indexing="ij")
    return np.stack([X - ORIGIN_XY[0], Y - ORIGIN_XY[1], Z], axis=-1)


def _compose_units(grid, geom, gempy_vol, local) -> dict:
    """gempy's lithology as the district's unit ids, the dykes added onto it, the fault
    zones, and the depth below the topography of every cell."""
    active = gempy_vol.active
    # gempy's element names -> the district's unit ids
    name_to_unit = {n: i for i, n in UNITS.items()}
    name_to_unit["basement"] = 1
    lut = np.zeros(max(gempy_vol.classes["lithology"]) + 1, dtype=np.int16)
    for gid, name in gempy_vol.classes["lithology"].items():
        lut[gid] = name_to_unit.get(name, 0)
    litho = lut[gempy_vol["lithology"]]

    dyke_cells = np.zeros(grid.shape, dtype=bool)
    for d in geom["dykes"]:
        dyke_cells |= dyke_mask(grid, d, local)
    dyke_cells &= active
    litho[dyke_cells] = DYKES
    litho[~active] = 0

    blocks = {f.name: gempy_vol[f"fault_block_{f.name}"] for f in geom["faults"]}
    zones = {name: fault_zone(b) & active for name, b in blocks.items()}
    fault_ne = np.zeros(grid.shape, dtype=bool)
    fault_nw = np.zeros(grid.shape, dtype=bool)
    for f in geom["faults"]:
        (fault_ne if f.family == "NE" else fault_nw)[...] |= zones[f.name]

    topo = np.where(active.any(axis=2),
                    grid.axis_edges(2)[np.max(np.where(active, np.arange(grid.shape[2])[None, None, :] + 1, 0),
                                              axis=2)], grid.bounds[4])
    depth = topo[:, :, None] - local[..., 2]
    return {"lithology": litho, "active": active, "dyke_cells": dyke_cells, "blocks": blocks,
            "fault_ne": fault_ne, "fault_nw": fault_nw, "depth": depth}


def _geology_volume(grid, geom, units, prov, gempy_meta) -> Volume:
    geo_layers = {"lithology": units["lithology"].astype(np.int16), "fault_ne": units["fault_ne"].astype(np.uint8),
                  "fault_nw": units["fault_nw"].astype(np.uint8)}
    for f in geom["faults"]:
        geo_layers[f"fault_block_{f.name}"] = units["blocks"][f.name].astype(np.int8)
    return Volume(grid, geo_layers, units["active"], {"lithology": UNITS},
                  {**prov, "kind": "geological model (gempy)",
                   "units": {UNITS[i]: {"density_g_cm3": v[0], "susceptibility_si": v[1],
                                        "resistivity_ohm_m": v[2]} for i, v in ROCK_PROPERTIES.items()},
                   "gempy": gempy_meta})


def _deposit_volumes(grid, active, deposit_id, deposits, potential, hidden, prov) -> tuple[Volume, Volume]:
    """The known orebodies (training labels) and the hidden truth (every deposit)."""
    n_known = sum(1 for d in deposits if d["known"])
    orebody = np.where(deposit_id <= n_known, deposit_id, 0).astype(np.int16)
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
    return orebodies, truth
