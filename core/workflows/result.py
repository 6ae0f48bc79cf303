"""What a step returns: its report, and its outputs by role.

Every ``run_*`` step returns a :class:`StepResult`. It is the content of the step's
``report.json`` (a mapping, read as before: ``result["metrics"]``) and, typed beside
it, the files the step wrote by role (``result.outputs["checkpoint"]``, a list of
paths; ``result.output("checkpoint")`` when exactly one is expected), the folder and
the report's path. The roles are those of :data:`voxprospect.workflows.summary.OUTPUT_ROLES`
and of the steps' own ``add_output`` calls, so the front ends never guess a file name
or scan a folder.
"""

from __future__ import annotations

from pathlib import Path

from voxprospect.errors import VoxprospectError

__all__ = ["StepResult"]


class StepResult(dict):
    """A step's report (this mapping) with its outputs by role.

    Attributes
    ----------
    step : str
        The command that ran (``train``, ``predict``, ``run``, ...).
    outputs : dict of str to list of Path
        Every output the report lists, by role, in the order written.
    report_path : Path or None
        Where ``report.json`` was written.
    """

    def __init__(self, data: dict, report_path=None):
        super().__init__(data)
        self.step = str(data.get("command", ""))
        self.report_path = Path(report_path) if report_path is not None else None
        self.outputs: dict[str, list[Path]] = {}
        for rec in data.get("outputs", []) or []:
            if isinstance(rec, dict) and rec.get("path"):
                self.outputs.setdefault(str(rec.get("role") or "other"), []).append(Path(rec["path"]))

    @property
    def report(self) -> dict:
        """The report's content as a plain dict."""
        return dict(self)

    def output(self, role: str) -> Path:
        """The one output of ``role``.

        Raises
        ------
        VoxprospectError
            When the step wrote no output, or several, of that role.
        """
        paths = self.outputs.get(role, [])
        if len(paths) != 1:
            have = ", ".join(sorted(self.outputs)) or "none"
            raise VoxprospectError(f"the {self.step or 'step'} step wrote {len(paths)} outputs of role {role!r} "
                                   f"(roles written: {have})")
        return paths[0]

    def outputs_of(self, role: str, contains: str = "") -> list[Path]:
        """All outputs of ``role`` (those whose file name contains ``contains``)."""
        return [p for p in self.outputs.get(role, []) if contains in p.name]
