"""The hidden mineral system and the deposits drawn from it.

:func:`true_potential` scores every cell from nonlinear, 3D-contextual controls plus a
correlated hidden field and noise that no evidence sees (weights in :data:`CONTROLS`);
:func:`place_deposits` grows the deposits from it, at least
:data:`~voxprospect.synth.presets.DEPOSIT_SEPARATION_M` apart; :func:`describe_district`
sums the district up for ``report.json``.
"""

from __future__ import annotations

import numpy as np

from voxprospect.errors import VoxprospectError
from voxprospect.synth.fields import distance_to, gaussian_field
from voxprospect.synth.presets import (DEPOSIT_RADII_M, DEPOSIT_SEPARATION_M, DEPOSIT_SHARPNESS, DEPOSIT_VOLUME_M3,
                                       DYKES, GENERATOR, GRANITE, HIDDEN_CORRELATION_M, UNITS)

#: weights of the hidden mineral system's score (``docs/synthetic-district.md``)
CONTROLS = {"fault_contact": 6.0, "fault": 0.5, "intersection": 3.0, "dyke": 0.6, "depth": 1.2, "host": 1.0,
            "hidden": 0.45, "noise": 0.25, "offset": -4.0,
            "shell_centre_m": 300.0, "shell_width_m": 400.0, "fault_efold_m": 150.0, "intersection_efold_m": 350.0}


def true_potential(grid, geom, litho, active, fields, depth, local, rng):
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
    hidden = gaussian_field(rng, grid.shape, grid.cell_size, HIDDEN_CORRELATION_M)
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


def place_deposits(p, grid, geom, litho, active, potential, depth, local, fields, rng, seed, deposit_seed):
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
            free &= distance_to(occupied, grid.cell_size) >= DEPOSIT_SEPARATION_M
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


def describe_district(p, seed, deposit_seed, grid, geom, litho, active, deposit_id, deposits, fault_ne, fault_nw, Z,
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
