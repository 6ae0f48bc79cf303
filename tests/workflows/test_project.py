"""The project file: a valid file loads with defaults and resolved paths; every kind of
mistake is a ProjectFileError naming the key and the file."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

from voxprospect import Volume, VoxelGrid
from voxprospect.errors import GridMismatchError, OutputError, ProjectFileError
from voxprospect.io import read_volume, write_volume
from voxprospect.workflows.project import load_project, run_evidence

GRID = VoxelGrid((500_000.0, 4_400_000.0, -1_000.0), (50.0, 40.0, 25.0), (10, 8, 6), "EPSG:32651")

VALID = """
[project]
name = "test district"
seed = 7
output_dir = "results"

[grid]
reference = "data/geology.vti"

[inputs.geology]
path = "data/geology.vti"

[inputs.geophysics]
path = "data/geophysics.vti"
format = "vti"

[[evidence]]
name = "granodiorite"
kind = "buffer"
source = "geology"
layer = "lithology"
classes = ["granodiorite"]
transform = "fuzzy"
max_distance_m = 300

[[evidence]]
name = "density"
kind = "geophysics"
source = "geophysics"
layer = "density"

[[evidence]]
name = "resistivity"
kind = "geophysics"
source = "geophysics"
layer = "resistivity"
log10 = true

[orebodies]
source = "geology"
layer = "ore"
deposits = {1 = "North vein"}

[samples]
window = 5

[training]
models = ["DL4", "RF"]
epochs = 3

[targets]
threshold = 0.6
"""


@pytest.fixture
def project_dir(tmp_path):
    rng = np.random.default_rng(0)
    active = np.ones(GRID.shape, bool)
    active[:, :, -1] = False
    lith = np.zeros(GRID.shape, np.int16)
    lith[3:6, 2:5, 1:4] = 1
    ore = np.zeros(GRID.shape, np.int16)
    ore[7, 6, 2] = 1
    data = tmp_path / "data"
    data.mkdir()
    write_volume(Volume(GRID, {"lithology": lith, "ore": ore}, active,
                        {"lithology": {0: "host", 1: "granodiorite"}, "ore": {0: "barren", 1: "d1"}}),
                 data / "geology.vti")
    write_volume(Volume(GRID, {"density": rng.normal(2.7, 0.1, GRID.shape).astype(np.float32),
                               "resistivity": rng.uniform(10, 1000, GRID.shape).astype(np.float32)}, active),
                 data / "geophysics.vti")
    (tmp_path / "project.toml").write_text(VALID)
    return tmp_path


def _write(project_dir, text, name="project.toml"):
    p = project_dir / name
    p.write_text(textwrap.dedent(text))
    return p


def test_valid_project_loads_with_resolved_paths_and_defaults(project_dir):
    p = load_project(project_dir / "project.toml")
    assert p.name == "test district" and p.seed == 7
    assert p.output_dir == (project_dir / "results").resolve()
    assert p.inputs["geology"].path == (project_dir / "data" / "geology.vti").resolve()
    assert p.grid_reference == p.inputs["geology"].path
    assert [e.name for e in p.evidence] == ["granodiorite", "density", "resistivity"]
    assert p.evidence[0].transform == "fuzzy" and p.evidence[0].max_distance_m == 300
    assert p.evidence[1].standardise == "robust"  # the geophysics default
    assert p.evidence[2].log10 is True
    assert p.samples.window == 5 and p.samples.min_distance_m == 800 and p.samples.edge == "edge"
    assert p.training.epochs == 3 and p.training.batch_size == 256 and p.training.learning_rate == 0.001
    assert p.training.protocols == ("random", "spatial", "deposit")
    assert p.targets.threshold == 0.6
    assert p.orebodies.deposits == {1: "North vein"}
    d = p.to_dict()
    assert d["raw"]["training"]["epochs"] == 3
    json.dumps(d)  # JSON-ready for reports


def test_evaluation_settings_load(project_dir):
    text = VALID.replace("epochs = 3", 'epochs = 3\nbuffer_m = 600\nbuffer_sweep_m = [0, "window", 750]\n'
                                      'sweep_models = ["RF", "DL1"]', 1)
    t = load_project(_write(project_dir, text, "eval.toml")).training
    assert t.buffer_m == 600.0 and t.buffer_sweep_m == (0.0, "window", 750.0) and t.sweep_models == ("RF", "DL1")
    d = load_project(_write(project_dir, VALID, "plain.toml")).training
    assert d.buffer_m is None and d.smoothing_m == 250.0 and d.inner_folds == 3


def test_load_inputs_and_orebodies(project_dir):
    p = load_project(project_dir / "project.toml")
    vols = p.load_inputs()
    assert set(vols) == {"geology", "geophysics"}
    assert vols["geology"].grid == GRID
    ob = p.load_orebodies()
    assert ob.classes["ore"][1] == "North vein"


def test_input_on_another_grid_is_named(project_dir):
    other = VoxelGrid(GRID.origin, (60.0, 40.0, 25.0), GRID.shape, GRID.crs)
    write_volume(Volume(other, {"density": np.ones(other.shape, np.float32)}),
                 project_dir / "data" / "geophysics.vti")
    p = load_project(project_dir / "project.toml")
    with pytest.raises(GridMismatchError, match="geophysics"):
        p.load_inputs()


@pytest.mark.parametrize("edit, key, words", [
    # unknown key, with the closest allowed one suggested
    (("window = 5", "windw = 5"), "samples.windw", ["did you mean 'window'"]),
    # unknown section
    (("[training]", "[trainig]"), "trainig", ["did you mean 'training'"]),
    # wrong type
    (("epochs = 3", 'epochs = "three"'), "training.epochs", ["integer"]),
    # missing required key
    (('layer = "density"\n', ""), "evidence[1] (density).layer", ["missing required key"]),
    # invalid value
    (("window = 5", "window = 4"), "samples.window", ["odd"]),
    (('models = ["DL4", "RF"]', 'models = ["DL5"]'), "training.models", ["DL4"]),
    (('transform = "fuzzy"', 'transform = "fuzz"'), "evidence[0] (granodiorite)", ["fuzzy"]),
    (('source = "geophysics"\nlayer = "density"', 'source = "gravity"\nlayer = "density"'),
     "evidence[1] (density).source", ["not an input"]),
    (("threshold = 0.6", "threshold = 1.5"), "targets.threshold", ["pa"]),
    # evaluation settings: metric buffer, sweep distances, inner folds
    (("epochs = 3", "epochs = 3\nbuffer_m = -5"), "training.buffer_m", [">= 0"]),
    (("epochs = 3", 'epochs = 3\nbuffer_sweep_m = [0, "two windows"]'), "training.buffer_sweep_m", ["window"]),
    (("epochs = 3", "epochs = 3\ninner_folds = 1"), "training.inner_folds", ["at least 2"]),
    (("epochs = 3", 'epochs = 3\nsweep_models = ["DL7"]'), "training.sweep_models", ["DL4"]),
])
def test_mistakes_name_the_key_and_the_file(project_dir, edit, key, words):
    text = VALID.replace(*edit, 1)
    assert text != VALID
    path = _write(project_dir, text, "bad.toml")
    with pytest.raises(ProjectFileError) as exc:
        load_project(path)
    msg = str(exc.value)
    assert str(path) in msg and key in msg
    for w in words:
        assert w in msg


def test_missing_referenced_file_is_named(project_dir):
    path = _write(project_dir, VALID.replace("data/geophysics.vti", "data/gravity.vti"), "bad.toml")
    with pytest.raises(ProjectFileError, match=r"inputs\.geophysics\.path: file not found: .*gravity\.vti"):
        load_project(path)


def test_toml_syntax_error_gives_the_line(project_dir):
    path = _write(project_dir, '[project]\nname = "x"\nseed = = 3\n', "bad.toml")
    with pytest.raises(ProjectFileError, match=r"line 3") as exc:
        load_project(path)
    assert "bad.toml" in str(exc.value)


def test_missing_project_file(tmp_path):
    with pytest.raises(ProjectFileError, match="file not found"):
        load_project(tmp_path / "nope.toml")


def test_format_mismatch_is_reported_on_load_inputs(project_dir):
    path = _write(project_dir, VALID.replace('format = "vti"', 'format = "geotiff"'), "bad.toml")
    p = load_project(path)
    with pytest.raises(ProjectFileError, match="inputs.geophysics.format"):
        p.load_inputs()


def test_run_evidence_writes_channels_and_report(project_dir):
    summary = run_evidence(project_dir / "project.toml", project_dir / "out" / "evidence.vti")
    ev = read_volume(project_dir / "out" / "evidence.vti")
    assert ev.names == ["granodiorite", "density", "resistivity"]
    # fuzzy buffer: 1 inside the granodiorite
    lith = read_volume(project_dir / "data" / "geology.vti")["lithology"]
    assert np.allclose(ev["granodiorite"][(lith == 1) & ev.active], 1.0)
    # the robust standardisation: median 0 over the active cells
    assert abs(np.median(ev["density"][ev.active])) < 1e-5
    report = json.loads((project_dir / "out" / "report.json").read_text())
    assert report["command"] == "evidence" and report["seed"] == 7
    hashed = {r["path"] for r in report["inputs"]}
    assert str((project_dir / "data" / "geology.vti").resolve()) in hashed
    assert summary["metrics"]["stats"]["resistivity"]["log10"] is True


def test_run_evidence_refuses_to_overwrite_an_input(project_dir):
    target = project_dir / "data" / "geology.vti"
    before = target.read_bytes()
    with pytest.raises(OutputError):
        run_evidence(project_dir / "project.toml", target)
    assert target.read_bytes() == before


def test_run_evidence_needs_channels(project_dir):
    path = _write(project_dir, '[project]\nname = "x"\n', "empty.toml")
    with pytest.raises(ProjectFileError, match="no \\[\\[evidence\\]\\]"):
        run_evidence(path, project_dir / "e.vti")
