import numpy as np
import pytest

from voxprospect import GridMismatchError, LayerError, Volume, VoxelGrid, VoxprospectError


def test_layers_and_stats(small_volume):
    s = small_volume.layer_stats("density")
    assert s["count"] == small_volume.active.sum()
    assert s["mean"] == pytest.approx(small_volume["density"][small_volume.active].mean(), rel=1e-6)
    c = small_volume.layer_stats("lithology")
    assert sum(c["classes"].values()) == small_volume.active.sum()
    assert set(c["classes"]) <= {"host", "granite", "granodiorite"}


def test_filters_return_new_volumes(small_volume):
    v2 = small_volume.with_layer("x", np.zeros(small_volume.grid.shape))
    assert "x" in v2 and "x" not in small_volume
    assert v2["density"] is small_volume["density"]  # shared, not copied


def test_unknown_layer_and_class_named(small_volume):
    with pytest.raises(LayerError, match="'nope'.*density"):
        small_volume["nope"]
    with pytest.raises(LayerError, match="no class 'gabbro'"):
        small_volume.class_ids("lithology", ["gabbro"])
    assert small_volume.class_ids("lithology", ["Granodiorite"]) == [2]


def test_shape_mismatch_refused(small_grid):
    with pytest.raises(VoxprospectError, match="shape"):
        Volume(small_grid, {"a": np.zeros((2, 2, 2))})


def test_merge_refuses_other_grid(small_volume):
    g = small_volume.grid
    other = Volume(VoxelGrid(g.origin, g.cell_size, (9, 7, 5), g.crs), {"a": np.zeros((9, 7, 5))})
    with pytest.raises(GridMismatchError):
        small_volume.merge(other)


def test_all_nan_layer_refused(small_volume):
    v = small_volume.with_layer("empty", np.full(small_volume.grid.shape, np.nan, np.float32))
    with pytest.raises(LayerError, match="all-NaN"):
        v.require_finite("empty", "x.vti")


def test_stack_order(small_volume):
    st = small_volume.stack(["lithology", "density"])
    assert st.shape == (2,) + small_volume.grid.shape and st.dtype == np.float32
    assert np.array_equal(st[0], small_volume["lithology"].astype(np.float32))
