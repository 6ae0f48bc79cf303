"""The demo's timings table (issue 17): every timed step, largest first, with its share."""

from __future__ import annotations

from voxprospect.workflows.timings import timings_markdown, timings_rows


def _report(cache="hit"):
    return {"timings_s": {"evidence_and_samples": 4.0, "DL4.evaluate": 50.0, "DL4.fit": 10.0,
                          "DL4.predict": 20.0, "RF.write_vti": 1.0, "total": 90.0},
            "parameters": {"district_build": {"seconds": 10.0, "gempy_cache": cache}}}


def test_rows_are_largest_first_with_shares_of_the_whole_run():
    rows = timings_rows(_report())
    labels = [r[0] for r in rows]
    assert labels[0] == "DL4: under every protocol (all folds)"
    assert labels[-1] == "total" and rows[-1][1] == 100.0  # the study's total plus the district
    seconds = [r[1] for r in rows[:-1]]
    assert seconds == sorted(seconds, reverse=True)
    assert abs(rows[0][2] - 0.5) < 1e-12
    assert any("read from the cache" in lab for lab in labels)
    assert any("gempy computed" in r[0] for r in timings_rows(_report("computed")))
    assert "RF: write vti" in labels


def test_markdown_table_and_nothing_without_timings():
    lines = timings_markdown(_report())
    assert lines[0] == "## Where the time went"
    assert "| DL4: whole-grid prediction | 20.0 | 20% |" in lines
    assert timings_markdown({}) == []
