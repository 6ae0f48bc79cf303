"""Drillhole QA on read: each kind of problem in a small hand-made table is found, counted and reported.

Every table is written into tmp_path by the test itself (csv module), with one clean
hole beside the faulty ones so that a check flagging everything would fail.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from voxprospect.io.drillholes import QA_KINDS, read_drillholes
from tests_shared import write_csv


def _write(path, header, rows):
    return write_csv(path, header, rows)


@pytest.fixture()
def tables(tmp_path):
    """Write collar/survey/lithology tables; returns a function taking the rows."""
    def make(collar_rows, survey_rows=None, lith_rows=None, collar_header=("HOLE_ID", "X", "Y", "Z")):
        collar = _write(tmp_path / "collar.csv", collar_header, collar_rows)
        survey = None if survey_rows is None else _write(tmp_path / "survey.csv",
                                                         ("HOLE_ID", "DEPTH", "AZIMUTH", "DIP"), survey_rows)
        lith = {} if lith_rows is None else {"lithology": _write(tmp_path / "lith.csv",
                                                                 ("HOLE_ID", "FROM", "TO", "CODE"), lith_rows)}
        return collar, survey, lith
    return make


def _only(qa, kind, holes):
    """``kind`` is reported for exactly ``holes``, every other kind for none."""
    k = qa["kinds"][kind]
    assert k["holes"] == len(holes)
    assert k["examples"] == sorted(holes)
    for other, entry in qa["kinds"].items():
        if other != kind:
            assert entry["holes"] == 0, (other, entry)


CLEAN = [("OK", "0", "0", "100")]
CLEAN_SURVEY = [("OK", "0", "0", "-60"), ("OK", "50", "0", "-60")]
CLEAN_LITH = [("OK", "0", "50", "bas")]


def test_dip_sign_flip_found_counted_and_warned(tables, caplog):
    collar, survey, lith = tables(CLEAN + [("FLIP", "100", "0", "100")],
                                  CLEAN_SURVEY + [("FLIP", "0", "90", "-36"), ("FLIP", "20", "90", "-37"),
                                                  ("FLIP", "40", "90", "35"), ("FLIP", "60", "90", "31")],
                                  CLEAN_LITH + [("FLIP", "0", "60", "bas")])
    with caplog.at_level(logging.WARNING, logger="voxprospect.io.drillholes"):
        holes = read_drillholes(collar, survey, lith)
    qa = holes.qa
    # the hole flips at 40 m and ends above its lowest point: it turns upward too
    assert qa["kinds"]["dip_sign_flip"] == {"holes": 1, "items": 1, "examples": ["FLIP"],
                                            "meaning": QA_KINDS["dip_sign_flip"]}
    assert qa["kinds"]["turns_upward"]["examples"] == ["FLIP"]
    assert qa["holes_checked"] == 2
    lines = [r.getMessage() for r in caplog.records if "QA dip_sign_flip" in r.getMessage()]
    assert len(lines) == 1 and "1 hole (1 item)" in lines[0] and "FLIP" in lines[0]


def test_hole_turning_upward_is_flagged_but_a_hole_drilled_up_is_not(tables):
    collar, survey, lith = tables(CLEAN + [("TURN", "100", "0", "100"), ("UP", "200", "0", "100")],
                                  CLEAN_SURVEY + [("TURN", "0", "0", "-10"), ("TURN", "100", "0", "-1"),
                                                  ("TURN", "200", "0", "4"),
                                                  ("UP", "0", "0", "30"), ("UP", "50", "0", "35")],
                                  CLEAN_LITH)
    qa = read_drillholes(collar, survey, lith).qa
    # -10 -> +4 stays within the 5 degree flip tolerance: only the rise is reported
    _only(qa, "turns_upward", ["TURN"])


def test_dummy_station_beyond_the_log_is_flagged_and_lengthens_the_hole(tables):
    collar, survey, lith = tables(CLEAN + [("DUMMY", "100", "0", "100")],
                                  CLEAN_SURVEY + [("DUMMY", "0", "0", "-90"), ("DUMMY", "900", "0", "-90")],
                                  CLEAN_LITH + [("DUMMY", "0", "40", "bas")])
    holes = read_drillholes(collar, survey, lith)
    _only(holes.qa, "station_beyond_logged", ["DUMMY"])
    assert holes.qa["kinds"]["station_beyond_logged"]["items"] == 1
    assert holes.length("DUMMY") == pytest.approx(900.0)


def test_collar_length_read_flags_and_caps(tables):
    rows = CLEAN + [("LONG", "100", "0", "100", "0", "-90", "45")]
    collar, survey, lith = tables([r + ("", "", "") if len(r) == 4 else r for r in rows],
                                  CLEAN_SURVEY + [("LONG", "0", "0", "-90"), ("LONG", "900", "0", "-90")],
                                  CLEAN_LITH + [("LONG", "0", "40", "bas"), ("LONG", "40", "80", "gd")],
                                  collar_header=("HOLE_ID", "X", "Y", "Z", "AZ", "DIP", "LENGTH"))
    holes = read_drillholes(collar, survey, lith)
    k = holes.qa["kinds"]
    assert k["station_beyond_length"]["examples"] == ["LONG"]
    assert k["interval_beyond_length"] == {"holes": 1, "items": 1, "examples": ["LONG"],
                                           "meaning": QA_KINDS["interval_beyond_length"]}
    assert k["dip_sign_flip"]["holes"] == 0 and k["turns_upward"]["holes"] == 0
    assert holes.columns_used["collar"]["length"] == "LENGTH"
    assert holes.length("LONG") == pytest.approx(900.0)

    capped = read_drillholes(collar, survey, lith, cap_at_length=True)
    assert capped.qa["cap_at_length"] is True
    assert capped.length("LONG") == pytest.approx(45.0)
    assert capped.length("OK") == pytest.approx(50.0)  # no LENGTH: untouched
    t = capped.table("lithology")
    long_rows = t.hole_id == "LONG"
    np.testing.assert_allclose(t.depth_to[long_rows], [40.0, 45.0])


def test_duplicate_station_keeps_the_first_and_is_counted(tables):
    collar, survey, lith = tables(CLEAN + [("DUP", "100", "0", "100")],
                                  CLEAN_SURVEY + [("DUP", "0", "0", "-90"), ("DUP", "30", "90", "-60"),
                                                  ("DUP", "30", "270", "-60"), ("DUP", "30", "0", "-60")],
                                  CLEAN_LITH + [("DUP", "0", "30", "bas")])
    holes = read_drillholes(collar, survey, lith)
    _only(holes.qa, "duplicate_station", ["DUP"])
    assert holes.qa["kinds"]["duplicate_station"]["items"] == 2
    end = holes.xyz_at("DUP", [30.0])[0]
    assert end[0] > 100.0  # azimuth 90 (the first station at 30 m) sends the hole east


def test_hole_without_survey_follows_collar_az_and_dip(tables):
    # collar dips logged positive down (majority > 0): read as negative down
    collar, survey, lith = tables([("E", "0", "0", "100", "90", "45", "100"), ("V", "50", "0", "100", "0", "90", "")],
                                  None, [("E", "0", "100", "bas"), ("V", "0", "10", "bas")],
                                  collar_header=("HOLE_ID", "X", "Y", "Z", "AZ", "DIP", "LENGTH"))
    holes = read_drillholes(collar, survey, lith)
    end = holes.xyz_at("E", [100.0])[0]
    np.testing.assert_allclose(end, [100 / np.sqrt(2), 0.0, 100 - 100 / np.sqrt(2)], atol=1e-9)
    assert holes.columns_used["collar"] == {"hole_id": "HOLE_ID", "x": "X", "y": "Y", "z": "Z",
                                            "azimuth": "AZ", "dip": "DIP", "length": "LENGTH"}
    assert all(k["holes"] == 0 for k in holes.qa["kinds"].values())


def test_column_mapping_is_logged(tables, caplog):
    collar, survey, lith = tables(CLEAN, CLEAN_SURVEY, CLEAN_LITH)
    with caplog.at_level(logging.INFO, logger="voxprospect.io.drillholes"):
        read_drillholes(collar, survey, lith)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "survey.csv: columns hole_id='HOLE_ID', depth='DEPTH', azimuth='AZIMUTH', dip='DIP'" in text
    assert "lith.csv: columns hole_id='HOLE_ID', from='FROM', to='TO'" in text
