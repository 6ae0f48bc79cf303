"""The one write path: a failed write is a failure, and odd paths round-trip.

Writes are made to fail for real: the CLI runs in a subprocess under
``RLIMIT_FSIZE`` (what ``ulimit -f`` sets; Python ignores SIGXFSZ, so the write
fails with EFBIG as it would on a full quota).
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from voxprospect.errors import InputFileError, OutputError, VoxprospectError
from voxprospect.data.grid import VoxelGrid
from voxprospect.io import read_volume, write_volume
from voxprospect.limits import MemoryLimitError, check_memory, format_bytes
from voxprospect.io.safe_write import (check_folder_writable, check_outputs_not_inputs, output_files,
                                       safe_output, write_text)
from voxprospect.data.volume import Volume

LIMIT = 400 * 1024  # bytes, as `ulimit -f 400`


def _volume(shape=(60, 60, 40)):
    g = VoxelGrid((500000.0, 7000000.0, -400.0), (10.0, 10.0, 10.0), shape, "EPSG:32750")
    rng = np.random.default_rng(3)
    lith = rng.integers(1, 4, shape).astype(np.int16)
    return Volume(g, {"grade": rng.random(shape), "lithology": lith},
                  classes={"lithology": {1: "granite", 2: "basalt", 3: "shale"}})


@pytest.fixture(scope="module")
def big_vti(tmp_path_factory):
    """About 1.4 MB of incompressible values: larger than the limit in every format."""
    p = tmp_path_factory.mktemp("big") / "big.vti"
    write_volume(_volume(), p)
    return p


def _limited():
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def _cli(*args, cwd):
    code = "import sys; from voxprospect_cli.main import cli; sys.exit(cli.main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=cwd, preexec_fn=_limited,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("out, extra", [("o.vti", []), ("o.vo", []), ("o.msh", []),
                                        ("o.tif", ["--layer", "grade"]), ("o.csv", [])])
def test_write_past_the_file_size_limit_fails_and_leaves_nothing(big_vti, tmp_path, out, extra):
    r = _cli("convert", big_vti, tmp_path / out, *extra, cwd=tmp_path)
    text = r.stdout + r.stderr
    assert r.returncode != 0, text
    errors = [ln for ln in text.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1 and out in errors[0], text
    assert "Traceback" not in text
    # no output, no side file, no temporary, no report listing it
    assert sorted(p.name for p in tmp_path.iterdir()) == [], sorted(p.name for p in tmp_path.iterdir())


def test_report_json_past_the_limit_fails(tmp_path):
    code = ("import sys; from voxprospect.report import RunReport; r = RunReport('x', {'blob': 'x' * 500000});"
            f" r.write({str(tmp_path)!r})")
    r = subprocess.run([sys.executable, "-c", code], preexec_fn=_limited, capture_output=True, text=True)
    assert r.returncode != 0 and "OutputError" in r.stderr and "report.json" in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_checkpoint_write_past_the_limit_fails(tmp_path):
    """safetensors writes through the same path; its header is checked against the size."""
    code = f"""
import numpy as np
from safetensors.numpy import save_file
from voxprospect.io.safe_write import safe_output, verify_safetensors
with safe_output({str(tmp_path / 'm.safetensors')!r}, verify=verify_safetensors) as tmp:
    save_file({{"w": np.ones(200000)}}, str(tmp))
"""
    r = subprocess.run([sys.executable, "-c", code], preexec_fn=_limited, capture_output=True, text=True)
    assert r.returncode != 0 and "m.safetensors" in r.stderr, r.stderr
    assert list(tmp_path.iterdir()) == []


def test_failed_verification_keeps_the_old_file(tmp_path):
    p = tmp_path / "out.vti"
    p.write_text("old")

    def verify(tmp):
        raise OutputError("incomplete")
    with pytest.raises(OutputError, match="out.vti"):
        with safe_output(p, verify=verify) as tmp:
            tmp.write_text("new")
    assert p.read_text() == "old" and [q.name for q in tmp_path.iterdir()] == ["out.vti"]


def test_an_oserror_names_the_file(tmp_path):
    with pytest.raises(OutputError, match="x.csv: writing failed: no space"):
        with safe_output(tmp_path / "x.csv"):
            import errno
            raise OSError(errno.ENOSPC, "No space left on device")
    assert list(tmp_path.iterdir()) == []


def test_unwritable_folder_is_refused(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if ro.stat().st_uid == 0 and __import__("os").geteuid() == 0:
            pytest.skip("root writes anywhere")
        with pytest.raises(OutputError, match="not writable"):
            check_folder_writable(ro / "a.vti")
    finally:
        ro.chmod(0o700)
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        check_folder_writable(f / "sub" / "a.vti")


def test_output_files_lists_every_side_file(tmp_path):
    files = [p.name for p in output_files(tmp_path / "m.vo", ["grade", "lithology"])]
    assert files[0] == "m.vo"
    assert {"m_grade@@", "m_lithology@@", "m_active@@", "m_lithology_colours.csv"} <= set(files)
    assert [p.name for p in output_files(tmp_path / "m.msh", ["grade"])] == ["m.msh", "m_grade.mod"]
    # and the writer creates no file that is not listed
    vol = _volume((3, 4, 5))
    write_volume(vol, tmp_path / "m.vo")
    assert {p.name for p in tmp_path.iterdir()} <= set(files)


def test_outputs_that_an_input_references_are_refused_before_writing(tmp_path):
    vol = _volume((3, 4, 5))
    write_volume(vol, tmp_path / "a.vo")
    hdr = (tmp_path / "a.vo").read_text(encoding="utf-8")
    (tmp_path / "b.vo").write_text(hdr, encoding="utf-8")  # b.vo reads a's @@ files
    with pytest.raises(OutputError, match="a_grade@@"):
        check_outputs_not_inputs(tmp_path / "a.vo", [tmp_path / "b.vo"])
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(OutputError):
        write_volume(vol, tmp_path / "a.vo", inputs=[tmp_path / "b.vo"])
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


ODD = ["sp ace/ünï/öut ▲", "two  spaces", "quo'te \"d\"", "tab\tname"]


@pytest.mark.parametrize("name", ODD)
@pytest.mark.parametrize("suffix", [".vti", ".vo", ".msh", ".tif"])
def test_odd_paths_round_trip(tmp_path, name, suffix):
    from voxprospect.io.geotiff import read_geotiff_levels
    vol = _volume((3, 4, 5))
    if suffix == ".tif":
        p = write_volume(vol, tmp_path / (name + suffix), layer="grade")
        back = read_geotiff_levels(p)
        np.testing.assert_array_equal(back["grade"], vol["grade"].astype(np.float32))
        return
    if suffix == ".msh":
        vol = vol.select(["grade"])
    p = write_volume(vol, tmp_path / (name + suffix))
    back = read_volume(p)
    assert back.grid.shape == vol.grid.shape
    for layer in vol.names:
        got = back[layer] if layer in back.names else back[next(n for n in back.names if layer in n)]
        np.testing.assert_array_equal(got, vol[layer])
    if suffix == ".vo":
        assert back.classes["lithology"] == vol.classes["lithology"]


def test_csv_points_to_an_odd_path(tmp_path):
    import csv
    vol = _volume((3, 4, 5))
    p = write_volume(vol, tmp_path / "sp ace" / "pöints ▲.csv")
    rows = list(csv.reader(row for row in Path(p).read_text(encoding="utf-8").splitlines() if not row.startswith("#")))
    assert rows[0][:3] == ["x", "y", "z"] and len(rows) == 1 + vol.active.sum()


def test_latin1_voxet_header_still_reads(tmp_path):
    """Old GOCAD headers are Latin-1: a property file named with 'é' is still found."""
    vol = _volume((3, 4, 5)).select(["grade"])
    write_volume(vol, tmp_path / "café.vo")
    text = (tmp_path / "café.vo").read_text(encoding="utf-8")
    (tmp_path / "café.vo").write_bytes(text.encode("latin-1"))
    for f in tmp_path.glob("café_*@@"):
        f.rename(tmp_path / f.name)  # same name: the file system keeps UTF-8 names
    np.testing.assert_array_equal(read_volume(tmp_path / "café.vo")["grade"], vol["grade"])


def test_unquoted_file_name_with_two_spaces(tmp_path):
    vol = _volume((3, 4, 5)).select(["grade"])
    write_volume(vol, tmp_path / "a  b.vo")
    text = (tmp_path / "a  b.vo").read_text(encoding="utf-8").replace('"a  b_grade@@"', "a  b_grade@@")
    assert "PROP_FILE 1 a  b_grade@@" in text
    (tmp_path / "a  b.vo").write_text(text, encoding="utf-8")
    np.testing.assert_array_equal(read_volume(tmp_path / "a  b.vo")["grade"], vol["grade"])


# -- the memory guard ---------------------------------------------------------------------
def test_memory_guard_states_cells_and_bytes():
    with pytest.raises(MemoryLimitError) as e:
        check_memory(10 ** 15, 1, "AXIS_N 100000 100000 100000", "x.vo", limit=2 ** 30)
    msg = str(e.value)
    assert "x.vo" in msg and "1,000,000,000,000,000 cells" in msg
    assert format_bytes(10 ** 15) == "909.5 TiB" and "909.5 TiB" in msg
    assert check_memory(1000, 8, "small", limit=2 ** 30) == 8000
    assert isinstance(e.value, InputFileError)


def test_memory_limit_follows_the_environment(monkeypatch):
    from voxprospect.limits import memory_limit
    monkeypatch.setenv("VOXPROSPECT_MEMORY_LIMIT", "2G")
    assert memory_limit() == 2 * 2 ** 30
    with pytest.raises(MemoryLimitError, match="2.0 GiB"):
        check_memory(2 ** 30, 4, "a grid")
    # a value that is not a size is refused, never silently replaced by the machine's memory
    monkeypatch.setenv("VOXPROSPECT_MEMORY_LIMIT", "abc")
    with pytest.raises(VoxprospectError, match="VOXPROSPECT_MEMORY_LIMIT='abc' is not a size"):
        memory_limit()


def test_write_text_is_utf8(tmp_path):
    p = write_text(tmp_path / "r.json", '{"name": "öut ▲"}')
    assert p.read_bytes() == '{"name": "öut ▲"}'.encode("utf-8")


def test_evidence_past_the_file_size_limit_fails_without_a_report(tmp_path):
    """The issue's case: `voxprospect evidence project.toml -o ev.vti` under `ulimit -f`."""
    g = VoxelGrid((400000.0, 3000000.0, -1000.0), (100.0, 100.0, 50.0), (80, 80, 30), "EPSG:32651")
    dens = np.random.default_rng(5).normal(2.7, 0.1, g.shape)
    write_volume(Volume(g, {"density": dens}), tmp_path / "geophysics.vti")
    (tmp_path / "project.toml").write_text(
        '[project]\nname = "x"\nseed = 3\noutput_dir = "out"\n\n[inputs.geophysics]\npath = "geophysics.vti"\n\n'
        '[[evidence]]\nname = "density"\nkind = "geophysics"\nsource = "geophysics"\nlayer = "density"\n')
    before = sorted(p.name for p in tmp_path.iterdir())
    assert (tmp_path / "geophysics.vti").stat().st_size > 3 * LIMIT  # float32 evidence: over the limit
    r = _cli("evidence", tmp_path / "project.toml", "-o", tmp_path / "ev" / "ev.vti", cwd=tmp_path)
    text = r.stdout + r.stderr
    assert r.returncode != 0 and "wrote" not in text, text
    assert [ln for ln in text.splitlines() if ln.startswith("Error:")] and "ev.vti" in text
    assert not (tmp_path / "ev" / "ev.vti").exists() and not (tmp_path / "ev" / "report.json").exists()
    assert not list((tmp_path / "ev").glob("*")) if (tmp_path / "ev").exists() else True
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "ev") == before


def test_a_checkpoint_gets_the_mode_of_every_other_output(tmp_path):
    """safetensors creates its file 0600; the checkpoint is given what open() would give
    under the process's umask, like the volumes and reports beside it."""
    import os
    import stat

    from voxprospect.learn import RandomForestModel, save_checkpoint

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2, 3, 3, 3)).astype(np.float32)
    y = (np.arange(40) % 2).astype(np.int64)
    model = RandomForestModel(n_estimators=3).fit(X, y)
    old = os.umask(0o022)
    try:
        save_checkpoint(model, tmp_path / "rf.vxp.safetensors", channels=["a", "b"], window=3)
        write_text(tmp_path / "r.json", "{}")
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert modes == {"rf.vxp.safetensors": 0o644, "r.json": 0o644}
