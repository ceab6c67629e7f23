"""``tunesmith.log`` / ``tunesmith.report`` in a program: alone, in an objective, and under an agent's environment."""

from __future__ import annotations

from pathlib import Path

import pytest

import tunesmith
from tunesmith.session import ENV_SWEEP_ATTEMPT, ENV_SWEEP_STORAGE, ENV_SWEEP_STUDY, ENV_SWEEP_TRIAL


def test_log_alone_prints_a_line_an_agent_could_read(capsys: pytest.CaptureFixture[str]) -> None:
    tunesmith.log({"val_loss": 0.25, "epoch": 3})
    tunesmith.log(acc=1)
    assert capsys.readouterr().out.splitlines() == ["val_loss=0.25 epoch=3", "acc=1"]
    with pytest.raises(RuntimeError, match="outside a trial"):
        tunesmith.report(loss=1.0)  # report keeps its rule: alone, it is a mistake


def test_log_inside_an_objective_is_a_report() -> None:
    study = tunesmith.create_study(metric="loss")

    def objective(trial: tunesmith.Trial) -> float:
        tunesmith.log({"loss": 0.5})
        tunesmith.log({"loss": 0.25})
        return 0.25

    study.optimize(objective, n_trials=1)
    assert study.trials[0].last_step == 2 and study.trials[0].last_result["loss"] == 0.25


def test_under_an_agents_environment_reports_go_to_its_trial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = tunesmith.create_study("sw", url, metric="loss")
    trial = study.ask()
    trial.report(1, loss=9.0)  # a report the agent wrote before (from stdout): the program's steps follow it
    for key, value in ((ENV_SWEEP_STORAGE, url), (ENV_SWEEP_STUDY, "sw"), (ENV_SWEEP_TRIAL, str(trial.trial_id)),
                       (ENV_SWEEP_ATTEMPT, str(trial.attempt))):
        monkeypatch.setenv(key, value)
    tunesmith.log({"loss": 0.5})
    tunesmith.report(loss=0.4, done=True)
    reports = study.storage.get_reports(study.study_id, trial.trial_id)
    assert [(step, m["loss"]) for step, m in reports] == [(1, 9.0), (2, 0.5), (3, 0.4)]
    assert reports[-1][1]["training_iteration"] == 3
    monkeypatch.setenv(ENV_SWEEP_ATTEMPT, str(trial.attempt + 1))  # a stale lease: the write is refused
    with pytest.raises(tunesmith.TrialFinishedError):
        tunesmith.log({"loss": 0.3})
