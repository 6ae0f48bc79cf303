"""``--recalibrate`` on predict and run (issue 17): offered, and it asks fasttune to measure again."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from voxprospect_cli.main import cli


@pytest.mark.parametrize("command", ["predict", "run"])
def test_recalibrate_is_offered_and_requests_a_new_measurement(command, tmp_path, monkeypatch):
    from voxprospect.learn import fasttune

    runner = CliRunner()
    assert "--recalibrate" in runner.invoke(cli, [command, "--help"]).output
    seen = []
    monkeypatch.setattr(fasttune, "request_recalibration", lambda: seen.append(True))
    missing = str(tmp_path / "missing.toml")
    args = [command, missing, "--recalibrate"] if command == "run" else \
        [command, str(tmp_path / "m.vxp.safetensors"), str(tmp_path / "e.vti"), "-o", str(tmp_path / "o.vti"),
         "--recalibrate"]
    result = runner.invoke(cli, args)
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert seen == [True]
