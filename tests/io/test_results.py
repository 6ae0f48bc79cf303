"""Results for the modelling packages: ``convert`` to .geoh5/.omf, the project's
``outputs`` key in ``run`` (prospectivity, targets and target surfaces), each file
opened by the other package's own reader."""

from __future__ import annotations


import numpy as np
import pytest
from click.testing import CliRunner

from voxprospect import Volume, VoxelGrid
from voxprospect.errors import ProjectFileError

from tests_shared import make_tiny_project

pytest.importorskip("geoh5py")
omf = pytest.importorskip("omf")
pytest.importorskip("discretize")


def test_target_surfaces_enclose_the_target_voxels():
    from voxprospect.io.results import target_surfaces
    from voxprospect.io.tsurf import enclosed_volume, is_closed

    grid = VoxelGrid((0.0, 0.0, -100.0), (10.0, 20.0, 5.0), (6, 5, 4))
    labels = np.zeros(grid.shape, np.int32)
    labels[1:3, 1:4, 0:2] = 1
    labels[4:6, 0:1, 3:4] = 2
    surf = target_surfaces(Volume(grid, {"target_id": labels}))
    assert list(surf) == ["target_1", "target_2"]
    for tid, mesh in surf.items():
        n = int((labels == int(tid.split("_")[1])).sum())
        assert is_closed(mesh)
        assert enclosed_volume(mesh) == pytest.approx(n * grid.cell_volume, rel=1e-12)


def test_convert_writes_geoh5_and_omf(tmp_path):
    from geoh5py.objects import BlockModel
    from geoh5py.workspace import Workspace

    from voxprospect.io import write_volume
    from voxprospect_cli.main import cli

    grid = VoxelGrid((500_000.0, 7_000_000.0, -300.0), (25.0, 25.0, 10.0), (4, 3, 5), "EPSG:32753")
    dens = np.random.default_rng(1).normal(2.7, 0.1, grid.shape)
    write_volume(Volume(grid, {"density": dens}), tmp_path / "in.vti")
    for suffix in (".geoh5", ".omf"):
        out = tmp_path / f"out{suffix}"
        r = CliRunner().invoke(cli, ["convert", str(tmp_path / "in.vti"), str(out)])
        assert r.exit_code == 0, r.output
        assert (tmp_path / f"out{suffix}.report.json").exists()
    ws = Workspace(str(tmp_path / "out.geoh5"), mode="r")
    bm = next(o for o in ws.objects if isinstance(o, BlockModel))
    c = np.asarray(bm.centroids)
    ijk = np.floor((c - np.asarray(grid.origin)) / np.asarray(grid.cell_size)).astype(int)
    np.testing.assert_array_equal(bm.get_data("density")[0].values, dens[tuple(ijk.T)])
    ws.close()
    element = omf.OMFReader(str(tmp_path / "out.omf")).get_project().elements[0]
    np.testing.assert_array_equal(np.asarray(element.data[0].array.array).reshape(grid.shape), dens)
    # and back, onto a coarser grid: volume-weighted means of 2x2 columns
    r = CliRunner().invoke(cli, ["convert", str(tmp_path / "out.omf"), str(tmp_path / "back.vti"),
                                 "--cell-size", "50"])
    assert r.exit_code == 0, r.output


def test_unknown_output_format_is_refused(tmp_path):
    from voxprospect.workflows.project import load_project

    (tmp_path / "p.toml").write_text('[project]\noutputs = ["geoh5", "leapfrog"]\n')
    with pytest.raises(ProjectFileError, match="project.outputs.*'leapfrog'"):
        load_project(tmp_path / "p.toml")


def test_run_writes_the_project_outputs(tmp_path):
    import torch
    from geoh5py.objects import BlockModel, Surface
    from geoh5py.workspace import Workspace

    from voxprospect.io import read_volume
    from voxprospect.workflows.pipeline import run_project

    torch.set_num_threads(1)
    project = make_tiny_project(tmp_path, models='["RF"]')
    text = project.read_text().replace('output_dir = "out"', 'output_dir = "out"\noutputs = ["geoh5", "omf"]')
    project.write_text(text)
    report = run_project(project, tmp_path / "out")
    out = tmp_path / "out"
    assert report["models"]["RF"]["results_files"] == ["results_RF.geoh5", "results_RF.omf"]
    prosp = read_volume(out / "prospectivity_RF.vti")
    targets = read_volume(out / "targets_RF.vti")
    n_targets = int(targets["target_id"].max())

    ws = Workspace(str(out / "results_RF.geoh5"), mode="r")
    bm = next(o for o in ws.objects if isinstance(o, BlockModel))
    surfaces = [o for o in ws.objects if isinstance(o, Surface)]
    assert len(surfaces) == n_targets
    c = np.asarray(bm.centroids)
    ijk = tuple(np.floor((c - np.asarray(prosp.grid.origin)) / np.asarray(prosp.grid.cell_size)).astype(int).T)
    expected = np.where(prosp.active, prosp["prospectivity"], np.nan)[ijk]
    np.testing.assert_allclose(bm.get_data("prospectivity")[0].values, expected, rtol=1e-7)
    ws.close()

    project_omf = omf.OMFReader(str(out / "results_RF.omf")).get_project()
    kinds = [type(e).__name__ for e in project_omf.elements]
    assert kinds == ["VolumeElement"] + ["SurfaceElement"] * n_targets
    back = read_volume(out / "results_RF.omf", grid=prosp.grid)
    assert (back["target_id"][prosp.active] == targets["target_id"][prosp.active]).all()
