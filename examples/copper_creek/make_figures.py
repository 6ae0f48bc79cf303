"""Figures for docs/case-studies/copper-creek.md, from the run's own outputs.

Run after the study itself::

    voxprospect run examples/copper_creek/project.toml
    python examples/copper_creek/make_figures.py [OUTDIR] [DOCS_IMG_DIR]

OUTDIR defaults to examples/copper_creek/output (the project's output_dir) and
DOCS_IMG_DIR to docs/img. Every prospectivity figure on the page is one the run draws
itself (depth slices and sections with the known ore and the targets, the P-A plots,
the training curves); this script copies them under ``copper_creek_*`` names and draws
the one figure no step makes, the interpolated lithology and the distance to the
nearest hole on one level, from the run's drillhole volume (``drillholes_holes.vti``).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def _level_image(arr2d):
    # arrays are (nx, ny); imshow wants rows = y (north up with origin="lower")
    return np.asarray(arr2d, dtype=float).T


def lithology_figure(holes_vol, path, search_radius_m: float) -> float:
    """Lithology and distance to the nearest hole on the level with most ore; returns its elevation."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = holes_vol.grid
    ore = (np.asarray(holes_vol["orebody"]) > 0) & holes_vol.active
    k = int(np.argmax(ore.sum(axis=(0, 1))))
    elev = float(grid.elevations[k])
    b = grid.bounds
    extent = (b[0], b[1], b[2], b[3])
    lith = np.asarray(holes_vol["lithology"])[:, :, k].astype(float)
    lith[lith < 0] = np.nan
    names = holes_vol.classes["lithology"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.2), constrained_layout=True)
    cmap = plt.get_cmap("tab20", max(len(names), 2))
    im = axes[0].imshow(_level_image(lith), origin="lower", extent=extent, cmap=cmap,
                        vmin=-0.5, vmax=len(names) - 0.5, interpolation="nearest")
    present = sorted({int(v) for v in np.unique(lith[np.isfinite(lith)])})
    cb = fig.colorbar(im, ax=axes[0], ticks=present, shrink=0.85)
    cb.ax.set_yticklabels([names[i] for i in present], fontsize=7)
    axes[0].set_title(f"Lithology, nearest log within {search_radius_m:g} m, z = {elev:g} m")
    dist = np.asarray(holes_vol["distance_to_nearest_hole_m"])[:, :, k]
    im2 = axes[1].imshow(_level_image(dist), origin="lower", extent=extent, cmap="viridis")
    axes[1].contour(grid.axis_centres(0), grid.axis_centres(1), _level_image(dist),
                    levels=[search_radius_m], colors="w", linewidths=0.8)
    fig.colorbar(im2, ax=axes[1], shrink=0.85, label="m")
    axes[1].set_title("Distance to the nearest hole (white: search radius)")
    for ax in axes:
        ax.set_xlabel(f"Easting (m, {grid.crs})")
        ax.set_ylabel("Northing (m)")
        ax.ticklabel_format(useOffset=False, style="plain")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return elev


def main(outdir=None, img_dir=None):
    from voxprospect.io import read_volume
    from voxprospect.workflows.project import load_project

    outdir = Path(outdir) if outdir else HERE / "output"
    img_dir = Path(img_dir) if img_dir else REPO / "docs" / "img"
    img_dir.mkdir(parents=True, exist_ok=True)
    report = json.loads((outdir / "report.json").read_text())
    settings = load_project(HERE / "project.toml").inputs["holes"].options
    copied = []
    elev = lithology_figure(read_volume(outdir / "drillholes_holes.vti"), img_dir / "copper_creek_lithology.png",
                            settings["search_radius_m"])
    copied.append("copper_creek_lithology.png")
    for name, m in report.get("models", {}).items():
        files = dict((m.get("figures") or {}).get("files") or {})
        files["pa"] = (m.get("pa") or {}).get("plot")
        files["training"] = m.get("training_curves")
        for kind, src in files.items():
            if src and (outdir / src).exists():
                dst = f"copper_creek_{kind}_{name}.png"
                shutil.copyfile(outdir / src, img_dir / dst)
                copied.append(dst)
    print(json.dumps({"lithology_level_m": elev, "figures": copied}, indent=2))
    return copied


if __name__ == "__main__":
    main(*sys.argv[1:3])
