"""Per-machine settings of the zero-skip prediction path, measured once and cached.

The zero-skip path (:mod:`voxprospect.learn.fastpredict`) has three knobs that change
its speed but not its result beyond float32 rounding (every setting stays within the
float64-referenced bound of ``tests/learn/test_fastpredict.py``):

* ``batch_size``: windows per matrix product (the products' N);
* ``block_voxels``: cells per block of the grid cut into windows at once;
* ``transform_axes``: axes of a 3-cell window handled by the 5-point algorithm
  (fewer, larger products with 0; more, smaller ones with 3).

Which values run fastest depends on the CPU's cache sizes and vector width and on the
GEMM kernels of the torch build: values tuned on an AVX2 EPYC left half the matrix
throughput of an AVX-512 Xeon unused. :func:`settings_for` therefore measures them on
first use -- a short calibration (about two seconds on an idle core; budget
:data:`BUDGET_S`, one round at least) that times
the network's first block convolution at each candidate -- and caches the choice in
``tuning.json`` of the user cache folder (:mod:`voxprospect.usercache`), keyed by CPU
model and torch version, then by network shape and window. ``VOXPROSPECT_CACHE_DIR=off``
switches it off (the library defaults below are used, nothing is measured or
written); :func:`request_recalibration` (the CLI's ``--recalibrate``) measures again.

Training (:mod:`voxprospect.learn.fasttrain`) is deliberately not tuned: its slice
size and 5-point axes fix the order of every float32 sum, and Adam turns rounding
differences into different weights, so a machine-dependent choice would make trained
models machine-dependent. Its only free knob, the number of worker threads, follows
torch's thread count.
"""

from __future__ import annotations

import platform
import time
from dataclasses import asdict, dataclass

import numpy as np

from voxprospect.usercache import cache_dir, read_json, write_json_atomic

__all__ = ["Settings", "CANDIDATE_BATCH", "CANDIDATE_AXES", "CANDIDATE_BLOCK_FACTOR", "DEFAULTS",
           "GPU_DEFAULTS", "calibrate", "cpu_model", "default_settings", "describe", "machine_key",
           "network_signature", "request_recalibration", "settings_for", "tuning_path"]

CACHE_FILE = "tuning.json"
#: Candidates the calibration times, per window size.
CANDIDATE_BATCH = {3: (256, 512, 1024, 2048), 5: (128, 256, 512)}
CANDIDATE_AXES = {3: (0, 1, 2, 3)}
#: Block sizes tried, as multiples of the batch size.
CANDIDATE_BLOCK_FACTOR = (0.5, 1, 2, 4)
#: Calibration time budget per (network, window), seconds (measuring stops early past it).
BUDGET_S = 2.0


@dataclass(frozen=True)
class Settings:
    """Speed settings of the zero-skip path for one network and window on one machine."""

    batch_size: int
    block_voxels: int
    transform_axes: int
    source: str = "defaults"  # "defaults", "calibrated", "cache" or "given"
    seconds: float = 0.0  # calibration time (0 unless source == "calibrated")

    def as_dict(self) -> dict:
        return asdict(self)


#: Used when caching is off, for windows the calibration does not cover, and on GPUs
#: until a measured row says otherwise (the values measured on the AVX2 EPYC).
DEFAULTS = {3: (512, 512, 1), 5: (256, 256, 0)}
#: On a GPU one product should fill the device: far larger batches, direct taps.
GPU_DEFAULTS = {3: (16384, 16384, 0), 5: (4096, 4096, 0)}

_MEMO: dict = {}
_RECALIBRATE = {"pending": False, "done": set()}


def default_settings(window: int, device_type: str = "cpu") -> Settings:
    table = GPU_DEFAULTS if device_type != "cpu" else DEFAULTS
    bs, block, axes = table.get(int(window), (max(32, 2048 // int(window) ** 2),) * 2 + (0,))
    return Settings(int(bs), int(block), int(axes) if int(window) == 3 else 0)


def request_recalibration() -> None:
    """Measure again (once per network and window) on the next use in this process."""
    _RECALIBRATE["pending"] = True
    _RECALIBRATE["done"] = set()


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``, else what the platform module says)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine_key() -> str:
    """What the cached settings are keyed by: CPU model, machine, torch version."""
    import torch

    return f"{cpu_model()} | {platform.machine()} | torch {torch.__version__}"


def network_signature(net, window: int) -> str:
    """The network's shape (what the products' sizes depend on) and the window."""
    blocks = len(net.blocks)
    att = any(b.attention is not None for b in net.blocks)
    widths = [net.stem.conv.in_channels, net.stem.conv.out_channels] + [b.conv1.out_channels for b in net.blocks]
    return f"rcnnlam c{'-'.join(map(str, widths))} b{blocks}{' att' if att else ''} k{int(window)}"


def tuning_path():
    base = cache_dir()
    return None if base is None else base / CACHE_FILE


def settings_for(net, window: int, device="cpu", recalibrate: bool = False,
                 budget_s: float = BUDGET_S) -> Settings:
    """The settings for ``net`` and ``window`` here: cached, else measured and cached.

    GPUs get :data:`GPU_DEFAULTS`; caching switched off gives :data:`DEFAULTS`.
    """
    import torch

    window = int(window)
    device = torch.device(device)
    if device.type != "cpu":
        return default_settings(window, device.type)
    if window not in CANDIDATE_BATCH:
        return default_settings(window)
    path = tuning_path()
    if path is None:
        return default_settings(window)
    machine, sig = machine_key(), network_signature(net, window)
    if _RECALIBRATE["pending"] and (machine, sig) not in _RECALIBRATE["done"]:
        recalibrate = True
    if not recalibrate:
        hit = _MEMO.get((str(path), machine, sig))
        if hit is not None:
            return hit
        entry = ((read_json(path) or {}).get(machine) or {}).get(sig)
        cached = _valid(entry, window)
        if cached is not None:
            _MEMO[(str(path), machine, sig)] = cached
            return cached
    settings, rates = calibrate(net, window, budget_s)
    _RECALIBRATE["done"].add((machine, sig))
    data = read_json(path) or {}
    data.setdefault(machine, {})[sig] = dict(settings.as_dict(), rates=rates,
                                             measured=time.strftime("%Y-%m-%dT%H:%M:%S"))
    write_json_atomic(path, data)
    _MEMO[(str(path), machine, sig)] = Settings(settings.batch_size, settings.block_voxels,
                                                 settings.transform_axes, "cache")
    return settings


def _valid(entry, window: int) -> Settings | None:
    """A cached entry as :class:`Settings`, or None when it is not one this version would choose."""
    if not isinstance(entry, dict):
        return None
    try:
        bs, block, axes = int(entry["batch_size"]), int(entry["block_voxels"]), int(entry["transform_axes"])
    except (KeyError, TypeError, ValueError):
        return None
    if bs not in CANDIDATE_BATCH[window] or axes not in CANDIDATE_AXES.get(window, (0,)):
        return None
    if block not in {max(1, int(f * bs)) for f in CANDIDATE_BLOCK_FACTOR}:
        return None
    return Settings(bs, block, axes, "cache")


# -- the measurement --------------------------------------------------------------------

def calibrate(net, window: int, budget_s: float = BUDGET_S) -> tuple[Settings, dict]:
    """Time the candidates here; returns the fastest settings and the measured rates.

    Runs single-threaded, as each prediction worker does. The network's first block
    convolution (its stem when it has no block) stands for the forward pass: it is
    where the batch size and the 5-point axes change the work, and it takes a
    fraction of a whole pass. Transform axes are chosen at the default batch size,
    then the batch size at those axes, each candidate timed in interleaved rounds
    and scored by its best round (a core busy with other work slows a round, never
    speeds one up). Denormal floats are flushed during the measurement only, so an
    untrained network's vanishing activations do not distort it.
    """
    import torch

    from voxprospect.learn.windowplan import plan_for

    t0 = time.perf_counter()
    window = int(window)
    default = default_settings(window)
    old_threads = torch.get_num_threads()
    old_flush = torch.set_flush_denormal(True)
    torch.set_num_threads(1)
    rates: dict = {"axes": {}, "batch": {}, "block": {}}
    try:
        rng = np.random.default_rng(0)
        cin = net.stem.conv.out_channels if len(net.blocks) else net.stem.conv.in_channels
        max_bs = max(CANDIDATE_BATCH[window])
        x_all = torch.from_numpy(rng.normal(size=(window ** 3, cin, max_bs)).astype(np.float32))

        def layer_of(plan):
            return plan.blocks[0]["conv1"] if plan.blocks else plan.stem

        def rate(axes, bs):
            plan = plan_for(net, window, "cpu", "float32", axes)
            x = x_all[:, :, :bs].contiguous()
            with torch.no_grad():
                t = time.perf_counter()
                plan.conv3(x, layer_of(plan), relu=True)
                return bs / (time.perf_counter() - t)

        def race(cands, fn, store, rounds=3, known=None, ascending=False):
            # round 0 also warms (plans built, memory touched); later rounds only
            # while the budget lasts; a candidate scores its best round. With
            # ``ascending`` (batch sizes) the first round stops climbing once a
            # candidate runs clearly slower than the best so far: larger ones only
            # spill further out of cache, and they cost the most to time.
            best = {c: 0.0 for c in cands}
            best.update(known or {})
            for r in range(rounds):
                for c in cands:
                    if r == 0 and c in (known or {}):
                        continue
                    best[c] = max(best[c], fn(c))
                    smaller = [best[d] for d in best if d < c and best[d] > 0]
                    if ascending and r == 0 and smaller and best[c] < 0.85 * max(smaller):
                        cands = [d for d in cands if d <= c]
                        break
                if time.perf_counter() - t0 > budget_s:
                    break
            store.update({str(c): round(v, 1) for c, v in best.items() if v > 0})
            return max(best, key=lambda c: best[c])

        axes = default.transform_axes
        axes_cands = CANDIDATE_AXES.get(window, (0,))
        known = {}
        if len(axes_cands) > 1:
            axes = race(axes_cands, lambda a: rate(a, default.batch_size), rates["axes"])
            known = {default.batch_size: rates["axes"][str(axes)]}  # already timed at these axes
        bs = race(sorted(CANDIDATE_BATCH[window]), lambda b: rate(axes, b), rates["batch"], known=known,
                  ascending=True)
        block = _calibrate_block(net.stem.conv.in_channels, window, bs, rates["block"])
    finally:
        torch.set_num_threads(old_threads)
        torch.set_flush_denormal(old_flush)
    return Settings(int(bs), int(block), int(axes), "calibrated", time.perf_counter() - t0), rates


def _calibrate_block(channels: int, window: int, bs: int, store: dict) -> int:
    """Block size (cells) cutting windows fastest: padded reads plus position-wise slabs."""
    from voxprospect.data.blocks import block_shape, block_starts, padded_block
    from voxprospect.learn.windowplan import block_windows

    shape = (48, 40, 36) if window <= 3 else (36, 30, 28)
    rng = np.random.default_rng(1)
    layers = [rng.normal(size=shape).astype(np.float32) for _ in range(channels)]
    active = np.ones(shape, bool)
    r = window // 2
    cands = sorted({max(1, int(f * bs)) for f in CANDIDATE_BLOCK_FACTOR})
    best = {}
    for c in cands:
        block = block_shape(shape, c)
        times = []
        for _ in range(2):
            t = time.perf_counter()
            for lo in block_starts(shape, block):
                hi = tuple(min(a + b, n) for a, b, n in zip(lo, block, shape))
                padded = padded_block(layers, shape, lo, hi, r, "edge", 0.0)
                block_windows(padded, active[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]], window)
            times.append(time.perf_counter() - t)
        best[c] = active.size / min(times)
    store.update({str(c): round(v, 1) for c, v in best.items()})
    return max(cands, key=lambda c: best[c])


def describe(settings: Settings) -> str:
    """One line for logs and benchmarks."""
    extra = f", measured in {settings.seconds:.1f} s" if settings.source == "calibrated" else ""
    return (f"batch {settings.batch_size}, block {settings.block_voxels} cells, "
            f"5-point axes {settings.transform_axes} ({settings.source}{extra})")

