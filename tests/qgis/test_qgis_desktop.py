"""The plugin in the real QGIS desktop application, under Xvfb (issue 15's desktop check).

The tiny synthetic district goes through the library (evidence, a random forest,
prediction); then ``qgis`` itself starts on a virtual X display with a fresh profile
and runs ``desktop_session.py``: install the zip through ``pyplugin_installer``, open
the Depth slices dock, export the targets from the toolbox, show the prospectivity
and move the slider through every level. Here the record is checked level by level
against the volume, read with the library: the legend names the level's elevation, the
status its elevation and depth, the slices layer renders exactly the level's valid
cells, the whole canvas is not blank, and the target outlines show that level only.

``VOXPROSPECT_SCREENSHOTS=docs/img`` makes the session save the screenshots that
``docs/qgis-plugin.md`` shows (``scripts/qgis_screenshots.sh``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from external_qgis import qgis_binary, qgis_env

QGIS = qgis_binary("qgis")
XVFB = shutil.which("Xvfb")
HERE = Path(__file__).parent
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(QGIS is None, reason="the QGIS desktop is not installed (apt-get install qgis)"),
              pytest.mark.skipif(XVFB is None, reason="Xvfb is not installed (apt-get install xvfb)")]


@pytest.fixture(scope="module")
def district_prediction(tmp_path_factory):
    """The tiny district's random-forest prospectivity and its orebodies (library calls)."""
    from voxprospect.workflows.pipeline import run_evidence, run_predict, run_synth, run_train
    root = tmp_path_factory.mktemp("desktop_district")
    run_synth(root / "district", preset="tiny", seed=42)
    project = root / "district" / "project.toml"
    run_evidence(project, root / "evidence.vti")
    checkpoint = run_train(project, root / "train", model="RF")["checkpoint"]
    run_predict(checkpoint, root / "evidence.vti", root / "prospectivity.vti")
    return root / "prospectivity.vti", root / "district" / "orebodies.vti"


@pytest.fixture(scope="module")
def uncertain_prediction(district_prediction):
    """The district's prediction with a std and a 10th percentile layer built here.

    The std is that of a Bernoulli variable with the voxel's probability, halved (largest
    where the model hesitates); the lower quantile follows from it. Made up for the test:
    the library's ensembles write the real layers under these shared names.
    """
    from voxprospect import Volume
    from voxprospect.io import read_volume, write_vti
    volume, _ = district_prediction
    vol = read_volume(volume)
    p = np.asarray(vol["prospectivity"], np.float64)
    std = 0.5 * np.sqrt(np.clip(p * (1 - p), 0, None))
    layers = {"prospectivity": p.astype(np.float32), "prospectivity_std": std.astype(np.float32),
              "prospectivity_q10": np.clip(p - 1.2816 * std, 0, 1).astype(np.float32)}
    path = volume.with_name("prediction_with_std.vti")
    write_vti(Volume(vol.grid, layers, active=vol.active, meta={"made_by": __file__}), path)
    return path


@pytest.fixture(scope="module")
def xdisplay():
    """A virtual X display of our own (``Xvfb -displayfd``: it picks a free number)."""
    proc = subprocess.Popen([XVFB, "-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    number = proc.stdout.readline().strip()
    if not number.isdigit():
        proc.kill()
        pytest.fail("Xvfb did not start")
    yield f":{number}"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def session(district_prediction, uncertain_prediction, xdisplay, tmp_path_factory):
    """Run the desktop session once; its JSON record."""
    from voxprospect_cli.plugin_zip import build_plugin_zip
    volume, orebodies = district_prediction
    root = tmp_path_factory.mktemp("desktop")
    build_plugin_zip(None, root / "voxprospect_plugin.zip")
    ini = root / "profiles" / "profiles" / "default" / "QGIS" / "QGIS3.ini"
    ini.parent.mkdir(parents=True)
    # no network at start (plugin repositories, version check, news feed)
    ini.write_text("[app]\nplugin_installer\\checkOnStart=false\n[qgis]\ncheckVersion=false\n"
                   "[core]\nNewsFeed\\httpsfeedqgisorg\\disabled=true\n")
    (root / "work").mkdir()
    config = {"zip": str(root / "voxprospect_plugin.zip"), "volume": str(volume), "orebodies": str(orebodies),
              "uncertain_volume": str(uncertain_prediction),
              "result": str(root / "result.json"), "work": str(root / "work"),
              "screenshots": os.environ.get("VOXPROSPECT_SCREENSHOTS") or None}
    if config["screenshots"]:
        config["screenshots"] = str(Path(config["screenshots"]).resolve())
    (root / "config.json").write_text(json.dumps(config))
    env = qgis_env(root, DISPLAY=xdisplay, QT_QPA_PLATFORM="xcb", VOXPROSPECT_DESKTOP=root / "config.json",
                   XDG_RUNTIME_DIR=root / "xdg")
    (root / "xdg").mkdir(mode=0o700)
    r = subprocess.run([QGIS, "--noversioncheck", "--nologo", "--profiles-path", str(root / "profiles"),
                        "--code", str(HERE / "desktop_session.py")],
                       env=env, capture_output=True, text=True, timeout=300)
    assert (root / "result.json").is_file(), f"rc {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    record = json.loads((root / "result.json").read_text())
    assert "error" not in record, record["error"]
    record["rc"] = record_rc = r.returncode
    assert record_rc == 0, r.stderr[-3000:]
    record["uncertain_volume"] = uncertain_prediction
    return record, volume, config


def test_installed_from_zip_in_the_desktop(session):
    record, _, _ = session
    install = record["install"]
    assert install["dialogs"] == []  # no dependency dialog (QGIS 3.22's KeyError came from there)
    assert install["active"] and install["enabled_setting"]
    # the copy unpacked into the fresh profile is the one running
    assert Path(install["plugin_file"]).parent == Path(install["home_plugin_path"]) / "voxprospect_plugin"
    assert {"voxprospect:slices", "voxprospect:exporttargets", "voxprospect:runproject"} <= set(install["algorithms"])
    assert install["menu"][0] == "Depth slices" and record["dock_visible"]
    assert record["targets"]["TARGET_COUNT"] >= 1
    # the slices go under the target layers exported before them: outlines stay visible
    from qgis.core import QgsMapLayerType
    assert record["tree"] == [QgsMapLayerType.VectorLayer] * 3 + [QgsMapLayerType.RasterLayer]


def _expected(volume_path):
    from voxprospect.io import read_volume
    vol = read_volume(volume_path)
    grid = vol.grid
    valid = vol.active & np.isfinite(np.asarray(vol["prospectivity"], float))
    filled = [k for k in range(grid.shape[2]) if valid[:, :, k].any()]
    surface = grid.elevations[max(filled)] + grid.cell_size[2] / 2
    return vol, grid, valid, filled, surface


def test_slider_moves_legend_status_and_map_through_every_level(session):
    record, volume, _ = session
    vol, grid, valid, filled, surface = _expected(volume)
    levels = record["levels"]
    assert [lv["level"] for lv in levels] == list(range(grid.shape[2]))
    # opens on the most prospective level holding data (never the air on top)
    values = np.where(valid, vol["prospectivity"], -np.inf)
    peaks = values.max(axis=(0, 1))
    assert record["first_level"] == int(np.flatnonzero(peaks == peaks.max()).max())
    cell_area = grid.cell_size[0] * grid.cell_size[1]
    for lv in levels:
        k, z = lv["level"], grid.elevations[lv["level"]]
        assert lv["redrawn"] and lv["slider"] == k and lv["band"] == grid.shape[2] - k
        assert lv["layer_name"] == f"prospectivity z={z:g} m"
        assert any(f"z={z:g} m" in t for t in lv["legend"]), lv["legend"]  # the legend follows the slider
        assert lv["elevation_box"] == pytest.approx(z)
        depth = surface - z
        status = f"Prospectivity (0–1) at z={z:g} m a.s.l., {depth:g} m below surface"
        if k not in filled:
            status += " (no data at this level: above the topography)"
        assert lv["status"].splitlines()[-1] == status
        assert f"level {k + 1} of {grid.shape[2]}" in lv["level_label"]
        # the slices layer alone covers exactly the level's valid cells (edge pixels aside)
        expected_px = valid[:, :, k].sum() * cell_area / lv["units_per_pixel"] ** 2
        if k in filled:
            assert lv["raster_px"] == pytest.approx(expected_px, rel=0.05), (k, lv["raster_px"], expected_px)
            assert lv["canvas_px"] > 0.5 * expected_px  # and the screen shows it
        else:
            assert lv["raster_px"] == 0
        assert lv["canvas_size"][0] > 200 and lv["canvas_size"][1] > 200


def test_target_outlines_follow_the_level(session):
    import fiona
    record, volume, _ = session
    gpkg = record["targets"]["OUTPUT"]
    with fiona.open(gpkg, layer="target_outlines") as src:
        per_level = {}
        for f in src:
            per_level[f["properties"]["level"]] = per_level.get(f["properties"]["level"], 0) + 1
    assert per_level, "the district has targets"
    for lv in record["levels"]:
        outlines = [o for o in lv["outlines"] if "outlines" in o["name"]]
        assert outlines, lv["outlines"]
        for o in outlines:
            assert o["subset"] == f'"level" = {lv["level"]}'
            assert o["count"] == per_level.get(lv["level"], 0)
            assert o["levels"] == ([lv["level"]] if per_level.get(lv["level"]) else [])


def test_screenshots_are_small_when_asked_for(session):
    record, _, config = session
    if not config["screenshots"]:
        pytest.skip("VOXPROSPECT_SCREENSHOTS not set: no screenshots asked for")
    assert len(record["screenshots"]) == 3
    for path in record["screenshots"]:
        assert 5_000 < os.path.getsize(path) < 250_000, path


def test_dock_switches_to_the_uncertainty_in_the_desktop(session):
    from voxprospect.io import read_volume
    record, _, _ = session
    u = record["uncertainty"]
    vol = read_volume(record["uncertain_volume"])
    grid = vol.grid
    assert u["base_name"] == "prospectivity_std" and u["level"] == u["level_before"]  # same depth
    z = grid.elevations[u["level"]]
    assert u["title"] == "Uncertainty (std of prospectivity)"
    assert u["status"].splitlines()[-1].startswith(f"Uncertainty (std of prospectivity) at z={z:g} m a.s.l.")
    assert any(f"z={z:g} m" in t for t in u["legend"]), u["legend"]
    assert u["ramp_label"].endswith("· Uncertainty (std of prospectivity)")
    assert u["std_visible"] and not u["mean_visible"]
    valid = vol.active[:, :, u["level"]].sum()
    cell_area = grid.cell_size[0] * grid.cell_size[1]
    assert u["raster_px"] == pytest.approx(valid * cell_area / u["units_per_pixel"] ** 2, rel=0.05)
