"""Seconds per training epoch of the RCNN-LAM: the plain module against the fast path.

Both paths train the same network (same initial weights, same batches) inside one
process, interleaved epoch by epoch, so a machine shared with other work slows
both alike; the ratio is what to read, not the seconds.

Usage::

    python benchmarks/train.py [--windows 1400] [--channels 7] [--window 3]
        [--preset DL4] [--batch 256] [--epochs 3] [--threads 2] [--transform-axes 2 ...]
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np


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


def main(argv=None):
    import torch

    from voxprospect.learn.fasttrain import TrainingForward
    from voxprospect.learn.network import build_model

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--windows", type=int, default=1400)
    ap.add_argument("--channels", type=int, default=7)
    ap.add_argument("--window", type=int, default=3)
    ap.add_argument("--preset", default="DL4")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--transform-axes", type=int, nargs="+", default=[2])
    args = ap.parse_args(argv)

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
    base = float(np.median(seconds["module"]))
    for name in paths:
        med = float(np.median(seconds[name]))
        print(f"{name:28s} median {med:7.2f} s/epoch  speed-up x{base / med:.2f}")


if __name__ == "__main__":
    main()
