"""Bad files for every reader reachable from ``voxprospect info FILE`` and ``convert IN OUT``.

Each case starts from a good file (written here by the format's own library, pyvista /
VTK / rasterio, or by our writers, or copied from ``../shared/data``), breaks it one way
(truncated, wrong magic, wrong sizes, NaN/inf/huge header numbers, missing or wrong
property files, empty files, folders given as files...) and checks, through the
harness in ``conftest.py``: non-zero exit, one ``Error:`` line naming the file and the
problem, no traceback, no output left, every input unchanged.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

pv = pytest.importorskip("pyvista")

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


# -- good files ------------------------------------------------------------------------
def _volume():
    from voxprospect.data.grid import VoxelGrid
    from voxprospect.data.volume import Volume

    g = VoxelGrid((1000.0, 2000.0, -500.0), (10.0, 10.0, 5.0), (4, 5, 6), "EPSG:32750")
    rng = np.random.default_rng(7)
    lith = rng.integers(1, 4, g.shape).astype(np.int16)
    return Volume(g, {"density": rng.normal(2.7, 0.1, g.shape), "lithology": lith},
                  classes={"lithology": {1: "granite", 2: "basalt", 3: "shale"}})


def good_vti(d: Path) -> Path:
    from voxprospect.io import write_volume
    return write_volume(_volume(), d / "good.vti")


def good_voxet(d: Path) -> Path:
    src = SHARED / "yilgarn_small_voxet"
    for f in src.iterdir():
        if f.name.startswith("small"):
            shutil.copy(f, d / f.name)
            (d / f.name).chmod(0o644)
    return d / "small.vo"


def good_ubc(d: Path) -> Path:
    from voxprospect.io import write_volume
    return write_volume(_volume().select(["density"]), d / "mesh.msh")


def good_tif(d: Path) -> Path:
    from voxprospect.io import write_volume
    return write_volume(_volume(), d / "slices.tif", layer="density")


def good_vtr(d: Path) -> Path:
    g = pv.RectilinearGrid(np.array([0.0, 5, 10, 20]), np.array([0.0, 5, 10]), np.array([0.0, 2, 4]))
    g.cell_data["rho"] = np.arange(g.n_cells, dtype=float)
    g.save(d / "good.vtr")
    return d / "good.vtr"


def good_vts(d: Path) -> Path:
    x, y, z = np.meshgrid(np.arange(4.0), np.arange(3.0), np.arange(3.0), indexing="ij")
    g = pv.StructuredGrid(x, y, z)
    g.point_data["v"] = np.arange(g.n_points, dtype=float)
    g.save(d / "good.vts")
    return d / "good.vts"


def good_vtu(d: Path) -> Path:
    g = pv.ImageData(dimensions=(4, 4, 4)).cast_to_unstructured_grid()
    g.cell_data["v"] = np.arange(g.n_cells, dtype=float)
    g.save(d / "good.vtu")
    return d / "good.vtu"


def good_legacy(d: Path) -> Path:
    g = pv.ImageData(dimensions=(4, 5, 3), spacing=(10, 10, 5))
    g.cell_data["v"] = np.arange(g.n_cells, dtype=float)
    g.save(d / "good.vtk", binary=False)
    return d / "good.vtk"


def good_vtp(d: Path) -> Path:
    pv.Sphere().save(d / "good.vtp")
    return d / "good.vtp"


def good_tsurf(d: Path) -> Path:
    p = d / "lens.ts"
    p.write_text("GOCAD TSurf 1\nHEADER {\nname: lens\n}\nTFACE\nVRTX 1 0 0 0\nVRTX 2 10 0 0\n"
                 "VRTX 3 0 10 0\nVRTX 4 0 0 10\nTRGL 1 2 3\nTRGL 1 2 4\nTRGL 1 3 4\nTRGL 2 3 4\nEND\n")
    return p


# -- ways to break them ------------------------------------------------------------------
def truncate(p: Path, fraction=0.5) -> Path:
    data = p.read_bytes()
    p.write_bytes(data[: int(len(data) * fraction)])
    return p


def edit(p: Path, pattern: str, repl: str, count=1) -> Path:
    text = p.read_text(encoding="latin-1")
    new, n = re.subn(pattern, repl, text, count=count, flags=re.MULTILINE)
    assert n, f"{pattern!r} not in {p}"
    p.write_text(new, encoding="latin-1")
    return p


def edit_bytes(p: Path, old: bytes, new: bytes) -> Path:
    data = p.read_bytes()
    assert old in data, old
    p.write_bytes(data.replace(old, new, 1))
    return p


def voxet_edit(pattern, repl):
    return lambda d: edit(good_voxet(d), pattern, repl)


def ubc_mesh(text):
    def build(d):
        p = d / "mesh.msh"
        p.write_text(text)
        return p
    return build


def ubc_with_model(transform):
    def build(d):
        msh = good_ubc(d)
        mod = next(d.glob("*.mod"))
        transform(mod)
        return msh
    return build


def _write(name, data):
    def build(d):
        p = d / name
        p.write_bytes(data if isinstance(data, bytes) else data.encode())
        return p
    return build


def _dir(name):
    def build(d):
        (d / name).mkdir()
        return d / name
    return build


def _missing_prop(d):
    p = good_voxet(d)
    (d / "small_density@@").unlink()
    return p


def _prop_size(delta):
    def build(d):
        p = good_voxet(d)
        f = d / "small_density@@"
        data = f.read_bytes()
        f.write_bytes(data[:delta] if delta < 0 else data + b"\0" * delta)
        return p
    return build


def _prop_is_dir(d):
    p = good_voxet(d)
    (d / "small_density@@").unlink()
    (d / "small_density@@").mkdir()
    return p


def _ascii_prop(d):
    p = edit(good_voxet(d), r"PROP_FORMAT 2 RAW", "PROP_FORMAT 2 ASCII")
    (d / "small_density@@").write_text("1.0\n" * 10 + "abc\n" + "2.0\n" * 1689)
    return p


def _not_gempy_zip(d):
    p = d / "model.zip"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("notes.txt", "hello")
    return p


def _gempy_truncated(d):
    p = d / "model.gempy"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("gempy_model.json", "{" * 2000)
    return truncate(p, 0.3)


def _flip_vti(d):
    p = good_vti(d)
    data = bytearray(p.read_bytes())
    start = data.index(b'format="binary"') + 200
    for i in range(start, start + 40):
        data[i] = ord("!")
    p.write_bytes(bytes(data))
    return p


def _vti_no_cells(d):
    g = pv.ImageData(dimensions=(1, 1, 1))
    g.point_data["v"] = np.zeros(1)
    g.save(d / "point.vti")
    return d / "point.vti"


# (id, builder, words the Error: line must name besides the file, command)
# command: "info", "convert" (IN -> out/out.vti), or a list of extra convert options
INFO, CONVERT = "info", "convert"
CASES = [
    # any file
    ("empty-vti", _write("e.vti", b""), ["empty"], INFO),
    ("empty-vo-convert", _write("e.vo", b""), ["empty"], CONVERT),
    ("empty-msh", _write("e.msh", b""), ["empty"], CONVERT),
    ("whitespace-only", _write("w.vti", b"   \n\n  \n"), ["format"], INFO),
    ("random-bytes", _write("noise.vti", bytes(np.random.default_rng(1).integers(0, 256, 3000, np.uint8))),
     ["format"], INFO),
    ("random-bytes-convert", _write("noise.dat", bytes(np.random.default_rng(2).integers(0, 256, 3000, np.uint8))),
     ["format"], CONVERT),
    ("missing-file-info", lambda d: d / "nothere.vti", ["not found"], INFO),
    ("missing-file-convert", lambda d: d / "nothere.vo", ["not found"], CONVERT),
    ("folder-as-file-info", _dir("folder.vti"), ["folder.vti"], INFO),
    ("folder-as-file-convert", _dir("folder.vo"), ["folder.vo"], CONVERT),
    # VTK ImageData (.vti)
    ("vti-truncated", lambda d: truncate(good_vti(d)), ["VTK"], INFO),
    ("vti-truncated-convert", lambda d: truncate(good_vti(d), 0.8), ["VTK"], CONVERT),
    ("vti-truncated-header", lambda d: truncate(good_vti(d), 0.05), ["VTK"], CONVERT),
    ("vti-wrong-magic", lambda d: edit_bytes(good_vti(d), b"<VTKFile", b"<VTKFilX"), ["VTK"], INFO),
    ("vti-extent-nan", lambda d: edit(good_vti(d), r'WholeExtent="[^"]*"', 'WholeExtent="0 nan 0 5 0 6"'),
     ["WholeExtent", "number"], INFO),
    ("vti-extent-huge", lambda d: edit(good_vti(d), r'WholeExtent="[^"]*"',
                                       'WholeExtent="0 100000 0 100000 0 100000"'), ["memory"], CONVERT),
    ("vti-extent-inverted", lambda d: edit(good_vti(d), r'WholeExtent="[^"]*"', 'WholeExtent="0 4 5 0 0 6"'),
     ["WholeExtent"], INFO),
    ("vti-extent-garbage", lambda d: edit(good_vti(d), r'WholeExtent="[^"]*"', 'WholeExtent="a b c"'),
     ["WholeExtent"], INFO),
    ("vti-flipped-data", _flip_vti, ["VTK"], CONVERT),
    ("vti-no-cells", _vti_no_cells, ["cells"], INFO),
    # other VTK files
    ("vtr-truncated", lambda d: truncate(good_vtr(d)), ["VTK"], INFO),
    ("vtr-truncated-convert", lambda d: truncate(good_vtr(d), 0.7), ["VTK"], CONVERT),
    ("vtr-extent-huge", lambda d: edit(good_vtr(d), r'WholeExtent="[^"]*"',
                                       'WholeExtent="0 99999 0 99999 0 99999"', count=0), ["memory"], CONVERT),
    ("vtr-extent-inf", lambda d: edit(good_vtr(d), r'WholeExtent="[^"]*"', 'WholeExtent="0 inf 0 2 0 2"', count=0),
     ["WholeExtent"], INFO),
    ("vts-truncated", lambda d: truncate(good_vts(d)), ["VTK"], INFO),
    ("vts-convert-no-grid", good_vts, ["target grid"], CONVERT),
    ("vtu-truncated", lambda d: truncate(good_vtu(d)), ["VTK"], INFO),
    ("vtu-points-garbage", lambda d: edit(good_vtu(d), r'NumberOfPoints="\d+"', 'NumberOfPoints="abc"'),
     ["NumberOfPoints"], INFO),
    ("vtu-points-huge", lambda d: edit(good_vtu(d), r'NumberOfPoints="\d+"', 'NumberOfPoints="999999999999999"'),
     ["memory"], CONVERT),
    ("vtu-convert-no-grid", good_vtu, ["target grid"], CONVERT),
    ("vtu-cell-size-tiny", good_vtu, ["memory"], ["--cell-size", "1e-4"]),
    ("vtk-legacy-truncated", lambda d: truncate(good_legacy(d), 0.4), ["VTK"], CONVERT),
    ("vtk-legacy-dims-nan", lambda d: edit(good_legacy(d), r"^DIMENSIONS .*$", "DIMENSIONS 4 nan 3"),
     ["DIMENSIONS"], INFO),
    ("vtk-legacy-dims-huge", lambda d: edit(good_legacy(d), r"^DIMENSIONS .*$", "DIMENSIONS 100000 100000 100000"),
     ["memory"], CONVERT),
    ("vtk-legacy-dims-zero", lambda d: edit(good_legacy(d), r"^DIMENSIONS .*$", "DIMENSIONS 4 0 3"),
     ["DIMENSIONS"], INFO),
    ("vtk-legacy-no-dataset", lambda d: edit(good_legacy(d), r"^DATASET .*$", ""), ["DATASET"], INFO),
    ("vtp-convert", good_vtp, ["surface"], CONVERT),
    ("vtk-xml-unknown-type", lambda d: edit(good_vtr(d), r'type="RectilinearGrid"', 'type="HyperTreeGrid"'),
     ["HyperTreeGrid"], INFO),
    # GOCAD voxet header
    ("voxet-etype-foo", voxet_edit(r"PROP_ETYPE 1 .*$", "PROP_ETYPE 1 FOO"), ["PROP_ETYPE", "FOO"], INFO),
    ("voxet-offset-garbage", voxet_edit(r"PROP_OFFSET 1 .*$", "PROP_OFFSET 1 abc"), ["PROP_OFFSET", "number"], INFO),
    ("voxet-offset-negative", voxet_edit(r"PROP_OFFSET 1 .*$", "PROP_OFFSET 1 -8"), ["PROP_OFFSET"], CONVERT),
    ("voxet-offset-fraction", voxet_edit(r"PROP_OFFSET 2 .*$", "PROP_OFFSET 2 0.5"), ["PROP_OFFSET"], INFO),
    ("voxet-axis-n-1e400", voxet_edit(r"^AXIS_N .*$", "AXIS_N 1e400 17 10"), ["AXIS_N", "finite"], INFO),
    ("voxet-axis-n-huge", voxet_edit(r"^AXIS_N .*$", "AXIS_N 100000 100000 100000"),
     ["AXIS_N", "1,000,000,000,000,000 cells", "PiB"], INFO),
    ("voxet-axis-n-zero", voxet_edit(r"^AXIS_N .*$", "AXIS_N 10 0 10"), ["AXIS_N"], INFO),
    ("voxet-axis-n-fraction", voxet_edit(r"^AXIS_N .*$", "AXIS_N 10 17.5 10"), ["AXIS_N", "whole"], CONVERT),
    ("voxet-axis-n-two-numbers", voxet_edit(r"^AXIS_N .*$", "AXIS_N 10 17"), ["AXIS_N", "3 numbers"], INFO),
    ("voxet-axis-n-missing", voxet_edit(r"^AXIS_N .*$", ""), ["AXIS_N"], INFO),
    ("voxet-axis-o-nan", voxet_edit(r"^AXIS_O .*$", "AXIS_O nan 6863000 -40000"), ["AXIS_O", "finite"], INFO),
    ("voxet-axis-o-inf", voxet_edit(r"^AXIS_O .*$", "AXIS_O 696000 inf -40000"), ["AXIS_O", "finite"], CONVERT),
    ("voxet-axis-u-garbage", voxet_edit(r"^AXIS_U .*$", "AXIS_U 51000 zero 0"), ["AXIS_U", "number"], INFO),
    ("voxet-axis-u-zero", voxet_edit(r"^AXIS_U .*$", "AXIS_U 0 0 0"), ["AXIS_U", "zero"], INFO),
    ("voxet-axis-overflow", lambda d: edit(voxet_edit(r"^AXIS_U .*$", "AXIS_U 1e308 0 0")(d), r"^AXIS_O .*$",
                                            "AXIS_O 1.79e308 6863000 -40000"), ["AXIS_U", "large"], CONVERT),
    # a rotated voxet is read and resampled (io/gocad_multi.py, tests/io/test_gocad_multi.py), not refused;
    # a degenerate one (two axes parallel) is refused
    ("voxet-degenerate-axes", voxet_edit(r"^AXIS_V .*$", "AXIS_V 36000 0 0"), ["small.vo"], INFO),
    ("voxet-axis-min-nan", voxet_edit(r"^AXIS_MIN .*$", "AXIS_MIN 0 nan 0"), ["AXIS_MIN"], INFO),
    ("voxet-esize-3", voxet_edit(r"PROP_ESIZE 2 .*$", "PROP_ESIZE 2 3"), ["PROP_ESIZE"], INFO),
    ("voxet-format-foo", voxet_edit(r"PROP_FORMAT 1 .*$", "PROP_FORMAT 1 ZIP"), ["PROP_FORMAT"], INFO),
    ("voxet-no-data-garbage", voxet_edit(r"PROP_NO_DATA_VALUE 1 .*$", "PROP_NO_DATA_VALUE 1 none"),
     ["PROP_NO_DATA_VALUE"], INFO),
    ("voxet-signed-maybe", voxet_edit(r"PROP_SIGNED 1 .*$", "PROP_SIGNED 1 maybe"), ["PROP_SIGNED"], INFO),
    ("voxet-zpositive-sideways", voxet_edit(r"^ZPOSITIVE .*$", "ZPOSITIVE Sideways"), ["ZPOSITIVE"], INFO),
    ("voxet-property-index-garbage", voxet_edit(r"^PROPERTY 2 ", "PROPERTY two "), ["PROPERTY"], INFO),
    ("voxet-no-property", lambda d: edit(good_voxet(d), r"^PROP.*$", "", count=0), ["PROPERTY"], INFO),
    ("voxet-header-truncated", lambda d: truncate(good_voxet(d), 0.3), ["PROP_FILE"], CONVERT),
    ("voxet-header-cut-early", lambda d: truncate(good_voxet(d), 0.2), ["PROPERTY"], INFO),
    ("voxet-missing-property-file", _missing_prop, ["small_density@@", "missing"], INFO),
    ("voxet-property-file-short", _prop_size(-100), ["bytes"], INFO),
    ("voxet-property-file-long", _prop_size(4), ["bytes"], CONVERT),
    ("voxet-property-file-is-folder", _prop_is_dir, ["small_density@@"], INFO),
    ("voxet-ascii-property-garbage", _ascii_prop, ["ASCII", "small_density@@"], INFO),
    ("voxet-cell-size-tiny", good_voxet, ["memory"], ["--cell-size", "0.01"]),
    ("voxet-cell-size-zero", good_voxet, ["cell-size"], ["--cell-size", "0"], "--cell-size"),
    ("voxet-cell-size-negative", good_voxet, ["cell-size"], ["--cell-size", "-5"], "--cell-size"),
    ("voxet-cell-size-nan", good_voxet, ["cell-size"], ["--cell-size", "nan"], "--cell-size"),
    # GOCAD TSurf
    ("tsurf-vrtx-garbage", lambda d: edit(good_tsurf(d), r"^VRTX 2 .*$", "VRTX 2 10 zero 0"), ["VRTX"], INFO),
    ("tsurf-vrtx-nan", lambda d: edit(good_tsurf(d), r"^VRTX 2 .*$", "VRTX 2 10 nan 0"), ["VRTX"], INFO),
    ("tsurf-undefined-vertex", lambda d: edit(good_tsurf(d), r"^TRGL 1 2 3$", "TRGL 1 2 99"), ["vertex 99"], INFO),
    ("tsurf-no-end", lambda d: edit(good_tsurf(d), r"^END$", ""), ["END"], INFO),
    ("tsurf-no-triangles", lambda d: edit(good_tsurf(d), r"^TRGL.*$", "", count=0), ["TRGL"], INFO),
    ("tsurf-truncated-real", lambda d: truncate(Path(shutil.copy(SHARED / "do27_kimberlite" / "PK2.ts", d)), 0.5),
     ["PK2.ts"], INFO),
    ("tsurf-pline", _write("line.ts", "GOCAD PLine 1\nHEADER {\nname: l\n}\nEND\n"), ["PLine"], INFO),
    ("tsurf-convert", good_tsurf, ["mesh"], CONVERT),
    # UBC-GIF mesh and model
    ("ubc-origin-garbage", ubc_mesh("4 5 6\n1000 north 0\n4*10\n5*10\n6*5\n"), ["origin", "north"], INFO),
    ("ubc-origin-inf", ubc_mesh("4 5 6\n1000 inf 0\n4*10\n5*10\n6*5\n"), ["origin", "finite"], CONVERT),
    ("ubc-count-zero", ubc_mesh("4 0 6\n1000 2000 0\n4*10\n\n6*5\n"), ["cell counts"], INFO),
    ("ubc-count-garbage", ubc_mesh("4 five 6\n1000 2000 0\n4*10\n5*10\n6*5\n"), ["cell counts"], INFO),
    ("ubc-too-few-widths", ubc_mesh("4 5 6\n1000 2000 0\n4*10\n5*10\n5*5\n"), ["widths", "truncated"], INFO),
    ("ubc-too-many-widths", ubc_mesh("4 5 6\n1000 2000 0\n4*10\n5*10\n7*5\n"), ["widths"], CONVERT),
    ("ubc-width-garbage", ubc_mesh("4 5 6\n1000 2000 0\n4*10\n5*ten\n6*5\n"), ["widths"], INFO),
    ("ubc-width-negative", ubc_mesh("4 5 6\n1000 2000 0\n4*10\n5*-10\n6*5\n"), ["widths"], INFO),
    ("ubc-repeat-huge", ubc_mesh("4 5 6\n1000 2000 0\n999999999999*10\n5*10\n6*5\n"), ["widths"], INFO),
    ("ubc-counts-huge", ubc_mesh("100000 100000 100000\n0 0 0\n100000*10\n100000*10\n100000*10\n"),
     ["memory"], INFO),
    ("ubc-truncated", lambda d: truncate(good_ubc(d), 0.5), ["mesh.msh"], INFO),
    ("ubc-model-short", ubc_with_model(lambda m: truncate(m, 0.5)), ["values", "truncated"], INFO, "mesh_density.mod"),
    ("ubc-model-garbage", ubc_with_model(lambda m: edit(m, r"^.*$", "dense")), ["number"], CONVERT,
     "mesh_density.mod"),
    ("ubc-model-alone", lambda d: next(iter([good_ubc(d), *d.glob("*.mod")][1:])), ["model"], INFO),
    # GeoTIFF, gempy archives, project files
    ("tif-truncated", lambda d: truncate(good_tif(d), 0.5), ["slices.tif"], INFO),
    ("tif-convert", good_tif, ["geotiff"], CONVERT),
    ("tif-magic-only", _write("bad.tif", b"II*\x00" + b"\x00" * 60), ["bad.tif"], INFO),
    ("gempy-truncated", _gempy_truncated, ["zip"], INFO),
    ("zip-not-gempy", _not_gempy_zip, ["gempy"], CONVERT),
    ("toml-invalid", _write("project.toml", "[grid]\norigin = [1, 2\n"), ["TOML"], INFO),
]


def _args(case, src: Path, out: Path):
    cmd = case[3]
    if cmd == INFO:
        return ["info", src]
    extra = [] if cmd == CONVERT else cmd
    return ["convert", src, out, *extra]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_file_is_refused(case, tmp_path, refused):
    indir = tmp_path / "in"
    indir.mkdir()
    src = case[1](indir)
    out = tmp_path / "out" / "out.vti"
    named = case[4] if len(case) > 4 else Path(src).name
    line = refused(_args(case, src, out), mentions=[named, *case[2]],
                   inputs=[indir], outputs=[out, Path(f"{out}.report.json"), tmp_path / "out"])
    assert "out.vti" not in line or case[3] != INFO


def test_table_covers_every_reader():
    assert len(CASES) >= 70
    kinds = {c[0].split("-")[0] for c in CASES}
    for reader in ("vti", "vtr", "vts", "vtu", "vtk", "vtp", "voxet", "tsurf", "ubc", "tif", "gempy", "toml"):
        assert reader in kinds, reader


# -- outputs that would replace what an input uses ---------------------------------------
def test_convert_refuses_output_named_like_the_inputs_property_files(tmp_path, refused):
    """orig.vo is small.vo's header: its property files are small_*@@, exactly what
    writing small.vo would create."""
    good_voxet(tmp_path)
    shutil.copy(tmp_path / "small.vo", tmp_path / "orig.vo")
    (tmp_path / "small.vo").unlink()
    inputs = [p for p in tmp_path.iterdir()]
    refused(["convert", tmp_path / "orig.vo", tmp_path / "small.vo"],
            mentions=["small.vo", "small_lithology@@", "orig.vo"], inputs=inputs,
            outputs=[tmp_path / "small.vo", tmp_path / "small.vo.report.json"])


def test_convert_refuses_output_whose_model_is_the_inputs_model(tmp_path, refused):
    good_ubc(tmp_path)
    (tmp_path / "mesh_density.mod").rename(tmp_path / "out_density.mod")
    refused(["convert", tmp_path / "mesh.msh", tmp_path / "out.msh"],
            mentions=["out.msh", "out_density.mod"], inputs=[tmp_path / "mesh.msh", tmp_path / "out_density.mod"],
            outputs=[tmp_path / "out.msh", tmp_path / "out.msh.report.json"])


def test_convert_refuses_an_output_that_is_the_input(tmp_path, refused):
    p = good_vti(tmp_path)
    refused(["convert", p, p], mentions=["good.vti", "input"], inputs=[p])


def test_convert_refuses_unknown_output_suffix_before_reading(tmp_path, refused):
    p = good_vti(tmp_path)
    refused(["convert", p, tmp_path / "o.xyz"], mentions=["o.xyz", "writer"], inputs=[p],
            outputs=[tmp_path / "o.xyz", tmp_path / "o.xyz.report.json"])
