"""DistributedDataParallel training launched by torchrun: two CPU processes, gloo (issue 6)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from voxprospect.errors import InputFileError
from voxprospect.learn.checkpoint import load
def _windows(path, n=160, seed=0):
    """Separable windows: the label is the sign of channel 0 around the centre."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2, 3, 3, 3)).astype(np.float32)
    y = (X[:, 0, 1, 1, 1] + 0.5 * X[:, 0].mean(axis=(1, 2, 3)) > 0).astype(np.int64)
    np.savez(path, X=X, y=y, channels=np.array(["density", "granite_distance"]))
    return X, y


@pytest.mark.slow
def test_torchrun_two_gloo_processes_train_and_save_a_loadable_checkpoint(tmp_path):
    data = tmp_path / "windows.npz"
    X, y = _windows(data)
    out = tmp_path / "model.vxp.safetensors"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "voxprospect.learn.distributed", "--windows", str(data), "--out", str(out),
           "--preset", "DL1", "--epochs", "6", "--batch-size", "16", "--backend", "gloo",
           "--learning-rate", "0.003", "--weight-decay", "1e-4", "--verbose"]
    # own session, so a hung run is killed with its worker processes
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    assert proc.returncode == 0, stdout[-2000:] + stderr[-4000:]
    assert "2 processes, gloo" in stdout

    loaded = load(out)
    report = loaded.training_report["distributed"]
    assert report["world_size"] == 2 and report["backend"] == "gloo"
    assert report["replicas_identical"] is True
    losses = [row["loss"] for row in loaded.metadata["history"]]
    assert len(losses) == 6
    assert losses[-1] < 0.8 * losses[0]
    assert loaded.channels == ["density", "granite_distance"]
    # the saved network predicts the training labels better than chance
    proba = loaded.predict_proba(X)
    assert proba.shape == (len(y), 2)
    assert ((proba[:, 1] > 0.5) == (y == 1)).mean() > 0.75


def test_missing_arrays_are_named(tmp_path):
    from voxprospect.learn.distributed import load_windows

    bad = tmp_path / "bad.npz"
    np.savez(bad, X=np.zeros((2, 1, 3, 3, 3), np.float32))
    with pytest.raises(InputFileError, match="y"):
        load_windows(bad)
    with pytest.raises(InputFileError, match="not found"):
        load_windows(tmp_path / "none.npz")
