"""HyperbandPruner(max_resource="auto"): Optuna's default, inferred from the first finished trial's last step."""

from __future__ import annotations

import pytest

import tunesmith
from tunesmith.schedulers import HyperbandPruner, scheduler_from_spec


def _curve(trial):
    rate = trial.suggest_float("rate", 0.0, 1.0)
    for step in range(20):  # Optuna's steps: 0..19, so max_resource is 20
        trial.report(step, loss=rate + 1.0 / (step + 1))
        if trial.should_prune():
            raise tunesmith.TrialPruned()
    return rate


def test_auto_infers_max_resource_from_the_first_finished_trial_then_prunes():
    pruner = HyperbandPruner()
    study = tunesmith.create_study(metric="loss", mode="min", scheduler=pruner, seed=0)
    study.optimize(_curve, n_trials=1)
    assert study.trials[0].state == tunesmith.TrialState.COMPLETE  # nothing is pruned before one finishes
    study.optimize(_curve, n_trials=29)
    assert pruner.max_t == 20 and pruner.brackets > 1
    counts = study.count()
    assert counts[tunesmith.TrialState.PRUNED] > 5 and counts[tunesmith.TrialState.COMPLETE] >= 2


def test_auto_folds_the_reports_written_before_it_was_known():
    """Trials running before the first one finishes are in the rungs afterwards (ask-and-tell, interleaved)."""
    study = tunesmith.create_study(metric="loss", mode="min", scheduler=HyperbandPruner(reduction_factor=2))
    early = [study.ask() for _ in range(4)]
    for i, trial in enumerate(early):  # four trials report steps 0..3, the first one best
        for step in range(4):
            trial.report(step, loss=float(i))
            assert not trial.should_prune()  # max_resource is not known yet: no trial stops
    first = study.ask()
    for step in range(8):
        first.report(step, loss=10.0)
    study.tell(first, 10.0)  # finished at step 7: max_resource = 8
    worst = early[-1]
    worst.report(4, loss=3.0)
    pruner = study.scheduler
    assert pruner.max_t == 8
    assert sum(len(r.seen) for b in pruner._rungs for r in b) > 0  # the early reports were folded


def test_auto_survives_the_stored_spec_and_bad_values_are_refused():
    rebuilt = scheduler_from_spec(HyperbandPruner().spec())
    assert isinstance(rebuilt, HyperbandPruner) and rebuilt.max_resource == "auto"
    with pytest.raises(ValueError, match="max_resource"):
        HyperbandPruner(max_resource="max")
    with pytest.raises(ValueError, match="min_resource"):
        HyperbandPruner(min_resource=0)
