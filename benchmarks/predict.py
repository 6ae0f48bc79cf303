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

    python benchmarks/predict.py [--voxels N] [--json OUT] [--preset DL4] [--window 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time

import numpy as np


def matmul_peak_gflops(device: str = "cpu", size: int = 2048, repeats: int = 5) -> float:
    """Best float32 ``torch.mm`` rate of two ``size x size`` matrices, GFLOP/s."""
    import torch

    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    best = float("inf")
    for _ in range(repeats + 1):
        if device != "cpu":
            torch.cuda.synchronize()
        t = time.perf_counter()
        torch.mm(a, b)
        if device != "cpu":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return 2.0 * size ** 3 / best / 1e9


def grid_shape(voxels: int) -> tuple[int, int, int]:
    """A near-cubic grid of about ``voxels`` cells whose sides are not powers of two."""
    side = max(3, round(voxels ** (1 / 3)))
    return (side + 1, side, max(3, int(round(voxels / ((side + 1) * side)))))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voxels", type=int, default=24_000, help="grid cells (default 24000)")
    parser.add_argument("--json", dest="json_path", help="write the results as JSON here")
    parser.add_argument("--preset", default="DL4")
    parser.add_argument("--window", type=int, default=3)
    parser.add_argument("--channels", type=int, default=7, help="evidence channels (7)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="float32", choices=["float32", "tf32", "bf16"])
    parser.add_argument("--transform-axes", type=int, default=None,
                        help="axes on the 5-point algorithm (default: the library's)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import torch

    from voxprospect import Volume, VoxelGrid
    from voxprospect.learn.fastpredict import (METHOD_NAME,
                                               plan_for,
                                               predict_fast,
                                               trained_looking,
                                               useful_flops_per_window)
    from voxprospect.learn.checkpoint import LoadedModel
    from voxprospect.learn.network import build_model, count_flops
    from voxprospect.mapping.predict import predict_volume, register_fast_path

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    k = args.window
    names = [f"evidence_{i}" for i in range(args.channels)]
    calib = rng.normal(size=(256, args.channels, k, k, k)).astype(np.float32)
    net = trained_looking(build_model(args.preset, args.channels).eval(), calib, seed=args.seed)
    net = net.to(args.device)
    shape = grid_shape(args.voxels)
    grid = VoxelGrid((0.0, 0.0, 0.0), (50.0, 50.0, 25.0), shape)
    evidence = Volume(grid, {n: rng.normal(size=shape).astype(np.float32) for n in names})
    n = int(np.prod(shape))
    model = LoadedModel({"kind": "cnn", "channels": names, "window": k, "edge": "edge"}, module=net)

    def fast(model_, evidence_, channels, window, edge, chunk_voxels, report):
        return predict_fast(model_, evidence_, channels, window, edge, chunk_voxels, report,
                            precision=args.precision, transform_axes=args.transform_axes)

    name = METHOD_NAME if (args.precision == "float32" and args.transform_axes is None) else "bench"
    if name == "bench":
        register_fast_path(name, lambda m: True, fast)
    plan_for(net, k, precision=args.precision, transform_axes=args.transform_axes)  # build once, untimed

    peak = matmul_peak_gflops(args.device)
    t = time.perf_counter()
    naive = predict_volume(model, evidence, method="windows")["prospectivity"]
    naive_s = time.perf_counter() - t
    t = time.perf_counter()
    ours = predict_volume(model, evidence, method=name)["prospectivity"]
    ours_s = time.perf_counter() - t

    useful = useful_flops_per_window(net, k)
    performed = 2 * plan_for(net, k, precision=args.precision, transform_axes=args.transform_axes).performed_macs
    result = {
        "voxels": n,
        "grid": list(shape),
        "preset": args.preset,
        "window": k,
        "naive_voxels_per_s": n / naive_s,
        "voxels_per_s": n / ours_s,
        "speedup": naive_s / ours_s,
        "max_abs_diff": float(np.max(np.abs(ours - naive))),
        "probability_range": [float(naive.min()), float(naive.max())],
        "peak_gflops": peak,
        "useful_gflop_per_window": useful / 1e9,
        "dense_gflop_per_window": count_flops(net.cpu(), args.channels, k) / 1e9,
        "peak_share": useful * n / ours_s / 1e9 / peak,
        "naive_peak_share": useful * n / naive_s / 1e9 / peak,
        # the 5-point algorithm multiplies less than the in-window products, so the
        # useful rate can exceed the matmul peak; this is the rate of products done
        "performed_gflop_per_window": performed / 1e9,
        "performed_peak_share": performed * n / ours_s / 1e9 / peak,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "device": args.device if args.device != "cpu" else f"cpu ({platform.processor() or platform.machine()}, "
                                                           f"{torch.get_num_threads()} threads)",
        "precision": args.precision,
        "torch": torch.__version__,
    }
    print(f"{args.preset}, window {k}, {n:,} voxels {shape}, {result['device']}")
    print(f"  naive per-window forward : {result['naive_voxels_per_s']:10.1f} voxels/s")
    print(f"  {METHOD_NAME:<25}: {result['voxels_per_s']:10.1f} voxels/s")
    print(f"  speed-up                 : {result['speedup']:10.2f} x")
    print(f"  max |difference|         : {result['max_abs_diff']:10.2e}")
    print(f"  float32 matmul peak      : {peak:10.1f} GFLOP/s")
    print(f"  share of peak (useful)   : {result['peak_share']:10.1%}  (naive {result['naive_peak_share']:.1%})")
    print(f"  share of peak (performed): {result['performed_peak_share']:10.1%}")
    print(f"  peak RSS                 : {result['peak_rss_mb']:10.1f} MB")
    if args.json_path:
        with open(args.json_path, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
