"""Seeded mutation fuzzing of the checkpoint loader, for a fixed time budget.

Starting from real checkpoints of a tiny CNN and a tiny forest, each case truncates the
file, flips bytes, or rewrites a number in the JSON header. The loader may accept the
file (a flipped weight is still a weight) or refuse it with a VoxprospectError; any other
exception, or a case that takes longer than the per-case alarm (a hang), fails. An
accepted model must predict finite probabilities in [0, 1].
"""

from __future__ import annotations

import importlib.util
import json
import re
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from voxprospect.errors import VoxprospectError

_spec = importlib.util.spec_from_file_location("badinput_checkpoint_files",
                                               Path(__file__).with_name("checkpoint_files.py"))
cf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cf)

BUDGET_S = 16.0      # seconds of mutations in all, half for each model kind
CASE_S = 5           # one load + predict takes milliseconds
SEED = 20261201
NUMBER = re.compile(rb"-?\d+(\.\d+)?([eE][-+]?\d+)?")
REPLACEMENTS = [b"0", b"-1", b"-5", b"4", b"999", b"600", b"1e400", b"NaN", b"99999999999999999999", b"2.5",
                b'"abc"', b"[]", b"{}", b"null", b"true"]


def truncate(raw, rng):
    return raw[: int(rng.integers(0, len(raw)))]


def flip(raw, rng):
    b = bytearray(raw)
    for _ in range(int(rng.integers(1, 9))):
        b[int(rng.integers(0, len(b)))] ^= 1 << int(rng.integers(0, 8))
    return bytes(b)


def flip_header(raw, rng):
    """Flip bytes inside the 8-byte length or the JSON header (where the structure is)."""
    n = int.from_bytes(raw[:8], "little")
    b = bytearray(raw)
    for _ in range(int(rng.integers(1, 4))):
        b[int(rng.integers(0, min(len(b), 8 + n)))] ^= 1 << int(rng.integers(0, 8))
    return bytes(b)


def edit_number(raw, rng):
    """Replace one number of the header JSON (a shape, an offset, a window, n_blocks...)."""
    header, data = cf.split(raw)
    text = json.dumps(header).encode()
    # the voxprospect document is a JSON string inside the header: edit it as text
    matches = list(NUMBER.finditer(text))
    m = matches[int(rng.integers(0, len(matches)))]
    new = REPLACEMENTS[int(rng.integers(0, len(REPLACEMENTS)))]
    if b'"' in new:
        new = new.replace(b'"', b'\\"')
    text = text[:m.start()] + new + text[m.end():]
    try:
        header = json.loads(text)
    except ValueError:
        return len(text).to_bytes(8, "little") + text + data  # invalid JSON is a case too
    return cf.join(header, data)


MUTATIONS = [truncate, flip, flip_header, edit_number, edit_number]


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    return cf.make_checkpoints(tmp_path_factory.mktemp("fuzz"))


def _alarm(signum, frame):
    raise TimeoutError("the loader did not answer: a hang")


@pytest.mark.parametrize("kind", ["cnn", "rf"])
def test_mutated_checkpoints_load_or_are_refused(originals, tmp_path, kind):
    from voxprospect.learn import load

    raw = originals[kind].read_bytes()
    rng = np.random.default_rng([SEED, kind == "rf"])
    X, _ = cf.windows(n=8, seed=3)
    old = signal.signal(signal.SIGALRM, _alarm)
    counts = {"refused": 0, "accepted": 0}
    deadline = time.monotonic() + BUDGET_S / 2
    path = tmp_path / f"fuzz.{kind}.vxp.safetensors"
    try:
        while time.monotonic() < deadline:
            mutation = MUTATIONS[int(rng.integers(0, len(MUTATIONS)))]
            mutated = mutation(raw, rng)
            path.write_bytes(mutated)
            signal.alarm(CASE_S)
            try:
                model = load(path)
                p = model.predict_proba(X)
            except VoxprospectError as e:
                assert str(e).startswith(str(path)), f"{mutation.__name__}: message does not name the file: {e}"
                assert len(str(e)) <= 1000, f"{mutation.__name__}: message of {len(str(e))} characters"
                counts["refused"] += 1
            except TimeoutError:
                (tmp_path / "hang.vxp.safetensors").write_bytes(mutated)
                raise
            except Exception as e:  # the point: nothing else may escape
                (tmp_path / "crash.vxp.safetensors").write_bytes(mutated)
                pytest.fail(f"{mutation.__name__}: {type(e).__name__} escaped the loader: {e}")
            else:
                assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all(), mutation.__name__
                counts["accepted"] += 1
            finally:
                signal.alarm(0)
    finally:
        signal.signal(signal.SIGALRM, old)
    # the budget ran real cases, and the mutations did reach the refusals
    assert counts["refused"] >= 20, counts
