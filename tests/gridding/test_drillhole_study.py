"""Drillhole studies: drilled-waste negatives, the data's reach, the drillhole volume as an
output and the drilling-bias diagnostics.

The holes are hand-made: vertical holes on a 4 x 4 pattern whose lithology and assays
the tests write with the csv module into tmp_path. Ore (Cu >= 0.5) is logged in the
"por" unit of the holes in the westernmost and easternmost rows; the rest is assayed below the cut-off, and
the two deepest intervals of every hole carry no assay at all.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from voxprospect import VoxelGrid
from voxprospect.gridding.drillholes import drillhole_volume
from voxprospect.io.drillholes import read_drillholes
from voxprospect.learn.samples import make_samples
from voxprospect.mapping.diagnostics import RHO_WARNING
from tests_shared import write_csv

CELL = 10.0
HOLES = [(f"H{i}{j}", 50.0 + 100.0 * i, 50.0 + 100.0 * j) for i in range(4) for j in range(4)]


def _write(path, header, rows):
    return write_csv(path, header, rows)


def _holes(tmp_path):
    collar = _write(tmp_path / "collar.csv", ("hole_id", "x", "y", "z"), [(h, x, y, 100.0) for h, x, y in HOLES])
    lith, assay = [], []
    for h, x, _ in HOLES:
        for top in range(0, 100, 10):
            code = "por" if 30 <= top < 70 else "vol"
            lith.append((h, top, top + 10, code))
            if top >= 80:
                continue  # not assayed: neither ore nor waste
            ore = code == "por" and (x < 100 or x > 300)
            assay.append((h, top, top + 10, 0.8 if ore else 0.05))
    return (collar, _write(tmp_path / "lith.csv", ("hole_id", "from", "to", "rock code"), lith),
            _write(tmp_path / "assay.csv", ("hole_id", "from", "to", "Cu"), assay))


def _grid():
    return VoxelGrid((0.0, 0.0, 0.0), (CELL, CELL, CELL), (40, 40, 10))


@pytest.fixture()
def volume(tmp_path):
    collar, lith, assay = _holes(tmp_path)
    holes = read_drillholes(collar, None, {"lithology": lith, "assay": assay})
    return drillhole_volume(holes, _grid(), search_radius_m=30.0, grade_column="Cu", cutoff=0.5, topography=None)


def test_drilled_waste_is_assayed_below_cutoff_and_unassayed_cells_are_not_waste(volume):
    ore = np.asarray(volume["orebody"]) > 0
    waste = np.asarray(volume["drilled_waste"]) > 0
    assert ore.any() and waste.any() and not (ore & waste).any()
    # on hole H30 (x = 350, y = 50): the unassayed bottom 20 m (z 0-20) is neither
    col_ore, col_waste = ore[35, 5], waste[35, 5]
    assert not col_ore[:2].any() and not col_waste[:2].any()
    # the assayed "vol" intervals above the ore are waste, the "por" ones ore
    assert col_waste[2:3].all() and col_ore[3:7].all() and col_waste[7:].all()
    # a cell no hole crosses is never waste
    assert not waste[0, 0].any()
    assert volume.meta["drillholes"]["drilled_waste"]["voxels"] == int(waste.sum())


def test_data_reach_limits_the_study_volume(tmp_path):
    collar, lith, assay = _holes(tmp_path)
    holes = read_drillholes(collar, None, {"lithology": lith, "assay": assay})
    wide = drillhole_volume(holes, _grid(), search_radius_m=30.0, topography=None)
    near = drillhole_volume(holes, _grid(), search_radius_m=30.0, topography=None, data_reach_m=10.0)
    d = np.asarray(wide["distance_to_logged_m"])
    assert np.array_equal(near.active, d <= 10.0) and near.active.sum() < wide.active.sum()
    assert near.meta["drillholes"]["active"]["data_reach_m"] == 10.0
    with pytest.raises(Exception, match="at most search_radius_m"):
        drillhole_volume(holes, _grid(), search_radius_m=30.0, topography=None, data_reach_m=40.0)


def test_drilled_negatives_come_only_from_drilled_waste(volume):
    ore = np.asarray(volume["orebody"])
    waste = np.asarray(volume["drilled_waste"]) > 0
    s = make_samples(ore, volume.active, volume.grid, seed=3, negative_mask=waste)
    neg = s.centres[s.labels == 0]
    assert s.negatives == "drilled" and s.to_dict()["negatives"] == "drilled"
    assert waste[tuple(neg.T)].all()
    assert s.n_negative == min(s.n_positive, int((waste & volume.active).sum()))
    distal = make_samples(ore, volume.active, volume.grid, seed=3, min_distance_m=30.0)
    assert distal.negatives == "distal" and not waste[tuple(distal.centres[distal.labels == 0].T)].all()


def test_prospectivity_that_follows_hole_distance_is_flagged(volume):
    from voxprospect.data.volume import Volume
    from voxprospect.workflows.drilling import drilling_bias

    d = np.asarray(volume["distance_to_nearest_hole_m"], dtype=float)
    rng = np.random.default_rng(0)
    follows = Volume(volume.grid, {"prospectivity": np.exp(-d / 20.0)}, volume.active)
    geology = Volume(volume.grid, {"prospectivity": rng.random(volume.grid.shape)}, volume.active)
    bias = drilling_bias(d, volume["orebody"], volume["drilled_waste"], {"near": follows, "geo": geology},
                         {}, "distal")
    assert bias["models"]["near"]["rho"] < -RHO_WARNING
    assert abs(bias["models"]["geo"]["rho"]) < RHO_WARNING
    assert len(bias["warnings"]) == 1 and bias["warnings"][0].startswith("near:")
    assert bias["models"]["near"]["ore_vs_drilled_waste_held_out"] is False


def _project(tmp_path, negatives=None):
    collar, lith, assay = _holes(tmp_path)
    neg = f'negatives = "{negatives}"\n' if negatives else ""
    text = f"""
[project]
name = "hand-made holes"
seed = 1
output_dir = "out"

[grid]
origin = [0.0, 0.0, 0.0]
cell_size = [10.0, 10.0, 10.0]
shape = [40, 40, 10]
crs = "EPSG:32612"

[inputs.holes]
type = "drillholes"
collar = "{collar.name}"
lithology = "{lith.name}"
assay = "{assay.name}"
search_radius_m = 30.0
topography = "none"
grade_column = "Cu"
cutoff = 0.5

[[evidence]]
name = "porphyry"
source = "holes"
layer = "lithology"
classes = ["por"]
transform = "fuzzy"
max_distance_m = 100.0

[orebodies]
source = "holes"
layer = "orebody"

[samples]
window = 3
min_distance_m = 30.0
{neg}
[training]
models = ["RF"]
protocols = ["random", "spatial"]
buffer_m = 20.0

[targets]
min_voxels = 2
"""
    p = tmp_path / "project.toml"
    p.write_text(text)
    return p


def test_run_records_drilled_negatives_qa_bias_and_writes_the_drillhole_volume(tmp_path):
    from voxprospect.io import read_volume
    from voxprospect.workflows.pipeline import run_project

    rep = run_project(_project(tmp_path), tmp_path / "run")
    on_disk = json.loads((tmp_path / "run" / "report.json").read_text())
    assert on_disk["samples"]["negatives"] == "drilled"
    assert on_disk["drillhole_qa"]["holes"]["holes_checked"] == len(HOLES)
    bias = on_disk["drilling_bias"]
    assert bias["negatives"] == "drilled"
    rf = bias["models"]["RF"]
    assert rf["ore_vs_drilled_waste_held_out"] is True
    assert rf["ore_vs_drilled_waste_auc"]["spatial"] == on_disk["models"]["RF"]["metrics"]["spatial"]["auc"]
    assert rf["rho"] is not None and "target_hole_distance_m" in rf
    roles = {r["role"]: r["path"] for r in on_disk["outputs"]}
    vol = read_volume(roles["drillholes"])
    assert {"lithology", "orebody", "drilled_waste", "distance_to_nearest_hole_m"} <= set(vol.names)
    assert rep["drilling_bias"]["models"]["RF"]["rho"] == rf["rho"]


def test_distal_negatives_stay_an_option_and_evidence_writes_the_volume(tmp_path):
    from voxprospect.workflows.pipeline import run_evidence
    from voxprospect.workflows.training import prepare_training
    from voxprospect.workflows.project import load_project

    project = load_project(_project(tmp_path, "distal"))
    data = prepare_training(project)
    assert data.samples.negatives == "distal"
    d = np.asarray(data.drill["hole_distance"])
    assert d.shape == project.grid.shape
    rep = run_evidence(project.path, tmp_path / "ev" / "evidence.vti", cap_at_length=True)
    roles = {r["role"] for r in rep["outputs"]}
    assert "drillholes" in roles and (tmp_path / "ev" / "drillholes_holes.vti").is_file()
    qa = rep["drillhole_qa"]["holes"]
    assert qa["kinds"]["dip_sign_flip"]["holes"] == 0 and qa["cap_at_length"] is True


def test_cli_cap_at_length_reaches_the_report(tmp_path):
    from click.testing import CliRunner

    from voxprospect_cli.main import cli

    project = _project(tmp_path)
    res = CliRunner().invoke(cli, ["evidence", str(project), "-o", str(tmp_path / "e" / "evidence.vti"),
                                   "--cap-at-length"])
    assert res.exit_code == 0, res.output
    rep = json.loads((tmp_path / "e" / "report.json").read_text())
    assert rep["drillhole_qa"]["holes"]["cap_at_length"] is True


def test_spatial_folds_keep_the_metric_gap_with_drilled_negatives(volume):
    """Drilled negatives sit next to the ore; the buffer still separates every training
    window from every test window, negatives included (checked in float64 metres)."""
    from scipy.spatial.distance import cdist

    from voxprospect.learn.protocols import make_plans

    waste = np.asarray(volume["drilled_waste"]) > 0
    s = make_samples(np.asarray(volume["orebody"]), volume.active, volume.grid, seed=3, negative_mask=waste)
    buffer_m = 120.0  # beyond the 100 m hole spacing: neighbouring holes fall inside it
    plans = make_plans(s, ["spatial"], seed=1, buffer_m=buffer_m)
    assert not isinstance(plans["spatial"], str), plans["spatial"]
    pts = s.centres.astype(np.float64) * np.asarray(volume.grid.cell_size)
    for fold in plans["spatial"]:
        assert len(fold.test) and len(fold.train)
        assert (s.labels[fold.test] == 0).any() and (s.labels[fold.train] == 0).any()
        gap = cdist(pts[fold.train], pts[fold.test]).min()
        assert gap >= buffer_m
        assert len(fold.dropped) > 0  # windows on the neighbouring holes were dropped, not kept


def test_summary_prints_the_drilling_bias():
    from voxprospect.workflows.summary import build_summary
    from voxprospect_cli.summary import render_summary

    bias = {"negatives": "drilled", "warnings": ["RF: prospectivity follows the distance to the nearest hole"],
            "models": {"RF": {"rho": -0.41, "ore_vs_drilled_waste_auc": {"spatial": 0.61},
                              "ore_vs_drilled_waste_held_out": True,
                              "target_hole_distance_m": {"1": {"min_m": 12.0, "mean_m": 40.0},
                                                         "2": {"min_m": 90.0, "mean_m": 95.0}}}}}
    qa = {"holes": {"kinds": {"dip_sign_flip": {"holes": 3}, "turns_upward": {"holes": 0}}}}
    s = build_summary({"command": "run", "drilling_bias": bias, "drillhole_qa": qa})
    assert s["drilling_bias"]["models"]["RF"]["farthest_target_m"] == 90.0
    assert s["drillhole_qa"] == {"holes": {"dip_sign_flip": 3}}
    text = render_summary(s)
    assert "RF: rho(prospectivity, hole distance) -0.41; ore vs drilled waste AUC spatial 0.610 (held out)" in text
    assert "warning: RF: prospectivity follows" in text and "dip_sign_flip 3 holes" in text


def test_drilled_negatives_need_a_drillhole_study(tiny_project):
    """A volume study asked for drilled negatives is refused by name; "auto" keeps it distal."""
    from voxprospect.errors import ProjectFileError
    from voxprospect.workflows.project import load_project
    from voxprospect.workflows.training import prepare_training

    text = tiny_project.read_text()
    tiny_project.write_text(text.replace("min_distance_m = 500", 'min_distance_m = 500\nnegatives = "drilled"'))
    with pytest.raises(ProjectFileError, match="samples.negatives: 'drilled' needs orebodies from a drillholes"):
        prepare_training(load_project(tiny_project))
    tiny_project.write_text(text.replace("min_distance_m = 500", 'min_distance_m = 500\nnegatives = "drill"'))
    with pytest.raises(ProjectFileError, match="samples.negatives: 'drill' is not one of: auto, drilled, distal"):
        load_project(tiny_project)
    tiny_project.write_text(text)
    data = prepare_training(load_project(tiny_project))
    assert data.samples.negatives == "distal" and data.drill == {}


def test_distal_study_scores_ore_against_drilled_waste_on_held_out_cells(tmp_path):
    """With distal negatives the folds hold no drilled waste; the audit cells beyond each
    fold's buffer from its training windows give the held-out ore-vs-waste AUC."""
    from voxprospect.learn.audit import make_audit_set
    from voxprospect.workflows.common import settings_dict
    from voxprospect.workflows.drilling import drilling_bias
    from voxprospect.workflows.project import load_project
    from voxprospect.workflows.training import fit_and_evaluate, prepare_training, study_plans

    project = load_project(_project(tmp_path, "distal"))
    data = prepare_training(project)
    audit = make_audit_set(data.evidence.stack(data.channels), data.orebody > 0, data.drill["waste"],
                           data.evidence.active, 3, "edge", list(data.fill_values.values()),
                           data.evidence.grid.cell_size)
    train = data.samples.centres[:10]
    keep = audit.held_out(train, 35.0)
    d = np.sqrt((((audit.centres[:, None, :] - train[None, :, :]) * CELL) ** 2).sum(-1)).min(axis=1)
    assert np.array_equal(keep, d >= 35.0) and keep.any() and not keep.all()

    training = settings_dict(project.training)
    res = fit_and_evaluate("RF", data, training, project.seed, tmp_path, plans=study_plans(data, training, 1))
    spatial = res["metrics"]["spatial"]
    audited = spatial["ore_vs_drilled_waste"]
    assert audited["n_ore"] > 0 and audited["n_waste"] > 0 and audited["auc"] is not None
    bias = drilling_bias(data.drill["hole_distance"], data.orebody, data.drill["waste"], {},
                         {"RF": res["metrics"]}, data.samples.negatives)
    rf = bias["models"]["RF"]
    assert rf["ore_vs_drilled_waste_held_out"] is True
    assert rf["ore_vs_drilled_waste_auc"]["spatial"] == audited["auc"]
    assert "random" not in rf["ore_vs_drilled_waste_auc"]  # the leaky split is never audited
