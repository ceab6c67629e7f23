"""What BOHB promises beyond the conformance suite (``TestBOHB`` in test_conformance.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tunesmith
from tunesmith.samplers import BOHBSampler, RandomSampler, Sampler
from tunesmith.schedulers import HyperBandScheduler


def _curve(trial: tunesmith.Trial) -> float:
    x = trial.suggest_float("x", -5, 5)
    y = trial.suggest_float("y", -5, 5)
    final = (x - 1) ** 2 + (y + 2) ** 2
    for step in range(1, 10):
        trial.report(step, loss=final + 5.0 / step)
        if trial.should_stop():
            break
    return float(trial.last_result["loss"])


def _best(sampler: Sampler) -> float:
    study = tunesmith.create_study(metric="loss", sampler=sampler,
                                   scheduler=HyperBandScheduler(max_t=9, reduction_factor=3))
    study.optimize(_curve, n_trials=60)
    return min((t.params["x"] - 1) ** 2 + (t.params["y"] + 2) ** 2 for t in study.trials)


def test_bohb_beats_random_search_under_hyperband() -> None:
    bohb = [_best(BOHBSampler(seed=s)) for s in range(5)]
    rand = [_best(RandomSampler(seed=s)) for s in range(5)]
    assert np.median(bohb) < np.median(rand)


def test_the_model_uses_the_largest_budget_with_enough_results() -> None:
    # A seed under which Hyperband stops some trials before budget 9 (with others none is).
    study = tunesmith.create_study(metric="loss", sampler=BOHBSampler(seed=1, min_points_in_model=4),
                                   scheduler=HyperBandScheduler(max_t=9, reduction_factor=3))
    study.optimize(_curve, n_trials=12)
    view = study.report_view()
    by_id = view.trials()
    at_1 = BOHBSampler._results_at(view, study.scheduler, 1, by_id)
    at_9 = BOHBSampler._results_at(view, study.scheduler, 9, by_id)
    assert len(at_1) == 12 and len(at_9) < 12
    t = at_1[0]
    first = study.storage.get_reports(study.study_id, t.trial_id)[0][1]["loss"]
    assert t.values == [first]  # the result at budget 1 is the first report there


# Seeded reproduction under Hyperband and the spec round trip (with settings off their
# defaults) are checked by the conformance suite.
@pytest.mark.parametrize(("kwargs", "name"), [({"random_fraction": 2}, "random_fraction"),
                                              ({"random_fraction": -0.1}, "random_fraction"),
                                              ({"min_points_in_model": 1}, "min_points_in_model")])
def test_invalid_settings_name_the_parameter(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        BOHBSampler(**kwargs)


def test_without_a_scheduler_it_is_tpe() -> None:
    study = tunesmith.create_study(sampler=BOHBSampler(seed=0, random_fraction=0.0))
    study.optimize(lambda t: (t.suggest_float("x", -5, 5) - 2) ** 2, n_trials=40)
    assert abs(study.best_params["x"] - 2) < 0.5
