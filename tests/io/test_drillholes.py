"""Drillholes: reading, minimum-curvature desurvey, voxel labels and lithology fill.

The real tables are the Copper Creek porphyry Cu-Mo drillholes in
../shared/data/copper_creek; synthetic holes are written into tmp_path by the tests
themselves.
"""

from __future__ import annotations

import csv
import math
import warnings
from collections import defaultdict

import numpy as np
import pytest

from voxprospect import InputFileError, VoxelGrid
from voxprospect.gridding.drillholes import at_or_above, interpolate_lithology, label_intervals, lithology_samples
from voxprospect.io.drillholes import minimum_curvature, ratio_factor, read_drillholes
from tests_shared import write_csv

CU_CUTOFF_PCT = 0.3  # the case study's cut-off (docs/case-studies/copper-creek.md)


def _rows(path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def cc_dir(shared_data):
    return shared_data / "copper_creek"


@pytest.fixture(scope="module")
def cc(cc_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the real tables have a few overlapping intervals
        return read_drillholes(cc_dir / "collar.csv", cc_dir / "survey.csv",
                               {"lithology": cc_dir / "lithology.csv", "assay": cc_dir / "assay.csv"},
                               crs="EPSG:26912", overlaps="keep")


def _write(path, header, rows):
    return write_csv(path, header, rows)


# -- real files: desurvey ------------------------------------------------------------------

def test_real_hole_lengths_match_surveys_and_intervals(cc, cc_dir):
    deepest = defaultdict(float)
    for r in _rows(cc_dir / "survey.csv"):
        deepest[r["hole_ID"]] = max(deepest[r["hole_ID"]], float(r["depth"]))
    for name, to in (("lithology.csv", "to_depth"), ("assay.csv", "depth_to")):
        for r in _rows(cc_dir / name):
            deepest[r["hole_ID"]] = max(deepest[r["hole_ID"]], float(r[to]))
    collar_ids = {r["hole_ID"] for r in _rows(cc_dir / "collar.csv")}
    assert set(cc.hole_ids) == collar_ids
    worst = 0.0
    for h in cc.hole_ids:
        length = cc.length(h)
        assert length == pytest.approx(deepest[h], abs=1e-9)
        # the desurveyed path, walked in 1 m steps, is as long as the hole
        pts = cc.xyz_at(h, np.linspace(0.0, length, max(2, int(length)) + 1))
        walked = np.linalg.norm(np.diff(pts, axis=0), axis=1).sum()
        worst = max(worst, abs(walked - length) / max(length, 1.0))
        assert np.allclose(pts[0], cc.collars[h])
    assert worst < 1e-4


def test_real_vertical_hole_stays_vertical(cc, cc_dir):
    stations = defaultdict(list)
    for r in _rows(cc_dir / "survey.csv"):
        stations[r["hole_ID"]].append(float(r["dip"]))
    vertical = [h for h, dips in stations.items() if all(d == -90.0 for d in dips) and cc.length(h) > 100]
    assert vertical, "Copper Creek has vertical holes"
    for h in vertical[:20]:
        d = np.linspace(0, cc.length(h), 17)
        p = cc.xyz_at(h, d)
        c = cc.collars[h]
        assert np.allclose(p[:, :2], c[:2], atol=1e-9)
        assert np.allclose(p[:, 2], c[2] - d, atol=1e-9)


def test_real_curved_hole_deviates_smoothly(cc, cc_dir):
    # a hole with many stations: the end point differs from a straight hole drilled
    # along the first station, and consecutive points are never farther apart than the depth step
    counts = defaultdict(int)
    for r in _rows(cc_dir / "survey.csv"):
        counts[r["hole_ID"]] += 1
    h = max(counts, key=counts.get)
    L = cc.length(h)
    p = cc.xyz_at(h, np.linspace(0, L, 401))
    steps = np.linalg.norm(np.diff(p, axis=0), axis=1)
    assert np.all(steps <= L / 400 * (1 + 1e-9))
    assert np.linalg.norm(p[-1] - p[0]) < L  # it bends


# -- desurvey maths ------------------------------------------------------------------

def test_constant_dip_azimuth_gives_the_analytic_end_point(tmp_path):
    collar = _write(tmp_path / "c.csv", ["HOLEID", "EAST", "NORTH", "RL"], [["S1", 1000, 2000, 500]])
    survey = _write(tmp_path / "s.csv", ["HOLEID", "AT", "AZI", "DIP"],
                    [["S1", 0, 30, -60], ["S1", 100, 30, -60], ["S1", 250, 30, -60]])
    holes = read_drillholes(collar, survey, columns={"hole_id": "HOLEID", "x": "EAST", "y": "NORTH", "z": "RL",
                                                     "depth": "AT", "azimuth": "AZI", "dip": "DIP"})
    end = holes.xyz_at("S1", 250.0)
    horiz = 250 * math.cos(math.radians(60))
    expected = [1000 + horiz * math.sin(math.radians(30)), 2000 + horiz * math.cos(math.radians(30)),
                500 - 250 * math.sin(math.radians(60))]
    assert np.allclose(end, expected, atol=1e-9)


def test_two_station_arc_matches_the_textbook_build_section():
    # a hole building from vertical to 30 degrees from vertical over 100 m, due east,
    # is a circular arc of radius R = 100 / beta: horizontal R (1 - cos beta), vertical R sin beta
    beta = math.radians(30)
    pos, t = minimum_curvature([0, 100], [90, 90], [-90, -60], (0, 0, 0))
    R = 100 / beta
    assert np.allclose(pos[1], [R * (1 - math.cos(beta)), 0, -R * math.sin(beta)], atol=1e-9)
    # ratio factor of the textbook formula
    assert ratio_factor(beta) == pytest.approx(2 / beta * math.tan(beta / 2))
    assert ratio_factor(0.0) == 1.0


def test_points_inside_a_segment_lie_on_the_arc(tmp_path):
    collar = _write(tmp_path / "c.csv", ["hole_id", "x", "y", "z"], [["B", 0, 0, 0]])
    survey = _write(tmp_path / "s.csv", ["hole_id", "depth", "azimuth", "dip"],
                    [["B", 0, 90, -90], ["B", 100, 90, -60]])
    holes = read_drillholes(collar, survey)
    beta = math.radians(30)
    R = 100 / beta
    for s in (25.0, 50.0, 75.0):
        a = s / R
        assert np.allclose(holes.xyz_at("B", s), [R * (1 - math.cos(a)), 0, -R * math.sin(a)], atol=1e-9)
    with pytest.raises(Exception, match="100 m long"):
        holes.xyz_at("B", 150.0)


def test_positive_down_dips_are_refused_then_read_with_the_convention(tmp_path):
    collar = _write(tmp_path / "c.csv", ["hole_id", "x", "y", "z"], [["P", 0, 0, 0]])
    survey = _write(tmp_path / "s.csv", ["hole_id", "depth", "azimuth", "dip"],
                    [["P", 0, 0, 70], ["P", 50, 0, 70]])
    with pytest.raises(InputFileError, match="s.csv.*positive_down"):
        read_drillholes(collar, survey)
    holes = read_drillholes(collar, survey, dip_convention="positive_down")
    assert holes.xyz_at("P", 50.0)[2] == pytest.approx(-50 * math.sin(math.radians(70)))


# -- voxel labels ------------------------------------------------------------------

@pytest.fixture(scope="module")
def core_grid():
    # a 1.2 x 1.2 km block over the densely drilled centre, 50 m cells, 600 to 1400 m elevation
    return VoxelGrid((548_000.0, 3_623_000.0, 600.0), (50.0, 50.0, 50.0), (24, 24, 16), "EPSG:26912")


def test_real_assay_cutoff_labels_voxels_on_holes(cc, core_grid):
    ore = label_intervals(cc, core_grid, "assay", at_or_above("Cu_pct", CU_CUTOFF_PCT))
    assert ore.sum() > 50
    # every labelled voxel is crossed by a hole: the nearest trace point is within
    # half the cell diagonal of its centre
    from scipy.spatial import cKDTree
    pts = np.vstack([cc.trace_points(h, 10.0) for h in cc.hole_ids])
    centres = core_grid.index_to_world(np.argwhere(ore))
    d, _ = cKDTree(pts).query(centres)
    half_diag = 0.5 * math.sqrt(3) * 50.0
    assert d.max() <= half_diag + 5.0  # + half the 10 m sampling step of this check
    # a higher cut-off labels a subset
    rich = label_intervals(cc, core_grid, "assay", ("Cu_pct", 1.0))
    assert rich.sum() < ore.sum() and not (rich & ~ore).any()


def test_real_lithology_fill_and_distance_layer(cc, core_grid):
    vol = interpolate_lithology(cc, core_grid, search_radius_m=150.0, ignore=("NR", "NC", "Void"))
    lith = vol["lithology"]
    dist = vol["distance_to_nearest_hole_m"]
    logged = vol["distance_to_logged_m"]
    sampled, table = lithology_samples(cc, core_grid, ignore=("NR", "NC", "Void"))
    assert table == vol.classes["lithology"]
    assert {"fg", "Fels", "Maf", "bx"} <= set(table.values())
    on_hole = sampled >= 0
    half_diag = 0.5 * math.sqrt(3) * 50.0
    assert on_hole.sum() > 100
    assert dist[on_hole].max() <= half_diag and logged[on_hole].max() <= half_diag
    # the fill reaches the search radius and no farther
    assert np.all(lith[logged > 150.0 + 1e-3] == -1)
    assert np.all(lith[logged <= 150.0 - 1e-3] >= 0)
    # at drilled voxels the fill mostly agrees with the log (nearest sample is inside the voxel)
    assert np.mean(lith[on_hole] == sampled[on_hole]) > 0.8
    # the distance grows away from the holes
    assert dist.max() > 3 * half_diag
    assert np.all(dist[~on_hole] >= 0)


def test_synthetic_fill_nearest_within_radius_and_true_distances(tmp_path):
    collar = _write(tmp_path / "c.csv", ["hole_id", "x", "y", "z"], [["W", 25, 25, 100], ["E", 375, 25, 100]])
    survey = _write(tmp_path / "s.csv", ["hole_id", "depth", "azimuth", "dip"], [["W", 0, 0, -90], ["E", 0, 0, -90]])
    lith = _write(tmp_path / "l.csv", ["hole_id", "from", "to", "code"],
                  [["W", 0, 100, "granite"], ["E", 0, 100, "dyke"]])
    holes = read_drillholes(collar, survey, {"lithology": lith})
    grid = VoxelGrid((0, 0, 0), (50, 50, 50), (8, 1, 2))
    vol = interpolate_lithology(holes, grid, 120.0, column="code")
    names = vol.classes["lithology"]
    got = [names.get(int(c), "-") for c in vol["lithology"][:, 0, 0]]
    # cells centred at 25..375 m; holes at 25 and 375; radius 120 m
    assert got == ["granite", "granite", "granite", "-", "-", "dyke", "dyke", "dyke"]
    expected = np.minimum(np.abs(grid.axis_centres(0) - 25), np.abs(grid.axis_centres(0) - 375))
    assert np.allclose(vol["distance_to_nearest_hole_m"][:, 0, 0], expected, atol=1e-4)
    # a flatter search (vertical range half the horizontal) still reaches sideways the same
    flat = interpolate_lithology(holes, grid, 120.0, column="code", anisotropy=(1, 1, 0.5))
    assert np.array_equal(flat["lithology"], vol["lithology"])


# -- bad inputs ------------------------------------------------------------------

def test_missing_column_names_file_and_column(tmp_path, cc_dir):
    collar = _write(tmp_path / "collar.csv", ["hole_ID", "x", "y"], [["A", 1, 2]])
    with pytest.raises(InputFileError, match=r"collar\.csv.*'z'"):
        read_drillholes(collar)
    with pytest.raises(InputFileError, match=r"collar\.csv.*'ELEV'"):
        read_drillholes(cc_dir / "collar.csv", columns={"z": "ELEV"})


def test_unknown_hole_in_intervals_names_file_row_and_hole(tmp_path, cc_dir):
    lith = _write(tmp_path / "lith.csv", ["hole_ID", "depth_from", "to_depth", "rock code"],
                  [["A-11", 0, 10, "mgp"], ["NOPE-1", 0, 10, "gd"]])
    with pytest.raises(InputFileError, match=r"lith\.csv: row 3: hole 'NOPE-1' has no collar"):
        read_drillholes(cc_dir / "collar.csv", cc_dir / "survey.csv", {"lithology": lith})


def test_truncated_real_csv_names_file_and_row(tmp_path, cc_dir):
    text = (cc_dir / "assay.csv").read_text(encoding="utf-8-sig")
    cut = text[: len(text) // 3]
    cut = cut[: cut.rfind(",") + 1]  # stop in the middle of a row
    bad = tmp_path / "assay_cut.csv"
    bad.write_text(cut)
    n_lines = cut.count("\n") + 1
    with pytest.raises(InputFileError, match=rf"assay_cut\.csv: row {n_lines} has \d fields"):
        read_drillholes(cc_dir / "collar.csv", cc_dir / "survey.csv", {"assay": bad})


def test_from_not_above_to_and_overlaps_are_refused(tmp_path, cc_dir):
    bad = _write(tmp_path / "a.csv", ["hole_ID", "depth_from", "depth_to", "Cu_pct"],
                 [["A-11", 0, 3, 0.1], ["A-11", 6, 6, 0.2]])
    with pytest.raises(InputFileError, match=r"a\.csv: row 3: .*not above"):
        read_drillholes(cc_dir / "collar.csv", None, {"assay": bad})
    # the real lithology log has a few overlapping intervals: refused by default, naming rows
    with pytest.raises(InputFileError, match=r"lithology\.csv: rows \d+ and \d+: hole .* overlap"):
        read_drillholes(cc_dir / "collar.csv", cc_dir / "survey.csv", {"lithology": cc_dir / "lithology.csv"})


def test_predicate_on_text_column_is_refused(cc, core_grid):
    with pytest.raises(InputFileError, match="lithology.csv.*not numeric"):
        label_intervals(cc, core_grid, "lithology", at_or_above("rock code", 1))


def test_drillhole_volume_for_a_project(cc, core_grid):
    from voxprospect.gridding.drillholes import drillhole_volume
    vol = drillhole_volume(cc, core_grid, search_radius_m=150.0, ignore=("NR", "NC", "Void"),
                           extra_columns={"rock_class": "rock class"}, grade_column="Cu_pct",
                           cutoff=CU_CUTOFF_PCT)
    # the rock class follows the same nearest interval as the rock code
    code = vol.classes["lithology"]
    rclass = vol.classes["rock_class"]
    fg = vol["lithology"] == vol.class_ids("lithology", ["fg"])[0]
    assert fg.any() and np.all(vol["rock_class"][fg] == vol.class_ids("rock_class", ["Fault"])[0])
    assert set(code) and "Felsic Dyke" in rclass.values()
    # study volume: below the collars and within the radius of a log
    act = vol.active
    assert act.any() and not act.all()
    assert np.all(vol["distance_to_logged_m"][act] <= 150.0)
    assert np.all(vol["lithology"][act] >= 0)
    ore = vol["orebody"].astype(bool)
    assert np.array_equal(ore, label_intervals(cc, core_grid, "assay", ("Cu_pct", CU_CUTOFF_PCT)))
    assert vol.meta["drillholes"]["orebody"]["voxels_in_study_volume"] == int((ore & act).sum()) > 0
    # the top level (1350-1400 m) is mostly above the collars
    assert act[:, :, -1].mean() < act[:, :, 10].mean()


# -- project files ------------------------------------------------------------------

def _project(tmp_path, cc_dir, extra=""):
    text = f"""
[project]
name = "dh"
[grid]
origin = [548000.0, 3623000.0, 600.0]
cell_size = [50.0, 50.0, 50.0]
shape = [24, 24, 16]
crs = "EPSG:26912"
[inputs.holes]
type = "drillholes"
collar = "{cc_dir / 'collar.csv'}"
survey = "{cc_dir / 'survey.csv'}"
lithology = "{cc_dir / 'lithology.csv'}"
assay = "{cc_dir / 'assay.csv'}"
overlaps = "keep"
ignore_codes = ["NR", "NC", "Void"]
search_radius_m = 150.0
grade_column = "Cu_pct"
cutoff = {CU_CUTOFF_PCT}
{extra}
[[evidence]]
name = "fault_gouge"
source = "holes"
layer = "lithology"
classes = ["fg"]
max_distance_m = 500.0
[orebodies]
source = "holes"
layer = "orebody"
"""
    p = tmp_path / "project.toml"
    p.write_text(text)
    return p


def test_project_drillholes_input_builds_on_the_project_grid(tmp_path, cc_dir, cc, core_grid):
    from voxprospect.workflows.project import load_project
    project = load_project(_project(tmp_path, cc_dir))
    assert project.inputs["holes"].type == "drillholes"
    # every table is an input of the run (hashed in reports, never overwritten)
    assert {p.name for p in project.input_paths()} == {"collar.csv", "survey.csv", "lithology.csv", "assay.csv"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vol = project.load_inputs()["holes"]
    assert vol.grid == core_grid
    assert np.array_equal(vol["orebody"].astype(bool),
                          label_intervals(cc, core_grid, "assay", ("Cu_pct", CU_CUTOFF_PCT)))


def test_project_drillholes_input_errors_name_the_key(tmp_path, cc_dir):
    from voxprospect.errors import ProjectFileError
    from voxprospect.workflows.project import load_project
    with pytest.raises(ProjectFileError, match=r"project\.toml: inputs\.holes\.serch_radius_m: unknown key.*"
                                               r"search_radius_m"):
        load_project(_project(tmp_path, cc_dir, "serch_radius_m = 100.0"))
    bad = _project(tmp_path, cc_dir).read_text().replace(str(cc_dir / "assay.csv"), "nowhere/assay.csv")
    (tmp_path / "project.toml").write_text(bad)
    with pytest.raises(ProjectFileError, match=r"inputs\.holes\.assay: file not found"):
        load_project(tmp_path / "project.toml")


def test_kept_overlaps_are_warned_once_per_file(tmp_path, caplog):
    """Issue 12: a project reads its holes twice (evidence, orebodies); the overlap warning comes once."""
    import logging
    collar = _write(tmp_path / "c.csv", ["hole_id", "x", "y", "z"], [["H1", 0, 0, 0]])
    lith = _write(tmp_path / "l.csv", ["hole_id", "from", "to", "rock code"],
                  [["H1", 0, 10, "a"], ["H1", 5, 20, "b"], ["H1", 20, 30, "a"]])
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            holes = read_drillholes(collar, None, {"lithology": lith}, overlaps="keep")
    warned = [r for r in caplog.records if "overlapping interval pairs kept" in r.getMessage()]
    assert len(warned) == 1 and "1 overlapping" in warned[0].getMessage()
    assert holes.tables["lithology"].n_overlaps == 1
