"""``voxprospect info --json`` on every format and ``voxprospect convert``, with CliRunner."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from voxprospect.io import read_volume, write_volume
from voxprospect_cli.main import cli


def _info(path):
    r = CliRunner().invoke(cli, ["info", str(path), "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def test_info_voxet(shared_data):
    d = _info(shared_data / "yilgarn_small_voxet" / "small.vo")
    assert d["format"] == "gocad-voxet"
    assert d["grid"]["shape"] == [10, 17, 10]
    assert d["layers"]["Lithology"]["kind"] == "classes"
    assert d["layers"]["Lithology"]["classes"] == {"20_Mantle": 1700}
    assert d["layers"]["VPmg_density"]["mean"] == pytest.approx(0.1095)


def test_info_ubc_mesh(shared_data):
    d = _info(shared_data / "laguna_del_maule_ubc" / "craig_chile.msh")
    assert d["format"] == "ubc-mesh"
    assert d["mesh"]["shape"] == [69, 69, 40]
    assert d["mesh"]["cell_widths"]["z"] == {"min": 100.0, "max": 350.0}
    assert d["active_cells"] == 69 * 69 * 40 - 30735  # the file's NaN (air) cells
    assert d["layers"]["Lpout"]["min"] == pytest.approx(-0.6)


def test_info_tsurf(shared_data):
    d = _info(shared_data / "do27_kimberlite" / "PK1.ts")
    m = d["meshes"]["PK1"]
    assert m["points"] == 5838 and m["cells"] == 11672 and m["closed"] is True
    assert m["enclosed_volume_m3"] > 1e6
    assert m["bounds"][4] < m["bounds"][5]


def test_info_vtk_and_geotiff(tmp_path, small_volume):
    pv = pytest.importorskip("pyvista")
    g = pv.RectilinearGrid(np.array([0.0, 10, 30]), np.array([0.0, 10]), np.array([0.0, 5, 15, 40]))
    g.cell_data["rho"] = np.arange(g.n_cells, dtype=float)
    g.save(tmp_path / "r.vtr")
    d = _info(tmp_path / "r.vtr")
    assert d["mesh"]["shape"] == [2, 1, 3] and d["layers"]["rho"]["max"] == 5.0
    pv.Sphere().save(tmp_path / "s.vtp")
    d = _info(tmp_path / "s.vtp")
    assert d["meshes"]["s"]["closed"] is True
    write_volume(small_volume.select(["density"]), tmp_path / "d.tif")
    d = _info(tmp_path / "d.tif")
    assert d["format"] == "geotiff"
    assert d["raster"]["bands"] == small_volume.grid.shape[2] and d["raster"]["crs"] == "EPSG:32651"


def test_info_project(tmp_path, shared_data):
    (tmp_path / "project.toml").write_text(
        f'[grid]\ncell_size = 50\n[inputs]\ngeology = "{shared_data / "yilgarn_small_voxet" / "small.vo"}"\n'
        f'pipe = "{shared_data / "do27_kimberlite" / "PK1.ts"}"\n')
    d = _info(tmp_path / "project.toml")
    assert d["format"] == "toml"
    assert d["inputs"]["inputs.geology"]["format"] == "gocad-voxet"
    assert d["inputs"]["inputs.pipe"]["format"] == "gocad-tsurf"


def test_info_text_keeps_volume_output(shared_data):
    r = CliRunner().invoke(cli, ["info", str(shared_data / "claudius_voxet" / "Results.vo")])
    assert r.exit_code == 0
    assert "38 x 55 x 29 cells" in r.output and "result_s10.dt [float32]" in r.output


@pytest.mark.parametrize("suffix", [".vti", ".vo", ".msh"])
def test_convert_voxet_round_trip(tmp_path, shared_data, suffix):
    src = shared_data / "claudius_voxet" / "Results.vo"
    out = tmp_path / f"claudius{suffix}"
    r = CliRunner().invoke(cli, ["convert", str(src), str(out), "--layer", "result_s10.dt"])
    assert r.exit_code == 0, r.output
    back = read_volume(out)
    orig = read_volume(src)
    assert back.names == ["result_s10.dt"]
    assert back.grid == orig.grid
    np.testing.assert_array_equal(back["result_s10.dt"], orig["result_s10.dt"])
    rep = json.loads((tmp_path / f"claudius{suffix}.report.json").read_text())
    assert rep["command"] == "convert" and rep["inputs"][0]["size"] == src.stat().st_size


def test_convert_ubc_to_vti_conserves_mean(tmp_path, shared_data):
    from voxprospect.io.ubc import cell_volumes, read_ubc
    src = shared_data / "laguna_del_maule_ubc" / "craig_chile.msh"
    out = tmp_path / "maule.vti"
    r = CliRunner().invoke(cli, ["convert", str(src), str(out), "--cell-size", "250"])
    assert r.exit_code == 0, r.output
    vol = read_volume(out)
    assert vol.grid.cell_size == (250.0, 250.0, 250.0)
    rect = read_ubc(src)
    w = cell_volumes(rect)
    mean = np.sum(np.where(rect.active, rect.layers["Lpout"], 0) * w) / w[rect.active].sum()
    assert np.nanmean(vol["Lpout"][vol.active]) == pytest.approx(mean, rel=0.05)


def test_convert_like(tmp_path, shared_data, small_volume):
    """Onto another volume's grid (the CRS-free Yilgarn grid, coarsened)."""
    from voxprospect import Volume, VoxelGrid
    ref = tmp_path / "ref.vti"
    g = VoxelGrid((695750.0, 6862750.0, -40250.0), (1000.0, 1000.0, 1000.0), (5, 8, 5))
    write_volume(Volume(g, {"x": np.zeros(g.shape, np.float32)}), ref)
    out = tmp_path / "y.vti"
    r = CliRunner().invoke(cli, ["convert", str(shared_data / "yilgarn_small_voxet" / "small.vo"), str(out),
                                 "--like", str(ref), "--layer", "VPmg_density"])
    assert r.exit_code == 0, r.output
    vol = read_volume(out)
    assert vol.grid == g
    assert np.nanmax(np.abs(vol["VPmg_density"] - 0.1095)) < 1e-6


def test_convert_refuses_in_equals_out(tmp_path, small_volume):
    p = tmp_path / "v.vti"
    write_volume(small_volume, p)
    before = p.read_bytes()
    r = CliRunner().invoke(cli, ["convert", str(p), str(tmp_path / "." / "v.vti")])
    assert r.exit_code == 1 and "overwrite" in r.output and "Traceback" not in r.output
    assert p.read_bytes() == before


def test_convert_errors_are_one_line(tmp_path, shared_data, small_volume):
    runner = CliRunner()
    junk = tmp_path / "junk.dat"
    junk.write_text("just some words\n")
    r = runner.invoke(cli, ["convert", str(junk), str(tmp_path / "o.vti")])
    assert r.exit_code == 1 and "junk.dat" in r.output and "unrecognised" in r.output
    r = runner.invoke(cli, ["convert", str(shared_data / "do27_kimberlite" / "PK2.ts"), str(tmp_path / "o.vti")])
    assert r.exit_code == 1 and "read_mesh" in r.output
    p = tmp_path / "v.vti"
    write_volume(small_volume, p)
    r = runner.invoke(cli, ["convert", str(p), str(tmp_path / "o.xyz")])
    assert r.exit_code == 2 and "no writer" in r.output  # refused as the command line is read
    r = runner.invoke(cli, ["convert", str(p), str(tmp_path / "o.vo"), "--layer", "gold"])
    assert r.exit_code == 1 and "gold" in r.output
    assert not (tmp_path / "o.vo").exists() and not (tmp_path / "o.xyz").exists()
    # a truncated voxet property file: the error names the file and both sizes
    for f in (shared_data / "yilgarn_small_voxet").iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    (tmp_path / "small_density@@").write_bytes(b"\x00" * 100)
    r = runner.invoke(cli, ["info", str(tmp_path / "small.vo")])
    assert r.exit_code == 1 and "small_density@@" in r.output and "100 bytes" in r.output
