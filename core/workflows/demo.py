"""``voxprospect demo``: the synthetic benchmark district end to end, with ``summary.md``."""

from __future__ import annotations

from pathlib import Path


from voxprospect.io.outputs import step_outputs
from voxprospect.report import write_text_atomic
from voxprospect.workflows.summary import append_outputs

from voxprospect.workflows.common import buffer_override, check_outdir
from voxprospect.workflows.result import StepResult
from voxprospect.workflows.progress import say, scaled
from voxprospect.workflows.steps import run_synth
from voxprospect.workflows.study import run_study
from voxprospect.workflows.tables import fmt_score, sweep_section, training_section
from voxprospect.workflows.explaining import explain_overrides, importance_section
from voxprospect.workflows.uncertainty import uncertainty_section
from voxprospect.workflows.timings import timings_markdown


# The small demo maps DL4 as one network: it already takes minutes on two cores
# (docs/performance.md), and every CNN fit of a deep ensemble of N costs N networks
# (evaluation folds included). Its uncertainty layers then come from the forest's
# per-tree spread; `voxprospect demo --ensemble 5` trains DL4's deep ensemble too.
#
# Every DL4 fit of the small demo stops once its inner spatial validation loss has not
# improved for 3 epochs and keeps its best epoch's weights (the project default waits 10,
# the demo's whole schedule): DL4 overfits the 2,602 windows fast (the best epoch was 1 of
# 10 in the final fit), so the epochs after the best were discarded work.
DEMO_TRAINING = {"small": {"epochs": 10, "batch_size": 64, "ensemble": 1, "early_stopping_patience": 3},
                 "paper": {"epochs": 200, "batch_size": 256},
                 "tiny": {"epochs": 3, "batch_size": 64, "ensemble": 2}}
#: the demo explains its CNN's targets (Integrated Gradients on a few voxels a target)
DEMO_EXPLAIN = {"attributions": "targets", "attribution_voxels": 16, "attribution_steps": 16}


def run_demo(outdir, preset: str = "small", seed: int = 42, epochs: int | None = None, progress=None,
             buffer_m: float | None = None, importance: bool | None = None,
             attributions: str | None = None, ensemble: int | None = None) -> StepResult:
    """The synthetic district, end to end: the main job of ``voxprospect demo``.

    district (gempy) -> evidence -> DL4 and RF under every protocol -> whole-grid
    prediction -> P-A threshold -> targets -> ``summary.md`` with the figures; the
    district's undiscovered deposits (never training labels) score every model and
    the best single channel (truth AUC, undiscovered capture in the top 5 and 10%).
    ``importance`` and ``attributions`` override the demo's evidence-importance
    settings (:data:`DEMO_EXPLAIN`).
    """
    from voxprospect.limits import check_seed

    from voxprospect.workflows.uncertainty import training_overrides

    seed = check_seed(seed, "--seed")
    members = training_overrides(ensemble)
    outdir = check_outdir(outdir)
    with step_outputs(folders=[outdir]):
        return StepResult(_demo(outdir, preset, seed, epochs, progress, buffer_m,
                                explain_overrides(importance, attributions) | members), outdir / "report.json")


def _demo(outdir, preset, seed, epochs, progress, buffer_m=None, explain=None) -> dict:
    from voxprospect.synth.benchmark import BenchmarkTruth
    from voxprospect.workflows.project import load_project

    schedule = dict(DEMO_TRAINING.get(preset, DEMO_TRAINING["paper"])) | _demo_explain() | dict(explain or {})
    if epochs:
        schedule["epochs"] = int(epochs)
    epochs = schedule["epochs"]
    overrides = schedule | buffer_override(buffer_m)
    say(progress, 0.0, f"building the synthetic district ({preset}, seed {seed})")
    district_dir = outdir / "district"
    built = run_synth(district_dir, preset=preset, seed=seed, progress=scaled(progress, 0.0, 0.15))
    steps = built.get("timings_s") or {}
    build = {"seconds": round(float(steps.get("total", sum(steps.values()))), 2),
             "gempy_cache": built.get("gempy_cache")}
    project = load_project(district_dir / "project.toml")
    bench = BenchmarkTruth.from_folder(district_dir)
    rep = run_study(project, outdir, epochs=epochs, truth=bench.potential, benchmark=bench, command="demo",
                    progress=scaled(progress, 0.15, 1.0), training_overrides=overrides,
                    extra_parameters={"preset": preset, "demo_training": schedule, "seed": seed,
                                      "district_build": build})
    summary = write_summary(outdir, rep, preset, seed)
    rep = append_outputs(rep, outdir, [(summary, "summary")])
    return rep | {"summary": str(summary)}


def _demo_explain() -> dict:
    """:data:`DEMO_EXPLAIN` where captum is installed; without it the demo maps without attributions."""
    import importlib.util
    return dict(DEMO_EXPLAIN) if importlib.util.find_spec("captum") is not None else {}


def write_summary(outdir, rep: dict, preset: str, seed: int) -> Path:
    """A short Markdown summary of a demo run with its figures."""
    outdir = Path(outdir)
    lines = [f"# voxprospect demo: synthetic district ({preset}, seed {seed})", ""]
    s = rep["samples"]
    lines += [f"Training windows: {s['n_positive']} positive (every orebody voxel) and {s['n_negative']} "
              f"negative (at least {s['min_distance_m']:g} m from any orebody), window {s['window']}, "
              f"edge rule `{s['edge']}`.", ""] + training_section(rep)
    lines += ["## Models (Table 1 style)", "", rep["table_markdown"]]
    lines += sweep_section(rep)
    lines += importance_section(rep)
    prim = rep.get("primary_model")
    if rep.get("pa"):
        pa = rep["pa"]
        lines += ["## Prediction-area plot", "",
                  f"{prim}: threshold {pa['threshold']:.3f}; at the crossing {100 * pa['prediction_rate']:.1f}% of "
                  f"the known orebody voxels lie in {100 * pa['volume_share']:.1f}% of the study volume "
                  f"(normalised density {pa['normalized_density']:.2f}).", "",
                  f"![P-A plot]({pa.get('plot', '')})", ""]
    lines += ["## Targets", ""]
    for name, m in rep["models"].items():
        if "targets" in m:
            t = m["targets"]
            found = ", ".join(t.get("deposits_found", [])) or "none"
            noun = "target" if t["count"] == 1 else "targets"
            lines.append(f"- {name}: {t['count']} {noun} above {m['threshold']:.3f}, "
                         f"{t['total_volume_m3'] / 1e6:.1f} million m3; known deposits inside: {found}. "
                         f"Files: {', '.join(t['files'])}")
    lines.append("")
    if "truth" in rep:
        lines += ["## Against the hidden truth", "",
                  "ROC AUC of each prospectivity volume at picking the true-potential field's top 5%: "
                  + ", ".join(f"{k} {fmt_score(v)}" for k, v in rep["truth"]["auc_by_model"].items()) + ".", ""]
    if "benchmark" in rep:
        b = rep["benchmark"]
        rows = [(k, v) for k, v in b["models"].items()]
        base = b["baselines"]["best_single_channel"]
        rows.append((f"best single channel ({base['sign']}{base['channel']}, chosen on training windows)", base))
        lines += ["## Undiscovered deposits", "",
                  f"{len(b['undiscovered'])} deposits were never training labels; models are refitted without the "
                  f"training windows within {b['buffer_m']:g} m of them. A deposit is captured in the top share "
                  "when its best voxel ranks inside it.", "",
                  "| score | truth AUC | deposit AUC | undiscovered AUC | captured, top 5% | captured, top 10% |",
                  "|---|---|---|---|---|---|"]
        for k, v in rows:
            c = v.get("undiscovered_capture", {})
            cells = [v.get("truth_auc"), v.get("deposit_auc"), v.get("undiscovered_auc"), c.get("top5"),
                     c.get("top10")]
            lines.append(f"| {k} | " + " | ".join(fmt_score(x) for x in cells) + " |")
        lines.append("")
    lines += uncertainty_section(rep)
    for name, m in rep["models"].items():
        if m.get("training_curves"):
            lines += [f"![{name} training curves]({m['training_curves']})", ""]
        figs = m.get("figures") or {}
        for role, fname in (figs.get("files") or {}).items():
            lines += [f"![{name} {role.replace('_', ' ')}]({fname})", ""]
    lines += timings_markdown(rep)
    lines += ["Everything the run used and measured is in `report.json`."]
    return write_text_atomic(outdir / "summary.md", "\n".join(lines) + "\n")

