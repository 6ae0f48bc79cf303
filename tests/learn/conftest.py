"""Shared factories for the learn tests."""

from __future__ import annotations

import numpy as np
import pytest


def make_deposit_windows(shape, deposits, min_distance_m, noise_seed, favour=5.0):
    """A grid of 50 m cells with box-shaped deposits, their windows and two channels.

    Channel 0 (``favour``) is the deposits blurred and scaled by ``favour`` plus noise,
    channel 1 pure noise. Returns ``(grid, samples, X)``.
    """
    from scipy.ndimage import gaussian_filter

    from voxprospect import VoxelGrid
    from voxprospect.learn.samples import make_samples, samples_windows

    grid = VoxelGrid((0.0, 0.0, -600.0), (50.0, 50.0, 50.0), tuple(shape), None)
    orebody = np.zeros(grid.shape, np.int32)
    for n, where in enumerate(deposits, start=1):
        orebody[where] = n
    samples = make_samples(orebody, np.ones(grid.shape, bool), grid, window=3, min_distance_m=min_distance_m, seed=1)
    rng = np.random.default_rng(noise_seed)
    stack = np.stack([gaussian_filter((orebody > 0).astype(np.float32), 1.5) * favour
                      + rng.normal(0, 0.3, grid.shape),
                      rng.normal(0, 1, grid.shape)]).astype(np.float32)
    return grid, samples, samples_windows(stack, samples)


@pytest.fixture
def deposit_windows():
    """:func:`make_deposit_windows`, as a fixture."""
    return make_deposit_windows
