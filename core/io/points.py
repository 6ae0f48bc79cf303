"""CSV of voxel centres: one row per active cell, for spreadsheets and GIS point imports.

Columns are ``x, y, z`` (cell centres, metres, in the grid's CRS), ``i, j, k`` (grid
indices, ``k = 0`` deepest) and one column per layer; class layers are written as
their class names. The grid and CRS go into ``#`` comment lines at the top so the
file documents itself.
"""

from __future__ import annotations

import csv

import numpy as np

from voxprospect.io.safe_write import safe_output


def write_points_csv(volume, path, layers=None, inputs=()):
    """Write the active cells of ``volume`` as CSV rows.

    Parameters
    ----------
    volume : Volume
    path : path-like
    layers : list of str, optional
        Layers to write (default: all).

    Returns
    -------
    path

    Raises
    ------
    LayerError
        If a named layer is missing.
    OutputError
        If ``path`` is one of ``inputs``.
    """
    names = volume.names if layers is None else [volume[n] is not None and n for n in layers]
    idx = np.argwhere(volume.active)
    xyz = volume.grid.index_to_world(idx)
    columns = []
    for n in names:
        vals = volume[n][volume.active]
        table = volume.classes.get(n)
        if table:
            columns.append(np.array([table.get(int(v), str(int(v))) for v in vals], dtype=object))
        else:
            columns.append(vals)
    with safe_output(path, inputs) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            f.write(f"# voxprospect cell centres; grid: {volume.grid.describe()}\n")
            w = csv.writer(f)
            w.writerow(["x", "y", "z", "i", "j", "k", *names])
            for r in range(idx.shape[0]):
                row = [f"{xyz[r, 0]:.3f}", f"{xyz[r, 1]:.3f}", f"{xyz[r, 2]:.3f}", *idx[r].tolist()]
                for c in columns:
                    v = c[r]
                    row.append(v if isinstance(v, str) else ("" if not np.isfinite(v) else repr(float(v))
                                                             if np.issubdtype(type(v), np.floating) else int(v)))
                w.writerow(row)
    return path


def _register():
    from voxprospect.io import register_writer
    register_writer(".csv", write_points_csv)


_register()
