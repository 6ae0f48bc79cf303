"""Bad input to every command: project-file mistakes, bad options, unwritable outputs.

Each case builds its input in tmp_path from a tiny district (12 x 10 x 6 cells, written
with our own writers) and runs the real command through the harness ``refused``: a
non-zero exit, one short ``Error:`` naming the file or option and the problem, no
traceback, nothing written, every input unchanged.

An unwritable folder is made the ways that hold even for root (CI runs as root, where
``chmod`` does not stop a write): a path under a regular file (``notes.txt/out``) and a
folder in ``/sys``, which the kernel refuses to let anyone create files in.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
from voxprospect import Volume, VoxelGrid
from voxprospect.io import write_volume

from tests_shared import tiny_district_volumes, tiny_project_toml

_spec = importlib.util.spec_from_file_location("badinput_checkpoint_files",
                                               Path(__file__).with_name("checkpoint_files.py"))
cf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cf)

GRID = VoxelGrid((400_000.0, 3_000_000.0, -600.0), (100.0, 100.0, 100.0), (12, 10, 6), "EPSG:32651")
SYS_DIR = Path("/sys/voxprospect-test-out")  # nobody, root included, may create files in /sys

# "{d}" stands for the district's folder (str.format)
PROJECT = tiny_project_toml(header="a tiny district for the bad-input table", folder="{d}", models=["RF"], epochs=1,
                            batch_size=None, protocols=["random", "spatial"], max_distance_m=800, min_distance_m=300)


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    """The tiny district's files; every case only reads them."""
    d = tmp_path_factory.mktemp("district")
    tiny = tiny_district_volumes(GRID, (5, 5, 2), 4, [np.s_[7:9, 4:6, 1:3], np.s_[3:5, 7:9, 1:3]],
                                 air_from_k=5)  # the top level is air
    active, lith, ore, dens, rng = (tiny[k] for k in ("active", "lithology", "orebody", "density", "rng"))
    write_volume(tiny["geology"], d / "geology.vti")
    layers = {"density": dens,
              "constant": np.full(GRID.shape, 2.7, np.float32),
              "empty": np.full(GRID.shape, np.nan, np.float32),
              "signed": rng.standard_normal(GRID.shape).astype(np.float32)}
    write_volume(Volume(GRID, layers, active), d / "geophysics.vti")
    # the same data on a shifted grid, and under another CRS
    shifted = VoxelGrid((400_050.0, 3_000_000.0, -600.0), GRID.cell_size, GRID.shape, GRID.crs)
    write_volume(Volume(shifted, {"density": dens}, active), d / "shifted.vti")
    other_crs = VoxelGrid(GRID.origin, GRID.cell_size, GRID.shape, "EPSG:4326")
    write_volume(Volume(other_crs, {"density": dens}, active), d / "other_crs.vti")
    # orebodies only in the air, and none at all
    above = np.zeros(GRID.shape, np.int16)
    above[4:6, 4:6, 5] = 1
    write_volume(Volume(GRID, {"orebody": above}, active), d / "ore_above.vti")
    write_volume(Volume(GRID, {"orebody": np.zeros(GRID.shape, np.int16)}, active), d / "ore_none.vti")
    write_volume(Volume(GRID, {"deposit": ore}, active), d / "ore_renamed.vti")
    # a prospectivity volume for targets, one all-NaN, one on another grid
    p = np.clip(0.2 + 0.6 * (lith == 1) + 0.1 * rng.standard_normal(GRID.shape), 0, 1).astype(np.float32)
    p[~active] = np.nan
    write_volume(Volume(GRID, {"prospectivity": p}, active), d / "prosp.vti")
    write_volume(Volume(GRID, {"prospectivity": np.full(GRID.shape, np.nan, np.float32)}, active),
                 d / "prosp_nan.vti")
    write_volume(Volume(shifted, {"prospectivity": p}, active), d / "prosp_shifted.vti")
    write_volume(Volume(GRID, {"score": p}, active), d / "prosp_renamed.vti")
    # a checkpoint and evidence it fits, and evidence lacking one of its channels
    ck = cf.make_checkpoints(d / "models")
    cf.make_evidence(d / "evidence.vti")
    ev = Volume(GRID, {"density": dens}, active)
    write_volume(ev, d / "evidence_partial.vti")
    (d / "notes.txt").write_text("a file, not a folder\n")
    (d / "project.toml").write_text(PROJECT.format(d=d))
    return {"dir": d, "rf": ck["rf"], "cnn": ck["cnn"]}


def project(tmp_path, district, edit=None, text=None) -> Path:
    """A project file in tmp_path: the base one with ``edit(text)`` applied, or ``text``."""
    body = PROJECT.format(d=district["dir"]) if text is None else text
    if edit is not None:
        body = edit(body)
    p = tmp_path / "project.toml"
    p.write_text(body)
    return p


def sub(old, new):
    def edit(text):
        assert old in text, old
        return text.replace(old, new, 1)
    return edit


def add(extra):
    return lambda text: text + "\n" + extra + "\n"


def on(command):
    """The command line and the outputs of a project command run in tmp_path."""
    def make(p, t):
        if command == "evidence":
            return ["evidence", p, "-o", t / "ev" / "ev.vti"], [t / "ev", t / "out"]
        if command == "train":
            return ["train", p, "-o", t / "m", "--model", "RF"], [t / "m", t / "out"]
        return ["run", p, "-o", t / "r"], [t / "r", t / "out"]
    return make


# -- project-file mistakes: (id, command, edit, words the Error: names besides the project file)
PROJECT_CASES = [
    ("toml-syntax", "evidence", add("[samples\nwindow = 3"), ["project.toml", "TOML"]),
    ("unknown-section", "train", sub("[training]", "[trainig]"), ["project.toml", "trainig", "training"]),
    ("unknown-key", "evidence", sub('seed = 3', 'sed = 3'), ["project.toml", "sed", "seed"]),
    ("seed-negative", "train", sub("seed = 3", "seed = -7"), ["project.toml", "seed", "-7"]),
    ("seed-huge", "run", sub("seed = 3", "seed = 99999999999999999999"), ["project.toml", "seed"]),
    ("seed-text", "evidence", sub("seed = 3", 'seed = "three"'), ["project.toml", "seed"]),
    ("reader-option-unknown", "evidence", sub("[inputs.geology]\n", "[inputs.geology]\noptions = {frob = 1}\n"),
     ["project.toml", "frob"]),
    ("input-missing", "train", sub("geophysics.vti", "gone.vti"), ["project.toml", "gone.vti", "not found"]),
    ("input-is-folder", "evidence", sub("/geophysics.vti", "/models"), ["models", "folder"]),
    ("evidence-source-unknown", "evidence", sub('source = "geophysics"', 'source = "geophysic"'),
     ["project.toml", "geophysic", "not an input"]),
    ("evidence-layer-unknown", "train", sub('layer = "density"', 'layer = "dens"'),
     ["geophysics.vti", "dens"]),
    ("evidence-class-unknown", "evidence", sub('classes = ["granodiorite"]', 'classes = ["granit"]'),
     ["geology.vti", "granit"]),
    ("evidence-all-nan", "evidence", sub('layer = "density"', 'layer = "empty"'),
     ["geophysics.vti", "all-NaN"]),
    ("evidence-constant", "run", sub('layer = "density"', 'layer = "constant"'),
     ["geophysics.vti", "constant"]),
    ("evidence-log10-negative", "evidence", sub('layer = "density"', 'layer = "signed"\nlog10 = true'),
     ["geophysics.vti", "log10"]),
    ("class-name-huge", "evidence", sub('classes = ["granodiorite"]', 'classes = ["' + "g" * 130_000 + '"]'),
     ["geology.vti", "characters cut"]),
    ("evidence-kind-unknown", "evidence", sub('kind = "geophysics"', 'kind = "magic"'),
     ["project.toml", "kind", "magic"]),
    ("evidence-duplicate", "evidence", sub('name = "density"', 'name = "intrusion"'), ["project.toml", "unique"]),
    ("evidence-none", "evidence", lambda t: t.split("[[evidence]]")[0], ["project.toml", "no [[evidence]]"]),
    ("evidence-not-tables", "evidence", lambda t: 'evidence = "density"\n' + t.split("[[evidence]]")[0]
     + "[orebodies]" + t.split("[orebodies]")[1], ["project.toml", "evidence", "array of tables"]),
    ("orebodies-above-topography", "train", sub('source = "geology"\nlayer = "orebody"',
                                                'source = "{ore}/ore_above.vti"'),
     ["ore_above.vti", "study volume"]),
    ("orebodies-none", "run", sub('source = "geology"\nlayer = "orebody"', 'source = "{ore}/ore_none.vti"'),
     ["ore_none.vti", "selects no voxel"]),
    ("orebodies-layer-missing", "train", sub('layer = "orebody"', 'layer = "ore"'),
     ["project.toml", "orebodies.layer", "ore"]),
    ("orebodies-missing-section", "train", lambda t: t.replace('[orebodies]\nsource = "geology"\nlayer = "orebody"',
                                                               ""), ["project.toml", "orebodies"]),
    ("grids-mismatched", "evidence", sub("/geophysics.vti", "/shifted.vti"), ["shifted.vti", "grid"]),
    ("crs-mismatched", "train", sub("/geophysics.vti", "/other_crs.vti"), ["other_crs.vti", "CRS"]),
    ("window-even", "train", sub("window = 3", "window = 4"), ["project.toml", "window", "odd"]),
    ("window-huge", "run", sub("window = 3", "window = 101"), ["project.toml", "window", "bytes"]),
    ("window-text", "train", sub("window = 3", 'window = "abc"'), ["project.toml", "window", "integer"]),
    ("grid-huge", "evidence", add("[grid]\norigin = [0, 0, 0]\ncell_size = [1, 1, 1]\n"
                                  "shape = [50000, 60000, 26000]"), ["project.toml", "grid.shape", "cells", "memory"]),
    ("grid-shape-zero", "evidence", add("[grid]\norigin = [0, 0, 0]\ncell_size = [1, 1, 1]\nshape = [0, 5, 5]"),
     ["project.toml", "grid.shape"]),
    ("model-unknown", "run", sub('models = ["RF"]', 'models = ["DL9"]'), ["project.toml", "DL9"]),
    ("protocol-unknown", "run", sub('protocols = ["random", "spatial"]', 'protocols = ["leaky"]'),
     ["project.toml", "leaky"]),
    ("device-unknown", "run", sub("epochs = 1", 'epochs = 1\ndevice = "gpu"'), ["project.toml", "device", "gpu"]),
    ("epochs-zero", "run", sub("epochs = 1", "epochs = 0"), ["project.toml", "epochs"]),
    ("threshold-out-of-range", "run", add("[targets]\nthreshold = 5"), ["project.toml", "threshold"]),
    ("output-dir-unwritable", "evidence", sub('output_dir = "out"', f'output_dir = "{SYS_DIR}"'),
     [SYS_DIR.name, "not writable"]),
]


@pytest.mark.parametrize("case,command,edit,words", PROJECT_CASES, ids=[c[0] for c in PROJECT_CASES])
def test_project_mistake_is_refused(tmp_path, district, refused, case, command, edit, words):
    d = district["dir"]
    text = PROJECT.format(d=d)
    body = edit(text).replace("{ore}", str(d))
    if case == "output-dir-unwritable":
        args, outputs = ["evidence", tmp_path / "project.toml"], [tmp_path / "out"]
    else:
        args, outputs = on(command)(tmp_path / "project.toml", tmp_path)
    p = project(tmp_path, district, text=body)
    refused(args, mentions=words, inputs=[p, d], outputs=outputs)


def test_project_edits_change_the_file(district, tmp_path):
    """Guards the table: the edits above change the file the way their names say."""
    text = PROJECT.format(d=district["dir"])
    edited = {c[0]: c[2](text) for c in PROJECT_CASES}
    assert "options = {frob = 1}" in edited["reader-option-unknown"]
    assert all(edited[c] != text for c in edited)
    assert "[[evidence]]" not in edited["evidence-none"] and "[orebodies]" in edited["evidence-not-tables"]


# The format-mismatch case needs an explicit format; written here, not by substitution.
def test_input_format_mismatch_is_refused(tmp_path, district, refused):
    text = PROJECT.format(d=district["dir"]).replace(f'path = "{district["dir"]}/geophysics.vti"',
                                                     f'path = "{district["dir"]}/geophysics.vti"\n'
                                                     'format = "ubc-mesh"')
    p = project(tmp_path, district, text=text)
    refused(["evidence", p, "-o", tmp_path / "ev.vti"], mentions=["project.toml", "format", "ubc-mesh"],
            inputs=[p, district["dir"]], outputs=[tmp_path / "ev.vti"])


def test_targets_never_write_their_plot_over_an_input(tmp_path, district, refused):
    """The P-A plot's name is fixed (pa_prospectivity.png): an orebody volume of that name
    in the output folder (read by content, whatever its suffix) is refused, not replaced."""
    import shutil

    col = tmp_path / "col"
    col.mkdir()
    shutil.copy(_d(district, "prosp.vti"), col / "p.vti")
    shutil.copy(_d(district, "geology.vti"), col / "pa_prospectivity.png")
    refused(["targets", col / "p.vti", "-o", col, "--orebodies", col / "pa_prospectivity.png"],
            mentions=["pa_prospectivity.png"], inputs=[col / "p.vti", col / "pa_prospectivity.png"],
            outputs=[col / "targets_prospectivity.vti", col / "report.json"])


def test_project_file_problems_are_refused(tmp_path, district, refused):
    refused(["evidence", tmp_path / "none.toml"], mentions=["none.toml"])
    refused(["run", tmp_path / "none.toml"], mentions=["none.toml", "not found"])
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe[project]\x00")
    refused(["train", tmp_path / "bin.toml", "-o", tmp_path / "m"], mentions=["bin.toml", "UTF-8"],
            outputs=[tmp_path / "m"])
    (tmp_path / "empty.toml").write_text("")
    refused(["evidence", tmp_path / "empty.toml", "-o", tmp_path / "ev.vti"],
            mentions=["empty.toml", "no [[evidence]]"], outputs=[tmp_path / "ev.vti"])
    # a volume given where the project file belongs is named as what it is, not as bad TOML
    refused(["train", _d(district, "geology.vti"), "-o", tmp_path / "m"],
            mentions=["geology.vti", "vti file, not a project file"], inputs=[district["dir"]],
            outputs=[tmp_path / "m"])


# -- options and outputs: (id, make(t, district) -> (args, outputs), words)
def _d(district, name):
    return district["dir"] / name


OPTION_CASES = [
    # train
    ("train-seed-negative", lambda t, d: (["train", _d(d, "project.toml"), "-o", t / "m", "--seed", "-1"],
                                          [t / "m"]), ["--seed", "-1"]),
    ("train-seed-huge", lambda t, d: (["train", _d(d, "project.toml"), "-o", t / "m", "--seed",
                                       "99999999999999999999999"], [t / "m"]), ["--seed"]),
    ("train-model-unknown", lambda t, d: (["train", _d(d, "project.toml"), "-o", t / "m", "--model", "DL9"],
                                          [t / "m"]), ["DL9"]),
    ("train-epochs-zero", lambda t, d: (["train", _d(d, "project.toml"), "-o", t / "m", "--epochs", "0"],
                                        [t / "m"]), ["--epochs"]),
    ("train-tune-cnn", lambda t, d: (["train", _d(d, "project.toml"), "-o", t / "m", "--model", "DL4", "--tune"],
                                     [t / "m"]), ["--tune"]),
    ("train-out-under-file", lambda t, d: (["train", _d(d, "project.toml"), "-o", _d(d, "notes.txt") / "m"],
                                           []), ["notes.txt", "is a file"]),
    ("train-out-unwritable", lambda t, d: (["train", _d(d, "project.toml"), "-o", SYS_DIR, "--model", "RF"],
                                           []), [SYS_DIR.name, "not writable"]),
    # evidence
    ("evidence-out-suffix", lambda t, d: (["evidence", _d(d, "project.toml"), "-o", t / "ev.xyz"],
                                          [t / "ev.xyz"]), ["ev.xyz", "no writer"]),
    ("evidence-out-under-file", lambda t, d: (["evidence", _d(d, "project.toml"), "-o",
                                               _d(d, "notes.txt") / "ev.vti"], []), ["notes.txt"]),
    ("evidence-out-unwritable", lambda t, d: (["evidence", _d(d, "project.toml"), "-o", SYS_DIR / "ev.vti"],
                                              []), [SYS_DIR.name, "not writable"]),
    ("evidence-out-is-input", lambda t, d: (["evidence", _d(d, "project.toml"), "-o", _d(d, "geology.vti")],
                                            []), ["geology.vti", "input"]),
    # run
    ("run-out-unwritable", lambda t, d: (["run", _d(d, "project.toml"), "-o", SYS_DIR], []),
     [SYS_DIR.name, "not writable"]),
    ("run-out-under-file", lambda t, d: (["run", _d(d, "project.toml"), "-o", _d(d, "notes.txt") / "r"], []),
     ["notes.txt"]),
    ("ablation-model-unknown", lambda t, d: (["ablation", _d(d, "project.toml"), "-o", t / "a", "--models", "DL9"],
                                             [t / "a"]), ["DL9"]),
    # predict
    ("predict-out-suffix", lambda t, d: (["predict", d["rf"], _d(d, "evidence.vti"), "-o", t / "p.xyz"],
                                         [t / "p.xyz"]), ["p.xyz", "no writer"]),
    ("predict-geotiff-suffix", lambda t, d: (["predict", d["rf"], _d(d, "evidence.vti"), "-o", t / "p.vti",
                                              "--geotiff", t / "x.vti"], [t / "p.vti", t / "x.vti"]),
     ["x.vti", "--geotiff"]),
    ("predict-out-under-file", lambda t, d: (["predict", d["rf"], _d(d, "evidence.vti"), "-o",
                                              _d(d, "notes.txt") / "p.vti"], []), ["notes.txt"]),
    ("predict-out-unwritable", lambda t, d: (["predict", d["cnn"], _d(d, "evidence.vti"), "-o",
                                              SYS_DIR / "p.vti"], []), [SYS_DIR.name, "not writable"]),
    ("predict-out-is-input", lambda t, d: (["predict", d["rf"], _d(d, "evidence.vti"), "-o",
                                            _d(d, "evidence.vti")], []), ["evidence.vti", "input"]),
    ("predict-missing-channel", lambda t, d: (["predict", d["rf"], _d(d, "evidence_partial.vti"), "-o",
                                               t / "p.vti"], [t / "p.vti"]), ["granodiorite", "missing"]),
    ("predict-evidence-missing", lambda t, d: (["predict", d["rf"], t / "gone.vti", "-o", t / "p.vti"],
                                               [t / "p.vti"]), ["gone.vti", "not found"]),
    ("predict-chunk-zero", lambda t, d: (["predict", d["rf"], _d(d, "evidence.vti"), "-o", t / "p.vti",
                                          "--chunk-voxels", "0"], [t / "p.vti"]), ["--chunk-voxels"]),
    ("predict-model-not-checkpoint", lambda t, d: (["predict", _d(d, "geology.vti"), _d(d, "evidence.vti"), "-o",
                                           t / "p.vti"], [t / "p.vti"]), ["geology.vti", "checkpoint"]),
    # targets
    ("targets-threshold-5", lambda t, d: (["targets", _d(d, "prosp.vti"), "-o", t / "t", "--threshold", "5"],
                                          [t / "t"]), ["--threshold", "5"]),
    ("targets-threshold-negative", lambda t, d: (["targets", _d(d, "prosp.vti"), "-o", t / "t", "--threshold",
                                                  "-0.1"], [t / "t"]), ["--threshold"]),
    ("targets-orebodies-no-layer", lambda t, d: (["targets", _d(d, "prosp.vti"), "-o", t / "t", "--orebodies",
                                                  _d(d, "ore_renamed.vti")], [t / "t"]),
     ["ore_renamed.vti", "orebody"]),
    ("targets-orebodies-none", lambda t, d: (["targets", _d(d, "prosp.vti"), "-o", t / "t", "--orebodies",
                                              _d(d, "ore_none.vti")], [t / "t"]), ["ore_none.vti", "no orebody"]),
    ("targets-no-prospectivity", lambda t, d: (["targets", _d(d, "prosp_renamed.vti"), "-o", t / "t",
                                                "--threshold", "0.5"], [t / "t"]),
     ["prosp_renamed.vti", "prospectivity"]),
    ("targets-all-nan", lambda t, d: (["targets", _d(d, "prosp_nan.vti"), "-o", t / "t", "--threshold", "0.5"],
                                      [t / "t"]), ["prosp_nan.vti", "all-NaN"]),
    ("targets-grids-mismatched", lambda t, d: (["targets", _d(d, "prosp_shifted.vti"), "-o", t / "t",
                                                "--orebodies", _d(d, "geology.vti")], [t / "t"]),
     ["prosp_shifted.vti", "grid"]),
    ("targets-no-threshold", lambda t, d: (["targets", _d(d, "prosp.vti"), "-o", t / "t"], [t / "t"]),
     ["threshold"]),
    ("targets-min-voxels-zero", lambda t, d: (["targets", _d(d, "prosp.vti"), "-o", t / "t", "--threshold", "0.5",
                                               "--min-voxels", "0"], [t / "t"]), ["--min-voxels"]),
    ("targets-out-under-file", lambda t, d: (["targets", _d(d, "prosp.vti"), "-o", _d(d, "notes.txt") / "t",
                                              "--threshold", "0.5"], []), ["notes.txt"]),
    ("targets-out-unwritable", lambda t, d: (["targets", _d(d, "prosp.vti"), "-o", SYS_DIR, "--threshold", "0.5"],
                                             []), [SYS_DIR.name, "not writable"]),
    # slices
    ("slices-out-vti", lambda t, d: (["slices", _d(d, "prosp.vti"), "-o", t / "c.vti"], [t / "c.vti"]),
     ["c.vti", "no writer"]),
    ("slices-layer-unknown", lambda t, d: (["slices", _d(d, "geology.vti"), "-l", "gold", "-o", t / "c.tif"],
                                           [t / "c.tif"]), ["gold"]),
    ("slices-out-under-file", lambda t, d: (["slices", _d(d, "prosp.vti"), "-o", _d(d, "notes.txt") / "c.tif"],
                                            []), ["notes.txt"]),
    ("slices-out-unwritable", lambda t, d: (["slices", _d(d, "prosp.vti"), "-o", SYS_DIR / "c.tif"], []),
     [SYS_DIR.name, "not writable"]),
    # synth and demo: refused before minutes of modelling
    ("synth-seed-negative", lambda t, d: (["synth", t / "s", "--seed", "-1"], [t / "s"]), ["--seed"]),
    ("synth-out-under-file", lambda t, d: (["synth", _d(d, "notes.txt") / "s"], []), ["notes.txt"]),
    ("synth-out-unwritable", lambda t, d: (["synth", SYS_DIR], []), [SYS_DIR.name, "not writable"]),
    ("synth-preset-unknown", lambda t, d: (["synth", t / "s", "--preset", "huge"], [t / "s"]), ["huge"]),
    ("demo-seed-huge", lambda t, d: (["demo", t / "demo", "--seed", str(2 ** 40)], [t / "demo"]), ["--seed"]),
    ("demo-out-unwritable", lambda t, d: (["demo", SYS_DIR], []), [SYS_DIR.name, "not writable"]),
    # convert
    ("convert-cell-size-zero", lambda t, d: (["convert", _d(d, "geology.vti"), t / "c.vti", "--cell-size", "0"],
                                             [t / "c.vti"]), ["--cell-size"]),
    ("convert-cell-size-negative", lambda t, d: (["convert", _d(d, "geology.vti"), t / "c.vti", "--cell-size",
                                                  "-5"], [t / "c.vti"]), ["--cell-size"]),
    ("convert-out-suffix", lambda t, d: (["convert", _d(d, "geology.vti"), t / "c.xyz"], [t / "c.xyz"]),
     ["c.xyz", "no writer"]),
    ("convert-in-is-out", lambda t, d: (["convert", _d(d, "geology.vti"), _d(d, "geology.vti")], []),
     ["geology.vti", "overwrite"]),
    ("convert-out-under-file", lambda t, d: (["convert", _d(d, "geology.vti"), _d(d, "notes.txt") / "c.vti"],
                                             []), ["notes.txt"]),
    ("convert-out-unwritable", lambda t, d: (["convert", _d(d, "geology.vti"), SYS_DIR / "c.vti"], []),
     [SYS_DIR.name, "not writable"]),
    ("convert-layer-unknown", lambda t, d: (["convert", _d(d, "geology.vti"), t / "c.vti", "--layer", "gold"],
                                            [t / "c.vti", t / "c.vti.report.json"]), ["gold"]),
    ("convert-in-missing", lambda t, d: (["convert", t / "gone.vti", t / "c.vti"], [t / "c.vti"]),
     ["gone.vti", "not found"]),
    ("info-missing", lambda t, d: (["info", t / "gone.vti"], []), ["gone.vti", "not found"]),
]


@pytest.mark.parametrize("case,make,words", OPTION_CASES, ids=[c[0] for c in OPTION_CASES])
def test_bad_option_or_output_is_refused(tmp_path, district, refused, case, make, words):
    if "unwritable" in case and os.access("/sys", os.W_OK) and _sys_writable():
        pytest.skip("/sys accepts new files here")
    args, outputs = make(tmp_path, district)
    refused(args, mentions=words, inputs=[district["dir"]], outputs=outputs)


def _sys_writable() -> bool:
    try:
        SYS_DIR.mkdir()
    except OSError:
        return False
    SYS_DIR.rmdir()
    return True


def test_device_cuda_without_cuda_is_refused(tmp_path, district, refused):
    import torch
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    refused(["train", district["dir"] / "project.toml", "-o", tmp_path / "m", "--device", "cuda"],
            mentions=["--device", "cuda"], inputs=[district["dir"]], outputs=[tmp_path / "m"])


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through permission bits")
def test_read_only_folder_is_refused(tmp_path, district, refused):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        refused(["evidence", district["dir"] / "project.toml", "-o", ro / "ev.vti"], mentions=["ro", "not writable"],
                inputs=[district["dir"]], outputs=[ro])
    finally:
        ro.chmod(0o700)


def test_all_nan_layer_converts_with_a_warning(tmp_path, district):
    """Converting is allowed, but an all-NaN layer is never passed on without a word."""
    from click.testing import CliRunner

    from voxprospect_cli.main import cli

    out = tmp_path / "c.vti"
    r = CliRunner().invoke(cli, ["convert", str(district["dir"] / "geophysics.vti"), str(out)])
    assert r.exit_code == 0, r.output
    warnings = [line for line in r.output.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1 and "'empty'" in warnings[0] and "geophysics.vti" in warnings[0]
    assert out.exists()
