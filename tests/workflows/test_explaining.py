"""Evidence-importance settings: the [training] keys, the CLI flags that override them, and the
demo summary's section."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from tests_shared import make_tiny_project
from voxprospect.errors import ProjectFileError, VoxprospectError
from voxprospect.workflows.explaining import explain_overrides, importance_section, importance_settings
from voxprospect.workflows.project import load_project


def project_with(tmp_path, extra: str):
    path = make_tiny_project(tmp_path / "district")
    path.write_text(path.read_text() + extra)  # [training] is the file's last table
    return path


def test_training_keys_default_and_parse(tmp_path):
    t = load_project(make_tiny_project(tmp_path / "a")).training
    assert (t.importance, t.importance_repeats, t.attributions) == (True, 5, "off")
    t = load_project(project_with(tmp_path / "b", "importance = false\nattributions = true\n"
                                                  "attribution_voxels = 8\nattribution_steps = 12\n")).training
    assert (t.importance, t.attributions, t.attribution_voxels, t.attribution_steps) == (False, "targets", 8, 12)
    assert load_project(project_with(tmp_path / "c", 'attributions = "grid"\n')).training.attributions == "grid"


@pytest.mark.parametrize("extra, key", [('attributions = "voxels"\n', "training.attributions"),
                                        ("importance_repeats = 0\n", "training.importance_repeats"),
                                        ('importance = "yes"\n', "training.importance")])
def test_bad_keys_name_the_key_and_the_file(tmp_path, extra, key):
    path = project_with(tmp_path, extra)
    with pytest.raises(ProjectFileError) as err:
        load_project(path)
    assert key in str(err.value) and str(path) in str(err.value)


def test_settings_and_overrides():
    s = importance_settings({"protocols": ["random", "deposit"], "attributions": True})
    # no spatial protocol: the first honest one; the leaky random split never
    assert s["protocols"] == ["deposit"] and s["enabled"] and s["attributions"] == "targets"
    assert not importance_settings({"protocols": ["random"]})["enabled"]
    assert explain_overrides() == {}
    assert explain_overrides(False, "grid") == {"importance": False, "attributions": "grid"}
    with pytest.raises(VoxprospectError, match="attributions must be one of"):
        explain_overrides(None, "all")


def test_cli_refuses_an_unknown_attribution_mode(tmp_path):
    from voxprospect_cli.main import cli
    path = make_tiny_project(tmp_path / "district")
    r = CliRunner().invoke(cli, ["run", str(path), "-o", str(tmp_path / "out"), "--attributions", "all"])
    assert r.exit_code == 2 and "--attributions" in r.output
    assert not (tmp_path / "out").exists()


def test_summary_section_lists_plots_and_top_channels():
    rep = {"importance": {"models": {"RF": {}}, "table_markdown": "| channel |\n",
                          "plots": {"RF": "importance_RF.png"}},
           "target_tables": {"RF": [{"target_id": 1, "top_channels": "density;granite"}]},
           "models": {"RF": {"explain": {"top_channels_rule": "rule"}}}}
    text = "\n".join(importance_section(rep))
    assert "## Evidence importance" in text and "![RF permutation importance](importance_RF.png)" in text
    assert "target 1: density;granite" in text
    assert importance_section({"importance": {"skipped": "off"}}) == []
