"""ASHA's promotion form: trials with checkpoints pause at a rung and are resumed when promoted."""

from __future__ import annotations

import os

import tunesmith
from tunesmith.schedulers import ASHAScheduler, Decision
from tunesmith.trial import TrialState


def _report_with_checkpoint(trial, step, loss):
    with trial.checkpoint_dir(step) as d:
        with open(os.path.join(d, "state"), "w") as f:
            f.write(str(step))
    trial.report(step, loss=loss)
    return trial.end_state if trial.should_stop() else Decision.CONTINUE


def test_pause_then_promote_when_enough_trials_arrive(tmp_path):
    study = tunesmith.create_study(metric="loss", artifact_dir=tmp_path,
                                   scheduler=ASHAScheduler(max_t=4, grace_period=1, reduction_factor=2))
    a = study.ask()
    assert _report_with_checkpoint(a, 1, 1.0) == TrialState.PAUSED  # alone at the rung: waits
    study.tell(a, state=TrialState.PAUSED)
    assert study.scheduler.promotable(study.report_view()) == []
    b = study.ask()
    assert b.number == 1
    assert _report_with_checkpoint(b, 1, 2.0) == TrialState.PAUSED  # worse than a
    study.tell(b, state=TrialState.PAUSED)
    assert study.scheduler.promotable(study.report_view()) == [a._trial_id]  # a is the top 1 of 2 now
    assert study.supervisor.resume_promotable()
    again = study.ask()
    assert again.number == a.number and again.last_step == 1
    assert again.get_checkpoint().step == 1  # resumes from its checkpoint
    assert _report_with_checkpoint(again, 2, 0.5) == TrialState.PAUSED  # first at rung 2
    study.tell(again, state=TrialState.PAUSED)
    c = study.ask()
    assert _report_with_checkpoint(c, 1, 0.1) == Decision.CONTINUE  # top 1 of 3 at rung 1: goes on at once
    assert _report_with_checkpoint(c, 2, 0.2) == Decision.CONTINUE  # beats a at rung 2
    assert _report_with_checkpoint(c, 4, 0.05) == TrialState.COMPLETE  # max_t
    study.tell(c, 0.05)
    assert study.scheduler.promotable(study.report_view()) == []  # at rung 2 the top 1 of 2 is c, not a
    counts = study.count()
    assert counts[TrialState.PAUSED] == 2 and counts[TrialState.COMPLETE] == 1


def test_without_a_checkpoint_it_stops_instead():
    study = tunesmith.create_study(metric="loss", scheduler=ASHAScheduler(max_t=4, grace_period=1, reduction_factor=2))
    a, b = study.ask(), study.ask()
    a.report(1, loss=1.0)
    assert not a.should_stop()  # the stopping form: the first at a rung goes on
    b.report(1, loss=2.0)
    assert b.should_stop() and b._end_state == TrialState.PRUNED


def _trainable(config, checkpoint_dir=None):
    start = 0
    if checkpoint_dir is not None:
        with open(os.path.join(checkpoint_dir, "epoch")) as f:
            start = int(f.read()) + 1
    for epoch in range(start, 9):
        with tunesmith.checkpoint_dir(epoch) as d:
            with open(os.path.join(d, "epoch"), "w") as f:
                f.write(str(epoch))
        tunesmith.report(loss=config["q"] / (epoch + 1), resumed=checkpoint_dir is not None)


def test_promotions_across_worker_processes(tmp_path):
    result = tunesmith.run(
        _trainable, {"q": tunesmith.uniform(0.1, 1.0)}, num_samples=16, seed=0, verbose=0,
        scheduler=ASHAScheduler(metric="loss", mode="min", max_t=9, grace_period=1, reduction_factor=3),
        storage=f"sqlite:///{tmp_path}/p.db", resources_per_trial={"cpu": 1}, max_concurrent_trials=2,
    )
    states = [t.state for t in result.trials]
    # Nothing left running, queued or paused: trials still paused when the run ends are stopped (PRUNED).
    assert set(states) <= {TrialState.COMPLETE, TrialState.PRUNED}
    assert states.count(TrialState.COMPLETE) >= 1
    resumed = [t for t in result.trials if t.last_result.get("resumed")]
    assert resumed, "some paused trial must have been promoted and resumed from its checkpoint"
    study = result.study
    for t in resumed:
        steps = [s for s, _ in study.storage.get_reports(study.study_id, t.frozen.trial_id)]
        assert steps == list(range(1, len(steps) + 1))  # it went on where it paused, nothing repeated
    best = result.get_best_trial()
    assert best.state == TrialState.COMPLETE and best.config["q"] == min(t.config["q"] for t in result.trials)
