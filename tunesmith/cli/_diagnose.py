"""The ``diagnose`` command: read a study's learning curves and say what is wrong. It only reads."""

from __future__ import annotations

import click

from tunesmith.cli._open import command_storage_option, open_storage, open_study, storage_url

__all__ = ["diagnose_command"]


@click.command("diagnose")
@click.argument("study_name", metavar="STUDY")
@click.option(
    "--trial", "trial", type=click.IntRange(min=0), default=None, metavar="N",
    help="Diagnose only trial N (judged against the study's other trials).",
)
@click.option("--train", default=None, metavar="METRIC", help="Training curve's metric (default: loss, ...).")
@click.option("--val", default=None, metavar="METRIC", help="Validation curve's metric (default: val_loss, ...).")
@click.option("--lr", default=None, metavar="METRIC", help="Reported learning rate (default: lr or learning_rate).")
@command_storage_option
@click.pass_context
def diagnose_command(
    ctx: click.Context, study_name: str, trial: int | None, train: str | None, val: str | None, lr: str | None,
    storage: str | None,
) -> None:
    """Read the learning curves of STUDY's trials and say what is wrong with them.

    Finds runs that diverge, never learn, decayed the learning rate too early, overfit,
    underfit, stopped while still improving, or train unstably, and parameters whose
    best values sit at a bound of their range; each with what to try.
    """
    from tunesmith.analysis import diagnose, format_findings

    url = storage_url(ctx, storage)
    study = open_study(open_storage(url), url, study_name)
    try:
        diagnosis = diagnose(study, train, val, lr=lr, trial=trial)
    except ValueError as e:  # no such trial
        raise click.BadParameter(str(e), param_hint="'--trial'") from e
    for line in format_findings(diagnosis):
        click.echo(line)
