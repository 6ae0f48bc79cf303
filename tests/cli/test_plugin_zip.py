"""``voxprospect plugin-zip``: an installable QGIS plugin zip (no QGIS needed)."""

import configparser
import shutil
import zipfile
from pathlib import Path

from click.testing import CliRunner

import voxprospect
from voxprospect_cli.main import cli

REPO = Path(__file__).resolve().parents[2]


def test_zip_holds_one_plugin_folder_with_metadata(tmp_path):
    out = tmp_path / "voxprospect_plugin.zip"
    r = CliRunner().invoke(cli, ["plugin-zip", str(out)])
    assert r.exit_code == 0, r.output
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        assert {n.split("/")[0] for n in names} == {"voxprospect_plugin"}
        for required in ("__init__.py", "metadata.txt", "provider.py", "plugin.py", "icons/icon.svg", "LICENSE"):
            assert f"voxprospect_plugin/{required}" in names
        assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
        meta = configparser.ConfigParser(interpolation=None)
        meta.optionxform = str
        meta.read_string(zf.read("voxprospect_plugin/metadata.txt").decode())
        # __init__.py must hold classFactory (QGIS calls it by that name)
        assert "def classFactory(iface)" in zf.read("voxprospect_plugin/__init__.py").decode()
        # every module compiles (a syntax error would only show inside QGIS)
        for n in names:
            if n.endswith(".py"):
                compile(zf.read(n), n, "exec")
    general = meta["general"]
    assert general["version"] == voxprospect.__version__
    assert general["qgisMinimumVersion"] == "3.22"
    assert general["hasProcessingProvider"] == "yes"
    assert f"voxprospect_plugin/{general['icon']}" in names


def test_version_mismatch_is_refused(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(REPO / "plugin", src / "plugin", ignore=shutil.ignore_patterns("__pycache__"))
    text = (REPO / "metadata.txt").read_text().replace(f"version={voxprospect.__version__}", "version=9.9.9")
    (src / "metadata.txt").write_text(text)
    out = tmp_path / "p.zip"
    r = CliRunner().invoke(cli, ["plugin-zip", str(out), "--source", str(src)])
    assert r.exit_code == 1
    assert "9.9.9" in r.output and voxprospect.__version__ in r.output and "Traceback" not in r.output
    assert not out.exists()


def test_incomplete_metadata_names_the_missing_key(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(REPO / "plugin", src / "plugin", ignore=shutil.ignore_patterns("__pycache__"))
    lines = [ln for ln in (REPO / "metadata.txt").read_text().splitlines() if not ln.startswith("qgisMinimumVersion")]
    (src / "metadata.txt").write_text("\n".join(lines))
    r = CliRunner().invoke(cli, ["plugin-zip", str(tmp_path / "p.zip"), "--source", str(src)])
    assert r.exit_code == 1 and "qgisMinimumVersion" in r.output


def test_empty_plugin_dependencies_is_refused(tmp_path):
    # QGIS 3.22 reads `plugin_dependencies=` as one dependency named "" and Install
    # from ZIP fails with KeyError 'use_stable_version'
    src = tmp_path / "src"
    shutil.copytree(REPO / "plugin", src / "plugin", ignore=shutil.ignore_patterns("__pycache__"))
    (src / "metadata.txt").write_text((REPO / "metadata.txt").read_text() + "plugin_dependencies=\n")
    out = tmp_path / "p.zip"
    r = CliRunner().invoke(cli, ["plugin-zip", str(out), "--source", str(src)])
    assert r.exit_code == 1 and "plugin_dependencies" in r.output and "Traceback" not in r.output
    assert not out.exists()
    assert "plugin_dependencies" not in (REPO / "metadata.txt").read_text()


def test_plugin_zip_from_a_non_editable_install(tmp_path):
    """A wheel carries the plugin: `plugin-zip` needs no checkout."""
    import os
    import subprocess
    import sys

    wheels, site, tree = tmp_path / "wheels", tmp_path / "site", tmp_path / "tree"
    # built from a copy: setuptools leaves build/ in the tree it builds, and a stale one
    # in the checkout would ship files that no longer exist
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for d in ("core", "cli", "plugin"):
        shutil.copytree(REPO / d, tree / d, ignore=skip)
    for f in ("pyproject.toml", "setup.py", "README.md", "LICENSE", "metadata.txt"):
        shutil.copyfile(REPO / f, tree / f)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    str(tree), "-w", str(wheels)], check=True, capture_output=True)
    (wheel,) = wheels.glob("voxprospect-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, capture_output=True)
    work = tmp_path / "elsewhere"  # not the checkout: nothing to find by walking up
    work.mkdir()
    env = dict(os.environ, PYTHONPATH=str(site))
    code = ("import sys, voxprospect_cli; from voxprospect_cli.main import cli; "
            "print('FROM', voxprospect_cli.__file__); sys.argv=['voxprospect', 'plugin-zip', 'p.zip']; cli()")
    r = subprocess.run([sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"FROM {site}" in r.stdout  # the installed copy ran, not the editable checkout
    with zipfile.ZipFile(work / "p.zip") as zf:
        names = set(zf.namelist())
        shipped = zf.read("voxprospect_plugin/metadata.txt").decode()
    expected = {f"voxprospect_plugin/{p.relative_to(REPO / 'plugin').as_posix()}"
                for p in (REPO / "plugin").rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    expected |= {"voxprospect_plugin/metadata.txt", "voxprospect_plugin/LICENSE"}
    assert names == expected
    assert shipped == (REPO / "metadata.txt").read_text()
