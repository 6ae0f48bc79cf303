"""Data-parallel training of the RCNN-LAM on several GPUs or nodes (torch.distributed).

The paper trained on two GPUs. This module trains the same network with
``DistributedDataParallel``: every process holds a replica, sees its own shard of
the training windows each epoch (``DistributedSampler``), and gradients are
averaged across processes after every batch, so the replicas stay identical. It is
launched by ``torchrun``, one process per GPU (``nccl``) or per CPU worker
(``gloo``)::

    torchrun --nproc_per_node=2 -m voxprospect.learn.distributed \\
        --windows samples.npz --preset DL4 --epochs 200 --out model.vxp.safetensors

    # two nodes, two GPUs each
    torchrun --nnodes=2 --node_rank=0 --nproc_per_node=2 \\
        --rdzv_backend=c10d --rdzv_endpoint=head:29500 -m voxprospect.learn.distributed ...

``samples.npz`` holds ``X`` (windows ``(N, C, k, k, k)`` float32), ``y`` (0/1) and,
optionally, ``channels`` (evidence names in input order). Rank 0 writes the
checkpoint (:func:`voxprospect.learn.checkpoint.save_checkpoint`), so it loads
and predicts like one trained on a single device. ``batch_size`` is per process:
the effective batch is ``batch_size * world_size``.

Run without ``torchrun`` the module trains in one process (world size 1).
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

import numpy as np

from voxprospect.errors import InputFileError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _init(backend: str | None):
    """Join (or, outside torchrun, create) the process group; returns (rank, world, device)."""
    import torch
    import torch.distributed as dist

    if "RANK" not in os.environ:  # plain `python -m`: a world of one
        os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1",
                          MASTER_PORT=str(_free_port()))
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return dist.get_rank(), dist.get_world_size(), device


def train_distributed(X, y, preset: str = "DL4", epochs: int = 200, batch_size: int = 256,
                      learning_rate: float = 1e-3, seed: int = 42, backend: str | None = None,
                      verbose: bool = False, weight_decay: float = 0.0, augment: str = "none",
                      validation_data=None, early_stopping_patience: int | None = None, cell_size=None):
    """Train on this process's shard inside a torch.distributed job.

    Every rank calls this with the same ``X`` and ``y`` (each reads its own shard
    through a ``DistributedSampler``). The epochs run through the same loop as
    :class:`~voxprospect.learn.CNNClassifier` (:func:`voxprospect.learn.estimators.train_loop`):
    weight decay, symmetry augmentation and validation with the best epoch kept.

    Parameters
    ----------
    X : ndarray, shape (N, C, k, k, k)
    y : ndarray of {0, 1}, shape (N,)
    preset : {"DL1", "DL2", "DL3", "DL4"}
    epochs, batch_size : int
        ``batch_size`` per process.
    learning_rate, weight_decay : float
    seed : int
        Same on every rank: identical initial replicas and a shared shuffle.
    backend : {"gloo", "nccl"}, optional
        Default ``nccl`` when CUDA is available, else ``gloo``.
    verbose : bool
        Rank 0 prints one line per epoch.
    augment : str
        See :data:`voxprospect.learn.estimators.AUGMENTS`.
    validation_data : (X_val, y_val), optional
        The same on every rank; scored on every rank and averaged, so every rank
        keeps the same best epoch.
    early_stopping_patience : int, optional
    cell_size : (dx, dy, dz), optional
        Rotations about z only when dx == dy.

    Returns
    -------
    CNNClassifier
        Fitted (network on the CPU, in eval mode), with ``history_`` holding the
        loss and accuracy averaged over all ranks, and ``distributed_`` the world
        size, backend and whether the replicas ended identical. Every rank returns
        one; rank 0's is the one to save.
    """
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel
    from torch.utils.data import DistributedSampler

    from voxprospect.learn.estimators import (CNNClassifier, check_labels, check_windows,
                                              augmentation_ops, make_optimiser, train_loop)
    from voxprospect.learn.network import build_model

    X = check_windows(X)
    y = check_labels(y, X.shape[0])
    ops = augmentation_ops(augment, cell_size)
    if early_stopping_patience is not None and validation_data is None:
        raise ValueError("early_stopping_patience needs validation_data")
    rank, world, device = _init(backend)
    backend = dist.get_backend()
    torch.manual_seed(seed)
    net = build_model(preset, X.shape[1]).to(device)
    ddp = DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)
    optimiser = make_optimiser(ddp.parameters(), learning_rate, weight_decay)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    sampler = DistributedSampler(range(len(y)), num_replicas=world, rank=rank, shuffle=True, seed=seed)
    bs = max(1, int(batch_size))

    def batches(epoch):
        sampler.set_epoch(epoch)
        order = torch.as_tensor(list(sampler), dtype=torch.long)
        return [order[start:start + bs] for start in range(0, len(order), bs)]

    validate = None
    if validation_data is not None:
        X_val = check_windows(validation_data[0], X.shape[1], X.shape[2])
        y_val = np.asarray(validation_data[1]).reshape(-1).astype(np.int64)
        validate = _averaged_validation(CNNClassifier(preset=preset, batch_size=int(batch_size), device=str(device),
                                                      seed=seed), X_val, y_val, device, world)

    def on_epoch(row):
        if verbose and rank == 0:
            print(f"epoch {row['epoch']}/{epochs} loss {row['loss']:.4f} accuracy {row['accuracy']:.3f} "
                  f"({world} processes, {backend})", flush=True)

    history, best_epoch = train_loop(net, ddp, optimiser, Xt, yt, epochs=int(epochs), batches=batches,
                                     device=device, augment=ops,
                                     generator=torch.Generator().manual_seed(seed + 1 + rank),
                                     validate=validate, patience=early_stopping_patience,
                                     reduce=_summed_over_ranks(device), on_epoch=on_epoch)

    est = CNNClassifier(preset=preset, epochs=int(epochs), batch_size=int(batch_size),
                        learning_rate=float(learning_rate), weight_decay=float(weight_decay), augment=augment,
                        early_stopping_patience=early_stopping_patience, device="cpu", seed=seed)
    est.validation_ = None if validation_data is None else {"kind": "given", "n_validation": int(len(y_val))}
    est.distributed_ = {"world_size": world, "backend": backend, "replicas_identical": _replicas_identical(net, world),
                        "batch_size_per_process": int(batch_size)}
    return _fitted(est, net, X, history, best_epoch, ops)


def _summed_over_ranks(device):
    """The epoch totals summed over every rank (the loop's ``reduce``)."""
    import torch.distributed as dist

    def reduce(totals):
        totals = totals.to(device)
        dist.all_reduce(totals)
        return totals.cpu()
    return reduce


def _fitted(est, net, X, history, best_epoch, ops):
    """``est`` as a fitted CNNClassifier around the trained network (moved to the CPU)."""
    from voxprospect.learn.estimators import CLASSES
    from voxprospect.learn.network import count_parameters

    est.model_ = net.to("cpu").eval()
    est.classes_ = CLASSES.copy()
    est.n_channels_ = int(X.shape[1])
    est.window_ = int(X.shape[2])
    est.history_ = history
    est.n_params_ = count_parameters(net)
    est.device_ = "cpu"
    est.best_epoch_ = best_epoch
    est.augmentation_ = ops
    est.training_path_ = "module (DistributedDataParallel)"
    return est


def _averaged_validation(helper, X_val, y_val, device, world):
    """The validation score of each epoch averaged over the ranks: identical on every
    rank, so every rank keeps the same best epoch."""
    import torch
    import torch.distributed as dist

    helper.device_ = str(device)

    def validate(model):
        scores = torch.tensor(helper._score(model, X_val, y_val), dtype=torch.float64, device=device)
        dist.all_reduce(scores)
        return float(scores[0]) / world, float(scores[1]) / world
    return validate


def _replicas_identical(net, world: int) -> bool:
    """Whether every rank ended with the same weights: DDP averages gradients, so any
    drift is a bug."""
    import torch
    import torch.distributed as dist

    flat = torch.cat([p.detach().reshape(-1) for p in net.parameters()]).to(torch.float64)
    summary = torch.stack([flat.sum(), (flat * flat).sum()])
    gathered = [torch.zeros_like(summary) for _ in range(world)]
    dist.all_gather(gathered, summary)
    return all(torch.equal(g, gathered[0]) for g in gathered)


def load_windows(path):
    """Training windows from an ``.npz`` with ``X``, ``y`` and optional ``channels``.

    Raises
    ------
    InputFileError
        If the file is missing or lacks ``X`` or ``y``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "training windows file not found")
    with np.load(path, allow_pickle=False) as data:
        missing = [k for k in ("X", "y") if k not in data]
        if missing:
            raise InputFileError(path, f"lacks the array(s) {', '.join(missing)} (windows X and labels y)")
        X = data["X"].astype(np.float32)
        y = data["y"]
        channels = [str(c) for c in data["channels"]] if "channels" in data else \
            [f"channel_{i}" for i in range(X.shape[1])]
    return X, y, channels


def main(argv=None) -> int:
    """Command line: ``[torchrun ...] -m voxprospect.learn.distributed --windows F --out M``."""
    parser = argparse.ArgumentParser(prog="python -m voxprospect.learn.distributed",
                                     description="Train the RCNN-LAM with DistributedDataParallel.")
    parser.add_argument("--windows", required=True, help=".npz with X, y and optional channels")
    parser.add_argument("--out", required=True, help="checkpoint to write (rank 0)")
    parser.add_argument("--preset", default="DL4")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=256, help="per process")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--augment", default="none", help="none, flips, flips+z, symmetry, symmetry+z")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--edge", default="edge")
    parser.add_argument("--backend", choices=["gloo", "nccl"], default=None)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)

    import torch.distributed as dist

    from voxprospect.learn.checkpoint import save_checkpoint

    X, y, channels = load_windows(args.windows)
    try:
        est = train_distributed(X, y, preset=args.preset, epochs=args.epochs, batch_size=args.batch_size,
                                learning_rate=args.learning_rate, seed=args.seed, backend=args.backend,
                                verbose=args.verbose, weight_decay=args.weight_decay, augment=args.augment)
        if dist.get_rank() == 0:
            save_checkpoint(est, args.out, channels, edge=args.edge,
                            training_report={"distributed": est.distributed_, "n_windows": int(len(y))},
                            inputs=[args.windows])
        dist.barrier()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
