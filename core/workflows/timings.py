"""Where a run's time went: the report's step timings as one table, largest first.

``RunReport.timer`` records seconds per step under ``timings_s`` (``DL4.evaluate``,
``DL4.fit``, ``DL4.predict``, ``buffer_sweep``...). :func:`timings_rows` adds the
district build of a demo (recorded by the demo under ``parameters.district_build``,
with whether gempy ran or its cached result was read) and gives each step its share
of the total, so the summary says what a run spends its minutes on.
"""

from __future__ import annotations

__all__ = ["timings_rows", "timings_markdown"]

LABELS = {
    "evidence_and_samples": "evidence and training windows",
    "baselines": "baselines on the same folds",
    "buffer_sweep": "buffer sweep",
    "evaluate": "under every protocol (all folds)",
    "fit": "final fit on all windows",
    "predict": "whole-grid prediction",
    "targets": "P-A threshold and targets",
    "figures": "figures",
    "undiscovered": "refit without the undiscovered deposits, prediction, scores",
}


def _label(step: str) -> str:
    model, _, part = step.partition(".")
    if part:
        if part.startswith("write_"):
            return f"{model}: write {part[len('write_'):]}"
        return f"{model}: {LABELS.get(part, part)}"
    return LABELS.get(step, step)


def timings_rows(report: dict) -> list[tuple[str, float, float]]:
    """``(label, seconds, share of the total)`` for every timed step, largest first.

    The total is the report's own ``total`` plus the district build when one is
    recorded; steps nested in others are not timed separately, so shares add up
    to at most 1 (the rest is untimed bookkeeping: writing volumes, the report).
    """
    timings = dict(report.get("timings_s") or {})
    total = float(timings.pop("total", 0.0) or sum(timings.values()))
    build = (report.get("parameters") or {}).get("district_build") or {}
    rows = [(_label(k), float(v)) for k, v in timings.items()]
    if build.get("seconds") is not None:
        how = "gempy result read from the cache" if build.get("gempy_cache") == "hit" else "gempy computed"
        rows.append((f"synthetic district ({how}), written", float(build["seconds"])))
        total += float(build["seconds"])
    rows.sort(key=lambda r: -r[1])
    return [(label, s, s / total if total > 0 else 0.0) for label, s in rows] + [("total", total, 1.0)]


def timings_markdown(report: dict) -> list[str]:
    """A Markdown section (list of lines) with the table of :func:`timings_rows`."""
    rows = timings_rows(report)
    if len(rows) <= 1:
        return []
    lines = ["## Where the time went", "", "| step | seconds | share |", "|---|---|---|"]
    lines += [f"| {label} | {s:.1f} | {share:.0%} |" for label, s, share in rows]
    return lines + [""]
