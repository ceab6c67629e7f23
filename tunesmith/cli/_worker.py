"""``tunesmith worker``: one more worker on a study, in this process, through the study's storage."""

from __future__ import annotations

import os
import shlex
import socket
import sys
import time
from typing import TYPE_CHECKING, Any

import click

from tunesmith import logging as tslogging
from tunesmith.cli._format import fmt, fmt_duration, last_line
from tunesmith.cli._open import command_storage_option, open_storage, open_study, storage_url
from tunesmith.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from tunesmith.study import Study

__all__ = ["load_reference", "worker_command"]

_BACKOFF_FIRST_S = 0.1  # the wait after a first failed trial; it doubles with each further one
_BACKOFF_MAX_S = 10.0


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


def _pause(seconds: float) -> None:
    time.sleep(seconds)


def backoff(consecutive_failures: int) -> float:
    """Seconds to wait after the n-th failed trial in a row: 0.1, 0.2, 0.4... up to 10."""
    return min(_BACKOFF_FIRST_S * 2.0 ** (consecutive_failures - 1), _BACKOFF_MAX_S)


class _Progress:
    """The worker's callback: a line per finished trial, the failure streak, the wait after a failure."""

    def __init__(
        self, metric_names: list[str], quiet: bool, max_failures: int, n_trials: int | None, deadline: float | None,
    ) -> None:
        self.metric_names = metric_names
        self.quiet = quiet
        self.max_failures = max_failures
        self.n_trials = n_trials
        self.deadline = deadline
        self.counts: dict[TrialState, int] = {}
        self.streak = 0
        self.gave_up: FrozenTrial | None = None  # the last of max_failures failed trials in a row

    def __call__(self, study: Study, trial: FrozenTrial) -> None:
        self.counts[trial.state] = self.counts.get(trial.state, 0) + 1
        if not self.quiet:
            click.echo(self.line(trial), err=True)
        if trial.state != TrialState.FAILED:
            self.streak = 0
            return
        self.streak += 1
        if self.max_failures and self.streak >= self.max_failures:
            self.gave_up = trial
            study.stop()
            return
        if self.n_trials is not None and self.ran >= self.n_trials:
            return  # the last trial: nothing to wait for
        wait = backoff(self.streak)
        if self.deadline is not None:
            wait = min(wait, max(0.0, self.deadline - time.monotonic()))
        _pause(wait)

    @property
    def ran(self) -> int:
        return sum(self.counts.values())

    def line(self, trial: FrozenTrial) -> str:
        values = " ".join(f"{name}={fmt(v)}" for name, v in zip(self.metric_names, trial.values or [], strict=False))
        text = f"trial {trial.number} {trial.state.name}" + (f" {values}" if values else "")
        text += f" ({fmt_duration(trial.duration)})"
        return text + (f": {last_line(trial.error)}" if trial.error else "")

    def summary(self, study_name: str, seconds: float) -> str:
        states = ", ".join(f"{n} {s.name.lower()}" for s, n in sorted(self.counts.items()))
        return f"worker ran {self.ran} trial(s) of {study_name!r} in {fmt_duration(seconds)}" + (
            f": {states}" if states else ""
        )


@click.command("worker")
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
@click.option("--max-failures", type=click.IntRange(min=0), default=10, show_default=True, metavar="N",
              help="Stop with exit status 1 after N failed trials in a row (0: never). After each failed "
              f"trial of a row the worker waits, {_BACKOFF_FIRST_S:g} s doubling up to {_BACKOFF_MAX_S:g} s.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@command_storage_option
@click.pass_context
def worker_command(
    ctx: click.Context, study_name: str, objective_ref: str, config_ref: str | None, n_trials: int | None,
    timeout: float | None, max_retries: int, max_failures: int, quiet: bool, storage: str | None,
) -> None:
    """Join STUDY as one more worker (on this or any machine that reaches the storage).

    The study's own sampler and scheduler are used. Every worker renews the lease of
    its running trial and takes back the trials of workers that were lost.

    It prints (on stderr) a line when it starts, one per trial it finished (number,
    state, values, duration, error) and a summary at the end. Ctrl-C ends it with
    exit status 130; the running trial is recorded.
    """
    url = storage_url(ctx, storage)
    store = open_storage(url, read_only=False)
    if store.url is None:
        raise click.BadParameter(
            "workers need a shared storage (sqlite:///... or postgresql://...)", param_hint="'--storage'"
        )
    # It joins the study's other workers, as a worker process or Ray task does.
    study = open_study(store, url, study_name).worker_spec(beside_others=True).open()
    objective = load_reference(objective_ref, "'--objective'")
    if config_ref is not None:
        from tunesmith._trainable import Trainable
        from tunesmith.space import SearchSpace

        space = SearchSpace(load_reference(config_ref, "'--config'"))
        study.set_space(space)
        objective = Trainable(objective, space)
    started = time.monotonic()
    progress = _Progress(
        study.metric_names, quiet, max_failures, n_trials, None if timeout is None else started + timeout,
    )
    if not quiet:
        budget = " and ".join(
            ([f"{n_trials} trial(s)"] if n_trials is not None else []) + ([f"{timeout:g}s"] if timeout else [])
        )
        click.echo(
            f"worker {socket.gethostname()}/{os.getpid()} joins study {study_name!r} in {url} "
            f"({f'for {budget}' if budget else 'no limit'}; Ctrl-C stops it)",
            err=True,
        )
    with tslogging.quieter():  # the worker prints its own line per trial
        study.optimize(objective, n_trials=n_trials, timeout=timeout, max_retries=max_retries, callbacks=[progress])
    if not quiet:
        click.echo(progress.summary(study_name, time.monotonic() - started), err=True)
    if progress.gave_up is not None:
        last = progress.gave_up
        click.echo(f"trial {last.number} failed with:\n{(last.error or '').rstrip()}", err=True)
        raise click.ClickException(
            f"{progress.streak} trials failed in a row (--max-failures {max_failures}), so the worker stops; "
            f"see them with: tunesmith show {shlex.quote(study_name)} --state failed --storage {shlex.quote(url)}"
        )
