"""Every name of Ray Tune 1.x's ``ray.tune`` is in ``tunesmith.tune``: supported, or an error naming our way."""

from __future__ import annotations

import pytest

from tunesmith import tune
from tunesmith.samplers import TPESampler
from tunesmith.trial import TrialState
from tunesmith.tune import schedulers

#: ``ray.tune.__all__`` of Ray 1.13 (Tuner/TuneConfig/ResultGrid are Ray 2's API)
RAY_1_13 = [
    "Trainable", "DurableTrainable", "durable", "Callback", "TuneError", "grid_search", "register_env",
    "register_trainable", "run", "run_experiments", "with_parameters", "Stopper", "EarlyStopping", "Experiment",
    "function", "sample_from", "track", "uniform", "quniform", "choice", "randint", "lograndint", "qrandint",
    "qlograndint", "randn", "qrandn", "loguniform", "qloguniform", "ExperimentAnalysis", "Analysis", "CLIReporter",
    "JupyterNotebookReporter", "ProgressReporter", "report", "get_trial_dir", "get_trial_name", "get_trial_id",
    "make_checkpoint_dir", "save_checkpoint", "is_session_enabled", "checkpoint_dir", "SyncConfig", "create_searcher",
    "create_scheduler", "PlacementGroupFactory", "with_resources",
]

UNSUPPORTED = {
    "DurableTrainable": lambda: tune.DurableTrainable(),
    "durable": lambda: tune.durable(object),
    "register_env": lambda: tune.register_env("env", lambda c: None),
    "register_trainable": lambda: tune.register_trainable("t", lambda c: None),
    "run_experiments": lambda: tune.run_experiments({}),
    "Experiment": lambda: tune.Experiment("e", lambda c: None),
    "track": lambda: tune.track.log(loss=1),
    "qlograndint": lambda: tune.qlograndint(1, 100, 2),
    "JupyterNotebookReporter": lambda: tune.JupyterNotebookReporter(),
    "make_checkpoint_dir": lambda: tune.make_checkpoint_dir(1),
    "SyncConfig": lambda: tune.SyncConfig(upload_dir="s3://bucket/results"),
    "PopulationBasedTrainingReplay": lambda: schedulers.PopulationBasedTrainingReplay("pbt_policy_x.txt"),
}


def test_every_ray_name_is_there():
    missing = [n for n in RAY_1_13 if not hasattr(tune, n)]
    assert not missing
    assert set(RAY_1_13) <= set(tune.__all__)


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_unsupported_names_raise_and_name_the_tunesmith_way(name):
    with pytest.raises(NotImplementedError, match="tunesmith") as info:
        UNSUPPORTED[name]()
    assert name.split(".")[-1] in str(info.value)


def test_session_helpers_inside_a_trial():
    def train(config):
        assert tune.is_session_enabled()
        tune.report(loss=1.0, tid=tune.get_trial_id(), tname=tune.get_trial_name(), tdir=tune.get_trial_dir())

    analysis = tune.run(tune.function(train), config={}, verbose=0)
    r = analysis.trials[0].last_result
    assert r["tid"] == "0" and r["tname"] == "trial_0" and r["tdir"] == analysis.trials[0].logdir
    assert not tune.is_session_enabled()
    with pytest.raises(RuntimeError, match="outside a trial"):
        tune.get_trial_id()


def test_resources_and_factories():
    pgf = tune.PlacementGroupFactory([{"CPU": 1, "GPU": 0}, {"CPU": 1}])
    assert pgf.required_resources() == {"cpu": 2, "gpu": 0}
    with pytest.raises(ValueError, match="'TPU'"):
        tune.PlacementGroupFactory([{"TPU": 1}])
    with pytest.raises(TypeError, match="per-trial"):
        tune.with_resources(lambda c: None, lambda config: {"cpu": 1})
    wrapped = tune.with_resources(lambda config: tune.report(loss=1.0), {"CPU": 1})
    assert wrapped.tune_resources == {"cpu": 1}
    assert tune.run(wrapped, config={}, verbose=0).trials[0].state == TrialState.COMPLETE
    with pytest.raises(ValueError, match="'tpu'"):  # a trainable's resources are checked as resources_per_trial
        tune.run(tune.with_resources(lambda c: None, {"tpu": 1}), config={}, verbose=0)
    assert tune.run(lambda c: tune.report(loss=1.0), config={}, verbose=0, resources_per_trial=pgf).trials
    assert isinstance(tune.create_searcher("hyperopt", seed=1), TPESampler)
    asha = tune.create_scheduler("async_hyperband", max_t=9)
    assert isinstance(asha, schedulers.AsyncHyperBandScheduler) and asha.max_t == 9
    with pytest.raises(ValueError, match="unknown scheduler"):
        tune.create_scheduler("nope")
    with pytest.raises(ValueError, match="export_formats"):  # a class trainable's _export_model does it
        tune.run(lambda c: None, config={}, verbose=0, export_formats=[tune.ExportFormat.MODEL])
    assert tune.Analysis is tune.ExperimentAnalysis and issubclass(tune.TuneError, RuntimeError)
    # Nothing to sync: a config that asks for no upload is accepted, as is Ray's max_failures (retries).
    result = tune.run(lambda c: tune.report(loss=1.0), config={}, verbose=0, sync_config=tune.SyncConfig(),
                      max_failures=2)
    assert result.trials[0].state == TrialState.COMPLETE


def test_callbacks_get_rays_trial_hooks():
    class Seen(tune.Callback):
        def __init__(self):
            super().__init__()
            self.done, self.failed = [], []

        def on_trial_complete(self, iteration, trials, trial, **info):
            self.done.append((iteration, trial.config["x"], trial.last_result["loss"]))

        def on_trial_error(self, iteration, trials, trial, **info):
            self.failed.append(trial.error)

    def train(config):
        if config["x"] == 2:
            raise ValueError("two")
        tune.report(loss=config["x"])

    seen = Seen()
    tune.run(train, config={"x": tune.grid_search([1, 2, 3])}, callbacks=[seen], verbose=0,
             raise_on_failed_trial=False, max_concurrent_trials=1)
    assert seen.done == [(1, 1, 1), (3, 3, 3)] and "two" in seen.failed[0]

    class PerResult(tune.Callback):
        def on_trial_result(self, iteration, trials, trial, result, **info):
            pass

    with pytest.raises(NotImplementedError, match="on_trial_result"):
        PerResult()
