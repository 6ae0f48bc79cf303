"""Inputs a new user's trial of the CLI got wrong, each refused or questioned up front.

A CRS for files that carry none (GOCAD voxets, UBC meshes), checked where it enters:
``[grid] crs`` labels every input without a CRS and refuses one in another CRS; PROJ is
asked whether the CRS exists when the project loads; a study on a grid without a CRS
keeps its results and leaves out only the GeoTIFF; ``predict --geotiff`` refuses before
predicting; ``convert --crs`` labels a real voxet; drillholes in another CRS than the
grid are refused instead of being placed kilometres off. Also: a lithology given as
orebodies is questioned, and an evidence stack sent to a one-layer GeoTIFF is refused
before the work.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from voxprospect import GridMismatchError, Volume, VoxelGrid
from voxprospect.errors import ProjectFileError, VoxprospectError
from voxprospect.io import read_volume, write_volume
from voxprospect.io.toml_text import toml_text
from voxprospect_cli.main import cli

from tests_shared import GRID, tiny_district_volumes, tiny_project_tables

NO_CRS = VoxelGrid(GRID.origin, GRID.cell_size, GRID.shape, None)


def _tiny(folder, grid=NO_CRS, **grid_table):
    """The tiny district on ``grid``, its project with ``[grid] reference = geology`` plus ``grid_table``."""
    folder.mkdir(parents=True, exist_ok=True)
    tiny = tiny_district_volumes(grid, (6, 6, 4), 9, [np.s_[9:11, 5:8, 3:6], np.s_[5:8, 9:11, 2:4]], air_from_k=9)
    dens = tiny["density"]
    dens[~tiny["active"]] = np.nan
    write_volume(tiny["geology"], folder / "geology.vti")
    write_volume(Volume(grid, {"density": dens}, tiny["active"]), folder / "geophysics.vti")
    tables = tiny_project_tables(models=("RF",), protocols=("random",))
    if grid_table:
        tables["grid"] = {"reference": "geology", **grid_table}
    (folder / "project.toml").write_text(toml_text(tables))
    return folder / "project.toml"


def test_an_unknown_crs_is_refused_when_the_project_loads(tmp_path):
    from voxprospect.workflows.project import load_project

    project = _tiny(tmp_path, crs="EPSG:999999")
    with pytest.raises(ProjectFileError, match=r"grid.*EPSG:999999.*not a known coordinate reference system"):
        load_project(project)


def test_grid_crs_labels_inputs_that_carry_none(tmp_path):
    from voxprospect.workflows.steps import run_evidence

    project = _tiny(tmp_path, crs="EPSG:32651")
    assert read_volume(tmp_path / "geology.vti").grid.crs is None
    run_evidence(project, tmp_path / "ev" / "evidence.vti")
    assert read_volume(tmp_path / "ev" / "evidence.vti").grid.crs == "EPSG:32651"


def test_grid_crs_refuses_an_input_in_another_crs(tmp_path):
    from voxprospect.workflows.steps import run_evidence

    project = _tiny(tmp_path, grid=GRID, crs="EPSG:32750")  # the files say EPSG:32651
    with pytest.raises(GridMismatchError, match=r"EPSG:32651.*EPSG:32750"):
        run_evidence(project, tmp_path / "ev" / "evidence.vti")
    assert not (tmp_path / "ev").exists()


def test_a_study_without_a_crs_keeps_its_results_and_skips_only_the_geotiff(tmp_path):
    project = _tiny(tmp_path)
    out = tmp_path / "run"
    r = CliRunner().invoke(cli, ["run", str(project), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert (out / "prospectivity_RF.vti").is_file() and not (out / "prospectivity_RF.tif").exists()
    rep = json.loads((out / "report.json").read_text())
    assert "no CRS" in rep["models"]["RF"]["geotiff"]
    assert not any(o["path"].endswith(".tif") for o in rep["outputs"])
    # predict --geotiff on that evidence is refused before any prediction, naming the file
    r = CliRunner().invoke(cli, ["predict", str(out / "RF.vxp.safetensors"), str(out / "evidence.vti"),
                                 "-o", str(tmp_path / "p.vti"), "--geotiff", str(tmp_path / "p.tif")])
    assert r.exit_code != 0 and "evidence.vti: the evidence has no CRS" in r.output
    assert not (tmp_path / "p.vti").exists() and not (tmp_path / "p.tif").exists()


def test_convert_crs_labels_a_real_voxet_and_never_relabels(shared_data, tmp_path):
    src = shared_data / "claudius_voxet" / "Results.vo"
    assert read_volume(src).grid.crs is None
    out = tmp_path / "claudius.vti"
    r = CliRunner().invoke(cli, ["convert", str(src), str(out), "--crs", "EPSG:28350"])
    assert r.exit_code == 0, r.output
    assert read_volume(out).grid.crs == "EPSG:28350"
    assert json.loads((tmp_path / "claudius.vti.report.json").read_text())["parameters"]["crs"] == "EPSG:28350"
    again = tmp_path / "again.vti"
    r = CliRunner().invoke(cli, ["convert", str(out), str(again), "--crs", "EPSG:32750"])
    assert r.exit_code != 0 and "does not reproject" in r.output and not again.exists()
    r = CliRunner().invoke(cli, ["convert", str(src), str(again), "--crs", "EPSG:999999"])
    assert r.exit_code != 0 and "--crs" in r.output and not again.exists()
    r = CliRunner().invoke(cli, ["convert", str(src), str(again), "--like", str(out), "--cell-size", "50"])
    assert r.exit_code != 0 and "not both" in r.output and not again.exists()


def test_drillholes_in_another_crs_than_the_grid_are_refused(shared_data, tmp_path):
    from voxprospect.workflows.project import load_project

    example = Path(__file__).parents[2] / "examples" / "copper_creek" / "project.toml"
    text = example.read_text().replace("../../../shared/data", str(shared_data))
    grid_crs, holes_crs = 'shape = [50, 60, 26]\ncrs = "EPSG:26912"', 'assay.csv"\ncrs = "EPSG:26912"'
    assert grid_crs in text and holes_crs in text
    (tmp_path / "ok.toml").write_text(text)
    (tmp_path / "bad.toml").write_text(text.replace(grid_crs, grid_crs.replace("26912", "4326")))
    (tmp_path / "worse.toml").write_text(text.replace(holes_crs, holes_crs.replace("26912", "999999")))
    assert load_project(tmp_path / "ok.toml").grid.crs == "EPSG:26912"
    # degrees against metres: every hole would land somewhere else without a word
    with pytest.raises(GridMismatchError, match=r"collar.csv: the drillholes are in EPSG:26912.*EPSG:4326"):
        load_project(tmp_path / "bad.toml").load_inputs()
    with pytest.raises(ProjectFileError, match=r"holes.crs.*EPSG:999999.*not a known"):
        load_project(tmp_path / "worse.toml")


def test_a_lithology_given_as_orebodies_is_questioned(tmp_path, caplog):
    """Every voxel of a lithology layer is a class: as orebodies it would make the whole
    volume ore, and the run would go on without a word."""
    from voxprospect.workflows.training import prepare_training
    from voxprospect.workflows.project import load_project

    project = _tiny(tmp_path, grid=GRID)
    text = project.read_text().replace('layer = "orebody"', 'layer = "lithology"')
    assert 'layer = "lithology"' in text
    project.write_text(text)
    geo = read_volume(tmp_path / "geology.vti")
    lith = np.asarray(geo["lithology"]) + 1  # host 1, granodiorite 2: every voxel a class
    write_volume(geo.with_layer("lithology", lith, {1: "host", 2: "granodiorite"}), tmp_path / "geology.vti")
    with caplog.at_level("WARNING", logger="voxprospect"):
        try:
            prepare_training(load_project(project))
        except VoxprospectError:  # the samples may fail for want of negatives: the warning came first
            pass
    assert any("marks 100% of the study volume as ore" in r.getMessage() for r in caplog.records)
    caplog.clear()
    _tiny(tmp_path / "fine", grid=GRID)
    with caplog.at_level("WARNING", logger="voxprospect"):
        prepare_training(load_project(tmp_path / "fine" / "project.toml"))
    assert not any("as ore" in r.getMessage() for r in caplog.records)


def test_evidence_to_a_geotiff_is_refused_before_any_work(tmp_path):
    from voxprospect.errors import OutputError
    from voxprospect.workflows.steps import run_evidence

    project = _tiny(tmp_path, grid=GRID)
    with pytest.raises(OutputError, match=r"e\.tif: a GeoTIFF holds one layer and the evidence has 2 channels"):
        run_evidence(project, tmp_path / "ev" / "e.tif")
    assert not (tmp_path / "ev").exists()


def test_a_bad_class_of_a_drillhole_channel_names_the_project_and_the_input(shared_data, tmp_path):
    """The classes of a drillhole channel are asked of the logs by the project file: the
    message names the project and the input, not only the collar table."""
    from voxprospect.errors import LayerError
    from voxprospect.workflows.steps import run_evidence

    example = Path(__file__).parents[2] / "examples" / "copper_creek" / "project.toml"
    text = example.read_text().replace("../../../shared/data", str(shared_data))
    assert 'classes = ["gdp", "gdp1"' in text
    (tmp_path / "p.toml").write_text(text.replace('classes = ["gdp", "gdp1"', 'classes = ["gdpX", "gdp1"'))
    with pytest.raises(LayerError, match=r"p\.toml: input 'holes' \(drillholes, collar\.csv\): evidence channel "
                                         r"'porphyry': layer 'lithology' has no class 'gdpX'"):
        run_evidence(tmp_path / "p.toml", tmp_path / "ev.vti")
    assert not (tmp_path / "ev.vti").exists()


def test_convert_onto_a_grid_it_misses_names_both_files(tmp_path):
    src, like = tmp_path / "src.vti", tmp_path / "like.vti"
    write_volume(Volume(NO_CRS, {"a": np.ones(NO_CRS.shape, np.float32)}), src)
    far = VoxelGrid((GRID.origin[0] + 1e5, GRID.origin[1], GRID.origin[2]), GRID.cell_size, GRID.shape, None)
    write_volume(Volume(far, {"b": np.ones(far.shape, np.float32)}), like)
    r = CliRunner().invoke(cli, ["convert", str(src), str(tmp_path / "out.vti"), "--like", str(like)])
    assert r.exit_code == 1, r.output
    assert f"{src} onto the grid of {like}: the source does not overlap the grid" in r.output
    assert not (tmp_path / "out.vti").exists()
