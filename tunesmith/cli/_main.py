"""The ``tunesmith`` command group: the global ``--storage`` and one policy for errors and Ctrl-C."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from tunesmith.cli._dashboard import dashboard_command
from tunesmith.cli._delete import rm_command
from tunesmith.cli._diagnose import diagnose_command
from tunesmith.cli._export import export_command
from tunesmith.cli._open import ENV_STORAGE
from tunesmith.cli._plot import plot_command
from tunesmith.cli._read import best_command, ls_command, show_command
from tunesmith.cli._sweep import agent_command, sweep_command
from tunesmith.cli._worker import worker_command
from tunesmith.exceptions import StorageError, StudyNotFoundError
from tunesmith.storage import DEFAULT_STORAGE_URL
from tunesmith.storage._retry import is_database_error

__all__ = ["cli", "main"]

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a process Ctrl-C ended


def _interrupted() -> NoReturn:
    """One line, not a traceback; a terminal's ``^C`` echo is ended first."""
    click.echo(("\n" if sys.stderr.isatty() else "") + "interrupted", err=True)
    sys.exit(EXIT_INTERRUPTED)


class _Group(click.Group):
    """Storage failures become a one-line error with exit status 1, Ctrl-C ``interrupted`` with 130."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (KeyboardInterrupt, click.Abort):  # click.Abort: Ctrl-C or Ctrl-D at a prompt
            _interrupted()
        except BrokenPipeError:  # `tunesmith export ... | head`
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(1)
        except Exception as e:
            if not isinstance(e, (StorageError, StudyNotFoundError, OSError)) and not is_database_error(e):
                raise
            text = str(e).strip().splitlines()
            raise click.ClickException(text[0] if text else type(e).__name__) from e


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--storage", envvar=ENV_STORAGE, default=DEFAULT_STORAGE_URL, show_default=True, metavar="URL",
    help=f"Storage URL (sqlite:///file.db, postgresql://...) or a .db path; env {ENV_STORAGE}.",
)
@click.version_option(package_name="tunesmith", prog_name="tunesmith")
@click.pass_context
def cli(ctx: click.Context, storage: str) -> None:
    """Inspect, export and delete tunesmith studies, and run workers on them.

    ls, show, best, export, diagnose and plot only read: they open the storage read-only and never
    create a database. rm deletes a study; worker runs trials; dashboard serves a live web view.
    """
    ctx.obj = storage


for _command in (
    ls_command, show_command, best_command, export_command, diagnose_command, plot_command, rm_command,
    worker_command, dashboard_command, sweep_command, agent_command,
):
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``tunesmith`` console script and ``python -m tunesmith``."""
    cli.main(args=None if argv is None else list(argv), prog_name="tunesmith")
