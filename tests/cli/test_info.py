import json

from click.testing import CliRunner

from voxprospect.io import write_volume
from voxprospect_cli.main import cli


def test_info_json(small_volume, tmp_path):
    p = tmp_path / "v.vti"
    write_volume(small_volume, p)
    r = CliRunner().invoke(cli, ["info", str(p), "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["grid"]["shape"] == [9, 7, 6]
    assert d["active_cells"] == int(small_volume.active.sum())
    assert set(d["layers"]) == {"density", "lithology"}


def test_info_missing_file_is_one_line_error(tmp_path):
    r = CliRunner().invoke(cli, ["info", str(tmp_path / "nope.vti")])
    assert r.exit_code == 1
    assert "nope.vti" in r.output and "Traceback" not in r.output


def test_unknown_command_and_option():
    r = CliRunner().invoke(cli, ["info", "--bogus"])
    assert r.exit_code == 2 and "bogus" in r.output
    r = CliRunner().invoke(cli, ["frobnicate"])
    assert r.exit_code == 2
