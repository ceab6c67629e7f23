"""The read commands: ``ls``, ``show`` and ``best``. They open the storage read-only."""

from __future__ import annotations

import math
from collections.abc import Sequence

import click
import numpy as np

from tunesmith.cli._export import dumps
from tunesmith.cli._format import (
    add_row,
    fmt,
    fmt_duration,
    fmt_params,
    fmt_time,
    fmt_values,
    last_line,
    print_table,
    table,
)
from tunesmith.cli._open import command_storage_option, open_storage, open_study, storage_url
from tunesmith.multi_objective import nondominated_ranks, pareto_front
from tunesmith.trial import FrozenTrial, TrialState

__all__ = ["best_command", "ls_command", "rank_trials", "show_command"]

STATE_NAMES = [s.name.lower() for s in TrialState]


@click.command("ls")
@command_storage_option
@click.pass_context
def ls_command(ctx: click.Context, storage: str | None) -> None:
    """List the studies in the storage: objectives, trials per state, best value, creation time.

    There is a column for each trial state that occurs (waiting, running, complete,
    pruned, failed, paused); a study's counts add up to its number of trials.
    """
    url = storage_url(ctx, storage)
    summaries = open_storage(url).list_studies()
    if not summaries:
        click.echo(f"No studies in {url}")
        return
    states = [state for state in TrialState if any(s.counts.get(state, 0) for s in summaries)]
    counted = [state.name.lower() for state in states]
    t = table(
        ["name", "direction", "metric", "trials", *counted, "best", "created"], right=("trials", *counted, "best"),
    )
    for s in summaries:
        add_row(t, [
            s.name, ",".join(s.directions), ",".join(s.metric_names), str(s.n_trials),
            *(str(s.counts.get(state, 0)) for state in states),
            fmt(s.best_value) if len(s.directions) == 1 else "-", fmt_time(s.created_at),
        ])
    print_table(t)


def rank_trials(trials: Sequence[FrozenTrial], directions: Sequence[str]) -> list[FrozenTrial]:
    """Best first: COMPLETE trials by value, then other trials with a value, then the rest by number.

    With several objectives a group is ordered by Pareto front (the front first), then
    by the first objective. A value is a full set of non-NaN values.
    """
    n = len(directions)

    def valued(t: FrozenTrial) -> bool:
        return n > 0 and t.values is not None and len(t.values) == n and not any(math.isnan(v) for v in t.values)

    complete = [t for t in trials if t.state == TrialState.COMPLETE and valued(t)]
    other = [t for t in trials if t.state != TrialState.COMPLETE and valued(t)]
    rest = sorted((t for t in trials if not valued(t)), key=lambda t: t.number)
    signs = [-1.0 if d == "maximize" else 1.0 for d in directions]

    def by_value(group: list[FrozenTrial]) -> list[FrozenTrial]:
        if not group:
            return []
        losses = [[s * v for s, v in zip(signs, t.values or [], strict=True)] for t in group]
        fronts = nondominated_ranks(np.array(losses)).tolist() if n > 1 else [0] * len(group)
        order = sorted(range(len(group)), key=lambda i: (fronts[i], losses[i], group[i].number))
        return [group[i] for i in order]

    return by_value(complete) + by_value(other) + rest


@click.command("show")
@click.argument("study_name", metavar="STUDY")
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, metavar="N",
    help="Show only the N best trials: COMPLETE ones by the objective (the Pareto front first for several "
    "objectives), then others with a value, then the rest.",
)
@click.option(
    "--sort", type=click.Choice(["number", "value"], case_sensitive=False), default=None,
    help="Row order: trial number, or value (best first, as for --limit). Default: value with --limit, "
    "else number.",
)
@click.option(
    "--state", "states", type=click.Choice(STATE_NAMES, case_sensitive=False), multiple=True,
    help="Show only trials in this state (repeatable).",
)
@command_storage_option
@click.pass_context
def show_command(
    ctx: click.Context, study_name: str, limit: int | None, sort: str | None, states: tuple[str, ...],
    storage: str | None,
) -> None:
    """Show the trials of STUDY: state, value(s), parameters, duration, errors."""
    url = storage_url(ctx, storage)
    study = open_study(open_storage(url), url, study_name)
    trials = study.get_trials(states=[TrialState[s.upper()] for s in states] or None)
    total = len(trials)
    by_value = (sort or ("value" if limit is not None else "number")).lower() == "value"
    if limit is not None or by_value:
        trials = rank_trials(trials, study.directions)[:limit]
    if not by_value:
        trials.sort(key=lambda t: t.number)
    if not trials:
        which = f" in state {'/'.join(s.upper() for s in states)}" if states else ""
        click.echo(f"No trials{which} in study {study_name!r}")
        return
    with_errors = any(t.error for t in trials)
    headers = ["number", "state", *study.metric_names, "params", "duration"] + (["error"] if with_errors else [])
    t = table(headers, right=("number", *study.metric_names, "duration"))
    for trial in trials:
        cells = [
            str(trial.number), trial.state.name, *fmt_values(trial, len(study.metric_names)),
            fmt_params(trial.params), fmt_duration(trial.duration),
        ]
        add_row(t, cells + ([last_line(trial.error)] if with_errors else []))
    print_table(t)
    if len(trials) < total:
        click.echo(f"(the {len(trials)} best of {total} trials)")


@click.command("best")
@click.argument("study_name", metavar="STUDY")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object (a list for several objectives).")
@command_storage_option
@click.pass_context
def best_command(ctx: click.Context, study_name: str, as_json: bool, storage: str | None) -> None:
    """Show the best trial of STUDY (the Pareto front for several objectives)."""
    url = storage_url(ctx, storage)
    study = open_study(open_storage(url), url, study_name)
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
        click.echo(dumps(records[0] if len(study.directions) == 1 else records))
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
