"""ConsoleReporter: plain lines, the live table, quiet mode, throttling, failures, several objectives."""

from __future__ import annotations

import io
import re
import sys
import time
from typing import Any

import pytest
from rich.console import Console

import tunesmith
from tunesmith.reporting import CLIReporter, ConsoleReporter
from tunesmith.reporting import console as console_module
from tunesmith.samplers import RandomSampler
from tunesmith.study import Study
from tunesmith.trial import FrozenTrial, TrialState


def _console(terminal: bool) -> Console:
    # color_system=None: a terminal (live display, cursor moves) without colour codes in the text.
    return Console(file=io.StringIO(), force_terminal=terminal, color_system=None, width=120)


def _out(console: Console) -> str:
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


def _final_table(text: str, study_name: str) -> list[str]:
    """Lines of the last table printed (after the last title, before the summary)."""
    start = [m.start() for m in re.finditer(rf"study {study_name} *$", text, re.M)][-1]
    end = text.index(f"study {study_name}:", start)
    return text[start:end].splitlines()


def _rows(table: list[str]) -> list[str]:
    return [ln for ln in table if re.match(r"\s*\d+\s+(COMPLETE|PRUNED|FAILED|RUNNING)\s+\S", ln)]


def _objective(trial: tunesmith.Trial) -> float:
    lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    layers = trial.suggest_int("layers", 1, 4)
    return lr * layers


def test_plain_lines_show_numbers_states_params_and_best() -> None:
    console = _console(terminal=False)
    study = tunesmith.create_study(name="plain", seed=0)
    study.optimize(_objective, n_trials=6, reporter=ConsoleReporter(console=console))
    text = _out(console)
    best = study.best_trial
    for t in study.trials:
        line = next(ln for ln in text.splitlines() if ln.startswith(f"trial {t.number} "))
        assert f"trial {t.number} COMPLETE" in line
        assert f"lr={t.params['lr']:.4g}" in line and f"layers={t.params['layers']}" in line
        assert f"value={t.value:.4g}" in line
    assert f"best {best.value:.4g} (trial {best.number})" in text
    assert "6/6" in text
    summary = text.splitlines()[-3:]
    assert summary[0].startswith("study plain: 6 trials (6 COMPLETE)")
    assert summary[1] == f"best trial {best.number}: value={best.value:.4g}"
    assert f"lr={best.params['lr']:.4g}" in summary[2]


def test_plain_lines_are_throttled_and_skipped_trials_summarised(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock()  # the reporter's clock: each trial takes 10 ms on it, however loaded the machine
    monkeypatch.setattr(console_module, "time", clock)
    console = _console(terminal=False)
    study = tunesmith.create_study(name="many", sampler=RandomSampler(seed=0))

    def objective(trial: tunesmith.Trial) -> float:
        clock.now += 0.01
        return trial.suggest_float("x", 0, 1)

    study.optimize(objective, n_trials=800, reporter=ConsoleReporter(console=console))
    lines = _out(console).splitlines()
    # 8 s: a burst of 10 lines, then 5 a second, the last few trials and the summary; not one per trial.
    assert 30 <= len(lines) <= 10 + 5 * 8 + 10, len(lines)
    assert any(re.match(r"\.\.\. \d+ more finished \(\d+ COMPLETE\)", ln) for ln in lines)
    assert lines[-3].startswith("study many: 800 trials (800 COMPLETE)")
    best = study.best_trial
    assert lines[-2] == f"best trial {best.number}: value={best.value:.4g}"


def test_terminal_table_has_the_chosen_parameter_and_metric_columns() -> None:
    console = _console(terminal=True)
    study = tunesmith.create_study(name="live", metric="loss", mode="min", seed=0)

    def trainable(trial: tunesmith.Trial) -> None:
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        trial.suggest_int("layers", 1, 4)
        for i in range(3):
            trial.report(i, loss=lr / (i + 1), training_iteration=i + 1)

    reporter = CLIReporter(
        parameter_columns={"lr": "learning rate"}, metric_columns=["loss", "training_iteration"], console=console,
    )
    study.optimize(trainable, n_trials=8, reporter=reporter)
    table = _final_table(_out(console), "live")
    header = next(ln for ln in table if "learning rate" in ln)
    assert "loss" in header and "training_iteration" in header and "trial" in header and "state" in header
    assert "layers" not in header  # not among parameter_columns
    rows = _rows(table)
    assert len(rows) == 8
    assert all(ln.split()[-3] == "3" for ln in rows)  # training_iteration, before the time ("0 ms")
    assert "8 COMPLETE" in "\n".join(table)  # counts per state in the caption


def test_live_display_draws_before_finish_and_restores_stdout() -> None:
    console = _console(terminal=True)
    study = tunesmith.create_study(name="frame", seed=0)
    study.optimize(_objective, n_trials=5)
    reporter = ConsoleReporter(console=console, metric_columns={"value": "objective"})
    stdout = sys.stdout
    reporter.start(study, 20, None)
    reporter.update(study)
    frame = _out(console)
    assert "lr" in frame and "layers" in frame and "objective" in frame
    assert re.search(r"0/20 trials · elapsed 0:00:0\d · best ", frame)  # counts this run's trials only
    reporter.finish(study)
    assert sys.stdout is stdout
    assert "study frame: 5 trials (5 COMPLETE), 0 in this run" in _out(console)


def test_quiet_prints_one_summary_line() -> None:
    console = _console(terminal=True)
    study = tunesmith.create_study(name="q", seed=0)
    study.optimize(_objective, n_trials=30, reporter=ConsoleReporter(quiet=True, console=console))
    lines = _out(console).splitlines()
    best = study.best_trial
    assert len(lines) == 1
    assert lines[0].startswith("study q: 30 trials (30 COMPLETE) in ")
    assert f"best trial {best.number}: value={best.value:.4g} lr={best.params['lr']:.4g}" in lines[0]


def test_failed_trials_appear_as_failed() -> None:
    def flaky(trial: tunesmith.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        if trial.number % 2:
            raise ValueError(f"odd trial {trial.number}")
        return x

    plain, live = _console(terminal=False), _console(terminal=True)
    for console, name in ((plain, "f1"), (live, "f2")):
        study = tunesmith.create_study(name=name, seed=0)
        study.optimize(flaky, n_trials=6, reporter=ConsoleReporter(console=console))
    text = _out(plain)
    assert re.search(r"^trial 1 FAILED x=\S+ \(.*\) error: ValueError: odd trial 1", text, re.M)
    assert "trial 2 COMPLETE" in text
    assert "study f1: 6 trials (3 COMPLETE, 3 FAILED)" in text
    assert "last failure, trial 5: ValueError: odd trial 5" in text
    table = _final_table(_out(live), "f2")
    assert [ln.split()[1] for ln in _rows(table)] == ["COMPLETE", "FAILED"] * 3
    assert "3 COMPLETE, 3 FAILED" in "\n".join(table)


def test_interrupt_restores_terminal_and_prints_final_state() -> None:
    console = _console(terminal=True)
    study = tunesmith.create_study(name="ki", seed=0)

    def interrupted(trial: tunesmith.Trial) -> float:
        if trial.number == 3:
            raise KeyboardInterrupt
        return trial.suggest_float("x", 0, 1)

    stdout = sys.stdout
    with pytest.raises(KeyboardInterrupt):
        study.optimize(interrupted, n_trials=10, reporter=ConsoleReporter(console=console))
    assert sys.stdout is stdout
    text = _out(console)
    # The interrupted trial goes back to the queue (a later optimize runs it), it did not fail.
    assert "study ki: 4 trials (1 WAITING, 3 COMPLETE), 3 in this run" in text
    assert "last failure" not in text and "FAILED" not in text


@pytest.mark.parametrize("terminal", [False, True])
def test_multi_objective_shows_all_values_and_no_best(terminal: bool) -> None:
    console = _console(terminal)
    study = tunesmith.create_study(name="mo", directions=["minimize", "maximize"], seed=0)
    study.optimize(
        lambda t: (t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)), n_trials=12,
        reporter=ConsoleReporter(console=console),
    )
    text = _out(console)
    assert "best" not in text
    assert "study mo: 12 trials (12 COMPLETE)" in text
    last = study.trials[-1]
    assert last.values is not None
    if terminal:
        header = next(ln for ln in _final_table(text, "mo") if "value_0" in ln)
        assert "value_1" in header
    else:
        assert f"trial 11 COMPLETE value_0={last.values[0]:.4g} value_1={last.values[1]:.4g}" in text


def test_max_rows_and_sort_by_metric() -> None:
    console = _console(terminal=True)
    study = tunesmith.create_study(name="top", seed=0)
    study.optimize(
        lambda t: t.suggest_float("x", 0, 1), n_trials=40,
        reporter=ConsoleReporter(console=console, max_progress_rows=5, sort_by_metric=True),
    )
    rows = _rows(_final_table(_out(console), "top"))
    shown = [float(ln.split()[3]) for ln in rows]  # trial, state, x, value, time
    best5 = sorted(t.value for t in study.trials if t.value is not None)[:5]
    assert shown == [float(f"{v:.4g}") for v in best5]


def test_values_are_compact_and_long_texts_cut() -> None:
    console = _console(terminal=False)
    study = tunesmith.create_study(name="fmt", seed=0)
    long = "a-very-long-categorical-choice-name"
    study.optimize(
        lambda t: 1 / 3 + 0 * len(t.suggest_categorical("c", [long])), n_trials=1,
        reporter=ConsoleReporter(console=console, max_column_length=12),
    )
    text = _out(console)
    assert "value=0.3333 " in text
    assert "c=a-very-long…" in text and long not in text


def test_plain_tables_when_asked() -> None:
    console = _console(terminal=False)
    study = tunesmith.create_study(name="tab", seed=0)
    study.optimize(_objective, n_trials=4, reporter=ConsoleReporter(console=console, print_intermediate_tables=True))
    table = _final_table(_out(console), "tab")
    assert any("lr" in ln and "layers" in ln and "value" in ln for ln in table)
    assert len(_rows(table)) == 4


def test_arguments_are_checked_and_ray_names_accepted() -> None:
    assert CLIReporter is ConsoleReporter
    assert ConsoleReporter(max_progress_rows=7).max_rows == 7
    assert ConsoleReporter(parameter_columns=["a", "b"]).parameter_columns == {"a": "a", "b": "b"}
    with pytest.raises(ValueError, match="max_rows"):
        ConsoleReporter(max_rows=0)
    with pytest.raises(ValueError, match="disagree"):
        ConsoleReporter(max_rows=5, max_progress_rows=7)
    with pytest.raises(TypeError, match="parameter_columns"):
        ConsoleReporter(parameter_columns="lr")
    with pytest.raises(ValueError, match="max_report_frequency"):
        ConsoleReporter(max_report_frequency=0)


class _Clock:
    """A monotonic clock the test moves by hand (the wall clock stays real)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return time.time()


class _CountingStudy:
    """A study whose trial listings are counted, and each takes ``listing_s`` on the clock."""

    def __init__(self, study: Study, clock: _Clock, listing_s: float) -> None:
        self._study, self._clock, self._listing_s = study, clock, listing_s
        self.listings = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._study, name)

    @property
    def trials(self) -> Any:
        self.listings += 1
        self._clock.now += self._listing_s
        return self._study.trials


@pytest.mark.parametrize("mode", ["lines", "live", "tables"])
@pytest.mark.parametrize("listing_s", [0.0, 0.05], ids=["fast-listing", "slow-listing"])
def test_update_redraws_once_per_tick_and_at_most_a_fortieth_of_the_time(
    mode: str, listing_s: float, monkeypatch: pytest.MonkeyPatch,
) -> None:
    modes = {"lines": (False, None, 0.25), "live": (True, None, 0.25), "tables": (False, True, 5.0)}
    terminal, tables, tick_s = modes[mode]
    clock = _Clock()
    monkeypatch.setattr(console_module, "time", clock)
    study = tunesmith.create_study(name="tick", seed=0)
    study.optimize(_objective, n_trials=3)
    counted = _CountingStudy(study, clock, listing_s)
    reporter = ConsoleReporter(console=_console(terminal), print_intermediate_tables=tables)
    reporter.start(counted, None, None)  # type: ignore[arg-type]
    assert reporter._mode == mode
    start = counted.listings
    for _ in range(2000):  # 2000 finished trials, one every 5 ms: 10 s
        clock.now += 0.005
        reporter.update(counted)  # type: ignore[arg-type]
    redraws = counted.listings - start
    elapsed = clock.now - 1000.0
    # A redraw is due a tick after the last one, or 40 times as long as the last one took.
    period = max(tick_s, 40 * listing_s)
    assert elapsed / period - 2 <= redraws <= elapsed / period + 1, (redraws, elapsed, period)
    reporter.finish(counted)  # type: ignore[arg-type]
    assert counted.listings == start + redraws + 1


def test_a_resumed_trial_shows_the_time_since_it_resumed() -> None:
    # A trial resumed from a pause (ASHA) still holds the end of the pause, before its new start.
    resumed = FrozenTrial(0, TrialState.RUNNING, started_at=100.0, finished_at=96.6)
    assert console_module._took(resumed, wall=101.5) == "1.5 s"
    assert console_module._took(FrozenTrial(1, TrialState.PAUSED, started_at=100.0, finished_at=96.6), 101.5) == "-"
    assert console_module._took(FrozenTrial(2, TrialState.COMPLETE, started_at=100.0, finished_at=102.0), 0) == "2.0 s"


def test_the_best_shown_is_the_best_feasible_trial() -> None:
    """Under a sampler's constraints_func, a trial that breaks a constraint is never shown as the best."""
    console = _console(terminal=False)
    sampler = tunesmith.samplers.TPESampler(seed=0, constraints_func=lambda t: [t.params["x"] - 0.5])
    study = tunesmith.create_study(name="feasible", sampler=sampler)
    for x in (0.4, 0.9, 0.2):  # 0.9 is the lowest value but breaks x <= 0.5
        study.enqueue_trial({"x": x})
    study.optimize(lambda t: 1 - t.suggest_float("x", 0, 1), n_trials=3, reporter=ConsoleReporter(console=console))
    assert study.best_trial.number == 0
    summary = _out(console).splitlines()[-2:]
    assert summary[0] == "best trial 0: value=0.6"
