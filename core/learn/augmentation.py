"""Symmetry augmentation of training windows (flips, rotations about z).

Split out of :mod:`voxprospect.learn.estimators` (issue 10).
"""

from __future__ import annotations

import numpy as np

#: Symmetry augmentations of the windows ``(N, C, k, k, k)`` with axes (x, y, z):
#: flips of x and y, optionally z, and rotations by 90 degrees about the vertical
#: (z) axis, which mix x and y and so are valid only on square (dx == dy) cells.
AUGMENTS = {
    "none": {"flips": (), "rot90": False},
    "flips": {"flips": ("x", "y"), "rot90": False},
    "flips+z": {"flips": ("x", "y", "z"), "rot90": False},
    "symmetry": {"flips": ("x", "y"), "rot90": True},
    "symmetry+z": {"flips": ("x", "y", "z"), "rot90": True},
}
_AXIS_DIM = {"x": 2, "y": 3, "z": 4}


def augmentation_ops(augment, cell_size=None) -> dict:
    """The transforms ``augment`` asks for, with rotations dropped on non-square cells.

    Parameters
    ----------
    augment : str or None
        A key of :data:`AUGMENTS` (None = ``"none"``).
    cell_size : (dx, dy, dz), optional
        Cell sizes; a 90-degree rotation about z maps x onto y, so it is kept only
        when ``dx == dy``. Unknown cell sizes keep it (the caller vouches).

    Returns
    -------
    dict
        ``flips`` (axes), ``rot90`` (bool), ``dropped`` (reason or None).
    """
    key = "none" if augment in (None, False) else str(augment)
    if key not in AUGMENTS:
        raise ValueError(f"augment must be one of {sorted(AUGMENTS)}, got {augment!r}")
    ops = dict(AUGMENTS[key], dropped=None)
    if ops["rot90"] and cell_size is not None:
        dx, dy = float(cell_size[0]), float(cell_size[1])
        if not np.isclose(dx, dy, rtol=1e-9, atol=0.0):
            ops["rot90"] = False
            ops["dropped"] = (f"90-degree rotations about z dropped: cells are {dx:g} x {dy:g} m, "
                              "not square, so a rotation would not be a symmetry of the grid")
    return ops


def augment_windows(xb, ops: dict, generator):
    """A random symmetry of each window of ``xb`` ``(N, C, k, k, k)`` (torch), drawn from ``generator``.

    Each window gets an independent flip of every axis in ``ops["flips"]`` and,
    with ``ops["rot90"]``, a rotation by 0, 90, 180 or 270 degrees about z; all
    draws come from ``generator`` (CPU), so they are seeded and independent of
    the thread count.
    """
    import torch

    flips = list(ops.get("flips", ()))
    rot = bool(ops.get("rot90"))
    if not flips and not rot:
        return xb
    n = xb.shape[0]
    draws = torch.randint(0, 2, (n, max(len(flips), 1)), generator=generator)
    turns = torch.randint(0, 4, (n,), generator=generator) if rot else torch.zeros(n, dtype=torch.long)
    code = turns.clone()
    for j in range(len(flips)):
        code = code * 2 + draws[:, j]
    out = xb.clone()
    for c in torch.unique(code).tolist():
        members = torch.nonzero(code == c).reshape(-1)
        part = xb.index_select(0, members)
        rest = c
        bits = []
        for _ in flips:
            bits.append(rest % 2)
            rest //= 2
        bits = bits[::-1]
        dims = [_AXIS_DIM[a] for a, b in zip(flips, bits) if b]
        if dims:
            part = torch.flip(part, dims)
        if rest % 4:
            part = torch.rot90(part, int(rest % 4), dims=(2, 3))
        out[members] = part
    return out
