from __future__ import annotations

import math

import numpy as np
import pytest

import tunesmith
from tunesmith import TrialState
from tunesmith.exceptions import DuplicatedStudyError, StudyNotFoundError, TrialFinishedError
from tunesmith.storage import get_storage


def quadratic(trial: tunesmith.Trial) -> float:
    x = trial.suggest_float("x", -5, 5)
    return (x - 2) ** 2


@pytest.mark.parametrize("storage", [None, "sqlite"])
def test_optimize_finds_minimum_and_records_everything(storage: str | None, sqlite_url: str) -> None:
    study = tunesmith.create_study(storage=sqlite_url if storage else None, seed=1)
    study.optimize(quadratic, n_trials=60)
    assert len(study.trials) == 60
    assert [t.number for t in study.trials] == list(range(60))
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    assert abs(study.best_params["x"] - 2) < 0.5
    assert study.best_value == min(t.value for t in study.trials)
    assert study.best_trial.duration is not None and study.best_trial.duration >= 0


def test_maximize_and_metric_mode_spelling() -> None:
    a = tunesmith.create_study(direction="maximize", seed=0)
    b = tunesmith.create_study(metric="acc", mode="max", seed=0)
    for s in (a, b):
        s.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=20)
        assert s.best_value == max(t.value for t in s.trials)
    assert b.metric_names == ["acc"]


def test_objective_may_return_dict_of_metrics() -> None:
    s = tunesmith.create_study(metric="loss", mode="min")
    s.optimize(lambda t: {"loss": t.suggest_float("x", 0, 1), "other": 3}, n_trials=5)
    assert all(t.state == TrialState.COMPLETE for t in s.trials)
    bad = tunesmith.create_study(metric="loss", mode="min")
    bad.optimize(lambda t: {"acc": 1.0}, n_trials=1)
    assert bad.trials[0].state == TrialState.FAILED
    assert "loss" in (bad.trials[0].error or "")


def test_seeded_study_reproduces(sqlite_url: str) -> None:
    def params(storage: str | None) -> list[dict]:
        s = tunesmith.create_study(storage=storage, seed=42)
        s.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_int("k", 0, 9), n_trials=25)
        return [t.params for t in s.trials]

    assert params(None) == params(None) == params(sqlite_url)


def test_failures_are_recorded_with_traceback_and_study_goes_on() -> None:
    def objective(trial: tunesmith.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        if trial.number % 3 == 0:
            raise ZeroDivisionError("boom in user code")
        return x

    s = tunesmith.create_study()
    s.optimize(objective, n_trials=9)
    failed = s.get_trials(states=[TrialState.FAILED])
    assert [t.number for t in failed] == [0, 3, 6]
    assert "ZeroDivisionError: boom in user code" in (failed[0].error or "")
    assert "Traceback" in (failed[0].error or "")
    assert len(s.get_trials(states=[TrialState.COMPLETE])) == 6


def test_exception_outside_catch_propagates_and_is_recorded() -> None:
    s = tunesmith.create_study()

    def objective(trial: tunesmith.Trial) -> float:
        trial.suggest_float("x", 0, 1)
        raise KeyError("not caught")

    with pytest.raises(KeyError):
        s.optimize(objective, n_trials=5, catch=(ValueError,))
    assert len(s.trials) == 1 and s.trials[0].state == TrialState.FAILED


def test_max_failures_stops_the_study() -> None:
    s = tunesmith.create_study()
    with pytest.raises(tunesmith.MaxFailuresError, match="max_failures=3"):
        s.optimize(lambda t: 1 / 0, n_trials=50, max_failures=3)
    assert len(s.trials) == 3


def test_nan_and_bad_values_fail_the_trial() -> None:
    s = tunesmith.create_study()
    s.optimize(lambda t: float("nan"), n_trials=1)
    s.optimize(lambda t: "a string", n_trials=1)
    s.optimize(lambda t: None, n_trials=1)
    states = [t.state for t in s.trials]
    assert states == [TrialState.FAILED] * 3
    assert "NaN" in (s.trials[0].error or "")


def test_keyboard_interrupt_requeues_the_trial_and_keeps_completed(sqlite_url: str) -> None:
    s = tunesmith.create_study(storage=sqlite_url)

    def objective(trial: tunesmith.Trial) -> float:
        if trial.number == 3:
            raise KeyboardInterrupt
        return trial.suggest_float("x", 0, 1)

    with pytest.raises(KeyboardInterrupt):
        s.optimize(objective, n_trials=10)
    again = tunesmith.load_study(s.name, sqlite_url)
    # The interrupted trial goes back to the queue, none is left RUNNING or counted as failed.
    assert [t.state for t in again.trials] == [TrialState.COMPLETE] * 3 + [TrialState.WAITING]
    again.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=4)  # the queued one runs first
    assert [t.state for t in again.trials] == [TrialState.COMPLETE] * 7


def test_ask_tell_and_immutability() -> None:
    s = tunesmith.create_study()
    t = s.ask()
    x = t.suggest_float("x", 0, 1)
    frozen = s.tell(t, x)
    assert frozen.state == TrialState.COMPLETE and frozen.params == {"x": x}
    with pytest.raises(TrialFinishedError):
        s.tell(t, 0.5)
    assert s.trials[0].value == x
    pruned = s.ask()
    pruned.report(0, value=0.25)
    assert s.tell(pruned, state=TrialState.PRUNED).values == [0.25]


def test_report_spellings_and_reports_are_stored(sqlite_url: str) -> None:
    s = tunesmith.create_study(storage=sqlite_url, metric="loss")
    t = s.ask()
    t.report(0, loss=1.0, acc=0.1)
    t.report(0.5, step=1)  # Optuna's spelling
    with pytest.raises(TypeError):
        t.report(0.3)
    s.tell(t, 0.5)
    reports = s.storage.get_reports(s.study_id, s.trials[0].trial_id)
    assert reports == [(0, {"loss": 1.0, "acc": 0.1}), (1, {"loss": 0.5})]
    assert s.trials[0].last_step == 1


def test_enqueue_runs_first_with_fixed_params() -> None:
    s = tunesmith.create_study(seed=0)
    s.enqueue({"x": 0.123})
    s.enqueue({"x": 0.5, "k": 7})
    s.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_int("k", 0, 9), n_trials=4)
    assert s.trials[0].params["x"] == 0.123
    assert s.trials[1].params == {"x": 0.5, "k": 7}
    assert len(s.trials) == 4
    with pytest.raises(ValueError, match="'x'"):
        s.enqueue({"x": 5.0})


def test_callbacks_and_stop() -> None:
    seen: list[int] = []

    def cb(study: tunesmith.Study, trial: tunesmith.FrozenTrial) -> None:
        seen.append(trial.number)
        if trial.number == 4:
            study.stop()

    s = tunesmith.create_study()
    s.optimize(quadratic, n_trials=100, callbacks=[cb])
    assert seen == [0, 1, 2, 3, 4] and len(s.trials) == 5


def test_timeout_stops() -> None:
    import time

    s = tunesmith.create_study()
    start = time.time()
    s.optimize(lambda t: time.sleep(0.05) or 1.0, timeout=0.3)
    assert time.time() - start < 2.0
    assert 2 <= len(s.trials) <= 10


def test_create_load_errors(sqlite_url: str) -> None:
    tunesmith.create_study(name="a", storage=sqlite_url)
    with pytest.raises(DuplicatedStudyError):
        tunesmith.create_study(name="a", storage=sqlite_url)
    assert tunesmith.create_study(name="a", storage=sqlite_url, load_if_exists=True).name == "a"
    with pytest.raises(StudyNotFoundError, match="'nope'"):
        tunesmith.load_study("nope", sqlite_url)
    with pytest.raises(ValueError, match="direction"):
        tunesmith.create_study(direction="up")
    with pytest.raises(ValueError, match="storage"):
        tunesmith.create_study(storage="mysql+nothing://x")
    with pytest.raises(ValueError, match="n_trials"):
        tunesmith.create_study().optimize(quadratic, n_trials=-1)


def test_optuna_study_name_keyword(sqlite_url: str) -> None:
    """A ported Optuna script passes ``study_name=`` (keyword-only in Optuna) to both functions."""
    study = tunesmith.create_study(study_name="ported", storage=sqlite_url, direction="minimize")
    study.optimize(quadratic, n_trials=3)
    again = tunesmith.load_study(study_name="ported", storage=sqlite_url)
    assert again.name == "ported" and len(again.trials) == 3
    assert tunesmith.create_study(study_name="ported", storage=sqlite_url, load_if_exists=True).name == "ported"
    with pytest.raises(ValueError, match="name='a' and study_name='b' disagree"):
        tunesmith.create_study("a", study_name="b")
    with pytest.raises(TypeError, match="needs the study's name"):
        tunesmith.load_study(storage=sqlite_url)
    assert [s.name for s in get_storage(sqlite_url).list_studies()] == ["ported"]


def test_multi_objective_values_round_trip(sqlite_url: str) -> None:
    s = tunesmith.create_study(storage=sqlite_url, directions=["minimize", "maximize"])
    s.optimize(lambda t: (t.suggest_float("x", 0, 1), math.inf), n_trials=3)
    assert all(len(t.values or []) == 2 and t.values[1] == math.inf for t in s.trials)
    with pytest.raises(RuntimeError, match="several objectives"):
        _ = s.best_trial


def test_categorical_choices_keep_identity(sqlite_url: str) -> None:
    class Marker:
        pass

    choices = [(32, 32), None, Marker]
    s = tunesmith.create_study(storage=sqlite_url, seed=3)
    s.optimize(lambda t: choices.index(t.suggest_categorical("c", choices)), n_trials=12)
    assert {type(t.params["c"]) for t in s.trials} <= {tuple, type(None), type}
    assert any(t.params["c"] is Marker for t in s.trials)


def test_dataframe_columns() -> None:
    pytest.importorskip("pandas")
    s = tunesmith.create_study(metric="loss")
    s.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=4)
    df = s.dataframe()
    assert len(df) == 4
    assert {"number", "state", "loss", "params_x", "duration"} <= set(df.columns)


def test_show_progress_bar_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    s = tunesmith.create_study(name="progress")
    s.optimize(quadratic, n_trials=5, show_progress_bar=True)
    out = capsys.readouterr().out
    assert "progress" in out and "best" in out


def test_parameters_are_stored_as_drawn_while_other_trials_run(sqlite_url: str) -> None:
    """Other workers' samplers hedge against running trials (constant liar) only if they can see
    their parameters: with trials running elsewhere, each draw is stored at once."""
    from tunesmith.samplers import TPESampler

    s = tunesmith.create_study(storage=sqlite_url, sampler=TPESampler(seed=0))
    first = s.ask()
    first.suggest_float("x", 0, 1)  # alone: stored with the result, one write
    elsewhere = tunesmith.load_study(s.name, sqlite_url)
    assert elsewhere.trials[0].params == {}
    second = s.ask()  # the sampler reads the record and sees the first trial running
    x = second.suggest_float("x", 0, 1)
    assert elsewhere.trials[1].params == {"x": x}
    running = elsewhere.history.running(elsewhere.distributions)  # what a sampler there hedges against
    assert running.shape == (2, 1) and int(np.isfinite(running).sum()) == 1
    s.tell(first, 0.5)
    s.tell(second, 0.25)
    assert [t.params["x"] for t in elsewhere.trials][1] == x


def test_samplers_without_a_liar_store_parameters_with_the_result(sqlite_url: str) -> None:
    from tunesmith.samplers import CmaEsSampler

    s = tunesmith.create_study(storage=sqlite_url, sampler=CmaEsSampler(seed=0))
    first = s.ask()
    first.suggest_float("x", 0, 1)
    second = s.ask()  # the first is running, but CMA-ES never reads running trials: no extra write
    second.suggest_float("x", 0, 1)
    assert not s.sampler.hedges_running
    assert tunesmith.load_study(s.name, sqlite_url).trials[1].params == {}


class _PlanRecorder(tunesmith.samplers.RandomSampler):
    def __init__(self, seed: int | None = None) -> None:
        super().__init__(seed)
        self.plans: list[tuple[int | None, int | None]] = []

    def plan(self, n_trials: int | None, n_workers: int | None) -> None:
        self.plans.append((n_trials, n_workers))


def test_optimize_tells_the_sampler_its_plan(sqlite_url: str) -> None:
    sampler = _PlanRecorder(seed=0)
    study = tunesmith.create_study(storage=sqlite_url, sampler=sampler)
    study.optimize(quadratic, n_trials=5)
    study.optimize(quadratic, n_trials=3, n_workers=2)  # the study's planned size: the 5 it has plus 3
    calls = [0]

    def stop_at_two(study: tunesmith.Study, trial: object) -> None:
        calls[0] += 1
        if calls[0] == 2:
            study.stop()

    study.optimize(quadratic, timeout=60.0, callbacks=[stop_at_two])
    assert sampler.plans == [(5, 1), (8, 2), (None, 1)]
    assert len(study.trials) == 10


def _params_stored_before_the_end(trial: tunesmith.Trial) -> float:
    """0 if this trial's parameter is in storage while it runs (another worker's liar can see it), else 1."""
    x = trial.suggest_float("x", 0, 1)
    other = tunesmith.load_study(trial.study.name, storage=trial.study.storage.url)
    stored = next(t for t in other.trials if t.number == trial.number).params
    return 0.0 if stored == {"x": x} else 1.0


def test_workers_store_a_liars_parameters_at_once_one_worker_alone_at_the_end(sqlite_url: str) -> None:
    """With TPE's constant liar, a trial asked while no other runs is the one the next worker needs to see."""
    alone = tunesmith.create_study(storage=sqlite_url, name="alone", sampler=tunesmith.samplers.TPESampler())
    alone.optimize(_params_stored_before_the_end, n_trials=3)
    assert [t.value for t in alone.trials] == [1.0, 1.0, 1.0]  # a write per parameter saved
    workers = tunesmith.create_study(storage=sqlite_url, name="workers",
                                     sampler=tunesmith.samplers.TPESampler())
    workers.optimize(_params_stored_before_the_end, n_trials=6, n_workers=2)
    assert [t.value for t in workers.trials] == [0.0] * 6


class _CountingSampler(tunesmith.samplers.RandomSampler):
    calls = 0

    def suggest(self, space, history, number, rng):  # type: ignore[no-untyped-def]
        type(self).calls += 1
        return super().suggest(space, history, number, rng)


def test_a_trial_whose_parameters_are_all_fixed_asks_the_sampler_for_nothing() -> None:
    study = tunesmith.create_study(sampler=_CountingSampler(seed=0))
    study.optimize(quadratic, n_trials=2)
    calls = _CountingSampler.calls
    study.enqueue({"x": 2.0})
    study.optimize(quadratic, n_trials=1)
    assert _CountingSampler.calls == calls and study.trials[-1].params == {"x": 2.0}
    study.enqueue({})  # nothing fixed: the sampler proposes
    study.optimize(quadratic, n_trials=1)
    assert _CountingSampler.calls == calls + 1
