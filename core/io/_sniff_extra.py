"""Content sniffing for plain-text formats without a magic header."""

from __future__ import annotations

import re


def sniff_text(text: str, path) -> str | None:
    from voxprospect.io._sniff_interop import sniff_interop
    fmt = sniff_interop(text, path)
    if fmt:
        return fmt
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return None
    # UBC-GIF tensor mesh: first line "nx ny nz", second "x0 y0 z0", then widths
    # (possibly as "n*w" repeats).
    # Recognised by its first line alone (three whole numbers; or three words in a .msh
    # file), so a broken count, origin or width is reported by the mesh reader, which
    # names the field, instead of "unrecognised format".
    first = lines[0].split("!")[0].split()
    if len(lines) >= 2 and len(first) == 3 and all(re.fullmatch(r"[+-]?\d+", v) for v in first):
        return "ubc-mesh"
    if str(path).lower().endswith(".msh") and len(first) == 3:
        return "ubc-mesh"
    # UBC-GIF model: one number per line (NaN/air allowed), no header
    if len(lines) >= 3 and all(_is_number(ln) for ln in lines[:-1][:50]):
        return "ubc-model"
    first = lines[0]
    # a TOML file may open with comments (the project files synth writes do)
    code = [ln for ln in lines if not ln.startswith("#")]
    if code and (re.match(r"^\s*\[[A-Za-z_][\w.\-]*\]\s*$", code[0]) or re.match(r"^\s*[A-Za-z_]\w*\s*=", code[0])):
        return "toml"
    if "," in first and len(lines) > 1 and first.count(",") == lines[1].count(","):
        return "csv"
    return None


def _is_number(token: str) -> bool:
    try:
        float(token)
        return True
    except ValueError:
        return False
