from __future__ import annotations

import pytest

import tunesmith
from tunesmith.schedulers import MedianPruner, MedianStoppingRule, NopPruner, PercentilePruner, scheduler_from_spec
from tunesmith.trial import TrialState


def _run_curve(study, losses, stop_at_decision=True):
    t = study.ask()
    for step, loss in enumerate(losses):
        t.report(step, loss=loss)
        if t.should_stop() and stop_at_decision:
            study.tell(t, state=TrialState.PRUNED)
            return t, step
    study.tell(t, losses[-1])
    return t, None


def test_median_stopping_rule_compares_running_means_at_the_same_time():
    rule = MedianStoppingRule(time_attr="training_iteration", grace_period=2, min_samples_required=2)
    study = tunesmith.create_study(metric="loss", mode="min", scheduler=rule)
    _run_curve(study, [1.0, 0.8, 0.6, 0.5, 0.4])
    _run_curve(study, [1.2, 0.9, 0.7, 0.6, 0.5])
    # Running means at step 3: (1.0+.8+.6+.5)/4 = .725 and (1.2+.9+.7+.6)/4 = .85 -> median .7875
    t, stopped = _run_curve(study, [2.0, 1.9, 1.8, 1.7, 1.6])
    assert stopped == 3  # steps 0-2 are within the grace period
    _, stopped = _run_curve(study, [2.0, 1.0, 0.5, 0.3, 0.2])
    assert stopped is None
    assert t._end_state == TrialState.PRUNED


def test_median_stopping_rule_needs_min_samples():
    rule = MedianStoppingRule(time_attr="training_iteration", grace_period=0, min_samples_required=3)
    study = tunesmith.create_study(metric="loss", mode="min", scheduler=rule)
    _run_curve(study, [1.0, 1.0])
    _run_curve(study, [1.0, 1.0])
    _, stopped = _run_curve(study, [9.0, 9.0])
    assert stopped is None  # only two others got that far


def test_median_stopping_rule_default_time_is_seconds_reported_by_run():
    rule = MedianStoppingRule(grace_period=0.0)
    assert rule.time_attr == "time_total_s"
    study = tunesmith.create_study(metric="loss", scheduler=rule)
    t = study.ask()
    with pytest.raises(KeyError, match="time_total_s"):
        t.report(1, loss=0.3)


def test_median_pruner_uses_completed_trials_at_the_same_step():
    study = tunesmith.create_study(pruner=MedianPruner(n_startup_trials=2, n_warmup_steps=1))
    for curve in ([3.0, 2.0, 1.0], [3.0, 2.5, 2.0]):
        t = study.ask()
        for step, v in enumerate(curve):
            t.report(v, step=step)  # Optuna's spelling: the value of the study's objective
        study.tell(t, curve[-1])
    running = study.ask()
    running.report(9.0, step=0)
    assert not running.should_prune()  # warm-up step
    running.report(2.4, step=1)  # best so far 2.4 is worse than the median of 2.0 and 2.5
    assert running.should_prune()
    other = study.ask()
    other.report(1.0, step=1)
    assert not other.should_prune()


def test_percentile_pruner_in_an_objective():
    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        for step in range(10):
            trial.report(x + 1.0 / (step + 1), step=step)
            if trial.should_prune():
                raise tunesmith.TrialPruned()
        return x

    study = tunesmith.create_study(seed=0, pruner=PercentilePruner(25.0, n_startup_trials=5))
    study.optimize(objective, n_trials=40)
    counts = study.count()
    assert counts[TrialState.PRUNED] >= 15
    assert study.best_value < 0.1


def test_nop_pruner_and_spec():
    study = tunesmith.create_study(pruner=NopPruner())
    t = study.ask()
    t.report(1.0, step=0)
    assert not t.should_prune()
    for s in (MedianPruner(3, 2, 2), PercentilePruner(30.0), MedianStoppingRule(grace_period=5)):
        assert scheduler_from_spec(s.spec()).spec() == s.spec()
    with pytest.raises(ValueError, match="pruner"):
        tunesmith.create_study(pruner=NopPruner(), scheduler=NopPruner())
    with pytest.raises(ValueError, match="percentile"):
        PercentilePruner(120.0)


def _noisy_curve(config):
    for step in range(1, 13):
        tunesmith.report(loss=config["q"] + 1.0 / step)


def test_median_stopping_rule_with_worker_processes(tmp_path):
    rule = MedianStoppingRule(time_attr="training_iteration", metric="loss", mode="min", grace_period=3)
    result = tunesmith.run(
        _noisy_curve, {"q": tunesmith.uniform(0.0, 1.0)}, num_samples=16, scheduler=rule, verbose=0,
        search_alg=tunesmith.samplers.RandomSampler(seed=1),
        storage=f"sqlite:///{tmp_path}/m.db", resources_per_trial={"cpu": 1}, max_concurrent_trials=2,
    )
    pruned = [t for t in result.trials if t.state == TrialState.PRUNED]
    complete = [t for t in result.trials if t.state == TrialState.COMPLETE]
    assert len(pruned) >= 4 and complete
    assert all(t.last_result["training_iteration"] > 3 for t in pruned)  # never within the grace period
    best_q = min(t.config["q"] for t in result.trials)
    assert any(t.config["q"] == best_q for t in complete)
