"""Meshes and other grids onto the voxel grid (voxprospect.gridding.voxelise)."""

from pathlib import Path

import numpy as np
import pytest

pv = pytest.importorskip("pyvista")

from voxprospect import GridMismatchError, LayerError, Volume, VoxelGrid, VoxprospectError
from voxprospect.data.rectilinear import RectilinearVolume, resample_to_grid
from voxprospect.gridding.voxelise import solid_mask, surface_distance
def centre_coords(grid):
    X, Y, Z = np.meshgrid(*(grid.axis_centres(a) for a in range(3)), indexing="ij")
    return X, Y, Z


# -- solids ---------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["columns", "vtk"])
def test_solid_mask_of_a_sphere_matches_the_analytic_inside_test(method):
    grid = VoxelGrid((-400.0, -350.0, -900.0), (25.0, 20.0, 15.0), (32, 36, 50))
    centre, R = np.array([10.0, 20.0, -530.0]), 250.0
    sphere = pv.Sphere(radius=R, center=centre, theta_resolution=60, phi_resolution=60)
    mask = solid_mask(sphere, grid, method=method)
    X, Y, Z = centre_coords(grid)
    r = np.sqrt((X - centre[0]) ** 2 + (Y - centre[1]) ** 2 + (Z - centre[2]) ** 2)
    diag = float(np.linalg.norm(grid.cell_size))
    assert mask[r < R - diag].all()
    assert not mask[r > R + diag].any()
    # the faceted sphere is slightly smaller than the true one; both well within 5 %
    volume = mask.sum() * grid.cell_volume
    assert volume == pytest.approx(4 / 3 * np.pi * R ** 3, rel=0.05)


def test_solid_mask_outside_grid_is_empty_and_open_surface_is_refused():
    grid = VoxelGrid((0.0, 0.0, 0.0), (10.0, 10.0, 10.0), (8, 8, 8))
    far = pv.Sphere(radius=20, center=(1000.0, 1000.0, 1000.0))
    assert not solid_mask(far, grid).any()
    with pytest.raises(VoxprospectError, match="not closed.*surface_distance"):
        solid_mask(pv.Plane(center=(40, 40, 40), i_size=50, j_size=50), grid)


def test_two_bodies_in_one_mesh():
    # the cube's top-face diagonal passes exactly through column centres: each
    # column must still cross the top once, not twice or never
    grid = VoxelGrid((0.0, 0.0, 0.0), (10.0, 10.0, 10.0), (30, 12, 12))
    bodies = pv.Sphere(radius=40, center=(60, 60, 60)) + pv.Cube(center=(220, 60, 60), x_length=60,
                                                                   y_length=60, z_length=60)
    mask = solid_mask(bodies, grid)
    assert mask[6, 6, 6] and mask[22, 6, 6] and not mask[14, 6, 6]
    # the cube's 6 x 6 x 6 cells exactly (centres at 195..245 lie within 190..250)
    assert mask[16:, :, :].sum() == 216
    np.testing.assert_array_equal(mask, solid_mask(bodies, grid, method="vtk"))


@pytest.mark.parametrize("body", ["PK2", "VK"])
def test_solid_mask_of_real_kimberlite_facies_matches_vtk_and_mesh_volume(body):
    """DO-27 kimberlite facies (real closed TSurf wireframes, ../shared/data)."""
    tsurf = pytest.importorskip("voxprospect.io.tsurf")
    path = Path(__file__).parents[2] / ".." / "shared" / "data" / "do27_kimberlite" / f"{body}.ts"
    mesh = tsurf.read_tsurf_one(path)
    grid = VoxelGrid.from_bounds(mesh.bounds, (8.0, 6.0, 5.0), "EPSG:32612")
    mask = solid_mask(mesh, grid)
    np.testing.assert_array_equal(mask, solid_mask(mesh, grid, method="vtk"))
    assert mask.sum() * grid.cell_volume == pytest.approx(abs(mesh.volume), rel=0.05)


# -- distances to open geometry -------------------------------------------------------

def test_surface_distance_to_an_inclined_plane_is_exact():
    grid = VoxelGrid((-500.0, -500.0, -500.0), (40.0, 25.0, 20.0), (25, 40, 50))
    normal = np.array([1.0, 0.5, 2.0]) / np.linalg.norm([1.0, 0.5, 2.0])
    origin = np.array([30.0, -10.0, -60.0])
    plane = pv.Plane(center=origin, direction=normal, i_size=4000, j_size=4000, i_resolution=4, j_resolution=4)
    cap = 300.0
    d = surface_distance(plane, grid, cap)
    X, Y, Z = centre_coords(grid)
    exact = np.abs((X - origin[0]) * normal[0] + (Y - origin[1]) * normal[1] + (Z - origin[2]) * normal[2])
    np.testing.assert_allclose(d, np.minimum(exact, cap), atol=1e-3)
    assert d.dtype == np.float32 and d.max() == pytest.approx(cap)


def test_distance_to_a_polyline_and_a_point():
    grid = VoxelGrid((0.0, 0.0, 0.0), (20.0, 20.0, 10.0), (20, 20, 20))
    trace = pv.MultipleLines(points=[[50, 50, 100], [250, 50, 100], [250, 300, 100]])
    d = surface_distance(trace, grid, 500.0)
    X, Y, Z = centre_coords(grid)
    P = np.stack([X, Y, Z], -1)

    def seg(a, b):
        a, b = np.asarray(a, float), np.asarray(b, float)
        t = np.clip(((P - a) @ (b - a)) / ((b - a) @ (b - a)), 0, 1)
        return np.linalg.norm(P - (a + t[..., None] * (b - a)), axis=-1)

    exact = np.minimum(seg([50, 50, 100], [250, 50, 100]), seg([250, 50, 100], [250, 300, 100]))
    np.testing.assert_allclose(d, np.minimum(exact, 500.0), atol=1e-3)
    point = pv.PolyData(np.array([[105.0, 95.0, 55.0]]))
    dp = surface_distance(point, grid, 1e4)
    np.testing.assert_allclose(dp, np.linalg.norm(P - [105.0, 95.0, 55.0], axis=-1), atol=1e-3)
    with pytest.raises(VoxprospectError, match="positive"):
        surface_distance(trace, grid, 0)


# -- resampling -----------------------------------------------------------------------

def linear_field(X, Y, Z):
    return 3.0 + 0.002 * X - 0.004 * Y + 0.01 * Z


def test_linear_resampling_of_a_linear_field_is_exact_from_a_rectilinear_mesh():
    # an inversion-style mesh: padding cells grow outwards
    xe = np.concatenate([[-900.0, -600.0], np.arange(-400.0, 401.0, 50.0), [600.0, 900.0]])
    ye = np.concatenate([[-800.0], np.arange(-500.0, 501.0, 100.0), [800.0]])
    ze = np.concatenate([[-2000.0, -1500.0], np.arange(-1200.0, 1.0, 100.0)])
    xc, yc, zc = (0.5 * (e[:-1] + e[1:]) for e in (xe, ye, ze))
    Xs, Ys, Zs = np.meshgrid(xc, yc, zc, indexing="ij")
    src = RectilinearVolume(xe, ye, ze, {"density": linear_field(Xs, Ys, Zs)}, crs="EPSG:32612")
    grid = VoxelGrid((-300.0, -300.0, -1000.0), (30.0, 45.0, 40.0), (20, 13, 24), "EPSG:32612")
    out = resample_to_grid(src, grid, "linear")
    X, Y, Z = centre_coords(grid)
    assert out.active.all()
    np.testing.assert_allclose(out["density"], linear_field(X, Y, Z), rtol=1e-6, atol=1e-6)
    # a dict description works the same
    same = resample_to_grid({"x_edges": xe, "y_edges": ye, "z_edges": ze,
                             "layers": {"density": linear_field(Xs, Ys, Zs)}}, grid)
    np.testing.assert_array_equal(same["density"], out["density"])


def test_class_layer_keeps_ids_and_table_and_outside_cells_are_inactive():
    src_grid = VoxelGrid((0.0, 0.0, -500.0), (100.0, 100.0, 50.0), (6, 5, 10))
    rng = np.random.default_rng(4)
    litho = rng.integers(1, 4, src_grid.shape).astype(np.int16)
    src = Volume(src_grid, {"lithology": litho, "density": rng.normal(2.7, 0.1, src_grid.shape)},
                 classes={"lithology": {1: "host", 2: "granodiorite", 3: "dyke"}})
    # target overhangs the source's east side by 4 cells
    grid = VoxelGrid((0.0, 0.0, -500.0), (50.0, 50.0, 25.0), (16, 10, 20))
    out = resample_to_grid(src, grid, "linear")
    assert out.classes["lithology"] == {1: "host", 2: "granodiorite", 3: "dyke"}
    assert out["lithology"].dtype == np.int16
    X, Y, Z = centre_coords(grid)
    inside = X < 600.0
    assert (out.active == inside).all()
    ijk = src_grid.world_to_index(np.stack([X, Y, Z], -1)[inside])
    np.testing.assert_array_equal(out["lithology"][inside], litho[tuple(ijk.T)])
    assert set(np.unique(out["lithology"][inside])) <= {1, 2, 3}
    assert (out["lithology"][~inside] == 0).all() and np.isnan(out["density"][~inside]).all()


def test_nan_source_cells_make_target_cells_inactive_without_spreading():
    src_grid = VoxelGrid((0.0, 0.0, 0.0), (100.0, 100.0, 100.0), (4, 4, 6))
    X, Y, Z = centre_coords(src_grid)
    rho = linear_field(X, Y, Z)
    rho[:, :, -2:] = np.nan  # air above topography
    src = Volume(src_grid, {"resistivity": rho})
    grid = VoxelGrid((0.0, 0.0, 0.0), (50.0, 50.0, 50.0), (8, 8, 12))
    out = resample_to_grid(src, grid)
    _, _, Zt = centre_coords(grid)
    assert (out.active == (Zt < 400.0)).all()
    assert np.isnan(out["resistivity"][Zt > 400.0]).all()
    # cells just below the air keep finite values (NaN neighbours are left out of the weights)
    assert np.isfinite(out["resistivity"][Zt < 400.0]).all()
    Xt, Yt, _ = centre_coords(grid)
    # far from the air and inside the outermost source centres: plain trilinear,
    # exact for a linear field (outside them values are held constant)
    deep = (Zt > 50.0) & (Zt < 250.0) & (abs(Xt - 200.0) < 150.0) & (abs(Yt - 200.0) < 150.0)
    held = (Zt > 50.0) & (Zt < 250.0) & (Xt < 50.0) & (abs(Yt - 200.0) < 150.0)
    np.testing.assert_allclose(out["resistivity"][held], linear_field(Xt + 25.0, Yt, Zt)[held], rtol=1e-6)
    np.testing.assert_allclose(out["resistivity"][deep], linear_field(Xt, Yt, Zt)[deep], rtol=1e-6)
    nearest = resample_to_grid(src, grid, "nearest")
    ijk = src_grid.world_to_index(np.stack([Xt, Yt, Zt], -1)[nearest.active])
    np.testing.assert_array_equal(nearest["resistivity"][nearest.active], rho[tuple(ijk.T)].astype(np.float32))


def test_resample_errors():
    src = Volume(VoxelGrid((0.0, 0.0, 0.0), (10.0, 10.0, 10.0), (3, 3, 3), "EPSG:32612"),
                 {"density": np.ones((3, 3, 3))})
    with pytest.raises(GridMismatchError, match="EPSG:32612.*EPSG:32613"):
        resample_to_grid(src, VoxelGrid((0.0, 0.0, 0.0), (10.0, 10.0, 10.0), (3, 3, 3), "EPSG:32613"))
    with pytest.raises(LayerError, match="no layer 'rho'"):
        resample_to_grid(src, src.grid, layers=["rho"])
    with pytest.raises(VoxprospectError, match="does not overlap"):
        resample_to_grid(src, VoxelGrid((500.0, 0.0, 0.0), (10.0, 10.0, 10.0), (3, 3, 3)))
    with pytest.raises(VoxprospectError, match="linear or nearest"):
        resample_to_grid(src, src.grid, "cubic")
    with pytest.raises(VoxprospectError, match="strictly increasing"):
        RectilinearVolume([0, 10, 5], [0, 1], [0, 1])
