"""The built-in synthetic district: deposits where the rule puts them, reproducible by
seed, files the rest of the pipeline reads, and the synth / evidence commands."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from click.testing import CliRunner

from voxprospect.errors import OutputError, VoxprospectError
from voxprospect.synth.district import (DEPOSITS,
                                        DISTRICT_FILES,
                                        DYKES,
                                        GRANITE,
                                        GRANODIORITE,
                                        PRESETS,
                                        UNITS,
                                        make_district,
                                        write_district)

pytest.importorskip("gempy")


@pytest.fixture(scope="module")
def tiny():
    return make_district("tiny", seed=42)


@pytest.fixture(scope="module")
def tiny_dir(tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("district")
    write_district(tiny, out)
    return out


def test_all_three_deposits_have_voxels_inside_the_study_volume(tiny):
    ore = tiny.orebodies["orebody"]
    active = tiny.geology.active
    for dep_id in (1, 2, 3):
        assert (ore == dep_id).sum() > 0, DEPOSITS[dep_id]
    assert not (ore[~active] > 0).any()
    assert tiny.orebodies.classes["orebody"] == DEPOSITS
    assert tiny.description["orebody_voxels"] == int((ore > 0).sum())


def test_deposits_follow_the_mineral_system_rule(tiny):
    geo = tiny.geology
    ore = tiny.orebodies["orebody"]
    litho = geo["lithology"]
    # veins sit in the NE-NNE fault zones, outside the granodiorite
    veins = (ore == 1) | (ore == 2)
    assert geo["fault_ne"][veins].all()
    assert not (litho[veins] == GRANODIORITE).any()
    # the disseminated deposit is outside every intrusion
    dissem = ore == 3
    assert not np.isin(litho[dissem], (GRANITE, GRANODIORITE, DYKES)).any()
    # deposits were drawn from the high end of the hidden potential
    pot = tiny.truth["true_potential"]
    assert np.nanmean(pot[ore > 0]) > np.nanpercentile(pot[geo.active], 95)


def test_geology_has_every_unit_faults_and_air(tiny):
    geo = tiny.geology
    litho = geo["lithology"]
    present = set(np.unique(litho[geo.active]))
    assert present == set(UNITS) - {0}
    assert (litho[~geo.active] == 0).all()
    assert 0 < (~geo.active).sum() < geo.grid.n_cells // 3  # a gentle topography: some air, not most
    assert geo["fault_ne"].any() and geo["fault_nw"].any()
    assert geo.grid.crs == "EPSG:32651"
    assert geo.meta["gempy"]["fault_groups"] == ["F_NE1", "F_NE2", "F_NW1"]


def test_geophysics_follow_rock_properties_and_are_nan_in_air(tiny):
    gph = tiny.geophysics
    litho = tiny.geology["lithology"]
    act = gph.active
    for name in ("density", "susceptibility", "resistivity"):
        arr = gph[name]
        assert arr.dtype == np.float32
        assert np.isnan(arr[~act]).all() and np.isfinite(arr[act]).all()
    assert (gph["resistivity"][act] > 0).all() and (gph["susceptibility"][act] > 0).all()
    # granite is light, the granodiorite magnetic: their medians differ as the unit table says
    dens, sus = gph["density"], gph["susceptibility"]
    assert np.median(dens[litho == GRANITE]) < np.median(dens[litho == 3])
    assert np.median(sus[litho == GRANODIORITE]) > 3 * np.median(sus[litho == 3])
    # resistivity is lower in the fault zones than away from them
    fz = (tiny.geology["fault_ne"] > 0) | (tiny.geology["fault_nw"] > 0)
    assert np.median(gph["resistivity"][fz & act]) < np.median(gph["resistivity"][~fz & act])


def test_same_seed_gives_identical_files_other_seed_different(tiny, tiny_dir, tmp_path):
    again = make_district("tiny", seed=42)
    write_district(again, tmp_path / "again")
    for name in DISTRICT_FILES:
        assert (tiny_dir / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name
    other = make_district("tiny", seed=7)
    assert not np.array_equal(other.orebodies["orebody"], tiny.orebodies["orebody"])
    assert not np.array_equal(other.geophysics["density"], tiny.geophysics["density"], equal_nan=True)
    assert not np.array_equal(other.geology["lithology"], tiny.geology["lithology"])


def test_written_files_read_back_losslessly(tiny, tiny_dir):
    from voxprospect.io import read_volume

    for name, vol in (("geology.vti", tiny.geology), ("orebodies.vti", tiny.orebodies),
                      ("truth.vti", tiny.truth)):
        back = read_volume(tiny_dir / name)
        assert back.grid == vol.grid
        for layer in vol.names:
            np.testing.assert_array_equal(back[layer], vol[layer])
        assert back.classes == vol.classes
    report = json.loads((tiny_dir / "report.json").read_text())
    assert report["command"] == "synth" and report["seed"] == 42
    assert report["district"]["deposits"][DEPOSITS[3]]["voxels"] > 0
    readme = (tiny_dir / "README.md").read_text()
    assert all(name in readme for name in list(DEPOSITS.values())[1:])


def test_write_refuses_to_replace_a_district_unless_allowed(tiny, tiny_dir, tmp_path):
    with pytest.raises(OutputError, match="already holds a district"):
        write_district(tiny, tiny_dir, overwrite=False)
    # unrelated files beside a district survive an overwrite
    keep = tmp_path / "notes.txt"
    keep.write_text("mine")
    write_district(tiny, tmp_path)
    assert keep.read_text() == "mine"
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    with pytest.raises(OutputError, match="not a folder"):
        write_district(tiny, a_file)


def test_presets_and_unknown_preset():
    paper = PRESETS["paper"].grid()
    assert paper.cell_size == (50.0, 50.0, 50.0)
    assert paper.bounds[4] == -5000.0
    assert paper.crs == "EPSG:32651"
    small = PRESETS["small"].grid()
    assert small.n_cells >= 200_000
    with pytest.raises(VoxprospectError, match="unknown district preset"):
        make_district("huge")


def test_project_file_builds_the_papers_seven_channels(tiny_dir, tmp_path):
    from voxprospect.io import read_volume
    from voxprospect.workflows.project import load_project, run_evidence

    project = load_project(tiny_dir / "project.toml")
    assert [e.name for e in project.evidence] == ["granodiorite", "dykes", "faults_ne", "faults_nw",
                                                  "density", "susceptibility", "resistivity"]
    summary = run_evidence(tiny_dir / "project.toml", tmp_path / "ev" / "evidence.vti")
    ev = read_volume(tmp_path / "ev" / "evidence.vti")
    assert ev.names == summary["metrics"]["channels"] and len(ev.names) == 7
    # inside the granodiorite its distance is the smallest value of the channel
    geo = read_volume(tiny_dir / "geology.vti")
    gd = geo["lithology"] == GRANODIORITE
    assert np.nanmax(ev["granodiorite"][gd]) == pytest.approx(np.nanmin(ev["granodiorite"]))
    assert (tmp_path / "ev" / "report.json").exists()


# -- command line ---------------------------------------------------------------------

def test_cli_synth_writes_a_district_that_info_reads(tmp_path, monkeypatch):
    import voxprospect.synth.district as synth_mod
    from voxprospect_cli.main import cli

    # the command's small preset, shrunk to the test grid
    monkeypatch.setitem(synth_mod.PRESETS, "small", synth_mod.PRESETS["tiny"])
    runner = CliRunner()
    out = tmp_path / "out"
    res = runner.invoke(cli, ["synth", str(out), "--preset", "small", "--seed", "3"])
    assert res.exit_code == 0, res.output
    for name in (*DISTRICT_FILES, "report.json"):
        assert (out / name).is_file(), name
    info = runner.invoke(cli, ["info", str(out / "orebodies.vti"), "--json"])
    assert info.exit_code == 0, info.output
    d = json.loads(info.output)
    counts = d["layers"]["orebody"]["classes"]
    assert all(counts.get(DEPOSITS[i], 0) > 0 for i in (1, 2, 3))
    # a second run into the same folder is refused without --overwrite
    again = runner.invoke(cli, ["synth", str(out), "--seed", "3"])
    assert again.exit_code != 0 and "--overwrite" in again.output
    assert "Traceback" not in again.output


def test_cli_evidence_writes_seven_channels(tiny_dir, tmp_path):
    from voxprospect.io import read_volume
    from voxprospect_cli.main import cli

    out = tmp_path / "evidence.vti"
    res = CliRunner().invoke(cli, ["evidence", str(tiny_dir / "project.toml"), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert len(read_volume(out).names) == 7


def test_cli_evidence_bad_project_is_one_error_line(tmp_path):
    from voxprospect_cli.main import cli

    bad = tmp_path / "bad.toml"
    bad.write_text('[project]\nname = "x"\n[trainig]\nepochs = 3\n')
    res = CliRunner().invoke(cli, ["evidence", str(bad), "-o", str(tmp_path / "e.vti")])
    assert res.exit_code != 0
    assert "Traceback" not in res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:")
    assert "trainig" in lines[0] and "training" in lines[0] and "bad.toml" in lines[0]
    assert not (tmp_path / "e.vti").exists()


@pytest.mark.slow
def test_small_preset_meets_the_issue_sizes(tmp_path):
    from voxprospect.synth.district import run_synth

    t0 = time.perf_counter()
    summary = run_synth(tmp_path / "small", preset="small", seed=42)
    elapsed = time.perf_counter() - t0
    d = summary["district"]
    assert d["active_voxels"] >= 200_000
    assert d["orebody_voxels"] >= 500
    assert all(info["voxels"] > 0 for info in d["deposits"].values())
    assert elapsed < 240  # < 2 min on an idle 2-core machine; slack for a busy one
