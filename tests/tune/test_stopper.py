"""``tune.Stopper`` and Ray's built-in stoppers, through ``run(stop=...)``."""

from __future__ import annotations

import datetime
import pickle

import pytest

from tunesmith import tune
from tunesmith.trial import TrialState
from tunesmith.tune.stopper import (
    CombinedStopper,
    ExperimentPlateauStopper,
    FunctionStopper,
    MaximumIterationStopper,
    NoopStopper,
    TimeoutStopper,
    TrialPlateauStopper,
)


def _train(config):
    for i in range(50):
        tune.report(loss=config["x"] + 1.0 / (i + 1), flat=1.0 if i >= 5 else float(i))


def test_maximum_iteration_and_function_stoppers():
    a = tune.run(_train, config={"x": 0.5}, stop=MaximumIterationStopper(max_iter=7), verbose=0)
    assert a.trials[0].last_result["training_iteration"] == 7
    b = tune.run(_train, config={"x": 0.5}, stop=FunctionStopper(lambda tid, r: r["loss"] < 0.6), verbose=0)
    assert b.trials[0].last_result["training_iteration"] == 11 and b.trials[0].state == TrialState.COMPLETE
    with pytest.raises(ValueError, match="max_iter"):
        MaximumIterationStopper(0)


def test_trial_plateau_stopper_and_combined():
    stop = CombinedStopper(MaximumIterationStopper(40), TrialPlateauStopper(metric="flat", std=0.01, num_results=4))
    a = tune.run(_train, config={"x": 0.5}, stop=stop, verbose=0)
    assert a.trials[0].last_result["training_iteration"] == 9  # flat from iteration 6: 4 equal values at 9
    with pytest.raises(ValueError, match="mode"):
        TrialPlateauStopper(metric="flat", metric_threshold=1.0)
    assert pickle.loads(pickle.dumps(stop))  # stoppers go to worker processes


class StopAfterTwoTrials(tune.Stopper):
    def __init__(self):
        self.finished = set()

    def __call__(self, trial_id, result):
        if result["training_iteration"] >= 3:
            self.finished.add(trial_id)
            return True
        return False

    def stop_all(self):
        return len(self.finished) >= 2


def test_stop_all_ends_the_whole_run():
    analysis = tune.run(_train, config={"x": tune.uniform(0, 1)}, num_samples=10, stop=StopAfterTwoTrials(),
                        verbose=0, max_concurrent_trials=1)
    # The second trial's stop makes stop_all true: no trial starts after it.
    assert len(analysis.trials) == 2
    assert all(t.state == TrialState.COMPLETE for t in analysis.trials)


def test_experiment_plateau_and_timeout_stoppers():
    plateau = ExperimentPlateauStopper(metric="flat", top=3, std=0.001, mode="max")
    analysis = tune.run(_train, config={"x": tune.uniform(0, 1)}, num_samples=6, stop=plateau, verbose=0,
                        max_concurrent_trials=1)
    # flat: 0, 1, 2, 3, 4, 1, 1, ...: the top 3 are 4, 4, 4 once the third trial reaches 4.
    assert len(analysis.trials) == 3 and analysis.trials[-1].last_result["training_iteration"] == 5
    const = ExperimentPlateauStopper(metric="c", top=2, std=0.001, mode="min")
    analysis = tune.run(lambda config: [tune.report(c=1.0) for _ in range(10)], config={"x": tune.uniform(0, 1)},
                        num_samples=6, stop=const, verbose=0, max_concurrent_trials=1)
    assert len(analysis.trials) == 1 and analysis.trials[0].last_result["training_iteration"] == 2
    with pytest.raises(ValueError, match="top"):
        ExperimentPlateauStopper(metric="flat", top=1)
    timeout = TimeoutStopper(datetime.timedelta(seconds=0))
    assert timeout.stop_all() is False and timeout.stop_all() is True  # counts from its first check
    with pytest.raises(ValueError, match="timeout"):
        TimeoutStopper("soon")
    assert NoopStopper()("0", {}) is False and not NoopStopper().stop_all()
    with pytest.raises(NotImplementedError, match="stop_all"):
        tune.Stopper().stop_all()
