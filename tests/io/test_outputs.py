"""The way out: checked before the work, and cleaned up when the work fails.

check_folder / check_output_file refuse what cannot be written before anything runs;
step_outputs removes everything a failing step created (an error, a cancel from the
progress callback, Ctrl-C) and nothing that was there before. Real steps are used:
train and targets cancelled late, after they have written files.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from voxprospect.errors import Cancelled, OutputError
from voxprospect.io.outputs import check_folder, check_output_file, step_outputs, volume_bytes

from tests_shared import command_district, command_tests



@pytest.fixture(scope="module")
def district(tmp_path_factory):
    return command_district(tmp_path_factory)


def tree(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_check_folder_refuses_a_path_under_a_file_and_sys(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(OutputError, match="notes.txt is a file"):
        check_folder(tmp_path / "notes.txt" / "a" / "b")
    with pytest.raises(OutputError, match="not writable"):
        check_folder("/sys/voxprospect-test-out")
    with pytest.raises(OutputError, match="exists and is not a folder"):
        check_folder(tmp_path / "notes.txt")
    # a folder that can be created is accepted and not created
    assert check_folder(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]  # the write probe is gone


def test_free_space_check_uses_the_disk_it_writes_to(tmp_path):
    import shutil
    free = shutil.disk_usage(tmp_path).free
    check_folder(tmp_path, need_bytes=1)
    with pytest.raises(OutputError, match="not enough free disk space"):
        check_folder(tmp_path, need_bytes=free * 2)
    with pytest.raises(OutputError, match="must end in .tif"):
        check_output_file(tmp_path / "c.vti", (".tif",))
    assert volume_bytes(10, 2) == 10 * (2 * 4 + 1)


def test_step_outputs_removes_only_what_the_step_created(tmp_path):
    keep = tmp_path / "existing"
    keep.mkdir()
    (keep / "old.txt").write_text("mine")
    with pytest.raises(KeyboardInterrupt):
        with step_outputs(folders=[keep, tmp_path / "a" / "b"], files=[tmp_path / "c" / "single.txt"]):
            (keep / "new.txt").write_text("step")
            (keep / "sub").mkdir()
            (tmp_path / "a" / "b" / "x.vti").write_text("step")
            (tmp_path / "c" / "single.txt").write_text("step")
            raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing"]
    assert tree(keep) == {"old.txt": b"mine"}
    # on success everything stays
    with step_outputs(folders=[tmp_path / "ok"]):
        (tmp_path / "ok" / "y").write_text("1")
    assert (tmp_path / "ok" / "y").read_text() == "1"


def _cancel_after(fraction):
    def progress(f, message):
        if f >= fraction:
            raise Cancelled(f"cancelled at {f:.2f}: {message}")
    return progress


def test_ctrl_c_as_the_folder_is_made_leaves_no_folder(tmp_path, monkeypatch):
    """Ctrl-C that lands just after mkdir (the signal is checked as the call returns) used
    to leave the new, empty output folder behind: it was recorded only after mkdir."""
    real_mkdir = Path.mkdir

    def mkdir_then_interrupt(self, *a, **kw):
        real_mkdir(self, *a, **kw)
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "mkdir", mkdir_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        with step_outputs(folders=[tmp_path / "run" / "out"]):
            pytest.fail("the body must not run")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_inside_entering_waits_and_cleans_up(tmp_path, monkeypatch):
    """With the CLI's handler installed, a Ctrl-C while the folders are made is held until
    they are all recorded, then raised and cleaned up before the step body runs."""
    import signal

    from voxprospect import interrupt
    real_listdir = __import__("os").listdir
    old = signal.getsignal(signal.SIGINT)

    calls = []

    def listdir_with_a_signal(d):
        calls.append(d)
        signal.raise_signal(signal.SIGINT)  # arrives inside the deferred section
        return real_listdir(d)

    interrupt.install_signal_handlers()
    try:
        monkeypatch.setattr("voxprospect.io.outputs.os.listdir", listdir_with_a_signal)
        with pytest.raises(KeyboardInterrupt):
            with step_outputs(folders=[tmp_path / "a", tmp_path / "b"]):
                pytest.fail("the body must not run")
    finally:
        monkeypatch.undo()
        signal.signal(signal.SIGINT, old)
    assert len(calls) == 2  # held: both folders were made and listed before it was raised
    assert list(tmp_path.iterdir()) == []


def test_train_cancelled_after_writing_leaves_nothing(district, tmp_path):
    """train writes evidence.vti and the checkpoint before its report: a late cancel removes both."""
    from voxprospect.workflows.pipeline import run_train

    before = tree(district["dir"])
    there = set()

    def progress(f, message):
        if f >= 0.7:  # the final fit: evidence.vti is written by now
            there.update(p.name for p in (tmp_path / "m").iterdir())
            raise Cancelled("cancelled during the final fit")

    with pytest.raises(Cancelled):
        run_train(district["dir"] / "project.toml", tmp_path / "m", model="RF", progress=progress)
    assert "evidence.vti" in there
    assert not (tmp_path / "m").exists()
    assert tree(district["dir"]) == before
    # into a folder that was there before: its own files stay, the step's go
    (tmp_path / "m2").mkdir()
    (tmp_path / "m2" / "notes.md").write_text("mine")
    with pytest.raises(Cancelled):
        run_train(district["dir"] / "project.toml", tmp_path / "m2", model="RF", progress=_cancel_after(0.5))
    assert tree(tmp_path / "m2") == {"notes.md": b"mine"}


def test_targets_failing_leaves_no_folder(district, tmp_path):
    from voxprospect.workflows.pipeline import run_targets

    with pytest.raises(Cancelled):
        run_targets(district["dir"] / "prosp.vti", tmp_path / "t" / "deep", threshold=0.5,
                    progress=_cancel_after(0.9))
    assert list(tmp_path.iterdir()) == []


def test_train_with_one_deposit_reports_the_skipped_protocol(district, tmp_path):
    """A project with one deposit cannot hold one out: the protocol is skipped, said so, exit 0."""
    from voxprospect import Volume
    from voxprospect.io import read_volume, write_volume
    from voxprospect_cli.main import cli

    geo = read_volume(district["dir"] / "geology.vti")
    ore = np.asarray(geo["orebody"]).copy()
    ore[ore == 2] = 0
    write_volume(Volume(geo.grid, {"orebody": ore}, geo.active, {"orebody": {0: "barren", 1: "East"}}),
                 tmp_path / "one.vti")
    text = command_tests().PROJECT.format(d=district["dir"]).replace('source = "geology"\nlayer = "orebody"',
                                                        f'source = "{tmp_path / "one.vti"}"')
    text = text.replace('protocols = ["random", "spatial"]', 'protocols = ["random", "deposit"]')
    (tmp_path / "project.toml").write_text(text)
    r = CliRunner().invoke(cli, ["train", str(tmp_path / "project.toml"), "-o", str(tmp_path / "m"), "--model", "RF"])
    assert r.exit_code == 0, r.output
    assert "deposit" in r.output and "skipped" in r.output
    rep = json.loads((tmp_path / "m" / "report.json").read_text())
    assert "skipped" in rep["metrics"]["deposit"]


def test_protocol_line_survives_missing_scores():
    from voxprospect_cli.train import protocol_line

    assert protocol_line({"accuracy": 0.5, "auc": None, "f1": float("nan")}) == \
        "accuracy 0.500  AUC n/a  F1 n/a"
    assert protocol_line({"skipped": "one deposit"}) == "skipped: one deposit"


def test_info_reads_a_project_file_that_opens_with_a_comment(district):
    from voxprospect_cli.main import cli

    r = CliRunner().invoke(cli, ["info", str(district["dir"] / "project.toml")])
    assert r.exit_code == 0, r.output
    assert "(toml)" in r.output and "inputs.geology.path" in r.output
