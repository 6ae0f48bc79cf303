"""The ``type = "drillholes"`` input of a project file: its keys, checked."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from voxprospect.io.drillhole_tables import COLUMN_ALIASES, DIP_CONVENTIONS, OVERLAP_POLICIES

# -- project files ------------------------------------------------------------------------

#: Keys of an ``[inputs.<name>]`` table with ``type = "drillholes"``.
PROJECT_KEYS = ("type", "description", "collar", "survey", "lithology", "assay", "columns", "crs", "overlaps",
                "dip_convention", "azimuth_offset_deg", "lithology_column", "extra_columns", "ignore_codes",
                "search_radius_m", "anisotropy", "grade_column", "cutoff", "topography", "restrict_to_logged",
                "step_m", "cell_size", "bounds", "cap_at_length", "data_reach_m")
_PROJECT_FILES = ("collar", "survey", "lithology", "assay")


def parse_project_input(project_path, name: str, table: Mapping) -> dict:
    """Validate a ``type = "drillholes"`` input of a project file.

    Parameters
    ----------
    project_path : Path
        The project file (paths are relative to its folder).
    name : str
        The input's name (``[inputs.<name>]``).
    table : mapping
        The input's table as parsed from TOML.

    Returns
    -------
    dict
        The settings with file paths resolved (``collar``, ``survey``, ``lithology``,
        ``assay``) and defaults filled in; :func:`load_project_input` takes it.

    Raises
    ------
    ProjectFileError
        Unknown key, wrong type, missing collar table, or a file that does not exist;
        the message names the project file and the key.
    """
    from voxprospect.errors import ProjectFileError

    project_path = Path(project_path)
    where = f"inputs.{name}"

    def fail(key, problem):
        raise ProjectFileError(project_path, f"{where}.{key}: {problem}" if key else f"{where}: {problem}")

    _check_known_keys(table, fail)
    out = {"type": "drillholes", **_resolve_files(table, project_path, fail)}

    def get(key, types, default, check=None, what=""):
        if key not in table:
            return default
        v = table[key]
        allowed = types if isinstance(types, tuple) else (types,)
        if (isinstance(v, bool) and bool not in allowed) or not isinstance(v, allowed):
            fail(key, f"must be {what}, got {v!r}")
        if check is not None and not check(v):
            fail(key, f"must be {what}, got {v!r}")
        return v

    num = (int, float)
    three = lambda v: len(v) == 3 and all(isinstance(x, num) and not isinstance(x, bool) and x > 0 for x in v)
    out["columns"] = dict(get("columns", dict, {}, lambda v: all(isinstance(x, str) for x in v.values()),
                              "a table of role = \"column name\""))
    unknown_roles = set(out["columns"]) - set(COLUMN_ALIASES)
    if unknown_roles:
        fail("columns", f"unknown roles {', '.join(sorted(unknown_roles))}; roles are: {', '.join(COLUMN_ALIASES)}")
    out["crs"] = get("crs", (str, int), None, what="an EPSG code or \"EPSG:n\"")
    if out["crs"] is not None:
        from voxprospect.errors import VoxprospectError
        from voxprospect.io.crs import check_crs
        try:
            out["crs"] = check_crs(out["crs"])
        except VoxprospectError as e:
            fail("crs", str(e))
    out["overlaps"] = get("overlaps", str, "error", lambda v: v in OVERLAP_POLICIES,
                          f"one of {', '.join(OVERLAP_POLICIES)}")
    out["dip_convention"] = get("dip_convention", str, "negative_down", lambda v: v in DIP_CONVENTIONS,
                                f"one of {', '.join(DIP_CONVENTIONS)}")
    out["azimuth_offset_deg"] = float(get("azimuth_offset_deg", num, 0.0, what="a number"))
    out["lithology_column"] = get("lithology_column", str, "rock code", what="a column name")
    out["extra_columns"] = dict(get("extra_columns", dict, {}, lambda v: all(isinstance(x, str) for x in v.values()),
                                    "a table of layer = \"column name\""))
    out["ignore_codes"] = list(get("ignore_codes", list, [], lambda v: all(isinstance(x, str) for x in v),
                                   "a list of codes"))
    out["search_radius_m"] = float(get("search_radius_m", num, 200.0, lambda v: v > 0, "a positive number"))
    out["anisotropy"] = list(get("anisotropy", list, [1.0, 1.0, 1.0], three, "three positive ratios"))
    out["grade_column"] = get("grade_column", str, None, what="a column name")
    out["cutoff"] = get("cutoff", num, None, what="a number")
    if (out["cutoff"] is None) != (out["grade_column"] is None):
        fail("cutoff", "grade_column and cutoff go together (the positives are grade_column >= cutoff)")
    if out["cutoff"] is not None and out["assay"] is None:
        fail("assay", "a cut-off needs the assay table")
    if out["lithology"] is None:
        fail("lithology", "missing required key (the lithology log the layers are filled from)")
    out["topography"] = get("topography", str, "collars", lambda v: v in ("collars", "none"),
                            "\"collars\" or \"none\"")
    out["restrict_to_logged"] = get("restrict_to_logged", bool, True, what="true or false")
    out["step_m"] = get("step_m", num, None, lambda v: v > 0, "a positive number")
    out["cell_size"] = get("cell_size", list, None, three, "three positive numbers")
    out["bounds"] = get("bounds", list, None, lambda v: len(v) == 6 and all(isinstance(x, num) for x in v),
                        "six numbers [xmin, xmax, ymin, ymax, zmin, zmax]")
    _optional_keys(out, get, fail, num)
    return out


def _check_known_keys(table: Mapping, fail) -> None:
    """Every key a drillholes input takes, or one error naming the closest."""
    import difflib

    for key in table:
        if key not in PROJECT_KEYS:
            close = difflib.get_close_matches(str(key), PROJECT_KEYS, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            fail(key, f"unknown key{hint}; a drillholes input takes: {', '.join(PROJECT_KEYS)}")


def _resolve_files(table: Mapping, project_path: Path, fail) -> dict:
    """The collar (required), survey, lithology and assay tables, resolved beside the project file."""
    out = {}
    for key in _PROJECT_FILES:
        if key not in table:
            if key == "collar":
                fail(key, "missing required key (the collar table)")
            out[key] = None
            continue
        if not isinstance(table[key], str):
            fail(key, f"must be a path (string), got {table[key]!r}")
        p = Path(table[key]).expanduser()
        p = (p if p.is_absolute() else project_path.parent / p).resolve()
        if not p.exists():
            fail(key, f"file not found: {p}")
        out[key] = p
    return out


def _optional_keys(out, get, fail, num) -> None:
    """``description``, ``cap_at_length`` and ``data_reach_m`` (at most the search radius: no lithology is
    filled beyond it)."""
    out["description"] = get("description", str, None, what="a string")
    out["cap_at_length"] = get("cap_at_length", bool, False, what="true or false")
    out["data_reach_m"] = get("data_reach_m", num, None, lambda v: v > 0, "a positive number")
    if out["data_reach_m"] is not None and out["data_reach_m"] > out["search_radius_m"]:
        fail("data_reach_m", f"{out['data_reach_m']:g} m is beyond search_radius_m ({out['search_radius_m']:g} m): "
                             "the lithology is filled no farther, so evidence there is unknown")


def project_input_files(settings: Mapping) -> list[Path]:
    """The files a drillholes input reads (for reports and the never-overwrite check)."""
    return [settings[k] for k in _PROJECT_FILES if settings.get(k) is not None]

