import hashlib
import json

import pytest

from voxprospect import InputFileError
from voxprospect.report import RunReport
from voxprospect.io.safe_write import safe_output


def test_report_records_inputs_and_timings(tmp_path):
    f = tmp_path / "in.txt"
    f.write_text("hello")
    r = RunReport("test", {"a": 1}, seed=7)
    r.add_input(f)
    with r.timer("step"):
        pass
    out = r.write(tmp_path / "out")
    d = json.loads(out.read_text())
    assert d["seed"] == 7 and d["parameters"] == {"a": 1}
    assert d["inputs"][0]["sha256"] == hashlib.sha256(b"hello").hexdigest()
    assert d["inputs"][0]["size"] == 5
    assert "step" in d["timings_s"] and "total" in d["timings_s"]
    assert d["versions"]["voxprospect"]


def test_missing_input_named(tmp_path):
    with pytest.raises(InputFileError, match="nope.txt"):
        RunReport("x").add_input(tmp_path / "nope.txt")


def test_atomic_path_keeps_old_file_on_error(tmp_path):
    p = tmp_path / "out.txt"
    p.write_text("old")
    with pytest.raises(RuntimeError):
        with safe_output(p) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert p.read_text() == "old"
    assert [q.name for q in tmp_path.iterdir()] == ["out.txt"]
