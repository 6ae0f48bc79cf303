"""The built-in synthetic district: a Wulong-like intrusion-related gold district.

A district to run the whole pipeline on when a user has no data yet, with a known
answer. Its geology is a real gempy model computed on our grid
(:func:`voxprospect.io.gempy_model.compute_geomodel_on_grid`):

- Paleoproterozoic Liaohe Group strata (Lieryu leptynite, Dashiqiao marble,
  Gaixian phyllite) folded into a gentle NE-trending anticline over Archean gneiss;
- a Late Jurassic granite batholith (a gempy erosive group shaped as a cupola);
- an Early Cretaceous granodiorite stock (a younger erosive cupola);
- NE-NNE-striking faults F_NE1, F_NE2 and a NW-striking fault F_NW1 (gempy fault
  groups offsetting the strata and the granite; normal throws learned by gempy
  from offset contact points);
- Early Cretaceous NE-NNE dykes: tabular bodies added onto gempy's lithology
  (gempy has no tabular-intrusion primitive; each dyke is a plane with a width,
  a strike length and a depth range).

The evidence explains the mineralisation only in part (a benchmark a trivial score
cannot win):

- a hidden mineral system decides where ore forms: nonlinear, 3D-contextual controls
  (NE-NNE faults, strongest in their hanging walls, near the granodiorite's contact
  and above its roof; NE x NW fault intersections; dykes; a depth window; reactive
  hosts) plus a correlated random field with a stated correlation length
  (:data:`HIDDEN_CORRELATION_M`) and noise that no evidence sees;
- density, susceptibility and resistivity come from unit properties and alteration
  halos around every fault and the intrusions' aureoles (with their own correlated
  variation), smoothed like an inversion, plus noise; never from the potential or
  the deposits (they depend on ``seed`` only, the deposits on ``deposit_seed``);
- :attr:`DistrictPreset.n_deposits` deposits are drawn from the potential, at least
  :data:`DEPOSIT_SEPARATION_M` apart: the known ones are the training labels
  (``orebodies.vti``), the undiscovered ones are only in ``truth.vti`` for scoring
  (:mod:`voxprospect.synth.benchmark`).

Details: ``docs/synthetic-district.md``.

The parts: :mod:`~voxprospect.synth.presets` (sizes, units, constants),
:mod:`~voxprospect.synth.geomodel` (structures, the gempy model),
:mod:`~voxprospect.synth.fields` (grid fields, geophysics),
:mod:`~voxprospect.synth.deposits` (the hidden mineral system, the deposits),
:mod:`~voxprospect.synth.build` (:func:`make_district`) and
:mod:`~voxprospect.synth.project_file` (the district's ``project.toml``). This module
writes a district (:func:`write_district`, :func:`run_synth`) and keeps the names the
callers import from here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from voxprospect.synth.build import make_district
from voxprospect.synth.presets import (ALTERATION_CORRELATION_M, CRS, DEPOSIT_RADII_M, DEPOSIT_SEPARATION_M,
                                       DEPOSIT_SHARPNESS, DEPOSIT_VOLUME_M3, DYKES, EXTENT_XY, GENERATOR, GRANITE,
                                       GRANODIORITE, HIDDEN_CORRELATION_M, INVERSION_BLUR_M, ORIGIN_XY, PRESETS,
                                       ROCK_PROPERTIES, UNITS, District, DistrictPreset)
from voxprospect.synth.deposits import CONTROLS
from voxprospect.synth.geomodel import Cupola, Dyke, FaultPlane, build_geomodel
from voxprospect.synth.project_file import district_project_toml

__all__ = ["ALTERATION_CORRELATION_M", "CONTROLS", "CRS", "DEPOSIT_RADII_M", "DEPOSIT_SEPARATION_M",
           "DEPOSIT_SHARPNESS", "DEPOSIT_VOLUME_M3", "DISTRICT_FILES", "DYKES", "EXTENT_XY", "GENERATOR", "GRANITE",
           "GRANODIORITE", "HIDDEN_CORRELATION_M", "INVERSION_BLUR_M", "ORIGIN_XY", "PRESETS", "ROCK_PROPERTIES",
           "UNITS", "Cupola", "District", "DistrictPreset", "Dyke", "FaultPlane", "build_geomodel",
           "district_project_toml", "district_readme", "existing_outputs", "make_district", "run_synth",
           "write_district"]

#: files :func:`write_district` writes (besides report.json)
DISTRICT_FILES = ("geology.vti", "geophysics.vti", "orebodies.vti", "truth.vti", "README.md", "project.toml")


def existing_outputs(outdir) -> list[Path]:
    """District files already present in ``outdir`` (what a write would replace)."""
    out = Path(outdir)
    return [out / n for n in (*DISTRICT_FILES, "report.json") if (out / n).exists()]


def write_district(district: District, outdir, overwrite: bool = True, report=None) -> list[Path]:
    """Write a district's volumes, a README, a ready project file and ``report.json``.

    Files: ``geology.vti``, ``geophysics.vti``, ``orebodies.vti``, ``truth.vti``,
    ``README.md``, ``project.toml`` (the paper's seven evidence channels) and
    ``report.json``. Each is written atomically; other files in ``outdir`` are
    never touched. The volumes and text files carry no timestamp, so the same
    seed gives byte-identical files (``report.json`` records the run's time).

    Parameters
    ----------
    district : District
    outdir : path-like
        Created if missing.
    overwrite : bool
        Replace district files already in ``outdir``; when False an existing one
        raises :class:`~voxprospect.errors.OutputError`.
    report : voxprospect.report.RunReport, optional
        The run's report (one is made when omitted); written as ``report.json``.

    Returns
    -------
    list of Path
        The files written, ``report.json`` last.

    Raises
    ------
    OutputError
        If ``outdir`` is a file, or a district file exists and ``overwrite`` is False.
    """
    from voxprospect.errors import OutputError
    from voxprospect.io import write_volume
    from voxprospect.report import RunReport, write_text_atomic

    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder")
    if not overwrite:
        found = existing_outputs(out)
        if found:
            raise OutputError(f"{out}: already holds a district ({', '.join(p.name for p in found)}); "
                              "choose an empty folder or allow overwriting (--overwrite)")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, vol in (("geology.vti", district.geology), ("geophysics.vti", district.geophysics),
                      ("orebodies.vti", district.orebodies), ("truth.vti", district.truth)):
        write_volume(vol, out / name)
        written.append(out / name)
    written.append(write_text_atomic(out / "README.md", district_readme(district)))
    written.append(write_text_atomic(out / "project.toml", district_project_toml(district)))
    if report is None:
        report = RunReport("synth", {"preset": district.description.get("preset"), "outdir": str(out)},
                           district.description.get("seed"))
    for p in written:
        report.add_output(p, role=f"district_{Path(p).name.split('.')[0].lower()}")
    report["metrics"] = {"active_voxels": district.description["active_voxels"],
                         "orebody_voxels": district.description["orebody_voxels"],
                         "undiscovered_voxels": district.description["undiscovered_voxels"],
                         "deposits": {k: v["voxels"] for k, v in district.description["deposits"].items()}}
    report["district"] = district.description
    written.append(report.write(out))
    return written


def run_synth(outdir, preset: str = "small", seed: int = 42,
              progress: Callable[[float, str], None] | None = None, overwrite: bool = True) -> dict:
    """Build the synthetic district and write it to ``outdir``.

    Parameters
    ----------
    outdir : path-like
    preset : {"small", "paper"}
    seed : int
    progress : callable, optional
        ``progress(fraction, message)``; may raise :class:`~voxprospect.errors.Cancelled`.
    overwrite : bool
        See :func:`write_district`.

    Returns
    -------
    dict
        The content of ``report.json`` (parameters, files, deposit voxel counts,
        timings).

    Raises
    ------
    VoxprospectError
        Unknown preset; :class:`~voxprospect.errors.OutputError` for an unusable
        ``outdir``.
    """
    from voxprospect.errors import OutputError
    from voxprospect.report import RunReport

    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder")
    if not overwrite and existing_outputs(out):
        raise OutputError(f"{out}: already holds a district ({', '.join(p.name for p in existing_outputs(out))}); "
                          "choose an empty folder or allow overwriting (--overwrite)")
    from voxprospect.io.outputs import check_folder, step_outputs
    from voxprospect.limits import check_seed

    seed = check_seed(seed, "seed")
    # the way out is checked before minutes of modelling, not after
    check_folder(out, what="district folder")
    report = RunReport("synth", {"preset": preset, "seed": int(seed), "outdir": str(out)}, int(seed))
    step = progress or (lambda f, m: None)
    with report.timer("make_district"):
        district = make_district(preset, seed, progress=lambda f, m: step(0.9 * f, m))
    report["gempy_cache"] = "hit" if getattr(district, "gempy_cached", False) else "computed"
    step(0.9, f"writing {out}")
    with step_outputs(folders=[out]), report.timer("write"):
        write_district(district, out, overwrite=True, report=report)
    step(1.0, "done")
    return report.data


def district_readme(district: District) -> str:
    """A short Markdown description of a district (no timestamp, so it is reproducible)."""
    d = district.description
    g = district.grid
    lines = [
        f"# Synthetic Wulong-like gold district (preset `{d['preset']}`, seed {d['seed']})",
        "",
        "Built by `voxprospect synth` with gempy: Liaohe Group strata over Archean gneiss, a Late",
        "Jurassic granite, an Early Cretaceous granodiorite stock and dykes, NE-NNE and NW faults.",
        f"{len(d['deposits'])} deposits were drawn from a hidden true-potential field, at least",
        f"{d['deposit_separation_m']:g} m apart: {len(d['known_deposits'])} are known (`orebodies.vti`, the training",
        f"labels) and {len(d['undiscovered_deposits'])} are undiscovered (only in `truth.vti`, for scoring). The",
        "evidence explains the potential only in part. See docs/synthetic-district.md in voxprospect.",
        "",
        f"Grid: {g.describe()}; {d['active_voxels']:,} active voxels below the topography.",
        "",
        "| file | layers |",
        "|---|---|",
        "| geology.vti | lithology (class ids), fault_ne, fault_nw (fault-zone masks), "
        "fault_block_F_* (side of each fault) |",
        "| geophysics.vti | density (g/cm3), susceptibility (SI), resistivity (ohm m) |",
        "| orebodies.vti | orebody (0 barren, 1-n the known deposits) |",
        "| truth.vti | true_potential (0-1), deposit_id (every deposit, known and undiscovered), "
        "hidden_field; evaluation only |",
        "| project.toml | the paper's seven evidence channels, ready for `voxprospect evidence` |",
        "",
        "## Units (active voxels)",
        "",
    ]
    for name, n in d["units"].items():
        lines.append(f"- {name}: {n:,}")
    lines += ["", "## Faults", ""]
    for f in d["faults"]:
        lines.append(f"- {f['name']} ({f['family']}): strike {f['strike_deg']:g}, dip {f['dip_deg']:g}, "
                     f"throw {f['throw_m']:g} m")
    lines += ["", "## Dykes", ""]
    for k in d["dykes"]:
        lines.append(f"- {k['name']}: strike {k['strike_deg']:g}, dip {k['dip_deg']:g}, "
                     f"{k['width_m']:g} m wide, {k['length_m']:g} m long")
    lines += ["", "## Deposits", "", "| id | deposit | known | style | voxels | depth below surface (m) | hosts |",
              "|---|---|---|---|---|---|---|"]
    for name, info in d["deposits"].items():
        depth = info.get("depth_below_surface_m", [0, 0])
        hosts = ", ".join(f"{h} {c}" for h, c in info.get("host_units", {}).items())
        lines.append(f"| {info['id']} | {name} | {'known' if info['known'] else 'undiscovered'} | {info['style']} | "
                     f"{info['voxels']} | {depth[0]:g}-{depth[1]:g} | {hosts} |")
    lines += ["", f"{d['orebody_voxels']} known and {d['undiscovered_voxels']} undiscovered orebody voxels.", ""]
    return "\n".join(lines)
