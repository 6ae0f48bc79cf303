"""The one progress helper of the steps: nested sub-ranges and named steps.

Every step takes an optional ``progress(fraction, message)`` callable (the CLI renders
it, the QGIS plugin passes its feedback). :class:`Progress` wraps such a callable so a
step can hand a sub-range of its own 0..1 to a sub-step (each model under each
protocol, each epoch inside a fit) and the sub-step still reports 0..1.

:class:`StepTracker` names the step a message belongs to (district build, evidence,
samples, a model's evaluation, its final fit, prediction, targets), from the messages
the steps already send, so front ends can show one bar or one line per step without
the steps knowing about front ends.
"""

from __future__ import annotations

import logging
import re

log = logging.getLogger(__name__)

__all__ = ["Progress", "StepTracker", "as_progress", "say", "scaled"]


class Progress:
    """A ``progress(fraction, message)`` callable mapping 0..1 onto ``start..end`` of a parent.

    Parameters
    ----------
    callback : callable or None
        The parent ``progress(fraction, message)``; ``None`` makes a silent helper
        (messages still go to the log at INFO).
    start, end : float
        The parent's range this helper reports into.
    prefix : str
        Put before every message (``"DL4: "``), so a sub-step's messages say whose they are.

    Fractions are clipped to 0..1 and never go backwards within one helper, so a
    sub-step that restarts (a second fit) does not make a bar jump back.
    """

    def __init__(self, callback=None, start: float = 0.0, end: float = 1.0, prefix: str = ""):
        self.callback = callback
        self.start, self.end = float(start), float(end)
        self.prefix = prefix
        self._last = 0.0

    def __call__(self, fraction, message: str = "") -> None:
        f = min(max(float(fraction), 0.0), 1.0)
        self._last = max(self._last, f)
        text = f"{self.prefix}{message}"
        log.debug(text)
        if self.callback is not None:
            self.callback(self.start + (self.end - self.start) * self._last, text)

    def messages(self, prefix: str = ""):
        """A ``progress(fraction, message)`` for a sub-step whose length is unknown (each fold's
        epochs): its messages are passed on at this helper's current fraction."""
        def say(_fraction, message):
            self(self._last, prefix + message)
        return say

    def sub(self, start: float, end: float, prefix: str = "") -> "Progress":
        """A helper for a sub-step that owns ``start..end`` of this one's range."""
        lo = self.start + (self.end - self.start) * float(start)
        hi = self.start + (self.end - self.start) * float(end)
        return Progress(self.callback, lo, hi, self.prefix + prefix)

    def split(self, n: int, start: float = 0.0, end: float = 1.0, prefixes=None) -> list:
        """``n`` equal consecutive sub-helpers over ``start..end`` (one per model, per fold...)."""
        n = max(int(n), 1)
        width = (end - start) / n
        names = list(prefixes) if prefixes is not None else [""] * n
        return [self.sub(start + i * width, start + (i + 1) * width, names[i]) for i in range(n)]


def as_progress(callback) -> Progress:
    """``callback`` as a :class:`Progress` (itself if it already is one)."""
    return callback if isinstance(callback, Progress) else Progress(callback)


# (pattern, step name) for the messages that open a step; ``{0}`` is the first group
_STEP_STARTS = [
    (re.compile(r"^building the synthetic district"), "district"),
    (re.compile(r"^(?:building|computing) (?:the )?(?:geology|district|gempy)", re.I), "district"),
    (re.compile(r"^reading inputs"), "evidence"),
    (re.compile(r"^building evidence"), "evidence"),
    (re.compile(r"^evidence channel"), "evidence"),
    (re.compile(r"\bnegative windows\b"), "samples"),
    (re.compile(r"^training and evaluating (\S+)"), "{0} under each protocol"),
    (re.compile(r"^(\S+): final fit"), "{0} final fit"),
    (re.compile(r"^predicting the whole grid with (\S+)"), "{0} prediction"),
    (re.compile(r"^predict(?:ing|ed) \d"), "prediction"),
    (re.compile(r"^targets of (\S+)"), "{0} targets"),
    (re.compile(r"^prediction-area plot and targets"), "targets"),
    (re.compile(r"^figures of (\S+)"), "{0} figures"),
    (re.compile(r"^done$|^targets done$|^evidence written$"), "done"),
]


class StepTracker:
    """Names the current step from the stream of progress messages.

    A message that opens a step (``"training and evaluating DL4"``) changes the step;
    the messages that follow (``"random protocol: fit 1 of 1"``, ``"epoch 2/5 loss ..."``)
    belong to it. Before any opening message the step is ``default``.
    """

    def __init__(self, default: str = "starting"):
        self.step = default

    def update(self, message: str) -> tuple[str, bool]:
        """The step ``message`` belongs to, and whether it opened a new one."""
        for pattern, name in _STEP_STARTS:
            m = pattern.search(message or "")
            if m:
                new = name.format(*m.groups()) if m.groups() else name
                if "{0}" not in name and new != self.step and self.step.endswith(" " + new):
                    # a sub-step's own opening ("predicting N voxels" inside "DL4 prediction")
                    return self.step, False
                changed = new != self.step
                self.step = new
                return new, changed
        return self.step, False


def scaled(progress, start: float, end: float):
    """A progress callable mapping a sub-step's 0..1 onto ``start..end``."""
    if progress is None:
        return None

    def sub(fraction, message):
        progress(start + (end - start) * min(max(float(fraction), 0.0), 1.0), message)
    return sub


def say(progress, fraction, message):
    """Log ``message`` and pass it to ``progress`` (when given) at ``fraction``."""
    log.info(message)
    if progress is not None:
        progress(fraction, message)

