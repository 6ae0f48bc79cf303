"""Percentile ranks for the P-A on ranks: mid-ranks, ties broken by a second layer, NaN kept."""

import numpy as np
import pytest

from voxprospect.mapping.ranks import percentile_rank


def test_mid_ranks_and_tie_break():
    v = np.array([0.2, 1.0, 1.0, 1.0, 0.5, np.nan]).reshape(6, 1, 1)
    active = np.ones(v.shape, bool)
    r = percentile_rank(v, active).ravel()
    # five finite values: 0.2 has none below (mid-rank 0.5 of 5), 0.5 one, the three 1.0 share 2..5
    assert r[:5] == pytest.approx([0.5 / 5, 3.5 / 5, 3.5 / 5, 3.5 / 5, 1.5 / 5])
    assert np.isnan(r[5])
    q10 = np.array([0.1, 0.9, 0.7, 0.9, 0.3, 0.0]).reshape(v.shape)
    r = percentile_rank(v, active, q10).ravel()
    # among the tied 1.0, q10 orders 0.7 below the two 0.9 (still tied with each other)
    assert r[:5] == pytest.approx([0.5 / 5, 4.0 / 5, 2.5 / 5, 4.0 / 5, 1.5 / 5])
    flat = percentile_rank(np.ones((3, 3, 3)), np.ones((3, 3, 3), bool))
    assert np.all(flat == 0.5)
    inactive = np.ones(v.shape, bool)
    inactive[0] = False
    assert np.isnan(percentile_rank(v, inactive)[0, 0, 0])
