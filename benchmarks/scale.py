"""Peak memory of evidence and prediction through the chunked Dask path at 10^6, 10^7, 10^8 voxels.

For each grid size a fresh Python process (so each peak RSS is its own):

1. builds a geological mask lazily, chunk by chunk (a seeded analytic field whose
   top 2 % form bodies spread over the whole grid; the mask never exists whole),
2. computes the buffered evidence for real over the whole grid -- the capped
   metric distance to the mask and its fuzzy transform
   (``voxprospect.mapping.scale.buffer_evidence``) -- straight into a Zarr volume,
   chunk by chunk (``write_zarr_array``),
3. predicts an RCNN-LAM (DL4, three channels: the buffered evidence read back
   from the Zarr and two smooth fields) through ``predict_dask`` over a bounded
   sub-volume, and extrapolates the whole grid's prediction time from the rate
   measured there,

and prints the process's peak resident memory. Flat memory means the peak does not
grow with the grid: it is set by the chunks and the prediction batches.

    python benchmarks/scale.py [--sizes 1e6,1e7,1e8] [--chunks 64] [--json OUT] [--workdir DIR]

The 10^8 grid writes about 0.2-0.4 GB of compressed Zarr and takes minutes on two
cores; run it on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
from _common import write_json

CELL = (50.0, 50.0, 25.0)
CAP_M = 500.0
#: Level of the seeded field above which a cell is "granite": about 2 % of the cells.
MASK_LEVEL = 1.2


def grid_shape(voxels: float) -> tuple[int, int, int]:
    """A grid of about ``voxels`` cells, twice as deep (in cells) as it is wide."""
    side = max(8, round((float(voxels) / 2) ** (1 / 3)))
    return (side, side, 2 * side)


def _field_block(block_info=None, which: int = 0):
    """A smooth seeded field on one chunk, from the chunk's location only."""
    loc = block_info[None]["array-location"]
    idx = np.meshgrid(*(np.arange(a, b, dtype=np.float32) for a, b in loc), indexing="ij", sparse=True)
    rng = np.random.default_rng(100 + which)
    k = rng.uniform(0.05, 0.2, size=(3, 3))
    ph = rng.uniform(0, 2 * np.pi, size=(3, 3))
    out = np.zeros(tuple(b - a for a, b in loc), dtype=np.float32)
    for j in range(3):
        term = np.ones_like(out)
        for axis in range(3):
            term = term * np.cos(k[j, axis] * idx[axis] + ph[j, axis]).astype(np.float32)
        out += term
    return out


def lazy_field(shape, chunks, which):
    import dask.array as da

    return da.map_blocks(_field_block, dtype=np.float32, chunks=da.core.normalize_chunks(chunks, shape),
                         which=which, meta=np.empty((0, 0, 0), np.float32))


def worker(voxels: float, chunks: int, workdir: str, predict_cells: int) -> dict:
    """One grid size in this process; returns timings and this process's peak RSS."""
    import dask
    import torch

    from voxprospect import VoxelGrid
    from voxprospect.learn.checkpoint import LoadedModel
    from voxprospect.learn.fastpredict import resolve_settings, trained_looking
    from voxprospect.learn.network import build_model
    from voxprospect.mapping import scale

    dask.config.set(scheduler="threads", num_workers=torch.get_num_threads())
    shape = grid_shape(voxels)
    n = int(np.prod(shape))
    grid = VoxelGrid((0.0, 0.0, -float(shape[2]) * CELL[2]), CELL, shape)
    row = {"voxels": n, "shape": list(shape), "chunks": chunks}

    # 1-2. the evidence, for real, over the whole grid, into a Zarr volume
    field = lazy_field(shape, chunks, 0)
    mask = field > MASK_LEVEL  # about the top 2 % of a sum of three cosine products
    buffered = scale.buffer_evidence(mask, CELL, "fuzzy", CAP_M, CAP_M / 2, chunks=chunks)
    path = os.path.join(workdir, f"evidence_{n}.zarr")
    t = time.perf_counter()
    scale.write_zarr_array(buffered, path, "granite_buffer", grid)
    row["evidence_s"] = time.perf_counter() - t
    row["evidence_s_per_1e7"] = row["evidence_s"] * 1e7 / n
    row["rss_after_evidence_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    vol = scale.open_zarr(path)
    corner = tuple(slice(0, min(s, 64)) for s in shape[:2]) + (slice(None),)
    sample = np.asarray(vol["granite_buffer"][corner])
    row["evidence_range"] = [float(np.nanmin(sample)), float(np.nanmax(sample))]
    row["evidence_mean_in_corner"] = float(np.nanmean(sample))
    row["mask_fraction_in_corner"] = float(np.asarray(mask[corner]).mean())

    # 3. prediction over a bounded sub-volume, read from the Zarr and the lazy fields
    names = ["granite_buffer", "field_1", "field_2"]
    torch.manual_seed(0)
    calib = np.random.default_rng(0).normal(size=(256, 3, 3, 3, 3)).astype(np.float32)
    net = trained_looking(build_model("DL4", 3).eval(), calib)
    model = LoadedModel({"kind": "cnn", "channels": names, "window": 3, "edge": "edge"}, module=net)
    settings = resolve_settings(net, 3, need_block=False)  # measured (or read) outside the timing
    side = max(4, round((predict_cells / 2) ** (1 / 3)))
    sub = tuple(slice(0, min(s, d)) for s, d in zip(shape, (side, side, 2 * side)))
    layers = [vol["granite_buffer"][sub], lazy_field(shape, chunks, 1)[sub], lazy_field(shape, chunks, 2)[sub]]
    import dask.array as da

    active = da.ones(tuple(s.stop for s in sub), dtype=bool, chunks=chunks)
    t = time.perf_counter()
    out = scale.compute(scale.predict_dask(model, layers, active, chunks=chunks))
    pred_s = time.perf_counter() - t
    m = int(np.prod(out.shape))
    row.update(predicted_voxels=m, predict_s=pred_s, predict_voxels_per_s=m / pred_s,
               predict_full_grid_s_extrapolated=n / (m / pred_s),
               prediction_range=[float(np.nanmin(out)), float(np.nanmax(out))],
               settings=settings.as_dict())
    row["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    shutil.rmtree(path, ignore_errors=True)
    return row


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1e6,1e7,1e8", help="comma-separated voxel counts")
    parser.add_argument("--chunks", type=int, default=64)
    parser.add_argument("--predict-cells", type=int, default=8192,
                        help="cells of the predicted sub-volume (the rate is extrapolated)")
    parser.add_argument("--workdir", default=None, help="where the Zarr volumes go (default: a temp folder)")
    parser.add_argument("--json", dest="json_path")
    parser.add_argument("--worker", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker is not None:
        if args.worker == 0:  # measure (or read) the machine's tuning once, before any size
            from voxprospect.learn.fastpredict import resolve_settings, trained_looking
            from voxprospect.learn.fasttune import describe
            from voxprospect.learn.network import build_model
            print(describe(resolve_settings(trained_looking(build_model("DL4", 3).eval()), 3, need_block=False)))
            return {"worker": True}
        print(json.dumps(worker(args.worker, args.chunks, args.workdir, args.predict_cells)))
        return {"worker": True}

    sizes = [float(s) for s in args.sizes.split(",") if s.strip()]
    workdir = args.workdir or tempfile.mkdtemp(prefix="voxprospect-scale-")
    rows = []
    print(f"chunks {args.chunks}^3, cap {CAP_M:.0f} m, cells {CELL}, predicted sub-volume ~{args.predict_cells} cells, "
          f"load average {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    tuning = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", "0"],
                            capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    print(f"zero-skip settings: {tuning}")
    for size in sizes:
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", str(size), "--chunks", str(args.chunks),
               "--predict-cells", str(args.predict_cells), "--workdir", workdir]
        t = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"the {size:.0e}-voxel run failed (exit {done.returncode})")
        row = json.loads(done.stdout.strip().splitlines()[-1])
        row["wall_s"] = time.perf_counter() - t
        rows.append(row)
        print(f"{row['voxels']:>13,} voxels {tuple(row['shape'])}: evidence {row['evidence_s']:7.1f} s "
              f"({row['evidence_s_per_1e7']:.1f} s per 1e7), prediction {row['predict_voxels_per_s']:7.0f} voxels/s "
              f"(whole grid ~{row['predict_full_grid_s_extrapolated'] / 3600:.2f} h), "
              f"peak RSS {row['peak_rss_mb']:7.0f} MB (after evidence {row['rss_after_evidence_mb']:.0f} MB); "
              f"mask {row['mask_fraction_in_corner']:.1%} of a corner slab",
              flush=True)
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    result = {"rows": rows, "chunks": args.chunks, "cap_m": CAP_M, "cell_size": CELL,
              "load_average_end": list(os.getloadavg())}
    if len(rows) > 1:
        result["rss_ratio_largest_smallest"] = rows[-1]["peak_rss_mb"] / rows[0]["peak_rss_mb"]
        print(f"peak RSS largest / smallest grid: {result['rss_ratio_largest_smallest']:.2f} (1.00 = flat)")
    return write_json(result, args.json_path)


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
