"""The tracking feed: loggers hear every trial, report and end, in order, however the trials run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import tunesmith
from tunesmith.integration.trackers import CSVLogger, JSONLogger
from tunesmith.record import FrozenTrial, TrialState
from tunesmith.tracking import Logger, TrackingFeed, check_loggers
from tunesmith.trial import current_trial


class Recorder(Logger):
    """Keeps every call, and checks that all come from one thread in a trial's order."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.threads: set[int] = set()
        self.started = self.ended = False

    def _seen(self) -> None:
        self.threads.add(threading.get_ident())
        assert current_trial() is None  # never called inside an objective: the objective pays nothing

    def on_study_start(self, study: Any) -> None:
        self.started = True

    def on_trial_start(self, trial: FrozenTrial) -> None:
        self._seen()
        self.events.append(("start", trial.number))

    def on_report(self, trial: FrozenTrial, step: int, metrics: dict[str, Any]) -> None:
        self._seen()
        self.events.append(("report", trial.number, step, dict(metrics)))

    def on_trial_end(self, trial: FrozenTrial) -> None:
        self.events.append(("end", trial.number, trial.state, trial.values, dict(trial.params)))

    def on_study_end(self, study: Any) -> None:
        self.ended = True

    def per_trial(self) -> dict[int, list[tuple[Any, ...]]]:
        out: dict[int, list[tuple[Any, ...]]] = {}
        for e in self.events:
            out.setdefault(e[1], []).append(e)
        return out


def objective(trial: tunesmith.Trial) -> float:
    x = trial.suggest_float("x", 0, 1)
    for step in range(1, 4):
        trial.report(step, loss=x + step, acc=step / 10)
    if trial.number % 5 == 3:
        raise ValueError("bad trial")
    return x


def check_complete(rec: Recorder, n: int) -> None:
    """Each trial: start, its three reports in step order, then its end with params and state."""
    trials = rec.per_trial()
    assert sorted(trials) == list(range(n))
    for number, events in trials.items():
        kinds = [e[0] for e in events]
        assert kinds == ["start", "report", "report", "report", "end"], (number, kinds)
        assert [e[2] for e in events[1:4]] == [1, 2, 3]
        end = events[-1]
        x = end[4]["x"]
        assert events[3][3] == {"loss": pytest.approx(x + 3), "acc": pytest.approx(0.3)}
        if number % 5 == 3:
            assert end[2] == TrialState.FAILED and end[3] is None
        else:
            assert end[2] == TrialState.COMPLETE and end[3] == [pytest.approx(x)]
    assert rec.started and rec.ended


def test_serial_in_memory_order_and_states() -> None:
    rec = Recorder()
    study = tunesmith.create_study(seed=0)
    study.optimize(objective, n_trials=6, loggers=[rec])
    check_complete(rec, 6)
    assert rec.threads  # (the feed's thread, and optimize's at its final read)


def test_four_workers_on_sqlite_lose_nothing(sqlite_url: str) -> None:
    rec = Recorder()
    study = tunesmith.create_study(storage=sqlite_url, study_name="par", seed=0)
    study.optimize(objective, n_trials=12, n_workers=4, loggers=[rec])
    check_complete(rec, 12)
    assert len([e for e in rec.events if e[0] == "report"]) == 36


def test_logger_in_callbacks_and_pruned_state() -> None:
    rec = Recorder()
    seen: list[int] = []
    study = tunesmith.create_study(seed=0)

    def pruned(trial: tunesmith.Trial) -> float:
        trial.report(1, loss=1.0)
        if trial.number == 1:
            raise tunesmith.TrialPruned()
        return 1.0

    study.optimize(pruned, n_trials=3, callbacks=[rec, lambda s, t: seen.append(t.number)])
    assert seen == [0, 1, 2]  # plain callbacks still called
    ends = {e[1]: e[2] for e in rec.events if e[0] == "end"}
    assert ends == {0: TrialState.COMPLETE, 1: TrialState.PRUNED, 2: TrialState.COMPLETE}


def test_exception_still_drains_and_closes() -> None:
    rec = Recorder()
    study = tunesmith.create_study(seed=0)

    def crash(trial: tunesmith.Trial) -> float:
        trial.report(1, loss=0.5)
        if trial.number == 2:
            raise RuntimeError("stop the study")
        return 0.5

    with pytest.raises(RuntimeError, match="stop the study"):
        study.optimize(crash, n_trials=5, loggers=[rec], catch=())
    ends = {e[1]: e[2] for e in rec.events if e[0] == "end"}
    assert ends == {0: TrialState.COMPLETE, 1: TrialState.COMPLETE, 2: TrialState.FAILED}
    assert rec.ended


def test_keyboard_interrupt_ends_open_trial_as_interrupted(sqlite_url: str) -> None:
    rec = Recorder()
    study = tunesmith.create_study(storage=sqlite_url, seed=0)

    def interrupted(trial: tunesmith.Trial) -> float:
        trial.report(1, loss=0.5)
        if trial.number == 1:
            raise KeyboardInterrupt
        return 0.5

    with pytest.raises(KeyboardInterrupt):
        study.optimize(interrupted, n_trials=3, loggers=[rec])
    trials = rec.per_trial()
    assert [e[0] for e in trials[1]] == ["start", "report", "end"]
    assert trials[1][-1][2] == TrialState.WAITING  # back in the queue: the logger still closes its run
    assert trials[0][-1][2] == TrialState.COMPLETE and rec.ended


def test_resumed_study_logs_only_new_trials() -> None:
    study = tunesmith.create_study(seed=0)
    study.optimize(objective, n_trials=2)
    rec = Recorder()
    study.optimize(objective, n_trials=2, loggers=[rec])
    assert sorted(rec.per_trial()) == [2, 3]
    assert len([e for e in rec.events if e[0] == "report"]) == 6


def test_failing_logger_is_dropped_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(Logger):
        def on_report(self, trial: FrozenTrial, step: int, metrics: dict[str, Any]) -> None:
            raise OSError("tracker down")

    rec = Recorder()
    study = tunesmith.create_study(seed=0)
    study.optimize(objective, n_trials=3, loggers=[Broken(), rec])
    check_complete(rec, 3)
    assert "Broken.on_report failed" in caplog.text
    assert study.count()[TrialState.COMPLETE] == 3


def test_bad_loggers_are_refused_early() -> None:
    study = tunesmith.create_study()
    with pytest.raises(TypeError, match=r"loggers\[1\] \(int\) is not a tunesmith.tracking.Logger"):
        study.optimize(objective, n_trials=1, loggers=[Recorder(), 3])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="loggers must be a list"):
        check_loggers("wandb")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="interval"):
        TrackingFeed([], interval=0)
    assert study.trials == []


def test_tunesmith_run_loggers_and_callbacks(tmp_path: Path) -> None:
    rec, rec2 = Recorder(), Recorder()

    def train(config: dict[str, Any]) -> None:
        for i in range(1, 3):
            tunesmith.report(loss=config["x"] * i)

    tunesmith.run(train, {"x": tunesmith.uniform(0, 1)}, num_samples=3, metric="loss", mode="min",
                  storage=str(tmp_path / "r.db"), verbose=0, loggers=[rec], callbacks=[rec2])
    for r in (rec, rec2):
        trials = r.per_trial()
        assert sorted(trials) == [0, 1, 2]
        assert all([e[0] for e in ev] == ["start", "report", "report", "end"] for ev in trials.values())


def test_csv_and_json_files(tmp_path: Path) -> None:
    study = tunesmith.create_study(study_name="files study", seed=0)
    study.optimize(objective, n_trials=4, loggers=[CSVLogger(tmp_path), JSONLogger(tmp_path)])
    root = tmp_path / "files_study"
    import csv

    with open(root / "trials.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["state"] for r in rows] == ["COMPLETE", "COMPLETE", "COMPLETE", "FAILED"]
    assert rows[0]["value"] == rows[0]["params_x"] and rows[3]["error"].startswith("ValueError")
    with open(root / "trial_2" / "progress.csv") as f:
        progress = list(csv.DictReader(f))
    assert [int(r["step"]) for r in progress] == [1, 2, 3]
    assert float(progress[-1]["loss"]) == pytest.approx(float(rows[2]["params_x"]) + 3)
    lines = [json.loads(x) for x in (root / "trials.jsonl").read_text().splitlines()]
    assert [r["state"] for r in lines] == ["COMPLETE", "COMPLETE", "COMPLETE", "FAILED"]
    assert lines[0]["values"] == {"value": pytest.approx(lines[0]["params"]["x"])}
    results = [json.loads(x) for x in (root / "trial_0" / "result.json").read_text().splitlines()]
    assert [r["step"] for r in results] == [1, 2, 3] and set(results[0]) == {"step", "loss", "acc"}


def test_csv_new_column_rewrites_header(tmp_path: Path) -> None:
    def late_metric(trial: tunesmith.Trial) -> float:
        trial.report(1, loss=1.0)
        trial.report(2, loss=0.5, extra=7)
        return 0.5

    tunesmith.create_study(study_name="s").optimize(late_metric, n_trials=1, loggers=[CSVLogger(tmp_path)])
    text = (tmp_path / "s" / "trial_0" / "progress.csv").read_text().splitlines()
    assert text == ["step,loss,extra", "1,1.0,", "2,0.5,7"]


def test_import_tunesmith_imports_no_tracker() -> None:
    code = ("import sys, tunesmith, tunesmith.tracking, tunesmith.integration.trackers; "
            "print([m for m in ('wandb', 'mlflow', 'tensorboardX', 'tensorboard', 'lightning', "
            "'pytorch_lightning', 'xgboost', 'lightgbm', 'torch') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(Path(tunesmith.__file__).parents[1])})
    assert out.stdout.strip() == "[]"


def test_logger_failing_at_start_stops_the_run_before_any_trial() -> None:
    class Unreachable(Logger):
        def on_study_start(self, study: Any) -> None:
            raise ConnectionError("tracking server unreachable")

    study = tunesmith.create_study()
    with pytest.raises(ConnectionError, match="unreachable"):
        study.optimize(objective, n_trials=2, loggers=[Unreachable()])
    assert study.trials == []
