from pathlib import Path

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


def test_a_grid_typed_from_info_matches_a_voxets_float32_axes():
    """The Yilgarn voxet's axes come back as 500.0000124 m cells at 695749.9999938 (float32
    in the file); the grid a user types from ``voxprospect info`` is the same grid, while
    a hundredth of a cell is still a different one."""
    from voxprospect import VoxelGrid
    from voxprospect.io import read_volume

    path = Path(__file__).parents[2].parent / "shared" / "data" / "yilgarn_small_voxet" / "small.vo"
    on_file = read_volume(path).grid
    typed = VoxelGrid((695750.0, 6862750.0, -40250.0), (500.0, 500.0, 500.0), on_file.shape)
    assert on_file.cell_size != typed.cell_size  # not equal as floats
    assert typed.differences(on_file) == [] and typed == on_file and hash(typed) == hash(on_file)
    shifted = VoxelGrid((695755.0, 6862750.0, -40250.0), (500.0, 500.0, 500.0), on_file.shape)
    assert any("origin" in d for d in shifted.differences(on_file))
    coarser = VoxelGrid(typed.origin, (500.5, 500.0, 500.0), on_file.shape)
    assert any("cell size" in d for d in coarser.differences(on_file))
