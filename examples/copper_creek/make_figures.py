"""Figures and extra numbers for docs/case-studies/copper-creek.md.

Run after the study itself::

    voxprospect run examples/copper_creek/project.toml
    python examples/copper_creek/make_figures.py [OUTDIR] [DOCS_IMG_DIR]

OUTDIR defaults to examples/copper_creek/output (the project's output_dir) and
DOCS_IMG_DIR to docs/img. It writes ``copper_creek_*.png`` there and prints a JSON
summary (the numbers quoted in the write-up), also saved as
``OUTDIR/case_study_numbers.json``:

- the interpolated lithology and the distance to the nearest hole on one level;
- depth slices of the prospectivity of every mapped model with the P-A targets, the
  ore voxels and the holes that pierce the level;
- copies of the P-A plots and the training curves the run wrote;
- a harder check than the sample scores: among the voxels the assays reach, how
  well the prospectivity ranks ore (Cu at or above the cut-off) above drilled
  ground below it (ROC AUC). The sample negatives lie far from ore; these drilled
  below-cut-off voxels lie next to it.
"""

from __future__ import annotations

import json
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def _level_image(arr2d):
    # arrays are (nx, ny); imshow wants rows = y (north up with origin="lower")
    return np.asarray(arr2d, dtype=float).T


def main(outdir=None, img_dir=None):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_auc_score

    from voxprospect.io import read_volume
    from voxprospect.gridding.drillholes import at_or_above, label_intervals
    from voxprospect.io.drillholes import read_drillholes
    from voxprospect.workflows.project import load_project

    project_path = HERE / "project.toml"
    outdir = Path(outdir) if outdir else HERE / "output"
    img_dir = Path(img_dir) if img_dir else REPO / "docs" / "img"
    img_dir.mkdir(parents=True, exist_ok=True)
    report = json.loads((outdir / "report.json").read_text())
    project = load_project(project_path)
    settings = project.inputs["holes"].options
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the overlapping intervals the project keeps
        holes_vol = project.load_inputs(["holes"])["holes"]
        holes = read_drillholes(settings["collar"], settings["survey"],
                                {"lithology": settings["lithology"], "assay": settings["assay"]},
                                crs=settings["crs"], overlaps=settings["overlaps"])
    grid = holes_vol.grid
    active = holes_vol.active
    ore = holes_vol["orebody"].astype(bool) & active
    numbers = {"grid": grid.describe(), "active_cells": int(active.sum()), "ore_voxels": int(ore.sum()),
               "cutoff_pct": settings["cutoff"], "search_radius_m": settings["search_radius_m"]}

    # the level with most ore voxels
    k = int(np.argmax(ore.sum(axis=(0, 1))))
    elev = float(grid.elevations[k])
    numbers["slice_elevation_m"] = elev
    b = grid.bounds
    extent = (b[0], b[1], b[2], b[3])
    # holes piercing the level: trace points within half a cell of its elevation
    pierce = []
    for h in holes.hole_ids:
        p = holes.trace_points(h, 5.0)
        near = np.abs(p[:, 2] - elev) <= grid.cell_size[2] / 2
        if near.any():
            c = p[near].mean(axis=0)
            if b[0] <= c[0] <= b[1] and b[2] <= c[1] <= b[3]:
                pierce.append(c)
    pierce = np.array(pierce) if pierce else np.empty((0, 3))

    # 1. lithology and data reach
    lith = holes_vol["lithology"][:, :, k].astype(float)
    lith[lith < 0] = np.nan
    names = holes_vol.classes["lithology"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.2), constrained_layout=True)
    cmap = plt.get_cmap("tab20", max(len(names), 2))
    im = axes[0].imshow(_level_image(lith), origin="lower", extent=extent, cmap=cmap,
                        vmin=-0.5, vmax=len(names) - 0.5, interpolation="nearest")
    present = sorted({int(v) for v in np.unique(lith[np.isfinite(lith)])})
    cb = fig.colorbar(im, ax=axes[0], ticks=present, shrink=0.85)
    cb.ax.set_yticklabels([names[i] for i in present], fontsize=7)
    axes[0].set_title(f"Lithology, nearest log within {settings['search_radius_m']:g} m, z = {elev:g} m")
    dist = holes_vol["distance_to_nearest_hole_m"][:, :, k]
    im2 = axes[1].imshow(_level_image(dist), origin="lower", extent=extent, cmap="viridis")
    axes[1].contour(grid.axis_centres(0), grid.axis_centres(1), _level_image(dist),
                    levels=[settings["search_radius_m"]], colors="w", linewidths=0.8)
    fig.colorbar(im2, ax=axes[1], shrink=0.85, label="m")
    axes[1].set_title("Distance to the nearest hole (white: search radius)")
    for ax in axes:
        ax.plot(pierce[:, 0], pierce[:, 1], "k.", ms=2)
        ax.set_xlim(b[0], b[1])
        ax.set_ylim(b[2], b[3])
        ax.set_xlabel("Easting (m, UTM 12N)")
        ax.set_ylabel("Northing (m)")
        ax.ticklabel_format(useOffset=False, style="plain")
    p = img_dir / "copper_creek_lithology.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    figures = [p.name]

    # 2. prospectivity slices with targets; drilled-voxel ranking
    assayed = label_intervals(holes, grid, "assay", lambda t: np.isfinite(t.column(settings["grade_column"])))
    assayed &= active
    below = assayed & ~label_intervals(holes, grid, "assay",
                                       at_or_above(settings["grade_column"], settings["cutoff"]))
    numbers["drilled_below_cutoff_voxels"] = int(below.sum())
    numbers["models"] = {}
    models = report.get("models", {})
    for name, m in models.items():
        pv_name = next((f for f in m.get("prospectivity", []) if f.endswith(".vti")), None)
        if pv_name is None:
            continue
        prosp = read_volume(outdir / pv_name)["prospectivity"]
        tv = read_volume(outdir / f"targets_{name}.vti")
        tlayer = tv[tv.names[0]]
        sel = ore | below
        auc = float(roc_auc_score(ore[sel].astype(int), prosp[sel]))
        thr = m.get("threshold")
        numbers["models"][name] = {
            "drilled_voxel_auc": auc,
            "pa_threshold": thr,
            "ore_voxels_above_threshold": float(np.mean(prosp[ore] >= thr)) if thr is not None else None,
            "below_cutoff_drilled_above_threshold": float(np.mean(prosp[below] >= thr)) if thr is not None else None,
            "undrilled_active_above_threshold": float(np.mean(prosp[active & ~assayed] >= thr))
            if thr is not None else None,
        }
        fig, ax = plt.subplots(figsize=(7, 6.4), constrained_layout=True)
        level = prosp[:, :, k].astype(float)
        level[~active[:, :, k]] = np.nan
        cm = plt.get_cmap("magma").copy()
        cm.set_bad("0.85")
        im = ax.imshow(_level_image(level), origin="lower", extent=extent, cmap=cm, vmin=0, vmax=1)
        fig.colorbar(im, ax=ax, shrink=0.8, label="prospectivity (probability of ore)")
        xs, ys = grid.axis_centres(0), grid.axis_centres(1)
        if (tlayer[:, :, k] > 0).any():
            ax.contour(xs, ys, _level_image(tlayer[:, :, k] > 0), levels=[0.5], colors="cyan", linewidths=1.2)
        if ore[:, :, k].any():
            ax.contour(xs, ys, _level_image(ore[:, :, k]), levels=[0.5], colors="lime", linewidths=0.8,
                       linestyles="dashed")
        ax.plot(pierce[:, 0], pierce[:, 1], "w.", ms=2)
        ax.set_xlim(b[0], b[1])
        ax.set_ylim(b[2], b[3])
        ax.set_title(f"{name} prospectivity at z = {elev:g} m\ncyan: P-A targets (>= {thr:.3f}); "
                     f"green dashed: drilled Cu >= {settings['cutoff']:g} %; dots: holes", fontsize=9)
        ax.set_xlabel("Easting (m, UTM 12N)")
        ax.set_ylabel("Northing (m)")
        ax.ticklabel_format(useOffset=False, style="plain")
        p = img_dir / f"copper_creek_slice_{name}.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        figures.append(p.name)
        for src, dst in ((m.get("pa", {}) or {}).get("plot"), f"copper_creek_pa_{name}.png"), \
                         (m.get("training_curves"), f"copper_creek_training_{name}.png"):
            if src and (outdir / src).exists():
                shutil.copyfile(outdir / src, img_dir / dst)
                figures.append(dst)
    numbers["figures"] = figures
    (outdir / "case_study_numbers.json").write_text(json.dumps(numbers, indent=2))
    print(json.dumps(numbers, indent=2))
    return numbers


if __name__ == "__main__":
    main(*sys.argv[1:3])
