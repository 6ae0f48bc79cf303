import csv

import numpy as np
import pytest

from voxprospect import InputFileError
from voxprospect.io import sniff_format, write_volume


def test_points_csv_one_row_per_active_cell(small_volume, tmp_path):
    path = tmp_path / "cells.csv"
    write_volume(small_volume, path)
    lines = path.read_text().splitlines()
    assert lines[0].startswith("# voxprospect")
    rows = list(csv.DictReader(lines[1:]))
    assert len(rows) == int(small_volume.active.sum())
    r = rows[0]
    i, j, k = int(r["i"]), int(r["j"]), int(r["k"])
    assert np.allclose([float(r["x"]), float(r["y"]), float(r["z"])],
                       small_volume.grid.index_to_world([i, j, k]), atol=1e-3)
    assert float(r["density"]) == pytest.approx(float(small_volume["density"][i, j, k]))
    assert r["lithology"] == small_volume.classes["lithology"][int(small_volume["lithology"][i, j, k])]


def test_zip_that_is_not_gempy_is_named(tmp_path):
    import zipfile
    p = tmp_path / "stuff.zip"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("a.txt", "hello")
    with pytest.raises(InputFileError, match="not a gempy model"):
        sniff_format(p)
    bad = tmp_path / "model.gempy"
    bad.write_bytes(p.read_bytes()[:30])
    with pytest.raises(InputFileError, match="corrupt"):
        sniff_format(bad)
