"""The built-in synthetic district: deposits where the rule puts them, reproducible by
seed, files the rest of the pipeline reads, and the synth / evidence commands."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from voxprospect.errors import OutputError, VoxprospectError
from voxprospect.synth.district import (DEPOSIT_SEPARATION_M, DISTRICT_FILES, GRANITE, GRANODIORITE, PRESETS,
                                        UNITS, make_district, write_district)

pytest.importorskip("gempy")


@pytest.fixture(scope="module")
def tiny():
    return make_district("tiny", seed=42)


@pytest.fixture(scope="module")
def tiny_dir(tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("district")
    write_district(tiny, out)
    return out


def test_known_deposits_are_the_labels_and_undiscovered_ones_only_in_the_truth(tiny):
    ore = tiny.orebodies["orebody"]
    dep = tiny.truth["deposit_id"]
    active = tiny.geology.active
    p = PRESETS["tiny"]
    known, hidden = tiny.known_ids, tiny.undiscovered_ids
    assert len(known) == p.n_known and len(hidden) == p.n_deposits - p.n_known
    assert not set(known) & set(hidden)
    for i in known + hidden:
        assert (dep == i).sum() > 0, i
    assert not (dep[~active] > 0).any()
    # the label layer is exactly the known deposits; no undiscovered voxel in it
    np.testing.assert_array_equal(ore, np.where(np.isin(dep, known), dep, 0))
    assert not (ore[np.isin(dep, hidden)] > 0).any()
    assert set(tiny.orebodies.classes["orebody"]) == {0, *known}
    assert tiny.description["orebody_voxels"] == int((ore > 0).sum())
    assert tiny.description["undiscovered_voxels"] == int(np.isin(dep, hidden).sum())
    assert sorted(tiny.description["undiscovered_deposits"]) == sorted(
        d["name"] for d in tiny.truth.meta["deposits"] if not d["known"])


def test_deposits_lie_the_stated_distance_apart_and_never_touch(tiny):
    from scipy import ndimage

    dep = tiny.truth["deposit_id"]
    ids = [int(i) for i in np.unique(dep) if i > 0]
    cs = tiny.grid.cell_size
    for i in ids:
        d = ndimage.distance_transform_edt(dep != i, sampling=cs)
        others = (dep > 0) & (dep != i)
        assert d[others].min() >= DEPOSIT_SEPARATION_M - 1e-6 * DEPOSIT_SEPARATION_M, i
    # each deposit is one 26-connected body, and no body holds two deposits
    labels, n = ndimage.label(dep > 0, structure=np.ones((3, 3, 3)))
    assert n == len(ids)
    for i in ids:
        assert np.unique(labels[dep == i]).size == 1


def test_deposits_are_drawn_from_the_high_end_of_the_potential(tiny):
    pot = tiny.truth["true_potential"]
    dep = tiny.truth["deposit_id"]
    act = tiny.geology.active
    assert np.nanmean(pot[dep > 0]) > np.nanpercentile(pot[act], 90)
    assert tiny.description["mineral_system"]["share_of_score_variance"]["hidden field"] > 0.1


def test_evidence_holds_no_trace_of_the_labels(tiny):
    """The geology and geophysics depend on the seed only: redrawing the hidden field
    and the deposits (another deposit seed) leaves every evidence volume unchanged."""
    other = make_district("tiny", seed=42, deposit_seed=99)
    assert not np.array_equal(other.truth["deposit_id"], tiny.truth["deposit_id"])
    assert not np.array_equal(other.truth["true_potential"], tiny.truth["true_potential"], equal_nan=True)
    for name in tiny.geophysics.names:
        np.testing.assert_array_equal(other.geophysics[name], tiny.geophysics[name], err_msg=name)
    for name in tiny.geology.names:
        np.testing.assert_array_equal(other.geology[name], tiny.geology[name], err_msg=name)


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
    assert not np.array_equal(other.truth["deposit_id"], tiny.truth["deposit_id"])
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
    back = read_volume(tiny_dir / "truth.vti")
    assert back.meta["deposits"] == tiny.truth.meta["deposits"]
    assert back.classes["deposit_id"] == tiny.truth.classes["deposit_id"]
    report = json.loads((tiny_dir / "report.json").read_text())
    assert report["command"] == "synth" and report["seed"] == 42
    assert all(v["voxels"] > 0 for v in report["district"]["deposits"].values())
    readme = (tiny_dir / "README.md").read_text()
    assert all(d["name"] in readme for d in tiny.truth.meta["deposits"])
    assert "undiscovered" in readme


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
    known = [n for n in counts if n != "barren"]
    assert len(known) == PRESETS["tiny"].n_known and all(counts[n] > 0 for n in known)
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

    summary = run_synth(tmp_path / "small", preset="small", seed=42)
    d = summary["district"]
    assert d["active_voxels"] >= 200_000
    assert d["orebody_voxels"] >= 500 and d["undiscovered_voxels"] >= 300
    assert all(info["voxels"] > 0 for info in d["deposits"].values())
    # its time is measured by the demo's own timings table (docs/performance.md), not asserted
