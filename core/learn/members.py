"""The summary of an ensemble's member probabilities: mean, standard deviation, lower quantile.

Plain numpy, below every model module, so the fast prediction path
(:mod:`voxprospect.learn.fastpredict`) and the estimators
(:mod:`voxprospect.learn.ensemble`) reduce members the same way.
"""

from __future__ import annotations

import numpy as np

#: The lower quantile over members written as ``prospectivity_q10``.
QUANTILE = 0.10


def summarise_members(P) -> dict:
    """Mean, standard deviation and lower quantile over members.

    Parameters
    ----------
    P : array_like, shape (M, N)
        Class-1 probability of ``N`` windows by ``M`` members.

    Returns
    -------
    dict
        ``mean``, ``std`` (``ddof = 0``) and ``q10`` (:data:`QUANTILE`, linear),
        float64 arrays of shape ``(N,)``. The mean is summed member by member in
        order, as scikit-learn's forest sums its trees, so a forest's mean is its
        ``predict_proba`` exactly.
    """
    P = np.asarray(P, dtype=np.float64)
    if P.ndim != 2 or P.shape[0] < 1:
        raise ValueError(f"member probabilities must be (members, windows), got shape {P.shape}")
    total = P[0].copy()
    for row in P[1:]:
        total += row
    mean = total / P.shape[0]
    if P.shape[0] == 1:
        return {"mean": mean, "std": np.zeros_like(mean), "q10": mean.copy()}
    return {"mean": mean, "std": np.sqrt(np.mean((P - mean) ** 2, axis=0)),
            "q10": np.quantile(P, QUANTILE, axis=0)}
