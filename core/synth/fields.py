"""Fields on the district's grid: dyke and fault-zone cells, distances to the geological
objects, correlated random fields, and the synthetic geophysics.

The geophysics come from the unit properties and alteration halos only, never from the
hidden potential or the deposits (:func:`synthetic_geophysics`).
"""

from __future__ import annotations

import math

import numpy as np

from voxprospect.data.grid import VoxelGrid
from voxprospect.synth.geomodel import Dyke
from voxprospect.synth.presets import (ALTERATION_CORRELATION_M, GRANITE, GRANODIORITE, INVERSION_BLUR_M,
                                       ROCK_PROPERTIES)

def dyke_mask(grid: VoxelGrid, dyke: Dyke, local_xyz) -> np.ndarray:
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


def fault_zone(block: np.ndarray) -> np.ndarray:
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


def gaussian_field(rng, shape, cell_size, correlation_m):
    """A stationary Gaussian random field with unit variance and correlation length
    ``correlation_m``: white noise smoothed by a Gaussian of sigma ``correlation_m / 2``
    (its correlation ``exp(-r^2 / (4 sigma^2))`` falls to 1/e at ``r = correlation_m``)."""
    from scipy import ndimage

    sigma = tuple(0.5 * correlation_m / c for c in cell_size)
    # periodic smoothing keeps the variance the same up to the grid's faces
    n = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
    sd = n.std()
    return n / sd if sd > 0 else n


def distance_to(mask, cell_size, indices=False):
    from scipy import ndimage

    if not mask.any():
        return (np.full(mask.shape, 1e5), None) if indices else np.full(mask.shape, 1e5)
    return ndimage.distance_transform_edt(~mask, sampling=cell_size, return_indices=indices)


def geological_fields(grid, geom, litho, active, dyke_cells, fault_ne, fault_nw, local) -> dict:
    """Distances (m) to the district's geological objects, and the direction to the
    granodiorite (for the roof control)."""
    cs = grid.cell_size
    gd = litho == GRANODIORITE
    intrusive = np.isin(litho, (GRANITE, GRANODIORITE))
    d_gd_out, idx = distance_to(gd, cs, indices=True)
    # vertical component of the unit vector from a cell to its nearest granodiorite cell
    if idx is not None:
        dz = grid.axis_centres(2)[idx[2]] - local[..., 2]
        roof = np.clip(-dz / np.maximum(d_gd_out, 1e-6), 0.0, 1.0)  # 1: the stock lies straight below
        del idx
    else:
        roof = np.zeros(grid.shape)
    roof[gd] = 0.0
    return {"gd": gd, "d_gd_out": d_gd_out, "d_gd_in": distance_to(~gd & active, cs), "roof": roof,
            "d_intrusion": distance_to(intrusive, cs), "intrusive": intrusive,
            "d_fault": distance_to(fault_ne | fault_nw, cs), "d_dyke": distance_to(dyke_cells, cs),
            "signed": {f.name: f.signed_distance(local) for f in geom["faults"]}}


def synthetic_geophysics(grid, litho, active, fields, rng):
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
    vary = gaussian_field(rng, grid.shape, cs, ALTERATION_CORRELATION_M)
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
