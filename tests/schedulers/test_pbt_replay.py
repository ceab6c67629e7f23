"""PopulationBasedTrainingReplay: a PBT line's config schedule, replayed on a new trainable."""

from __future__ import annotations

import os

import pytest

import tunesmith
from tunesmith import tune
from tunesmith.schedulers import PopulationBasedTraining, scheduler_from_spec
from tunesmith.schedulers.pbt_replay import PopulationBasedTrainingReplay
from tunesmith.trial import TrialState


def _train(config, checkpoint_dir=None):
    score, start = 0.0, 0
    if checkpoint_dir is not None:
        start, score = open(os.path.join(checkpoint_dir, "state")).read().split()
        start, score = int(start), float(score)
    for step in range(start + 1, 11):
        score += config["lr"] * (1 + config["x"])
        with tune.checkpoint_dir(step) as d:
            open(os.path.join(d, "state"), "w").write(f"{step} {score}")
        tune.report(score=score, lr=config["lr"], x=config["x"])


def test_replay_follows_the_line_of_a_pbt_trial(tmp_path):
    pbt = PopulationBasedTraining(time_attr="training_iteration", metric="score", mode="max", perturbation_interval=2,
                                  hyperparam_mutations={"lr": tune.uniform(0.01, 1.0)}, quantile_fraction=0.5,
                                  resample_probability=0.0, seed=0)
    run = tune.run(_train, config={"lr": 0.1, "x": tune.uniform(0, 1)}, num_samples=4, scheduler=pbt, verbose=0,
                   seed=3, max_concurrent_trials=1, storage=f"sqlite:///{tmp_path}/pbt.db")
    lines = [t for t in run.trials if t.frozen.restore is not None and t.state == TrialState.COMPLETE]
    assert lines, "some line must have been continued for the test to mean something"
    best = lines[-1]
    replay = PopulationBasedTrainingReplay.from_analysis(run, best)
    assert replay.schedule and replay.schedule[-1] == [best.frozen.restore.step, best.config]
    # The line's configs, replayed: one trial per segment, each from the previous one's checkpoint.
    again = tune.run(_train, config=replay.config, scheduler=replay, verbose=0,
                     storage=f"sqlite:///{tmp_path}/replay.db")
    segments = [(t.config, t.last_result["training_iteration"]) for t in again.trials]
    expected_configs = [replay.initial_config] + [c for _, c in replay.schedule]
    assert [c for c, _ in segments] == expected_configs
    assert [n for _, n in segments[:-1]] == [int(s) for s, _ in replay.schedule]
    assert segments[-1][1] == 10 and all(t.state != TrialState.FAILED for t in again.trials)
    # Same configs from the same steps: the same final score as the PBT line.
    assert again.trials[-1].last_result["score"] == pytest.approx(best.last_result["score"])
    rebuilt = scheduler_from_spec(replay.spec())
    assert isinstance(rebuilt, PopulationBasedTrainingReplay) and rebuilt.schedule == replay.schedule


def test_replay_arguments():
    with pytest.raises(NotImplementedError, match="from_analysis"):
        tune.schedulers.PopulationBasedTrainingReplay("pbt_policy_abc.txt")
    with pytest.raises(ValueError, match="initial_config"):
        PopulationBasedTrainingReplay()
    with pytest.raises(ValueError, match="must not decrease"):
        PopulationBasedTrainingReplay(initial_config={}, schedule=[[4, {}], [2, {}]])

    def no_checkpoints(config):
        for _ in range(4):
            tunesmith.report(lr=config["lr"])

    result = tune.run(no_checkpoints, config={"lr": 0.1}, verbose=0, raise_on_failed_trial=False,
                      scheduler=PopulationBasedTrainingReplay(initial_config={"lr": 0.1}, schedule=[[2, {"lr": 0.2}]]))
    assert "must save a checkpoint" in result.trials[0].error
