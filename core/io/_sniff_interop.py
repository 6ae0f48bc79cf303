"""Content sniffing for the interoperability formats (LoopStructural, geoh5, OMF,
OcTree meshes, pickles). Called from :func:`voxprospect.io.sniff_format` before the
plain-text rules, because a UBC OcTree mesh starts like a tensor mesh."""

from __future__ import annotations

from pathlib import Path

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
OMF_MAGIC = b"\x84\x83\x82\x81"  # omf 1.x: 0x81828384 written little-endian


def sniff_interop(text: str, path) -> str | None:
    """Format name for ``text`` (the file's first 4 KiB decoded as latin-1), or None."""
    head = text.encode("latin-1")
    if head.startswith(HDF5_MAGIC):
        return _sniff_hdf5(Path(path))
    if head.startswith(OMF_MAGIC):
        return "omf"
    # pickle protocols 2-5 start with PROTO (0x80) and the protocol number
    if len(head) > 1 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "pickle"
    stripped = text.lstrip()
    if stripped.startswith("{") and '"LoopStructural.GeologicalModelRecipe"' in text:
        return "loopstructural-recipe"
    if _looks_like_octree(text):
        return "ubc-octree"
    return None


def _sniff_hdf5(p: Path) -> str:
    """geoh5 workspaces are HDF5 files whose root holds a ``GEOSCIENCE`` group."""
    try:
        import h5py
    except ImportError:
        return "geoh5" if p.suffix.lower() == ".geoh5" else "hdf5"
    try:
        with h5py.File(p, "r") as f:
            return "geoh5" if "GEOSCIENCE" in f else "hdf5"
    except OSError:
        return "hdf5"


def _looks_like_octree(text: str) -> bool:
    """UBC OcTree mesh: ``nx ny nz`` / ``x0 y0 z0`` / ``hx hy hz`` / ``ncells``, then
    ``i j k size`` rows (integers). A tensor mesh's fourth line is y widths, never
    followed by four-integer rows."""
    lines = [ln.split("!")[0].strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    if len(lines) < 5:
        return False
    try:
        n = [int(v) for v in lines[0].split()]
        [float(v) for v in lines[1].split()]
        h = [float(v) for v in lines[2].split()]
        count = lines[3].split()
        if len(n) != 3 or len(h) != 3 or len(count) != 1 or int(count[0]) <= 0:
            return False
        rows = lines[4:-1] if len(lines) > 5 else lines[4:]
        return bool(rows) and all(len(r.split()) == 4 and all(t.lstrip("-").isdigit() for t in r.split())
                                  for r in rows[:20])
    except ValueError:
        return False
