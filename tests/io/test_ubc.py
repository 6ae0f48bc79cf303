"""UBC-GIF tensor mesh + model, on the real Laguna del Maule gravity inversion."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from voxprospect import InputFileError, Volume, VoxelGrid
from voxprospect.errors import GridMismatchError, OutputError
from voxprospect.io import read_volume, sniff_format, write_volume
from voxprospect.io.ubc import (cell_volumes,
                                cell_widths,
                                is_uniform,
                                mesh_bounds,
                                read_ubc,
                                read_ubc_mesh,
                                resample_rectilinear,
                                to_volume,
                                write_ubc)
from voxprospect.data.rectilinear import RectilinearVolume


@pytest.fixture
def maule(shared_data):
    return shared_data / "laguna_del_maule_ubc" / "craig_chile.msh"


@pytest.fixture
def maule_rect(maule):
    return read_ubc(maule)


def test_maule_mesh_variable_vertical_cells(maule_rect, maule):
    r = maule_rect
    assert r.shape == (69, 69, 40)
    np.testing.assert_allclose(cell_widths(r, 0), 250.0)
    np.testing.assert_allclose(cell_widths(r, 1), 250.0)
    # top to bottom in the file: 5 x 100, 5 x 120, ... 5 x 350 m; ours is bottom to top
    top_down = np.repeat([100, 120, 145, 175, 210, 250, 300, 350], 5)
    np.testing.assert_allclose(cell_widths(r, 2), top_down[::-1])
    assert r.z_edges[-1] == pytest.approx(3000.0)  # the origin's elevation is the top
    assert r.z_edges[0] == pytest.approx(3000.0 - top_down.sum())
    assert r.x_edges[0] == 355000.0 and r.y_edges[0] == 5999000.0
    assert not is_uniform(r)
    assert sniff_format(maule) == "ubc-mesh"


def test_maule_air_cells_inactive_and_model_order(maule_rect, maule):
    r = maule_rect
    assert list(r.layers) == ["Lpout"]
    raw = np.array((maule.parent / "Lpout.mod").read_text().split(), dtype=float)
    assert (~r.active).sum() == np.isnan(raw).sum()
    # the file's first value is the top cell of the south-west column; z fastest
    col = raw[:40]
    np.testing.assert_array_equal(np.isnan(r.layers["Lpout"][0, 0, ::-1]), np.isnan(col))
    np.testing.assert_array_equal(r.layers["Lpout"][0, 0, ::-1][~np.isnan(col)], col[~np.isnan(col)])
    # the next 40 values are the column one cell east (x before y)
    np.testing.assert_array_equal(np.nan_to_num(r.layers["Lpout"][1, 0, ::-1], nan=9), np.nan_to_num(raw[40:80], nan=9))
    # air lies above the ground: in every column, inactive cells sit on top of active ones
    act = r.active
    for i, j in [(0, 0), (34, 34), (68, 10)]:
        k_act = np.flatnonzero(act[i, j])
        if k_act.size:
            assert not act[i, j, : k_act.max()].any() or act[i, j, : k_act.max() + 1].all()
    assert not act[:, :, -1].all()  # the topmost level is mostly air


@pytest.mark.parametrize("cell,tol", [((250.0, 250.0, 100.0), 0.02), ((125.0, 125.0, 50.0), 0.02)])
def test_maule_resampled_mean_matches_source(maule_rect, cell, tol):
    r = maule_rect
    src = r.layers["Lpout"]
    w = cell_volumes(r)
    weighted_mean = np.sum(np.where(r.active, src, 0) * w) / np.sum(w[r.active])
    grid = VoxelGrid.from_bounds(mesh_bounds(r), cell)
    vol = resample_rectilinear(r, grid, "mean")
    vals = vol["Lpout"][vol.active]
    assert np.isfinite(vals).all()
    assert vals.mean() == pytest.approx(weighted_mean, rel=tol)
    # the active volume is conserved too
    assert vol.active.sum() * grid.cell_volume == pytest.approx(w[r.active].sum(), rel=tol)
    assert vals.min() >= src[r.active].min() - 1e-9 and vals.max() <= src[r.active].max() + 1e-9


def test_maule_nearest_and_linear(maule_rect):
    r = maule_rect
    grid = VoxelGrid((356110.0, 6000070.0, -2030.0), (500.0, 500.0, 200.0), (10, 10, 10))
    near = resample_rectilinear(r, grid, "nearest")
    # a target centre inside a source cell takes its value exactly
    c = grid.index_to_world([3, 4, 5])
    i, j, k = (np.searchsorted(e, v) - 1 for e, v in zip((r.x_edges, r.y_edges, r.z_edges), c))
    assert near["Lpout"][3, 4, 5] == pytest.approx(r.layers["Lpout"][i, j, k], rel=1e-6)
    lin = resample_rectilinear(r, grid, "linear")
    assert np.nanmax(np.abs(lin["Lpout"] - near["Lpout"])) < 0.6
    with pytest.raises(Exception, match="unknown resampling"):
        resample_rectilinear(r, grid, "cubic")


def test_read_volume_resamples_variable_mesh(maule):
    vol = read_volume(maule)
    assert isinstance(vol, Volume)
    np.testing.assert_allclose(vol.grid.cell_size, (250.0, 250.0, 100.0))
    assert vol.meta["resampled"]["shape"] == [69, 69, 40]
    grid = VoxelGrid.from_bounds((355000, 360000, 5999000, 6004000, -1000, 2000), 500.0)
    onto = read_volume(maule, grid=grid)
    assert onto.grid == grid


def test_crs_mismatch(maule):
    r = read_ubc(maule, crs="EPSG:32719")
    with pytest.raises(GridMismatchError, match="EPSG:32719.*EPSG:32619"):
        resample_rectilinear(r, VoxelGrid.from_bounds(mesh_bounds(r), 500.0, crs="EPSG:32619"))


def test_round_trip_volume(tmp_path, small_volume):
    dens = np.where(small_volume.active, small_volume["density"], np.nan).astype(np.float32)
    vol = Volume(small_volume.grid, {"density": dens}, small_volume.active)
    msh, mod = write_ubc(vol, tmp_path / "m.msh", tmp_path / "m.den")
    assert "9*50" in msh.read_text()  # runs written as n*w
    back = read_ubc(msh, mod)
    assert is_uniform(back)
    bv = to_volume(back)
    assert bv.grid == vol.grid
    np.testing.assert_array_equal(bv.active, vol.active)
    np.testing.assert_array_equal(bv["density"], vol["density"])


def test_round_trip_real_mesh(tmp_path, maule_rect):
    msh, mod = write_ubc(maule_rect, tmp_path / "c.msh", tmp_path / "c.mod")
    back = read_ubc(msh, mod)
    for a in range(3):
        np.testing.assert_allclose(back.edges(a), maule_rect.edges(a), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(back.active, maule_rect.active)
    np.testing.assert_array_equal(back.layers["c"], maule_rect.layers["Lpout"])


def test_write_volume_and_read_volume(tmp_path, small_volume):
    vol = small_volume.select(["density"])
    vol = vol.with_layer("density", np.where(vol.active, vol["density"], np.nan))
    write_volume(vol, tmp_path / "out.msh")
    assert (tmp_path / "out_density.mod").is_file()
    back = read_volume(tmp_path / "out.msh")
    assert list(back.layers) == ["density"]
    assert back.grid == VoxelGrid(vol.grid.origin, vol.grid.cell_size, vol.grid.shape)
    np.testing.assert_array_equal(back.layers["density"], vol["density"])


def test_repeat_notation_and_do27_mesh(shared_data, tmp_path):
    do27 = read_ubc_mesh(shared_data / "do27_kimberlite" / "mesh_inverse_ubc.msh")
    assert do27.shape == (81, 81, 60)
    assert cell_widths(do27, 0).min() == pytest.approx(10.0) and cell_widths(do27, 0).max() == pytest.approx(93.132257)
    p = tmp_path / "r.msh"
    p.write_text("3 2 4\n0 0 100\n3*10\n2*5\n2*10 20 40\n")
    r = read_ubc_mesh(p)
    assert r.shape == (3, 2, 4)
    np.testing.assert_allclose(cell_widths(r, 2), [40, 20, 10, 10])
    assert r.z_edges[0] == pytest.approx(20.0)


def test_truncated_mesh(tmp_path, maule):
    p = tmp_path / "t.msh"
    text = maule.read_text()
    p.write_text(text[: int(len(text) * 0.7)])
    with pytest.raises(InputFileError, match=r"t\.msh.*cell widths.*need 178.*truncated"):
        read_ubc_mesh(p)


def test_truncated_model(tmp_path, maule):
    shutil.copy(maule, tmp_path / "craig_chile.msh")
    lines = (maule.parent / "Lpout.mod").read_text().splitlines()
    (tmp_path / "Lpout.mod").write_text("\n".join(lines[:1000]) + "\n")
    with pytest.raises(InputFileError, match=r"Lpout\.mod.*1000 values.*190440 cells"):
        read_volume(tmp_path / "craig_chile.msh")


def test_bad_value_and_air_values(tmp_path):
    (tmp_path / "a.msh").write_text("2 1 2\n0 0 0\n2*1\n1\n2*1\n")
    (tmp_path / "a.mod").write_text("1\n-99999\n-100\nfoo\n")
    with pytest.raises(InputFileError, match="not a number"):
        read_ubc(tmp_path / "a.msh")
    (tmp_path / "a.mod").write_text("1\n-99999\n-100\n2.5\n")
    r = read_ubc(tmp_path / "a.msh")
    assert r.active.sum() == 2
    (tmp_path / "a.mod").unlink()
    (tmp_path / "a.con").write_text("1e-8\n0.01\n0.02\n0.03\n")
    assert list(read_ubc(tmp_path / "a.msh").layers) == ["conductivity"]
    assert read_ubc(tmp_path / "a.msh").active.sum() == 3


def test_other_format_under_msh(tmp_path, small_volume):
    p = tmp_path / "v.msh"
    from voxprospect.io import write_vti
    write_vti(small_volume, tmp_path / "v.vti")
    (tmp_path / "v.vti").rename(p)
    with pytest.raises(InputFileError, match="not a UBC-GIF tensor mesh.*vti"):
        read_ubc_mesh(p)
    # read_volume goes by content and reads the .vti it really is
    assert read_volume(p).grid == small_volume.grid


def test_writer_needs_layer(tmp_path, small_volume):
    with pytest.raises(OutputError, match="name the layer"):
        write_ubc(small_volume, tmp_path / "x.msh", tmp_path / "x.mod")
    assert not (tmp_path / "x.msh").exists()


def test_non_positive_width(tmp_path):
    (tmp_path / "n.msh").write_text("2 1 1\n0 0 0\n10 -5\n1\n1\n")
    with pytest.raises(InputFileError, match="positive"):
        read_ubc_mesh(tmp_path / "n.msh")


def test_rectilinear_type_is_voxelise_s(maule_rect):
    """One rectilinear type in the project: voxelise.resample_to_grid takes what we read."""
    from voxprospect.data.rectilinear import resample_to_grid
    assert isinstance(maule_rect, RectilinearVolume)
    grid = VoxelGrid((360000.0, 6005000.0, 0.0), (500.0, 500.0, 200.0), (4, 4, 4))
    vol = resample_to_grid(maule_rect, grid, "nearest")
    assert vol.grid == grid and np.isfinite(vol["Lpout"][vol.active]).all()


def test_model_file_alone(maule):
    mod = maule.parent / "Lpout.mod"
    assert sniff_format(mod) == "ubc-model"
    with pytest.raises(InputFileError, match=r"Lpout\.mod.*read its mesh"):
        read_volume(mod)
