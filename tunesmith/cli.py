"""The ``tunesmith`` command: look at studies in a storage without writing to it.

Commands (``--storage URL`` before or after the command, or ``TUNESMITH_STORAGE``;
default ``sqlite:///tunesmith.db`` in the current directory)::

    tunesmith ls                                  # studies, trial counts, best values
    tunesmith show STUDY --state failed --limit 20
    tunesmith best STUDY --json
    tunesmith export STUDY --format csv -o trials.csv

Every command only reads: a SQLite file that does not exist is reported, never
created, and a file that is not a tunesmith database is left untouched.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import os
import sqlite3
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Any

import click
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tunesmith.exceptions import StorageError, StudyNotFoundError
from tunesmith.multi_objective import pareto_front
from tunesmith.storage import DEFAULT_STORAGE_URL, InMemoryStorage, Storage, get_storage
from tunesmith.study import Study, load_study
from tunesmith.trial import FrozenTrial, TrialState

__all__ = ["cli", "main"]

_ENV_STORAGE = "TUNESMITH_STORAGE"
_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
_STATE_NAMES = [s.name.lower() for s in TrialState]

# -- opening the storage, read-only ---------------------------------------------------
def _sqlite_path(url: str) -> str | None:
    """The file a SQLite storage URL (or bare ``.db`` path) names; None for other storages."""
    if url.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        try:
            database = make_url(url).database
        except Exception:  # malformed URL: get_storage reports it
            return None
        return database if database and database != ":memory:" else None
    if "://" not in url and url.endswith(_SQLITE_SUFFIXES):
        return url
    return None


def _check_sqlite_file(url: str, path: str) -> bool:
    """Check, read-only, that ``path`` holds a tunesmith database; False when it holds no tables.

    SQLStorage would turn an empty file into a tunesmith database and take a write
    lock; a command that only looks must do neither.
    """
    where = os.path.abspath(path) + (f" ({url})" if url != path else "")
    if not os.path.exists(path):
        raise click.ClickException(
            f"no tunesmith database at {where}: the file does not exist; "
            f"pass --storage URL or set {_ENV_STORAGE} to the study's storage"
        )
    if os.path.isdir(path):
        raise click.ClickException(f"{where} is a directory, not a tunesmith database file")
    if os.path.getsize(path) == 0:
        return False
    try:
        conn = sqlite3.connect(f"file:{_uri_path(path)}?mode=ro", uri=True)
        try:
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.OperationalError as e:  # unreadable, locked...
        raise click.ClickException(f"cannot read {where}: {e}") from e
    except sqlite3.DatabaseError as e:  # "file is not a database"
        raise click.ClickException(f"{where} is not a tunesmith database (SQLite says: {e})") from e
    if not names:
        return False
    if "tunesmith_meta" not in names:
        shown = ", ".join(sorted(names)[:5])
        raise click.ClickException(f"{where} is not a tunesmith database: it holds other tables ({shown})")
    return True


def _uri_path(path: str) -> str:
    from urllib.parse import quote

    return quote(os.path.abspath(path).replace(os.sep, "/"), safe="/:")


def open_storage(url: str) -> Storage:
    """Open ``url`` for reading; a SQLite file is checked first so that nothing is written."""
    path = _sqlite_path(url)
    if path is not None and not _check_sqlite_file(url, path):
        return InMemoryStorage()  # an empty file: a storage with no studies
    try:
        return get_storage(url)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="'--storage'") from e


def _open_study(storage: Storage, url: str, name: str) -> Study:
    try:
        return load_study(name, storage)
    except StudyNotFoundError:
        names = [s.name for s in storage.list_studies()]
        available = f"available: {', '.join(names)}" if names else "it holds no studies"
        raise click.ClickException(f"no study named {name!r} in {url}; {available}") from None


# -- formatting -----------------------------------------------------------------------
def _fmt(value: Any) -> str:
    """A short, human form of a value for tables."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _fmt_values(trial: FrozenTrial, n: int) -> list[str]:
    values = trial.values or []
    return [_fmt(values[i]) if i < len(values) else "-" for i in range(n)]


def _fmt_params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_fmt(v)}" for k, v in params.items())


def _fmt_time(ts: float | None) -> str:
    if ts is None:
        return "-"
    return _dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def _fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def _last_line(error: str | None, width: int = 100) -> str:
    if not error:
        return ""
    lines = [line.strip() for line in error.strip().splitlines() if line.strip()]
    line = lines[-1] if lines else ""
    return line if len(line) <= width else line[: width - 3] + "..."


def _is_terminal() -> bool:
    return sys.stdout.isatty()


def _print_table(table: Table) -> None:
    """Rich on a terminal; plain, unwrapped text without trailing blanks when piped (grep-able)."""
    if _is_terminal():
        Console(highlight=False).print(table)
        return
    console = Console(file=io.StringIO(), width=100_000, highlight=False, no_color=True)
    with console.capture() as captured:
        console.print(table)
    click.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))


def _table(headers: Sequence[str], right: Sequence[str] = ()) -> Table:
    """A table whose columns in ``right`` are right-aligned."""
    if _is_terminal():
        table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False, collapse_padding=True)
    else:
        table = Table(box=None, show_edge=False, pad_edge=False, header_style="")
    for h in headers:
        table.add_column(h, justify="right" if h in right else "left", overflow="fold")
    return table


def _row(table: Table, cells: Sequence[str]) -> None:
    table.add_row(*(Text(c) for c in cells))  # Text: no rich markup in user strings


# -- exports --------------------------------------------------------------------------
def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):  # numpy scalars and arrays
        return obj.tolist()
    return repr(obj)


def _dumps(obj: Any) -> str:
    # allow_nan (the default) writes NaN/Infinity, which json.loads reads back.
    return json.dumps(obj, indent=2, default=_json_default)


def trial_record(trial: FrozenTrial) -> dict[str, Any]:
    """A trial as a JSON-ready dict (what ``export --format json`` writes)."""
    return {
        "number": trial.number, "state": trial.state.name, "values": trial.values, "params": trial.params,
        "user_attrs": trial.user_attrs, "last_result": trial.last_result, "started_at": trial.started_at,
        "finished_at": trial.finished_at, "error": trial.error,
    }


def write_csv(study: Study, trials: Sequence[FrozenTrial], out: IO[str]) -> None:
    """One row per trial: number, state, a column per metric, ``params_<name>``, timings, error."""
    param_names: dict[str, None] = {}  # ordered set: first appearance
    for t in trials:
        param_names.update(dict.fromkeys(t.params))
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([
        "number", "state", *study.metric_names, *(f"params_{p}" for p in param_names),
        "datetime_start", "datetime_complete", "duration", "error",
    ])
    for t in trials:
        values = t.values or []
        writer.writerow([
            t.number, t.state.name,
            *(values[i] if i < len(values) else "" for i in range(len(study.metric_names))),
            *(_csv_cell(t.params[p]) if p in t.params else "" for p in param_names),
            t.datetime_start.isoformat() if t.datetime_start else "",
            t.datetime_complete.isoformat() if t.datetime_complete else "",
            "" if t.duration is None else t.duration,
            t.error or "",
        ])


def _csv_cell(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float)):
        return "" if value is None else value
    return json.dumps(value, default=_json_default)  # lists, dicts: a parseable cell


# -- the command line -----------------------------------------------------------------
class _Group(click.Group):
    """Turns storage failures into a one-line error and exit status 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from sqlalchemy.exc import SQLAlchemyError

        try:
            return super().invoke(ctx)
        except BrokenPipeError:  # `tunesmith export ... | head`
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(1)
        except (StorageError, StudyNotFoundError, SQLAlchemyError, sqlite3.Error, OSError) as e:
            text = str(e).strip().splitlines()
            raise click.ClickException(text[0] if text else type(e).__name__) from e


# ``--storage`` is accepted before the command (with the env var and default) and after it.
_global_storage_option = click.option(
    "--storage", envvar=_ENV_STORAGE, default=DEFAULT_STORAGE_URL, show_default=True, metavar="URL",
    help=f"Storage URL (sqlite:///file.db, postgresql://...) or a .db path; env {_ENV_STORAGE}.",
)
_command_storage_option = click.option(
    "--storage", default=None, metavar="URL", help="Storage URL (overrides the one given before the command).",
)


def _storage_url(ctx: click.Context, storage: str | None) -> str:
    return storage if storage is not None else str(ctx.obj)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@_global_storage_option
@click.version_option(package_name="tunesmith", prog_name="tunesmith")
@click.pass_context
def cli(ctx: click.Context, storage: str) -> None:
    """Inspect and export tunesmith studies."""
    ctx.obj = storage


@cli.command("ls")
@_command_storage_option
@click.pass_context
def ls_command(ctx: click.Context, storage: str | None) -> None:
    """List the studies in the storage."""
    url = _storage_url(ctx, storage)
    summaries = open_storage(url).list_studies()
    if not summaries:
        click.echo(f"No studies in {url}")
        return
    counted = ("complete", "pruned", "failed", "running")
    table = _table(
        ["name", "direction", "metric", "trials", *counted, "best", "created"],
        right=("trials", *counted, "best"),
    )
    for s in summaries:
        _row(table, [
            s.name, ",".join(s.directions), ",".join(s.metric_names), str(s.n_trials),
            *(str(s.counts.get(TrialState[c.upper()], 0)) for c in counted),
            _fmt(s.best_value) if len(s.directions) == 1 else "-", _fmt_time(s.created_at),
        ])
    _print_table(table)


@cli.command("show")
@click.argument("study_name", metavar="STUDY")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Show only the N most recent trials.")
@click.option(
    "--state", "states", type=click.Choice(_STATE_NAMES, case_sensitive=False), multiple=True,
    help="Show only trials in this state (repeatable).",
)
@_command_storage_option
@click.pass_context
def show_command(
    ctx: click.Context, study_name: str, limit: int | None, states: tuple[str, ...], storage: str | None,
) -> None:
    """Show the trials of STUDY: state, value(s), parameters, duration, errors."""
    url = _storage_url(ctx, storage)
    study = _open_study(open_storage(url), url, study_name)
    wanted = [TrialState[s.upper()] for s in states] or None
    trials = study.get_trials(wanted)
    total = len(trials)
    if limit is not None:
        trials = trials[-limit:]
    if not trials:
        which = f" in state {'/'.join(s.upper() for s in states)}" if states else ""
        click.echo(f"No trials{which} in study {study_name!r}")
        return
    with_errors = any(t.error for t in trials)
    headers = ["number", "state", *study.metric_names, "params", "duration"] + (["error"] if with_errors else [])
    table = _table(headers, right=("number", *study.metric_names, "duration"))
    for t in trials:
        cells = [
            str(t.number), t.state.name, *_fmt_values(t, len(study.metric_names)),
            _fmt_params(t.params), _fmt_duration(t.duration),
        ]
        _row(table, cells + ([_last_line(t.error)] if with_errors else []))
    _print_table(table)
    if len(trials) < total:
        click.echo(f"({len(trials)} of {total} trials shown)")


@cli.command("best")
@click.argument("study_name", metavar="STUDY")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object (a list for several objectives).")
@_command_storage_option
@click.pass_context
def best_command(ctx: click.Context, study_name: str, as_json: bool, storage: str | None) -> None:
    """Show the best trial of STUDY (the Pareto front for several objectives)."""
    url = _storage_url(ctx, storage)
    study = _open_study(open_storage(url), url, study_name)
    if len(study.directions) == 1:
        try:
            best = [study.best_trial]
        except ValueError as e:
            raise click.ClickException(str(e)) from e
    else:
        best = pareto_front(study.trials, study.directions)
        if not best:
            raise click.ClickException(f"study {study_name!r} has no completed trial yet")
    if as_json:
        records = [
            {"number": t.number, "value": t.values[0] if t.values and len(t.values) == 1 else None,
             "values": t.values, "params": t.params}
            for t in best
        ]
        click.echo(_dumps(records[0] if len(study.directions) == 1 else records))
        return
    objectives = ", ".join(f"{d} {m}" for d, m in zip(study.directions, study.metric_names, strict=False))
    if len(study.directions) > 1:
        click.echo(f"Pareto front of study {study_name!r} ({objectives}): {len(best)} trial(s)")
    else:
        click.echo(f"Best trial of study {study_name!r} ({objectives}):")
    for t in best:
        click.echo(f"  number: {t.number}")
        for name, v in zip(study.metric_names, t.values or [], strict=False):
            click.echo(f"  {name}: {v!r}")
        click.echo("  params:" if t.params else "  params: (none)")
        for k, v in t.params.items():
            click.echo(f"    {k}: {v!r}")


@cli.command("export")
@click.argument("study_name", metavar="STUDY")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"], case_sensitive=False), required=True,
    help="csv: one row per trial; json: a list of trial objects.",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to this file instead of stdout.")
@_command_storage_option
@click.pass_context
def export_command(ctx: click.Context, study_name: str, fmt: str, output: str | None, storage: str | None) -> None:
    """Export every trial of STUDY as CSV or JSON."""
    url = _storage_url(ctx, storage)
    study = _open_study(open_storage(url), url, study_name)
    trials = study.trials
    with _output(output) as out:
        if fmt.lower() == "csv":
            write_csv(study, trials, out)
        else:
            out.write(_dumps([trial_record(t) for t in trials]) + "\n")
    if output is not None:
        click.echo(f"Wrote {len(trials)} trials of {study_name!r} to {output}", err=True)


def load_reference(ref: str, what: str) -> Any:
    """``module:attr`` or ``path/to/file.py:attr`` -> the object (the current directory is importable)."""
    import importlib
    import importlib.util

    module_name, sep, attr = ref.rpartition(":")
    if not sep or not module_name or not attr:
        raise click.BadParameter(f"{ref!r} is not of the form module:name or file.py:name", param_hint=what)
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        if module_name.endswith(".py"):
            spec = importlib.util.spec_from_file_location(os.path.basename(module_name)[:-3], module_name)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {module_name}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
        return getattr(module, attr)
    except (ImportError, OSError, AttributeError) as e:
        raise click.BadParameter(f"cannot load {ref!r}: {e}", param_hint=what) from e


@cli.command("worker")
@click.option("--study", "study_name", required=True, metavar="NAME", help="The study to join.")
@click.option("--objective", "objective_ref", required=True, metavar="MODULE:FUNCTION",
              help="The objective (a function of a trial), or with --config a trainable (a function of a config).")
@click.option("--config", "config_ref", default=None, metavar="MODULE:NAME",
              help="A dict-style search space: the objective is then called with a config, as in tunesmith.run.")
@click.option("--n-trials", type=click.IntRange(min=1), default=None,
              help="Trials this worker runs (default: until stopped, or until a grid is done).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None, help="Seconds this worker runs.")
@click.option("--max-retries", type=click.IntRange(min=0), default=0, show_default=True,
              help="Times a trial whose worker was lost runs again before it is FAILED.")
@_command_storage_option
@click.pass_context
def worker_command(
    ctx: click.Context, study_name: str, objective_ref: str, config_ref: str | None, n_trials: int | None,
    timeout: float | None, max_retries: int, storage: str | None,
) -> None:
    """Join STUDY as one more worker (on this or any machine that reaches the storage).

    The study's own sampler is used. Every worker renews the lease of its running
    trial and takes back the trials of workers that were lost.
    """
    url = _storage_url(ctx, storage)
    store = get_storage(url)
    if store.url is None:
        raise click.BadParameter(
            "workers need a shared storage (sqlite:///... or postgresql://...)", param_hint="'--storage'"
        )
    try:
        study = load_study(study_name, store)
    except StudyNotFoundError:
        raise click.ClickException(f"no study named {study_name!r} in {url}") from None
    objective = load_reference(objective_ref, "'--objective'")
    if config_ref is not None:
        from tunesmith.run import _Trainable
        from tunesmith.space import SearchSpace

        space = SearchSpace(load_reference(config_ref, "'--config'"))
        study.set_space(space)
        objective = _Trainable(objective, space)
    if n_trials is None and timeout is None:
        click.echo(f"worker joins study {study_name!r} in {url}; Ctrl-C stops it", err=True)
    ran: list[int] = []
    study._beside_others = True  # it joins the study's other workers
    try:
        study.optimize(objective, n_trials=n_trials, timeout=timeout, max_retries=max_retries,
                       callbacks=[lambda _study, trial: ran.append(trial.number)])
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
    click.echo(f"worker ran {len(ran)} trial(s) of {study_name!r}", err=True)


@contextmanager
def _output(path: str | None) -> Iterator[IO[str]]:
    if path is None:
        yield sys.stdout
        return
    try:
        f = open(path, "w", newline="", encoding="utf-8")
    except OSError as e:
        raise click.ClickException(f"cannot write {path}: {e.strerror or e}") from e
    with f:
        yield f


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``tunesmith`` console script and ``python -m tunesmith``."""
    cli.main(args=None if argv is None else list(argv), prog_name="tunesmith")
