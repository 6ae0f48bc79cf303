"""Rendering the steps' ``progress(fraction, message)`` on the command line.

On a terminal (stderr is a TTY) every step gets a tqdm bar (overall percentage, the
step's name, its latest message: epoch and loss, chunk, channel); off a terminal
(a log file, a batch job) each step prints plain timestamped lines. ``-q`` prints
nothing, ``-v`` prints every message off a terminal (default: a line when a step
starts and then at most one per 10% of the run).
"""

from __future__ import annotations

import sys
import time

import click

from voxprospect.workflows.progress import StepTracker


class CliProgress:
    """A ``progress(fraction, message)`` callable for one command; :meth:`close` at the end."""

    def __init__(self, quiet: bool = False, verbose: int = 0, stream=None, tty: bool | None = None):
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        self.verbose = verbose
        self.tty = self.stream.isatty() if tty is None else tty
        self.tracker = StepTracker()
        self.bar = None
        self._last_line = -1.0
        self.t0 = time.perf_counter()

    def __call__(self, fraction, message):
        if self.quiet:
            return
        pct = 100.0 * min(max(float(fraction), 0.0), 1.0)
        step, changed = self.tracker.update(message)
        if self.tty:
            self._bar(pct, step, changed, message)
        elif changed or self.verbose or pct - self._last_line >= 10.0:
            self._last_line = pct
            stamp = time.strftime("%H:%M:%S")
            click.echo(f"{stamp} [{pct:5.1f}%] {step}: {message}", file=self.stream)

    def _bar(self, pct, step, changed, message):
        import shutil

        from tqdm import tqdm
        # a terminal that reports 0 rows (a fresh pty) would make tqdm hide every bar
        cols, rows = shutil.get_terminal_size((110, 24))
        if changed or self.bar is None:
            if self.bar is not None:
                self.bar.close()
            self.bar = tqdm(total=100.0, initial=round(pct, 1), desc=step, file=self.stream, mininterval=0, leave=True,
                            bar_format="{desc:>24.24s} |{bar:30}| {n:5.1f}% {elapsed}{postfix}",
                            dynamic_ncols=False, ncols=min(cols, 140), nrows=rows)
        self.bar.n = round(pct, 1)
        self.bar.set_postfix_str(message[:60], refresh=False)
        self.bar.refresh()

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    @property
    def elapsed_s(self) -> float:
        return time.perf_counter() - self.t0


def cli_progress() -> CliProgress:
    """The progress renderer for the running command (reads -q and -v from the root context)."""
    ctx = click.get_current_context(silent=True)
    obj = (ctx.find_root().obj or {}) if ctx is not None else {}
    return CliProgress(quiet=bool(obj.get("quiet")), verbose=int(obj.get("verbose") or 0))
