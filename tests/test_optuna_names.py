"""Optuna's names on tunesmith: an Optuna script runs with ``import tunesmith as optuna``."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

import tunesmith as optuna
from tunesmith.distributions import CategoricalDistribution, FloatDistribution
from tunesmith.trial import TrialState


def test_trial_state_reads_as_optunas() -> None:
    assert optuna.trial.TrialState.FAIL is TrialState.FAILED
    assert str(TrialState.COMPLETE) == "TrialState.COMPLETE" and f"{TrialState.PRUNED}" == "TrialState.PRUNED"
    assert f"{TrialState.RUNNING:d}" == "1" and int(TrialState.FAIL) == 4


def test_logging_verbosity_sets_the_tunesmith_logger() -> None:
    logger = logging.getLogger("tunesmith")
    before = logger.level
    try:
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        assert logger.level == logging.ERROR and optuna.logging.get_verbosity() == optuna.logging.ERROR
        optuna.logging.enable_default_handler()
        optuna.logging.enable_default_handler()  # once only
        assert sum(isinstance(h, logging.StreamHandler) for h in logger.handlers) == 1
        optuna.logging.disable_default_handler()
        assert not logger.handlers
        with pytest.raises(TypeError, match="logging level"):
            optuna.logging.set_verbosity("quiet")  # type: ignore[arg-type]
    finally:
        logger.setLevel(before)
        optuna.logging.enable_default_handler()  # tunesmith's default: the stderr handler is there


def test_pruners_and_trial_pruned_prune() -> None:
    study = optuna.create_study(pruner=optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0))

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        for step in range(5):
            trial.report(x + step, step)
            if trial.should_prune():
                raise optuna.exceptions.TrialPruned()
        return x

    study.optimize(objective, n_trials=12)
    assert study.count().get(TrialState.PRUNED, 0) >= 1


def test_max_trials_callback_counts_every_workers_trials(sqlite_url: str) -> None:
    study = optuna.create_study(storage=sqlite_url, seed=0)
    # Each trial takes a moment, so the stop reaches the workers long before all 40 could run.
    study.optimize(lambda t: time.sleep(0.05) or t.suggest_float("x", 0, 1), n_trials=40, n_workers=2,
                   callbacks=[optuna.callbacks.MaxTrialsCallback(6)])
    complete = study.count()[TrialState.COMPLETE]
    assert 6 <= complete < 40  # each worker stops once the stored total reaches 6 (one may finish one more)
    with pytest.raises(ValueError, match="positive number"):
        optuna.callbacks.MaxTrialsCallback(0)


def test_get_trials_deepcopy_gives_copies() -> None:
    study = optuna.create_study(seed=0)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    copied = study.get_trials(deepcopy=True, states=(TrialState.COMPLETE,))
    copied[0].params["x"] = 99.0
    assert study.trials[0].params["x"] != 99.0
    assert study.get_trials(False, states=[TrialState.RUNNING]) == []


def test_enqueue_trial_with_user_attrs_and_skip_if_exists() -> None:
    study = optuna.create_study(seed=0)
    study.enqueue_trial({"x": 0.25}, user_attrs={"source": "paper"})
    study.enqueue_trial({"x": 0.25}, skip_if_exists=True)
    study.enqueue_trial({"x": 0.75}, skip_if_exists=True)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert [t.params["x"] for t in study.trials] == [0.25, 0.75]
    assert study.trials[0].user_attrs == {"source": "paper"} and study.trials[1].user_attrs == {}
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    study.enqueue_trial({"x": 0.25}, skip_if_exists=True)  # ran already: skipped
    assert study.count().get(TrialState.WAITING, 0) == 0


def test_ask_with_fixed_distributions_and_tell_by_number(sqlite_url: str) -> None:
    study = optuna.create_study(storage=sqlite_url, seed=0)
    trial = study.ask({"x": FloatDistribution(0.0, 1.0), "opt": CategoricalDistribution(("a", "b"))})
    assert set(trial.params) == {"x", "opt"}
    frozen = study.tell(trial.number, trial.params["x"])
    assert frozen.state == TrialState.COMPLETE and frozen.params == trial.params
    # Asked by one process, told by another that opened the same study: the number is enough.
    other = study.ask({"x": FloatDistribution(0.0, 1.0)})
    elsewhere = optuna.load_study(study.name, sqlite_url)
    told = elsewhere.tell(other.number, 0.5)
    assert told.state == TrialState.COMPLETE and told.params == {"x": other.params["x"]}
    with pytest.raises(ValueError, match="already COMPLETE"):
        elsewhere.tell(other.number, 0.1)
    with pytest.raises(ValueError, match="no trial number 99"):
        study.tell(99, 0.1)
    with pytest.raises(TypeError, match="trial number"):
        study.tell("0", 0.1)  # type: ignore[arg-type]


def test_trials_dataframe_selects_optunas_attrs() -> None:
    study = optuna.create_study(seed=0)
    study.optimize(lambda t: (t.set_user_attr("k", 1), t.suggest_float("x", 0, 1))[1], n_trials=3)
    df = study.trials_dataframe()
    assert list(df.columns) == [
        "number", "value", "datetime_start", "datetime_complete", "duration", "params_x", "user_attrs_k", "state"]
    multi = study.trials_dataframe(attrs=("number", "params"), multi_index=True)
    assert list(multi.columns) == [("number", ""), ("params", "x")]


def test_rdb_storage_carries_the_lease_settings_into_optimize(sqlite_url: str) -> None:
    storage = optuna.storages.RDBStorage(
        sqlite_url, heartbeat_interval=0.2, grace_period=1.0,
        failed_trial_callback=optuna.storages.RetryFailedTrialCallback(max_retry=1),
    )
    assert storage.run_defaults == {"heartbeat_interval": 0.2, "heartbeat_grace": 1.0, "max_retries": 1}
    study = optuna.create_study(storage=storage, seed=0)
    lost = study.ask({"x": FloatDistribution(0.0, 1.0)})  # a worker that vanished: no heartbeat comes
    study.optimize(lambda t: (time.sleep(0.05), t.suggest_float("x", 0, 1))[1], n_trials=30)
    again = study.trials[lost.number]
    assert again.state == TrialState.COMPLETE and again.retries == 1  # taken back after 1 s, run again
    assert optuna.storages.RDBStorage(sqlite_url, heartbeat_interval=3).run_defaults["heartbeat_grace"] == 6.0
    with pytest.raises(ValueError, match="engine_kwargs"):
        optuna.storages.RDBStorage(sqlite_url, engine_kwargs={"pool_size": 3})
    assert optuna.storages.RetryFailedTrialCallback().max_retries == 2**31 - 1


def test_artifacts_travel_with_trials_and_studies(tmp_path: Any) -> None:
    from tunesmith.artifacts import download_artifact, get_all_artifact_meta, upload_artifact

    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 's.db'}", artifact_dir=tmp_path / "art", seed=0)

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        path = tmp_path / f"model-{trial.number}.txt"
        path.write_text(f"weights {x}")
        upload_artifact(study_or_trial=trial, file_path=path)
        return x

    study.optimize(objective, n_trials=2, n_workers=2)  # uploaded from worker processes
    for t in study.trials:
        (meta,) = get_all_artifact_meta(t)
        assert meta.filename == f"model-{t.number}.txt" and meta.mimetype == "text/plain"
        out = tmp_path / f"back-{t.number}.txt"
        download_artifact(study=study, artifact_id=meta.artifact_id, file_path=out)
        assert out.read_text() == f"weights {t.params['x']}"
    notes = tmp_path / "notes.md"
    notes.write_text("# why")
    upload_artifact(study_or_trial=study, file_path=notes)
    (meta,) = get_all_artifact_meta(optuna.load_study(study.name, f"sqlite:///{tmp_path / 's.db'}"))
    assert meta.filename == "notes.md"
    with pytest.raises(FileExistsError):
        download_artifact(study=study, artifact_id=meta.artifact_id, file_path=notes)
    with pytest.raises(ValueError, match="not an artifact id"):  # a record cannot point outside the store
        download_artifact(study=study, artifact_id="../../etc/passwd", file_path=tmp_path / "x")
    with pytest.raises(TypeError, match="finished trial"):
        upload_artifact(study_or_trial=study.trials[0], file_path=notes)


def test_study_names_and_summaries_of_a_storage(sqlite_url: str) -> None:
    optuna.create_study(study_name="a", storage=sqlite_url).optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    optuna.create_study(study_name="b", storage=sqlite_url)
    assert sorted(optuna.get_all_study_names(sqlite_url)) == ["a", "b"]
    summaries = {s.name: s for s in optuna.get_all_study_summaries(sqlite_url)}
    assert summaries["a"].n_trials == 2 and summaries["b"].n_trials == 0 and summaries["a"].best_value is not None
