"""``run(stop=...)`` is a scheduler wrapper: it finishes trials once reached, around any scheduler."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

import tunesmith
from tunesmith._trainable import StopWhen
from tunesmith.schedulers import Decision, HyperBandScheduler


def _train(config: dict[str, Any]) -> None:
    for i in range(20):
        tunesmith.report(loss=config["x"] / (i + 1))


def test_stop_finishes_trials_complete_at_the_threshold() -> None:
    result = tunesmith.run(_train, {"x": tunesmith.uniform(0, 1)}, num_samples=3, metric="loss", mode="min",
                           stop={"training_iteration": 4}, verbose=0)
    for t in result.trials:
        assert t.state == tunesmith.TrialState.COMPLETE and t.last_result["training_iteration"] == 4


def test_a_stop_function_gets_the_trial_id_and_result() -> None:
    def stop(trial_id: str, result: Any) -> bool:  # runs in the worker processes
        return bool(result["training_iteration"] >= 2 and trial_id == "1")

    result = tunesmith.run(_train, {"x": tunesmith.uniform(0, 1)}, num_samples=2, metric="loss", mode="min",
                           stop=stop, verbose=0)
    assert {t.number: t.last_result["training_iteration"] for t in result.trials} == {0: 20, 1: 2}


def test_stop_wraps_the_scheduler_and_stores_only_the_schedulers_spec() -> None:
    inner = HyperBandScheduler(max_t=9, reduction_factor=3, metric="loss", mode="min")
    wrapped = StopWhen({"training_iteration": 5}, inner)
    assert wrapped.milestones(0) == inner.milestones(0)  # BOHB reads the rungs through the wrapper
    assert wrapped.spec() == inner.spec() and wrapped.pauses == inner.pauses
    assert pickle.loads(pickle.dumps(wrapped)).inner.max_t == 9  # sent to worker processes
    study = tunesmith.create_study(metric="loss", mode="min", scheduler=wrapped)
    assert study.storage.get_study(study.name).settings.scheduler == inner.spec()
    alone = StopWhen({"training_iteration": 5})
    assert alone.spec() == {} and not alone.pauses
    with pytest.raises(AttributeError):
        alone.metric  # noqa: B018 - no scheduler inside: nothing to read
    assert tunesmith.create_study(metric="loss", scheduler=alone).storage.get_study  # no spec stored: fine


def test_the_scheduler_decides_first_then_stop() -> None:
    wrapped = StopWhen({"loss": 100.0})
    study = tunesmith.create_study(metric="loss", mode="min", scheduler=wrapped)
    view = study.report_view()
    assert wrapped.on_report(view, 0, 1, {"loss": 1.0}) is Decision.CONTINUE
    assert wrapped.on_report(view, 0, 2, {"loss": 100.0}) is Decision.FINISH


def test_a_bad_stop_is_refused_before_anything_runs() -> None:
    with pytest.raises(TypeError, match="stop= must be a dict"):
        tunesmith.run(_train, {"x": tunesmith.uniform(0, 1)}, stop={"loss": "low"}, verbose=0)  # type: ignore[dict-item]
