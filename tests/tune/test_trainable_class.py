"""``tune.Trainable``: Ray Tune's class API, stepped by the run, checkpointed, paused and cloned."""

from __future__ import annotations

import json
import os

import pytest

from tunesmith import tune
from tunesmith.trial import TrialState
from tunesmith.tune.schedulers import ASHAScheduler, PopulationBasedTraining


class Counter(tune.Trainable):
    """The score grows by lr per step; its state is saved as a file (a path returned)."""

    def setup(self, config):
        self.lr = config["lr"]
        self.score = 0.0
        self.restored_from = None

    def step(self):
        self.score += self.lr
        return {"score": self.score, "lr": self.lr, "restored": self.restored_from is not None}

    def save_checkpoint(self, checkpoint_dir):
        path = os.path.join(checkpoint_dir, "state.json")
        with open(path, "w") as f:
            json.dump({"score": self.score}, f)
        return path

    def load_checkpoint(self, checkpoint):
        assert os.path.basename(checkpoint) == "state.json"
        with open(checkpoint) as f:
            self.score = json.load(f)["score"]
        self.restored_from = checkpoint


class DictCounter(Counter):
    """Saves its state as a dict (Ray pickles it)."""

    def save_checkpoint(self, checkpoint_dir):
        return {"score": self.score}

    def load_checkpoint(self, checkpoint):
        self.score = checkpoint["score"]
        self.restored_from = "dict"


class Done(tune.Trainable):
    def step(self):
        return {"loss": 1.0 / (self.iteration + 1), "done": self.iteration + 1 >= 3}


def test_class_trainable_steps_until_stop_with_checkpoint_freq_and_at_end(tmp_path):
    analysis = tune.run(Counter, config={"lr": tune.grid_search([1.0, 2.0])}, stop={"training_iteration": 5},
                        checkpoint_freq=2, checkpoint_at_end=True, verbose=0, metric="score", mode="max",
                        storage=f"sqlite:///{tmp_path}/c.db")
    for t in analysis.trials:
        assert t.state == TrialState.COMPLETE and t.last_result["training_iteration"] == 5
        steps = [c.step for c in analysis.study.checkpoints.list(t.number)]
        assert steps == [2, 4, 5]  # every 2 iterations, and at the end
        assert json.load(open(os.path.join(t.checkpoint, "state.json")))["score"] == 5 * t.config["lr"]
    assert analysis.best_config == {"lr": 2.0}


def test_done_in_a_step_result_ends_the_trial_complete():
    analysis = tune.run(Done, config={}, verbose=0, metric="loss", mode="min")
    (t,) = analysis.trials
    assert t.state == TrialState.COMPLETE and t.last_result["training_iteration"] == 3


def test_a_scheduler_max_t_finishes_a_class_trainable():
    sched = ASHAScheduler(metric="score", mode="max", max_t=4, grace_period=1, reduction_factor=2)
    analysis = tune.run(DictCounter, config={"lr": tune.uniform(0.1, 1.0)}, num_samples=4, scheduler=sched,
                        verbose=0, max_concurrent_trials=1)
    assert max(t.last_result["training_iteration"] for t in analysis.trials) == 4
    assert all(t.last_result["training_iteration"] <= 4 for t in analysis.trials)


@pytest.mark.parametrize("cls", [Counter, DictCounter])
def test_pbt_clones_a_class_trainable_save_then_load(tmp_path, cls):
    pbt = PopulationBasedTraining(time_attr="training_iteration", metric="score", mode="max",
                                  perturbation_interval=2, hyperparam_mutations={"lr": tune.uniform(0.1, 2.0)},
                                  quantile_fraction=0.5, resample_probability=0.0, seed=0)
    analysis = tune.run(cls, config={"lr": tune.uniform(0.1, 2.0)}, num_samples=4, scheduler=pbt,
                        stop={"training_iteration": 8}, verbose=0, seed=0, storage=f"sqlite:///{tmp_path}/p.db")
    clones = [t for t in analysis.trials if t.frozen.continues is not None]
    assert clones
    for t in clones:
        reports = analysis.study.storage.get_reports(analysis.study.study_id, t.frozen.trial_id)
        restore = t.frozen.restore
        after = [m for step, m in reports if step > restore.step]
        if after:  # it trained on: from the donor's state, not from zero
            assert after[0]["restored"] and after[0]["training_iteration"] == restore.step + 1
            donor_score = dict(analysis.study.storage.get_reports(
                analysis.study.study_id, analysis.trials[restore.trial].frozen.trial_id))[restore.step]["score"]
            assert after[0]["score"] == pytest.approx(donor_score + t.config["lr"])
    assert all(t.state != TrialState.FAILED for t in analysis.trials)


def test_with_parameters_and_with_resources_on_a_class(tmp_path):
    class Data(tune.Trainable):
        def setup(self, config, data=None):
            self.n = len(data)

        def step(self):
            return {"n": self.n, "done": True}

    analysis = tune.run(tune.with_resources(tune.with_parameters(Data, data=[1, 2, 3]), {"cpu": 1}), config={},
                        verbose=0, storage=f"sqlite:///{tmp_path}/d.db")
    assert analysis.trials[0].last_result["n"] == 3


def test_a_class_without_step_fails_its_trials_with_the_reason():
    class Empty(tune.Trainable):
        pass

    analysis = tune.run(Empty, config={}, verbose=0, raise_on_failed_trial=False)
    assert "must define step()" in analysis.trials[0].error
