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


def test_explain_targets_grid_mode_and_the_forest_rule():
    import numpy as np
    import torch

    pytest.importorskip("captum")
    from voxprospect.data.grid import VoxelGrid
    from voxprospect.data.volume import Volume
    from voxprospect.mapping.targets import find_targets
    from voxprospect.workflows.explaining import TOP_RULES, explain_targets

    grid = VoxelGrid((0.0, 0.0, 0.0), (10.0, 10.0, 10.0), (5, 4, 3), "EPSG:32650")
    rng = np.random.default_rng(0)
    ev = Volume(grid, {c: rng.normal(0, 1, grid.shape).astype(np.float32) for c in ("a", "b")})
    p = np.zeros(grid.shape)
    p[1:3, 1:3, 0:2] = 0.9
    targets = find_targets(Volume(grid, {"prospectivity": p}), 0.5)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv3d(2, 3, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool3d(1),
                              torch.nn.Flatten(), torch.nn.Linear(3, 2)).double().eval()
    settings = importance_settings({"attributions": "grid", "attribution_steps": 4})
    att, info = explain_targets("net", net, ev, ["a", "b"], 3, "edge", targets, None, settings, 1000, 0)
    assert np.isfinite(att["attribution_a"]).all() and info["attribution"]["mode"] == "grid"
    assert info["attribution"]["n_voxels"] == grid.shape[0] * grid.shape[1] * grid.shape[2]
    assert info["top_channels_rule"] == TOP_RULES["attribution"] and "top_channels" in targets.table[0]

    # a forest: the importance rule, or nothing when there is no importance
    off = importance_settings({})
    imp = {"spatial": {"channels": [{"channel": "a", "mean": 0.3}, {"channel": "b", "mean": 0.0}]}}
    att, info = explain_targets("RF", object(), ev, ["a", "b"], 3, "edge", targets, imp, off, 1000, 0)
    assert att is None and info["top_channels_rule"] == TOP_RULES["importance"]
    assert targets.table[0]["top_channels"] == "a"  # b has no importance: never listed
    att, info = explain_targets("RF", object(), ev, ["a", "b"], 3, "edge", targets, None, off, 1000, 0)
    assert att is None and info["top_channels_rule"].startswith("none")
