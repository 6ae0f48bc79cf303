"""Depth slices and cross-sections: valid PNGs showing the levels and sections they name."""

import numpy as np
import pytest

from voxprospect import LayerError, Volume, VoxelGrid
from voxprospect.mapping.figures import choose_levels, draw_sections


def _volume():
    grid = VoxelGrid((500_000.0, 4_400_000.0, -1_000.0), (50.0, 40.0, 25.0), (12, 10, 8), "EPSG:32651")
    i, j, k = np.meshgrid(*(np.arange(n) for n in grid.shape), indexing="ij")
    p = np.exp(-((i - 8) ** 2 + (j - 3) ** 2 + (k - 2) ** 2) / 6.0).astype(np.float32)
    active = k < 7  # the top level is air
    p[~active] = np.nan
    return Volume(grid, {"prospectivity": p}, active), (i, j, k)


def test_levels_skip_air_and_start_with_the_most_prospective():
    vol, _ = _volume()
    levels = choose_levels(vol.layers["prospectivity"], 3)
    assert levels[0] == 2 and len(levels) == 3 and 7 not in levels


def test_figures_are_pngs_and_name_their_levels_and_sections(tmp_path):
    from PIL import Image
    vol, (i, j, k) = _volume()
    ore = (i == 8) & (j == 3) & (k == 2)
    tgt = vol.layers["prospectivity"] > 0.5
    figs = draw_sections(vol, tmp_path, name="DL4", orebody=ore, targets=np.nan_to_num(tgt))
    assert set(figs.paths) == {"depth_slices", "sections"}
    for path in figs.paths.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(path) as im:
            im.verify()
    g = vol.grid
    assert figs.levels_m[0] == pytest.approx(g.origin[2] + 2.5 * g.cell_size[2])
    assert figs.section_x_m == pytest.approx(g.origin[0] + 8.5 * g.cell_size[0])
    assert figs.section_y_m == pytest.approx(g.origin[1] + 3.5 * g.cell_size[1])
    assert figs.describe()["depth_slice_elevations_m"] == [round(z, 2) for z in figs.levels_m]


def test_empty_layer_is_refused(tmp_path):
    vol, _ = _volume()
    empty = Volume(vol.grid, {"prospectivity": np.full(vol.grid.shape, np.nan, np.float32)}, vol.active)
    with pytest.raises(LayerError, match="no finite"):
        draw_sections(empty, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_saturated_map_is_cut_through_the_middle_of_its_maximum(tmp_path):
    """Hundreds of voxels at 1.0 (a LoopStructural potential saturates): the sections go
    through the middle of the tied block, not through its first voxel in memory order."""
    vol, _ = _volume()
    p = np.asarray(vol.layers["prospectivity"]).copy()
    p[np.isfinite(p)] = np.minimum(p[np.isfinite(p)], 0.5)
    p[2:9, 1:6, 0:3] = 1.0  # a tied block: its first voxel is (2, 1, 0), its middle (5, 3, 1)
    vol = Volume(vol.grid, {"prospectivity": p}, np.isfinite(p))
    figs = draw_sections(vol, tmp_path, name="sat")
    g = vol.grid
    assert figs.section_x_m == pytest.approx(g.origin[0] + 5.5 * g.cell_size[0])
    assert figs.section_y_m == pytest.approx(g.origin[1] + 3.5 * g.cell_size[1])
