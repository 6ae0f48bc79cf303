"""Whole-grid prediction: the per-window forward pass against the zero-skip path.

Builds a trained-looking RCNN-LAM (random weights rescaled so probabilities cover
(0, 1), see ``voxprospect.learn.fastpredict.trained_looking``) and random evidence of
about ``--voxels`` cells, then predicts the grid twice in this one process: the
naive path (``predict_volume(method="windows")``: cut every window, run the torch
module on batches) and the default path (``zero-skip``). It checks that they agree
and prints voxels per second of both, the speed-up, the largest absolute
difference, the machine's float32 matrix-product peak (``torch.mm`` of large
square matrices) and the share of it that the fast path reaches in useful FLOPs
(2 x the multiply-adds that do not hit the windows' zero padding), and the peak
resident memory.

The zero-skip path's batch size, block size and 5-point axes are the machine's
tuning (measured on first use and cached, ``voxprospect.learn.fasttune``; printed);
``--recalibrate`` measures them again, ``--batch-size`` / ``--transform-axes`` override.
On a GPU ``--device cuda --precisions float32,tf32,bf16`` runs each precision in turn
and prints its rate, its difference from float32 and its share of that precision's
matrix-product peak; without a GPU it says so and measures nothing.

    python benchmarks/predict.py [--voxels N] [--json OUT] [--preset DL4] [--window 3]
        [--recalibrate] [--device cuda --precisions float32,tf32,bf16]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import numpy as np
from _common import write_json


def matmul_peak_gflops(device: str = "cpu", size: int | None = None, repeats: int = 5,
                       precision: str = "float32") -> float:
    """Best ``torch.mm`` rate of two ``size x size`` matrices, GFLOP/s, at ``precision``.

    ``"tf32"`` allows TF32 tensor cores for the float32 product (CUDA); ``"bf16"``
    multiplies bfloat16 matrices. On the CPU only float32 is measured.
    """
    import torch

    size = size or (8192 if device != "cpu" else 2048)
    dtype = torch.bfloat16 if precision == "bf16" and device != "cpu" else torch.float32
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    old = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
    best = float("inf")
    try:
        for _ in range(repeats + 1):
            if device != "cpu":
                torch.cuda.synchronize()
            t = time.perf_counter()
            torch.mm(a, b)
            if device != "cpu":
                torch.cuda.synchronize()
            best = min(best, time.perf_counter() - t)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old
    return 2.0 * size ** 3 / best / 1e9


def grid_shape(voxels: int) -> tuple[int, int, int]:
    """A near-cubic grid of about ``voxels`` cells whose sides are not powers of two."""
    side = max(3, round(voxels ** (1 / 3)))
    return (side + 1, side, max(3, int(round(voxels / ((side + 1) * side)))))


def cpu_name() -> str:
    from voxprospect.learn.fasttune import cpu_model

    return cpu_model()


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voxels", type=int, default=24_000, help="grid cells (default 24000)")
    parser.add_argument("--json", dest="json_path", help="write the results as JSON here")
    parser.add_argument("--preset", default="DL4")
    parser.add_argument("--window", type=int, default=3)
    parser.add_argument("--channels", type=int, default=7, help="evidence channels (7)")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda (needs a CUDA build of torch and a GPU)")
    parser.add_argument("--precision", default=None, choices=["float32", "tf32", "bf16"],
                        help="one precision (default float32); see --precisions")
    parser.add_argument("--precisions", default=None,
                        help="comma-separated precisions to run in turn, e.g. float32,tf32,bf16 (GPU)")
    parser.add_argument("--transform-axes", type=int, default=None,
                        help="axes on the 5-point algorithm (default: the machine's tuning)")
    parser.add_argument("--batch-size", type=int, default=None, help="windows per batch (default: tuned)")
    parser.add_argument("--recalibrate", action="store_true",
                        help="measure this machine's settings again (and cache them)")
    parser.add_argument("--no-naive", action="store_true",
                        help="skip the per-window path (then differences are against float32 zero-skip)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    precisions = ([p.strip() for p in args.precisions.split(",") if p.strip()] if args.precisions
                  else [args.precision or "float32"])
    for p in precisions:
        if p not in ("float32", "tf32", "bf16"):
            parser.error(f"unknown precision {p!r}")

    import torch

    if args.device != "cpu" and not (args.device.startswith("cuda") and torch.cuda.is_available()):
        print(f"device {args.device!r} is not available here (torch {torch.__version__}, "
              f"CUDA available: {torch.cuda.is_available()}); nothing measured", file=sys.stderr)
        return {}

    from voxprospect import Volume, VoxelGrid
    from voxprospect.learn.checkpoint import LoadedModel
    from voxprospect.learn.fastpredict import plan_for, predict_fast, resolve_settings, trained_looking, \
        useful_flops_per_window
    from voxprospect.learn.fasttune import describe, machine_key, request_recalibration
    from voxprospect.learn.network import build_model, count_flops
    from voxprospect.mapping.predict import predict_volume, register_fast_path

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    k = args.window
    names = [f"evidence_{i}" for i in range(args.channels)]
    calib = rng.normal(size=(256, args.channels, k, k, k)).astype(np.float32)
    net = trained_looking(build_model(args.preset, args.channels).eval(), calib, seed=args.seed)
    dense_flops = count_flops(net, args.channels, k)
    useful = useful_flops_per_window(net, k)
    net = net.to(args.device)
    shape = grid_shape(args.voxels)
    grid = VoxelGrid((0.0, 0.0, 0.0), (50.0, 50.0, 25.0), shape)
    evidence = Volume(grid, {n: rng.normal(size=shape).astype(np.float32) for n in names})
    n = int(np.prod(shape))
    model = LoadedModel({"kind": "cnn", "channels": names, "window": k, "edge": "edge"}, module=net)

    if args.recalibrate:
        request_recalibration()
    settings = resolve_settings(net, k, args.device, args.batch_size, args.transform_axes)
    device_name = (torch.cuda.get_device_name(torch.device(args.device)) if args.device != "cpu"
                   else f"cpu ({cpu_name()}, {torch.get_num_threads()} threads)")
    print(f"{args.preset}, window {k}, {n:,} voxels {shape}, {device_name}, torch {torch.__version__}")
    print(f"  settings                 : {describe(settings)}")

    def fast_for(precision):
        def fast(model_, evidence_, channels, window, edge, chunk_voxels, report):
            return predict_fast(model_, evidence_, channels, window, edge, chunk_voxels, report,
                                batch_size=settings.batch_size, precision=precision,
                                transform_axes=settings.transform_axes, block_voxels=settings.block_voxels)
        return fast

    small = Volume(VoxelGrid((0.0, 0.0, 0.0), (50.0, 50.0, 25.0), (8, 8, 8)),
                   {nm: rng.normal(size=(8, 8, 8)).astype(np.float32) for nm in names})
    for p in precisions:
        register_fast_path(f"bench-{p}", lambda m: True, fast_for(p))
        plan_for(net, k, precision=p, transform_axes=settings.transform_axes)  # built once, untimed
        predict_volume(model, small, method=f"bench-{p}")  # warm (CUDA context, kernels), untimed

    naive = naive_s = None
    if not args.no_naive:
        predict_volume(model, small, method="windows")
        t = time.perf_counter()
        naive = predict_volume(model, evidence, method="windows")["prospectivity"]
        naive_s = time.perf_counter() - t
    plan = plan_for(net, k, precision=precisions[0], transform_axes=settings.transform_axes)
    performed = 2 * plan.performed_macs
    runs, ref32 = {}, None
    for p in precisions:
        peak = matmul_peak_gflops(args.device, precision=p)
        t = time.perf_counter()
        ours = predict_volume(model, evidence, method=f"bench-{p}")["prospectivity"]
        ours_s = time.perf_counter() - t
        if p == "float32":
            ref32 = ours
        row = {
            "voxels_per_s": n / ours_s,
            "seconds": ours_s,
            "peak_gflops": peak,
            "peak_share": useful * n / ours_s / 1e9 / peak,
            "performed_peak_share": performed * n / ours_s / 1e9 / peak,
        }
        if naive is not None:
            row["max_abs_diff"] = float(np.max(np.abs(ours - naive)))
            row["speedup"] = naive_s / ours_s
        if ref32 is not None:
            row["max_abs_diff_vs_float32"] = float(np.max(np.abs(ours - ref32)))
        runs[p] = row

    first = runs[precisions[0]]
    result = {
        "voxels": n,
        "grid": list(shape),
        "preset": args.preset,
        "window": k,
        "settings": settings.as_dict(),
        "machine": machine_key(),
        "naive_voxels_per_s": n / naive_s if naive_s else None,
        "useful_gflop_per_window": useful / 1e9,
        "dense_gflop_per_window": dense_flops / 1e9,
        # the 5-point algorithm multiplies less than the in-window products, so the
        # useful rate can exceed the matmul peak; this is the rate of products done
        "performed_gflop_per_window": performed / 1e9,
        "precisions": runs,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "device": device_name,
        "precision": precisions[0],
        "torch": torch.__version__,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    # the first precision's figures at the top level, as before
    result.update({key: first[key] for key in ("voxels_per_s", "peak_gflops", "peak_share",
                                               "performed_peak_share")})
    if naive is not None:
        result.update(speedup=first["speedup"], max_abs_diff=first["max_abs_diff"],
                      probability_range=[float(np.nanmin(naive)), float(np.nanmax(naive))],
                      naive_peak_share=useful * n / naive_s / 1e9 / first["peak_gflops"])
    if naive is not None:
        print(f"  naive per-window forward : {result['naive_voxels_per_s']:10.1f} voxels/s")
    for p, row in runs.items():
        print(f"  zero-skip, {p:<14}: {row['voxels_per_s']:10.1f} voxels/s"
              + (f"  ({row['speedup']:.2f}x naive, max |diff| {row['max_abs_diff']:.2e})" if naive is not None else "")
              + (f", vs float32 {row['max_abs_diff_vs_float32']:.2e}" if p != "float32" and ref32 is not None else ""))
        print(f"    {p} matmul peak {row['peak_gflops']:10.1f} GFLOP/s; share of peak: useful "
              f"{row['peak_share']:.1%}, performed {row['performed_peak_share']:.1%}")
    print(f"  peak RSS                 : {result['peak_rss_mb']:10.1f} MB")
    if result["load_average"]:
        print(f"  load average (1, 5, 15 min): {', '.join(f'{v:.2f}' for v in result['load_average'])}")
    return write_json(result, args.json_path)


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
