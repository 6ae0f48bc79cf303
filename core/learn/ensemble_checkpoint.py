"""The deep ensemble inside one checkpoint file: every member's weights under its own prefix.

A checkpoint of a :class:`~voxprospect.learn.ensemble.DeepEnsemble` is an ordinary
CNN checkpoint (:mod:`voxprospect.learn.checkpoint`: one safetensors file, a JSON
header, never pickle) whose metadata adds

* ``members``: the member count ``M`` (2 to :data:`~voxprospect.learn.ensemble.MAX_MEMBERS`);
* ``member_seeds``: the ``M`` seeds, member 0 first (the ensemble's own seed);
* ``member_training``: per member its ``history``, ``best_epoch`` and ``validation``;

and whose tensors are ``member<i>.<name>`` for every ``i < M`` and every name of
the architecture's ``state_dict``, nothing more. Such files carry format version
2; a single model is still written as version 1, readable by older voxprospect.
Validation is as strict as for one network: the member count, the seeds, and the
exact set of tensor names are checked before any module is built.
"""

from __future__ import annotations

import re

import numpy as np

from voxprospect.errors import InputFileError

#: Format version of a checkpoint holding several members.
ENSEMBLE_FORMAT_VERSION = 2
_MEMBER_NAME = re.compile(r"^member(0|[1-9][0-9]{0,2})\.(.+)$")


def ensemble_tensors(estimator) -> tuple[dict, dict]:
    """Tensors and metadata of a fitted :class:`DeepEnsemble`.

    Returns
    -------
    (tensors, meta)
        ``tensors`` ``{"member<i>.<name>": ndarray}``; ``meta`` the keys to add to the
        checkpoint's JSON (kind, preset, architecture, members, seeds, training).
    """
    members = estimator.members
    tensors = {}
    for i, m in enumerate(members):
        for k, v in m.model_.state_dict().items():
            tensors[f"member{i}.{k}"] = v.detach().to("cpu").contiguous().numpy().copy()
    first = members[0]
    meta = {"kind": "cnn", "preset": str(estimator.preset).upper(), "architecture": first.model_.config,
            "members": len(members), "member_seeds": [int(s) for s in estimator.member_seeds_],
            "history": first.history_, "best_epoch": int(first.best_epoch_),
            "augmentation": getattr(first, "augmentation_", None), "validation": getattr(first, "validation_", None),
            "member_training": [{"seed": int(s), "history": m.history_, "best_epoch": int(m.best_epoch_),
                                 "validation": getattr(m, "validation_", None)}
                                for s, m in zip(estimator.member_seeds_, members)]}
    if len(members) > 1:
        meta["format_version"] = ENSEMBLE_FORMAT_VERSION
    return tensors, meta


def _field(path, field, problem):
    raise InputFileError(path, f"checkpoint field {field}: {problem}")


def member_count(path, meta) -> int:
    """The validated member count of a CNN checkpoint (1 when ``members`` is absent).

    Raises
    ------
    InputFileError
        Naming the field: a count that is not an integer in range, seeds that are
        not ``members`` integers from 0 to 2**32 - 1, or a several-member file that
        claims format version 1.
    """
    from voxprospect.learn.ensemble import MAX_MEMBERS
    from voxprospect.limits import SEED_MAX

    n = meta.get("members", 1)
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_MEMBERS:
        _field(path, "members", f"must be an integer from 1 to {MAX_MEMBERS}, got {str(n)[:60]}")
    seeds = meta.get("member_seeds")
    if seeds is not None:
        if not (isinstance(seeds, list) and len(seeds) == n
                and all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= SEED_MAX for s in seeds)):
            _field(path, "member_seeds", f"must be a list of {n} seeds (integers from 0 to {SEED_MAX:,}), "
                                         f"got {str(seeds)[:80]}")
    elif n > 1:
        _field(path, "member_seeds", f"missing: an ensemble of {n} members records its seeds")
    if n > 1 and meta.get("format_version", 1) < ENSEMBLE_FORMAT_VERSION:
        _field(path, "format_version", f"an ensemble of {n} members needs format version "
                                       f"{ENSEMBLE_FORMAT_VERSION}, the file says {meta.get('format_version')}")
    return n


def split_members(path, n: int, arrays: dict) -> list[dict]:
    """The tensors of each member, ``[{name: array}, ...]``, prefixes removed.

    Raises
    ------
    InputFileError
        When a tensor does not belong to a member ``0 .. n - 1``.
    """
    out = [{} for _ in range(n)]
    for name, a in arrays.items():
        m = _MEMBER_NAME.match(name)
        if m is None or int(m.group(1)) >= n:
            raise InputFileError(path, f"unexpected tensor {name[:80]!r} in an ensemble of {n} members (names "
                                       f"must be member0.* .. member{n - 1}.*); refusing to load it")
        out[int(m.group(1))][m.group(2)] = a
    return out


def ensemble_predict_proba(modules, windows, batch_size: int, device) -> np.ndarray:
    """Mean class probabilities ``(N, 2)`` of several networks on windows ``(N, C, k, k, k)``."""
    from voxprospect.learn.trainloop import module_probability

    total = np.zeros(len(windows), dtype=np.float64)
    for module in modules:
        total += module_probability(module.to(device), windows, int(batch_size), device)
    mean = total / len(modules)
    return np.column_stack([1.0 - mean, mean])
