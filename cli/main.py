"""The ``voxprospect`` command group.

Each command lives in its own module and is imported only when it runs, so
``voxprospect --help`` stays fast. Library errors a user can cause
(:class:`voxprospect.errors.VoxprospectError`) become one ``Error:`` line (at most
:data:`voxprospect.errors.MAX_MESSAGE` characters) and exit code 1, never a traceback.
Ctrl-C prints ``Aborted`` and exits 130, SIGTERM prints ``Aborted (terminated)`` and
exits 143, each after the step has removed what it created. A usage error (an unknown
option, a bad value, a missing argument) is one ``Error:`` line too, with a pointer to
``--help``, and exit code 2.
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

# command name -> (module, function, one-line help shown by --help)
COMMANDS = {
    "synth": ("synth", "synth", "Build the built-in synthetic gold district."),
    "info": ("info", "info", "Describe a volume, mesh or project file."),
    "evidence": ("evidence", "evidence", "Build the evidence stack from a project file."),
    "convert": ("convert", "convert", "Convert between volume formats."),
    "train": ("train", "train", "Train RCNN-LAM or random-forest models on evidence windows."),
    "predict": ("predict", "predict", "Predict a prospectivity volume with a trained model."),
    "targets": ("targets", "targets", "Prediction-area threshold and 3D targets."),
    "ablation": ("ablation", "ablation", "DL1-DL4 + RF under every evaluation protocol (Table 1)."),
    "run": ("run", "run", "Run the whole pipeline from a project file."),
    "demo": ("demo", "demo", "Synthetic district to drill targets, end to end."),
    "slices": ("slices", "slices", "Export a volume layer as GeoTIFF depth slices."),
    "export-targets": ("export", "export_targets", "Targets of a prediction as one GeoPackage."),
    "export-results": ("export", "export_results", "A prediction and its targets as geoh5 or OMF."),
    "plugin-zip": ("plugin_zip", "plugin_zip", "Build the installable QGIS plugin zip."),
}


# what a shell reports for a process stopped by SIGINT (128 + 2) and by SIGTERM (128 + 15)
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
# click >= 8.2 raises this for a group called with no command; it prints the help
_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


def _aborted(exc: BaseException) -> int:
    """Say on stderr that the run was stopped; the exit code for how it was stopped."""
    # a Terminated was raised only if voxprospect.errors is loaded: no import here, which
    # a second signal could interrupt
    errors = sys.modules.get("voxprospect.errors")
    if errors is not None and isinstance(exc, errors.Terminated):
        click.echo("Aborted (terminated)", err=True)
        return EXIT_TERMINATED
    click.echo("Aborted", err=True)
    return EXIT_INTERRUPTED


def _usage_error_line(e: click.UsageError) -> str:
    """A usage error as one ``Error:`` line naming the problem and where the help is."""
    from voxprospect.errors import user_message
    hint = f" (see '{e.ctx.command_path} --help')" if e.ctx is not None else ""
    return f"Error: {user_message(e.format_message())}{hint}"


def _install_signal_handlers() -> None:
    """Ctrl-C and SIGTERM wait for imports and writes (:mod:`voxprospect.interrupt`)."""
    from voxprospect.interrupt import install_signal_handlers
    install_signal_handlers()


class LazyGroup(click.Group):
    """A click group whose commands are imported on first use."""

    def list_commands(self, ctx):
        return [name for name in COMMANDS if self._available(name)]

    def _available(self, name):
        mod = COMMANDS[name][0]
        return importlib.util.find_spec(f"voxprospect_cli.{mod}") is not None

    def get_command(self, ctx, name):
        if name not in COMMANDS or not self._available(name):
            return None
        if ctx is not None and ctx.resilient_parsing and "--help" in sys.argv and name not in sys.argv:
            # `voxprospect --help` lists commands: give the short help without importing
            return click.Command(name, help=COMMANDS[name][2], short_help=COMMANDS[name][2])
        module, func, _ = COMMANDS[name]
        # before the command's module (and the heavy libraries it imports) is loaded
        _install_signal_handlers()
        return getattr(importlib.import_module(f"voxprospect_cli.{module}"), func)

    def format_commands(self, ctx, formatter):
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """click's main, except that Ctrl-C anywhere (parsing, importing a command) exits
        130, SIGTERM 143, and a usage error is one ``Error:`` line.

        click's own standalone mode turns a KeyboardInterrupt outside the command into
        ``Aborted!`` and exit 1, which a shell or a batch script cannot tell from an error,
        and prints a usage error as three lines (usage, a hint, the error).
        """
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            # without standalone mode click returns an Exit's code instead of exiting
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except (KeyboardInterrupt, click.exceptions.Abort) as e:
            sys.exit(_aborted(e))
        except click.exceptions.Exit as e:
            sys.exit(e.exit_code)
        except _NO_ARGS_IS_HELP as e:
            e.show()  # the full help, as click prints it
            sys.exit(e.exit_code)
        except click.UsageError as e:
            click.echo(_usage_error_line(e), err=True)
            sys.exit(e.exit_code)
        except click.ClickException as e:
            e.show()
            sys.exit(e.exit_code)
        sys.exit(rv if isinstance(rv, int) and not isinstance(rv, bool) else 0)

    def invoke(self, ctx):
        from voxprospect.errors import Cancelled, VoxprospectError, user_message
        try:
            return super().invoke(ctx)
        except (KeyboardInterrupt, Cancelled) as e:
            # the step has already removed what it created (voxprospect.io.outputs.step_outputs)
            raise click.exceptions.Exit(_aborted(e)) from None
        except VoxprospectError as e:
            raise click.ClickException(user_message(e)) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="voxprospect")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.pass_context
def cli(ctx, verbose, quiet):
    """voxprospect: 3D mineral prospectivity mapping from geological models and inversions."""
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    # other libraries (matplotlib, fiona) stay at WARNING: -v is about our steps
    logging.basicConfig(level=logging.ERROR if quiet else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("voxprospect").setLevel(level)
    ctx.ensure_object(dict)
    ctx.obj["quiet"] = quiet
    ctx.obj["verbose"] = verbose
    _install_signal_handlers()  # again, for a command not loaded through get_command


if __name__ == "__main__":  # pragma: no cover
    cli()
