"""``tunesmith export``: every trial of a study as CSV or JSON, with the same columns in both.

A trial's record (:func:`~tunesmith.analysis.trial_record`, the one trial table that
``Study.dataframe`` and ``RunResult.dataframe`` read too) has ``number``, ``state``,
``values`` (one per objective name), ``params``, ``last_step``, ``metrics`` (the last
reported ones), ``user_attrs``, ``started_at`` and ``finished_at`` (ISO 8601, UTC),
``duration`` (seconds) and ``error``. JSON writes the records; CSV flattens each into one
row, a section's entries becoming ``<section>_<key>`` columns (``values_loss``, ``params_lr``).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import click

from tunesmith.analysis._csv import csv_cell, json_default, write_csv
from tunesmith.analysis._table import trial_record
from tunesmith.cli._open import command_storage_option, open_storage, open_study, sqlite_path, storage_url

__all__ = ["csv_cell", "dumps", "export_command", "trial_record", "write_csv"]


def dumps(obj: Any) -> str:
    """Indented JSON; NaN and infinities as ``NaN``/``Infinity``, which ``json.loads`` reads back."""
    return json.dumps(obj, indent=2, default=json_default)


def _check_not_the_database(output: str, url: str) -> None:
    """Refuse to write the export onto the study's own SQLite file (or its journal)."""
    db = sqlite_path(url)
    if db is None:
        return
    base = os.path.realpath(db)
    if os.path.realpath(output) in {base, *(base + suffix for suffix in ("-wal", "-shm", "-journal"))}:
        raise click.BadParameter(
            f"{output} is the study's database file ({base}); writing the export there would destroy it",
            param_hint="'-o' / '--output'",
        )


@contextmanager
def _output(path: str | None) -> Iterator[IO[str]]:
    if path is None or path == "-":
        yield sys.stdout
        return
    try:
        f = open(path, "w", newline="", encoding="utf-8")
    except OSError as e:
        raise click.ClickException(f"cannot write {path}: {e.strerror or e}") from e
    with f:
        yield f


@click.command("export")
@click.argument("study_name", metavar="STUDY")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"], case_sensitive=False), required=True,
    help="csv: one row per trial; json: a list of trial objects. Both carry the same fields.",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default=None, metavar="FILE",
    help="Write to FILE (never the study's own database file); '-' or none: stdout.",
)
@command_storage_option
@click.pass_context
def export_command(ctx: click.Context, study_name: str, fmt: str, output: str | None, storage: str | None) -> None:
    """Export every trial of STUDY as CSV or JSON.

    Each trial has its number, state, a value per objective, parameters, last step
    and last reported metrics, user attributes, start and finish times (ISO 8601,
    UTC), duration in seconds and error. CSV names the columns values_<objective>,
    params_<name>, metrics_<name> and user_attrs_<name>; a text cell that a
    spreadsheet would run as a formula starts with a quote (').
    """
    url = storage_url(ctx, storage)
    to_file = None if output in (None, "-") else output
    if to_file is not None:
        _check_not_the_database(to_file, url)
    study = open_study(open_storage(url), url, study_name)
    records = [trial_record(t, study.metric_names) for t in study.trials]
    with _output(output) as out:
        if fmt.lower() == "csv":
            write_csv(records, study.metric_names, out)
        else:
            out.write(dumps(records) + "\n")
    if to_file is not None:
        click.echo(f"Wrote {len(records)} trials of {study_name!r} to {to_file}", err=True)
