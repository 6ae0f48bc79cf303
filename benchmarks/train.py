"""Seconds per training epoch of the RCNN-LAM: the plain module against the fast path.

Both paths train the same network (same initial weights, same batches) inside one
process, interleaved epoch by epoch, so a machine shared with other work slows
both alike; the ratio is what to read, not the seconds.

Usage::

    python benchmarks/train.py [--windows 1400] [--channels 7] [--window 3]
        [--preset DL4] [--batch 256] [--epochs 3] [--threads 2] [--transform-axes 2 ...]

On a GPU (``--device cuda``) it trains the module in each of ``--precisions``
(float32; tf32: TF32 tensor cores for float32 products; bf16: autocast to bfloat16)
from the same start and the same batches, and prints windows per second, the
final loss's and the weights' difference from float32 and the share of that
precision's matrix-product peak (training FLOPs taken as 3x the dense forward).
Without a GPU it says so and measures nothing.

    python benchmarks/train.py --device cuda --precisions float32,tf32,bf16 --windows 65536 --batch 1024
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np
from _common import write_json


def epoch_seconds(forward, net, X, y, batch_size, seed):
    """One epoch of Adam on cross-entropy through ``forward``; returns (seconds, mean loss)."""
    import torch

    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    total = 0.0
    t0 = time.perf_counter()
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(forward(X[idx]), y[idx])
        loss.backward()
        opt.step()
        total += float(loss.detach()) * len(idx)
    return time.perf_counter() - t0, total / len(y)


def gpu_main(args) -> dict:
    """Training on CUDA in each precision: windows/s, difference from float32, share of peak."""
    import contextlib
    import sys

    import torch

    from voxprospect.learn.network import build_model, count_flops

    if not (args.device.startswith("cuda") and torch.cuda.is_available()):
        print(f"device {args.device!r} is not available here (torch {torch.__version__}, CUDA available: "
              f"{torch.cuda.is_available()}); nothing measured", file=sys.stderr)
        return {}
    bench_predict = load_predict_benchmark()
    dev = torch.device(args.device)
    rng = np.random.default_rng(0)
    k = args.window
    X = torch.from_numpy(rng.normal(size=(args.windows, args.channels, k, k, k)).astype(np.float32)).to(dev)
    y = torch.from_numpy((rng.random(args.windows) < 0.3).astype(np.int64)).to(dev)
    torch.manual_seed(0)
    start = build_model(args.preset, args.channels)
    flops_per_window = 3 * count_flops(start, args.channels, k)
    result = {"device": torch.cuda.get_device_name(dev), "torch": torch.__version__, "preset": args.preset,
              "windows": args.windows, "batch": args.batch, "epochs": args.epochs, "precisions": {}}
    ref = None
    for precision in [p.strip() for p in args.precisions.split(",") if p.strip()]:
        net = copy.deepcopy(start).to(dev)
        old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = precision == "tf32"
        ctx = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if precision == "bf16" else contextlib.nullcontext

        def forward(xb, net=net, ctx=ctx):
            with ctx():
                return net(xb).float()
        try:
            epoch_seconds(forward, net, X[:args.batch * 2], y[:args.batch * 2], args.batch, seed=99)  # warm
            net.load_state_dict(copy.deepcopy(start).to(dev).state_dict())
            times, loss = [], None
            for epoch in range(args.epochs):
                torch.cuda.synchronize()
                s, loss = epoch_seconds(forward, net, X, y, args.batch, seed=epoch)
                torch.cuda.synchronize()
                times.append(s)
        finally:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old
        med = float(np.median(times))
        weights = torch.cat([p.detach().float().flatten() for p in net.parameters()])
        peak = bench_predict.matmul_peak_gflops(args.device, precision=precision)
        row = {"windows_per_s": args.windows / med, "s_per_epoch": med, "final_loss": loss,
               "peak_gflops": peak, "peak_share": flops_per_window * args.windows / med / 1e9 / peak}
        if ref is None:
            ref = (loss, weights)
        else:
            row["loss_diff_vs_float32"] = abs(loss - ref[0])
            row["max_weight_diff_vs_float32"] = float((weights - ref[1]).abs().max())
        result["precisions"][precision] = row
        print(f"{precision:8s}: {row['windows_per_s']:10.0f} windows/s, {med:.3f} s/epoch, loss {loss:.6f}"
              + (f" (vs float32 {row['loss_diff_vs_float32']:.2e}, weights {row['max_weight_diff_vs_float32']:.2e})"
                 if "loss_diff_vs_float32" in row else "")
              + f", {row['peak_share']:.1%} of the {peak:.0f} GFLOP/s {precision} peak")
    return write_json(result, args.json_path)


def main(argv=None):
    import torch

    from voxprospect.learn.fastpredict import useful_flops_per_window
    from voxprospect.learn.fasttrain import TrainingForward
    from voxprospect.learn.network import build_model, count_flops

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--windows", type=int, default=1400)
    ap.add_argument("--channels", type=int, default=7)
    ap.add_argument("--window", type=int, default=3)
    ap.add_argument("--preset", default="DL4")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--transform-axes", type=int, nargs="+", default=[2])
    ap.add_argument("--device", default="cpu", help="cpu, or cuda: the GPU precisions run (see --precisions)")
    ap.add_argument("--precisions", default="float32,tf32,bf16", help="on CUDA: precisions to train in turn")
    ap.add_argument("--json", dest="json_path", default=None)
    args = ap.parse_args(argv)
    if args.device != "cpu":
        return gpu_main(args)

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    k = args.window
    X = torch.from_numpy(rng.normal(size=(args.windows, args.channels, k, k, k)).astype(np.float32))
    y = torch.from_numpy((rng.random(args.windows) < 0.3).astype(np.int64))
    torch.manual_seed(0)
    start_net = build_model(args.preset, args.channels)
    paths = {"module": None}
    for t in args.transform_axes:
        paths[f"fast (transform_axes={t})"] = t
    nets = {name: copy.deepcopy(start_net) for name in paths}
    forwards = {name: (nets[name] if t is None else TrainingForward(nets[name], k, t)) for name, t in paths.items()}
    seconds = {name: [] for name in paths}
    losses = {name: [] for name in paths}
    print(f"{args.preset}, {args.windows} windows of {args.channels} x {k}^3, batch {args.batch}, "
          f"{args.threads} thread(s), torch {torch.__version__}")
    for epoch in range(args.epochs):
        for name in paths:
            s, loss = epoch_seconds(forwards[name], nets[name], X, y, args.batch, seed=epoch)
            seconds[name].append(s)
            losses[name].append(loss)
        print(f"epoch {epoch + 1}: " + ", ".join(f"{n} {seconds[n][-1]:.2f} s (loss {losses[n][-1]:.6f})"
                                                for n in paths))
    # the useful work of a step: the forward's products that do not hit the padding, and
    # twice that again for the backward (input and weight gradients), as for prediction
    useful = 3 * useful_flops_per_window(start_net, k)
    dense = 3 * count_flops(start_net, args.channels, k)
    peak = load_predict_benchmark().matmul_peak_gflops("cpu")
    base = float(np.median(seconds["module"]))
    result = {"device": "cpu", "torch": torch.__version__, "preset": args.preset, "windows": args.windows,
              "window": k, "channels": args.channels, "batch": args.batch, "epochs": args.epochs,
              "threads": args.threads, "cpu": describe_cpu(), "peak_gflops": peak,
              "useful_training_gflop_per_window": useful / 1e9, "dense_training_gflop_per_window": dense / 1e9,
              "paths": {}}
    for name in paths:
        med = float(np.median(seconds[name]))
        share = useful * args.windows / med / 1e9 / peak
        result["paths"][name] = {"s_per_epoch": med, "windows_per_s": args.windows / med, "speed_up": base / med,
                                 "useful_peak_share": share, "final_loss": losses[name][-1]}
        print(f"{name:28s} median {med:7.2f} s/epoch  speed-up x{base / med:.2f}  "
              f"useful work at {share:.1%} of the matmul peak")
    print(f"matmul peak {peak:.1f} GFLOP/s (float32, {args.threads} thread(s)); useful training work "
          f"{useful / 1e6:.1f} MFLOP per window ({dense / 1e6:.1f} dense)")
    return write_json(result, args.json_path)


def load_predict_benchmark():
    """benchmarks/predict.py as a module (its matmul peak)."""
    import importlib.util
    import os

    spec = importlib.util.spec_from_file_location("bench_predict", os.path.join(os.path.dirname(__file__),
                                                                                "predict.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def describe_cpu() -> str:
    """The CPU's model name (Linux), or the platform's processor string."""
    import platform

    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


if __name__ == "__main__":
    import sys
    sys.exit(1 if main() == {} else 0)
