import numpy as np
import pytest

from voxprospect import GridMismatchError, VoxelGrid, VoxprospectError


def test_index_world_round_trip(small_grid):
    ijk = np.array([[0, 0, 0], [8, 6, 5], [3, 2, 1]])
    xyz = small_grid.index_to_world(ijk)
    assert np.allclose(xyz[0], [500_025.0, 4_400_020.0, -987.5])
    assert np.array_equal(small_grid.world_to_index(xyz), ijk)


def test_elevation_positive_up(small_grid):
    z = small_grid.elevations
    assert z[0] < z[-1]
    assert small_grid.level_of_elevation(-990.0) == 0
    assert small_grid.level_of_elevation(z[-1]) == small_grid.shape[2] - 1
    with pytest.raises(VoxprospectError, match="outside the grid"):
        small_grid.level_of_elevation(10_000.0)


def test_cell_centres_fortran_order(small_grid):
    c = small_grid.cell_centres()
    assert c.shape == (small_grid.n_cells, 3)
    # x runs fastest, as in VTK
    assert c[1, 0] - c[0, 0] == pytest.approx(50.0) and c[1, 1] == c[0, 1]
    assert np.allclose(c[small_grid.shape[0], 1] - c[0, 1], 40.0)


def test_grids_compare_by_value(small_grid):
    same = VoxelGrid(tuple(small_grid.origin), (50, 40, 25), (9, 7, 6), "epsg:32651")
    assert same == small_grid and hash(same) == hash(small_grid)
    other = VoxelGrid(small_grid.origin, (50, 40, 20), (9, 7, 6), "EPSG:32651")
    assert other != small_grid
    with pytest.raises(GridMismatchError, match="cell size"):
        small_grid.require_same(other)
    wrong_crs = VoxelGrid(small_grid.origin, small_grid.cell_size, small_grid.shape, "EPSG:4326")
    with pytest.raises(GridMismatchError, match="CRS"):
        small_grid.require_same(wrong_crs)


def test_from_bounds_covers_box():
    g = VoxelGrid.from_bounds((0, 1000, 0, 520, -500, 0), (100, 100, 50), "EPSG:32651")
    assert g.shape == (10, 6, 10)
    assert g.bounds[3] >= 520


@pytest.mark.parametrize("bad", [dict(cell_size=(0, 1, 1)), dict(shape=(0, 2, 2)), dict(cell_size=(1, -1, 1))])
def test_invalid_grids_refused(bad):
    kw = dict(origin=(0, 0, 0), cell_size=(1, 1, 1), shape=(2, 2, 2))
    kw.update(bad)
    with pytest.raises(VoxprospectError):
        VoxelGrid(**kw)
