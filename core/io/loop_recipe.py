"""The features of a LoopStructural recipe, faults included, checked and rebuilt.

LoopStructural's own ``GeologicalModel.from_recipe_dict`` rebuilds every feature of a
recipe as a plain foliation, so a fault in a recipe would silently become a smooth
surface. voxprospect reads the recipe's box, data and stratigraphic column through
LoopStructural and builds the features itself, through LoopStructural's own
``create_and_add_fault`` and ``create_and_add_foliation``, from an extended feature
entry (``docs/formats.md``, "LoopStructural"):

- a foliation: ``name``, ``kind: "foliation"``, ``faults`` (the faults that cut it, as
  ``save_recipe`` writes them), optional ``nelements`` and ``interpolatortype``;
- a fault: ``name``, ``kind: "fault"``, ``displacement`` (required: a recipe written by
  LoopStructural keeps no fault parameters), optional ``cuts`` (the features it
  offsets, merged with their ``faults`` lists), ``faults`` (older faults that offset
  this one), and the geometry parameters of ``create_and_add_fault`` listed in
  :data:`FAULT_PARAMETERS`.

Everything is checked before LoopStructural runs, so a bad recipe is one
:class:`~voxprospect.errors.InputFileError` that names the file, the feature and the
problem. Features are built oldest fault first: every fault before the features it
cuts, otherwise in recipe order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from voxprospect.errors import InputFileError

#: keys every feature entry may have (``save_recipe`` writes these)
COMMON_KEYS = ("name", "kind", "faults", "regions")


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _positive(v) -> bool:
    return _number(v) and v > 0


def _non_negative(v) -> bool:
    return _number(v) and v >= 0


def _vector(v) -> bool:
    return isinstance(v, list) and len(v) == 3 and all(map(_number, v))


def _direction(v) -> bool:
    return _vector(v) and any(x != 0 for x in v)


def _count(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


def _interpolator(v) -> bool:
    return isinstance(v, str) and v in interpolator_names()


#: optional keys of a fault entry -> (check, what a valid value is); all but ``cuts``
#: are passed to ``GeologicalModel.create_and_add_fault`` under the same name
FAULT_PARAMETERS = {
    "fault_slip_vector": (_direction, "a non-zero [x, y, z] vector"),
    "fault_normal_vector": (_direction, "a non-zero [x, y, z] vector"),
    "fault_center": (_vector, "an [x, y, z] point in the model's coordinates"),
    "major_axis": (_positive, "a length > 0 (the fault's extent along strike)"),
    "minor_axis": (_positive, "a length > 0 (how far from the fault the displacement reaches)"),
    "intermediate_axis": (_positive, "a length > 0 (the fault's extent down dip)"),
    "fault_buffer": (_non_negative, "a number >= 0 (the fault frame's margin, a fraction of the box)"),
    "fault_dip": (_number, "an angle in degrees"),
    "fault_pitch": (_number, "an angle in degrees"),
    "fault_trace_anisotropy": (_non_negative, "a number >= 0"),
    "fault_dip_anisotropy": (_non_negative, "a number >= 0"),
    "nelements": (_count, "a whole number > 0"),
    "interpolatortype": (_interpolator, "one of LoopStructural's interpolators"),
}
#: optional keys of a foliation entry
FOLIATION_PARAMETERS = {k: FAULT_PARAMETERS[k] for k in ("nelements", "interpolatortype")}


def interpolator_names() -> list[str]:
    """The interpolator names LoopStructural accepts (``FDI``, ``PLI``, ...)."""
    try:
        from LoopStructural.interpolators import interpolator_string_map
    except ImportError:  # an older LoopStructural: accept its usual names
        return ["FDI", "PLI", "P1", "P2", "surfe"]
    return list(interpolator_string_map)


@dataclass
class FeatureSpec:
    """One feature of a recipe, checked: what to build and with which faults."""

    name: str
    kind: str  # "fault" or "foliation"
    faults: list[str] = field(default_factory=list)
    params: dict = field(default_factory=dict)
    displacement: float | None = None


def _names(value, path, what) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputFileError(path, f"{what} must be a list of feature names, not {value!r}")
    return list(dict.fromkeys(value))


def _check_entry(entry, index, path) -> tuple[FeatureSpec, list[str]]:
    """One entry -> its spec and the names in its ``cuts`` list (faults only)."""
    if not isinstance(entry, dict):
        raise InputFileError(path, f"recipe feature {index + 1} is not an object: {entry!r}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InputFileError(path, f"recipe feature {index + 1} has no name")
    kind = entry.get("kind", "foliation")
    if kind == "structural_frame":
        raise InputFileError(path, f"feature {name} (structural_frame): a recipe does not say whether a "
                             "structural frame is a fault or a fold frame; if it is a fault, set \"kind\": "
                             "\"fault\" and give its \"displacement\" (docs/formats.md, LoopStructural)")
    if kind not in ("fault", "foliation"):
        raise InputFileError(path, f"feature {name} ({kind}): only foliations and faults are rebuilt from a "
                             "recipe; folds and unconformities would come back wrong, so evaluate such a "
                             "model in memory instead (voxprospect.io.loop.compute_loop_model_on_grid)")
    allowed = FAULT_PARAMETERS if kind == "fault" else FOLIATION_PARAMETERS
    known = (*COMMON_KEYS, *allowed, *(("displacement", "cuts") if kind == "fault" else ()))
    unknown = [k for k in entry if k not in known]
    if unknown:
        raise InputFileError(path, f"{kind} {name} has unknown key(s) {', '.join(map(repr, unknown))}; a "
                             f"{kind} entry takes {', '.join(known)}")
    if entry.get("regions"):
        raise InputFileError(path, f"{kind} {name} has regions {entry['regions']!r}, which a recipe cannot "
                             "rebuild; remove them or evaluate the model in memory")
    params = {}
    for key, (ok, what) in allowed.items():
        if key in entry:
            if not ok(entry[key]):
                raise InputFileError(path, f"{kind} {name}: {key} must be {what}, not {entry[key]!r}")
            params[key] = entry[key]
    spec = FeatureSpec(name, kind, _names(entry.get("faults"), path, f"the faults of {kind} {name}"), params)
    cuts = []
    if kind == "fault":
        if "displacement" not in entry:
            raise InputFileError(path, f"fault {name} has no displacement; LoopStructural's recipe keeps none, "
                                 "so add \"displacement\": metres of slip (negative reverses the sense)")
        if not _number(entry["displacement"]):
            raise InputFileError(path, f"fault {name}: displacement must be a finite number of metres, "
                                 f"not {entry['displacement']!r}")
        spec.displacement = float(entry["displacement"])
        cuts = _names(entry.get("cuts"), path, f"the cuts of fault {name}")
    return spec, cuts


def plan_features(entries, path) -> list[FeatureSpec]:
    """Check a recipe's ``features`` list and order it for building.

    Returns the features in build order: each with the full list of faults that cut it
    (its own ``faults`` plus every fault whose ``cuts`` names it), each fault before the
    features it cuts, otherwise in recipe order.

    Raises
    ------
    InputFileError
        On an unknown kind or key, an invalid or missing parameter, a duplicate name, a
        fault list naming a feature that is not a fault of the recipe, a ``cuts`` list
        naming a feature the recipe lacks, or faults that cut each other in a circle.
    """
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise InputFileError(path, "the recipe's \"features\" must be a list")
    specs: dict[str, FeatureSpec] = {}
    cuts: dict[str, list[str]] = {}
    for i, entry in enumerate(entries):
        spec, cut = _check_entry(entry, i, path)
        if spec.name in specs:
            raise InputFileError(path, f"the recipe defines feature {spec.name} twice")
        specs[spec.name] = spec
        cuts[spec.name] = cut
    listing = ", ".join(specs) or "none"
    for fault, targets in cuts.items():
        for target in targets:
            if target not in specs:
                raise InputFileError(path, f"fault {fault} cuts {target!r}, which the recipe does not define "
                                     f"(its features: {listing})")
            if target == fault:
                raise InputFileError(path, f"fault {fault} cuts itself")
            if fault not in specs[target].faults:
                specs[target].faults.append(fault)
    for spec in specs.values():
        for f in spec.faults:
            if f == spec.name:
                raise InputFileError(path, f"{spec.kind} {spec.name} lists itself among its faults")
            if f not in specs:
                raise InputFileError(path, f"{spec.kind} {spec.name} is cut by fault {f!r}, which the recipe "
                                     f"does not define (its features: {listing})")
            if specs[f].kind != "fault":
                raise InputFileError(path, f"{spec.kind} {spec.name} lists {f} among its faults, but {f} is a "
                                     "foliation, not a fault")
    cut = {f for spec in specs.values() for f in spec.faults}
    idle = [s.name for s in specs.values() if s.kind == "fault" and s.name not in cut]
    if idle:
        raise InputFileError(path, f"fault {idle[0]} cuts no feature; name the features it offsets in its "
                             "\"cuts\" list (or the fault in their \"faults\" lists)")
    return _build_order(specs, path)


def _build_order(specs: dict[str, FeatureSpec], path) -> list[FeatureSpec]:
    order: list[FeatureSpec] = []
    state: dict[str, int] = {}  # 1 = being placed, 2 = placed

    def place(name, chain):
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            loop = " -> ".join([*chain[chain.index(name):], name])
            raise InputFileError(path, f"faults cut each other in a circle ({loop}); LoopStructural builds "
                                 "each fault before the features it cuts")
        state[name] = 1
        for f in specs[name].faults:
            place(f, [*chain, name])
        state[name] = 2
        order.append(specs[name])

    for name in specs:
        place(name, [])
    return order


def check_bounding_box(box, path) -> None:
    """A recipe's ``bounding_box`` needs ``origin`` and ``maximum`` (x, y, z, maximum
    above origin) and ``nsteps`` (three counts), as LoopStructural's ``BoundingBox.from_dict``."""
    if not isinstance(box, dict):
        raise InputFileError(path, "the recipe has no \"bounding_box\" object (origin, maximum, nsteps)")
    missing = [k for k in ("origin", "maximum", "nsteps") if k not in box]
    if missing:
        raise InputFileError(path, f"the recipe's bounding_box has no {', '.join(missing)} (LoopStructural "
                             "needs origin, maximum and nsteps, e.g. \"nsteps\": [50, 50, 25])")
    for key in ("origin", "maximum"):
        if not _vector(box[key]):
            raise InputFileError(path, f"the recipe's bounding_box {key} must be [x, y, z], not {box[key]!r}")
    if not (isinstance(box["nsteps"], list) and len(box["nsteps"]) == 3 and all(map(_count, box["nsteps"]))):
        raise InputFileError(path, f"the recipe's bounding_box nsteps must be three whole numbers > 0, "
                             f"not {box['nsteps']!r}")
    if not all(hi > lo for lo, hi in zip(box["origin"], box["maximum"])):
        raise InputFileError(path, f"the recipe's bounding_box maximum {box['maximum']} is not above its "
                             f"origin {box['origin']} on every axis")


def check_fault_data(data, plan: list[FeatureSpec], path) -> None:
    """Every feature needs rows in the recipe's data; a fault needs points on its surface.

    ``data`` is the model's data frame (LoopStructural's columns ``X, Y, Z, val,
    feature_name``, ...). LoopStructural skips a fault without data with only a log
    line, and places a fault by its points of value 0 (its trace).
    """
    has_names = data is not None and "feature_name" in getattr(data, "columns", ())
    for spec in plan:
        rows = data.loc[data["feature_name"] == spec.name] if has_names else None
        if rows is None or rows.empty:
            raise InputFileError(path, f"{spec.kind} {spec.name} has no data: no row of the recipe's data has "
                                 f"feature_name {spec.name!r}")
        if spec.kind == "fault":
            on_surface = False
            if "val" in rows.columns:
                mask = rows["val"] == 0
                if "coord" in rows.columns:  # coord 1 and 2 rows constrain the slip and the extent
                    mask &= rows["coord"].fillna(0) == 0
                on_surface = bool(mask.any())
            if not on_surface:
                raise InputFileError(path, f"fault {spec.name} has no points on the fault surface (rows with "
                                     f"feature_name {spec.name!r} and val 0); LoopStructural places a fault by them")


def build_features(model, plan: list[FeatureSpec], path) -> None:
    """Add the planned features to ``model`` through LoopStructural's own builders.

    Raises
    ------
    InputFileError
        Naming the feature, when LoopStructural fails on it or builds nothing.
    """
    for spec in plan:
        faults = list(spec.faults)
        try:
            if spec.kind == "fault":
                built = model.create_and_add_fault(spec.name, spec.displacement, faults=faults, **spec.params)
            else:
                built = model.create_and_add_foliation(spec.name, faults=faults, **spec.params)
        except Exception as e:  # LoopStructural raises assorted errors on ill-posed features
            raise InputFileError(path, f"LoopStructural cannot build {spec.kind} {spec.name} "
                                 f"({type(e).__name__}: {e})") from None
        if built is None:
            raise InputFileError(path, f"LoopStructural built nothing for {spec.kind} {spec.name} "
                                 "(see its data in the recipe)")
