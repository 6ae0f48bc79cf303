"""Usage errors are one ``Error:`` line: an unknown option, a bad value or a missing
argument prints exactly one line on stderr, naming the problem and where the help is,
and exits 2 (click's code for usage errors); ``--help`` still prints the whole help."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from voxprospect_cli.main import cli

CASES = [
    ("unknown-option", ["run", "project.toml", "--bogus"], ["--bogus", "voxprospect run --help"]),
    ("bad-threshold", ["targets", "p.vti", "-o", "t", "--threshold", "abc"],
     ["--threshold", "abc", "voxprospect targets --help"]),
    ("missing-argument", ["targets"], ["PROSPECTIVITY", "voxprospect targets --help"]),
    ("unknown-command", ["bogus"], ["bogus", "voxprospect --help"]),
    ("unknown-model", ["train", "project.toml", "-o", "t", "--model", "DL9"],
     ["--model", "DL9", "DL1, DL2, DL3, DL4, RF"]),
]


def _invoke(args):
    return CliRunner().invoke(cli, args, prog_name="voxprospect")


@pytest.mark.parametrize("case,args,words", CASES, ids=[c[0] for c in CASES])
def test_usage_error_is_one_error_line(case, args, words):
    r = _invoke(args)
    assert r.exit_code == 2, r.output
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("Error: "), lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    assert "Usage:" not in r.output and "Try '" not in r.output, r.output


def test_output_that_is_a_file_is_one_error_line(tmp_path):
    """``-o`` naming a file where a folder is wanted is refused as the command line is read."""
    (tmp_path / "project.toml").write_text("")
    (tmp_path / "out").write_text("a file\n")
    r = _invoke(["run", str(tmp_path / "project.toml"), "-o", str(tmp_path / "out")])
    assert r.exit_code == 2, r.output
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "out" in lines[0], r.stderr


@pytest.mark.parametrize("args,usage", [(["--help"], "Usage: voxprospect [OPTIONS] COMMAND"),
                                        (["run", "--help"], "Usage: voxprospect run [OPTIONS] PROJECT")])
def test_help_is_still_the_whole_help(args, usage):
    r = _invoke(args)
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith(usage), r.stdout
    assert "Options:" in r.stdout and "--help" in r.stdout


def test_model_names_are_taken_in_any_case(tmp_path):
    """``train --model rf`` is ``RF``, as ``ablation --models rf`` always was: the run gets
    past the option and stops at the missing project file."""
    r = _invoke(["train", str(tmp_path / "none.toml"), "-o", str(tmp_path / "t"), "--model", "rf"])
    assert r.exit_code == 1 and "none.toml" in r.output and "--model" not in r.output, r.output
