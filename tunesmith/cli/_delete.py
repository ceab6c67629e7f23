"""``tunesmith rm``: delete a study, after asking."""

from __future__ import annotations

import sys

import click

from tunesmith.cli._open import command_storage_option, open_storage, open_study, storage_url

__all__ = ["rm_command"]


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


@click.command("rm")
@click.argument("study_name", metavar="STUDY")
@click.option("-y", "--yes", is_flag=True, help="Delete without asking (needed when stdin is not a terminal).")
@command_storage_option
@click.pass_context
def rm_command(ctx: click.Context, study_name: str, yes: bool, storage: str | None) -> None:
    """Delete STUDY for good: its trials, reports and checkpoint folder.

    Asks first unless --yes is given; without a terminal to ask on, it refuses.
    """
    from tunesmith import delete_study

    url = storage_url(ctx, storage)
    study = open_study(open_storage(url), url, study_name)  # read-only: a wrong name or URL changes nothing
    counts = study.count()
    n_trials = sum(counts.values())
    running = sum(n for state, n in counts.items() if not state.is_finished())
    what = f"study {study_name!r} ({n_trials} trial(s){f', {running} not finished' if running else ''}) from {url}"
    if not yes:
        if not _stdin_is_terminal():
            raise click.ClickException(f"not deleting {what} without confirmation: pass --yes")
        if not click.confirm(f"Delete {what}?", default=False, err=True):
            raise click.ClickException(f"{study_name!r} not deleted")
    try:
        delete_study(study_name, url)
    except ValueError as e:  # the checkpoint folder holds files tunesmith did not write: nothing deleted
        raise click.ClickException(str(e)) from e
    click.echo(f"Deleted {what}")
