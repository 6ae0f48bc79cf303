"""``voxprospect export-targets`` and ``export-results``: the QGIS algorithms' core steps
from the command line, each with its report beside the file, and bad input refused."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from voxprospect_cli.main import cli

from tests_shared import command_district



@pytest.fixture(scope="module")
def district(tmp_path_factory):
    return command_district(tmp_path_factory)


def _run(args):
    return CliRunner().invoke(cli, [str(a) for a in args], prog_name="voxprospect")


def test_export_targets_writes_a_geopackage_and_its_report(district, tmp_path):
    import fiona

    out = tmp_path / "t.gpkg"
    r = _run(["export-targets", district["dir"] / "prosp.vti", "-o", out,
              "--orebodies", district["dir"] / "geology.vti"])
    assert r.exit_code == 0, r.output
    rep = json.loads((tmp_path / "t.gpkg.report.json").read_text())
    assert 0.0 < rep["threshold"] < 1.0
    assert f"targets above {rep['threshold']:.4g}" in r.output
    assert len(fiona.listlayers(out)) >= 1
    r = _run(["export-targets", district["dir"] / "prosp.vti", "-o", tmp_path / "u.gpkg"])
    assert r.exit_code == 1 and "threshold" in r.output and not (tmp_path / "u.gpkg").exists()


def test_export_results_writes_omf_with_the_targets(district, tmp_path):
    pytest.importorskip("omf")
    out = tmp_path / "r.omf"
    r = _run(["export-results", district["dir"] / "prosp.vti", "-o", out, "--threshold", "0.5"])
    assert r.exit_code == 0, r.output
    rep = json.loads((tmp_path / "r.omf.report.json").read_text())
    assert rep["targets"]["count"] >= 0 and out.stat().st_size > 0
    assert "omf" in r.output and "prospectivity" in r.output
    r = _run(["export-results", district["dir"] / "prosp.vti", "-o", tmp_path / "r.xyz", "--threshold", "0.5"])
    assert r.exit_code != 0 and r.output.startswith("Error:") and not (tmp_path / "r.xyz").exists()
