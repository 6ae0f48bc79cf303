"""Evidence buffering cost: seconds per 10^7 voxels per channel, at two grid sizes.

One buffered channel is the capped metric distance to a geological object plus its
fuzzy transform (``voxprospect.evidence.layers.distance_to_mask`` and
``buffer_evidence``). The object is a set of random ellipsoidal bodies filling
about 2 % of the grid, spread over the whole grid so the capped transform cannot
shrink to a small bounding box. If the cost is linear in the number of voxels the
two per-10^7 figures agree (their ratio is printed).

    python benchmarks/evidence.py [--voxels N] [--cap 500] [--chunks 64] [--json OUT]

With ``--chunks`` the chunked Dask path (``voxprospect.mapping.scale``) is timed too.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from _common import write_json


def bodies(shape, fraction=0.02, seed=0) -> np.ndarray:
    """Random ellipsoids covering about ``fraction`` of the grid."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(shape, dtype=bool)
    idx = np.indices(shape, sparse=True)
    n = max(4, int(np.prod(shape) * fraction / 300))
    for _ in range(n):
        c = rng.uniform(0, shape)
        r = rng.uniform(2, 6, size=3)
        mask |= sum(((i - ci) / ri) ** 2 for i, ci, ri in zip(idx, c, r)) <= 1.0
    return mask


def time_channel(shape, cell_size, cap, chunks=None, repeats=2) -> float:
    """Best wall time (s) to buffer one channel on a grid of ``shape``."""
    from voxprospect.evidence.layers import buffer_evidence, distance_to_mask

    mask = bodies(shape)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        if chunks:
            from voxprospect.mapping import scale
            scale.compute(scale.buffer_evidence(mask, cell_size, "fuzzy", cap, cap / 2, chunks=chunks))
        else:
            buffer_evidence(distance_to_mask(mask, cell_size, cap), "fuzzy", cap, cap / 2)
        best = min(best, time.perf_counter() - t)
    return best


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voxels", type=int, default=1_000_000, help="smaller grid (the larger is 4x)")
    parser.add_argument("--cap", type=float, default=500.0, help="buffer cap in metres")
    parser.add_argument("--chunks", type=int, default=None, help="also time the chunked Dask path")
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args(argv)

    cell_size = (50.0, 50.0, 25.0)
    result = {"cap_m": args.cap, "cell_size": cell_size, "sizes": []}
    for factor in (1, 4):
        n = args.voxels * factor
        side = round((n / 2) ** (1 / 3))
        shape = (side, side, 2 * side)
        voxels = int(np.prod(shape))
        row = {"voxels": voxels, "shape": shape}
        s = time_channel(shape, cell_size, args.cap)
        row["s_per_1e7_voxels_per_channel"] = s * 1e7 / voxels
        if args.chunks:
            s = time_channel(shape, cell_size, args.cap, chunks=args.chunks)
            row["chunked_s_per_1e7_voxels_per_channel"] = s * 1e7 / voxels
        result["sizes"].append(row)
        print(f"{voxels:>12,} voxels {shape}: {row['s_per_1e7_voxels_per_channel']:.2f} s per 1e7 voxels "
              f"per channel" + (f", chunked {row['chunked_s_per_1e7_voxels_per_channel']:.2f}"
                                if args.chunks else ""))
    a, b = (r["s_per_1e7_voxels_per_channel"] for r in result["sizes"])
    result["linearity_ratio"] = b / a
    print(f"ratio large/small per voxel: {b / a:.2f} (1.00 = linear)")
    return write_json(result, args.json_path)


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
