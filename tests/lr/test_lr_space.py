"""schedule_space sampled by a real study, define-by-run and dict style: conditional parameters only for their kind."""

from __future__ import annotations

import pytest

import tunesmith
from tunesmith.lr import Schedule, schedule_space
from tunesmith.lr._space import CONDITIONAL
from tunesmith.samplers import RandomSampler

KIND_PARAMS = {kind: {f"schedule/{kind}/{name}" for name in own} for kind, own in CONDITIONAL.items()}
ALL_CONDITIONAL = set().union(*KIND_PARAMS.values())


def _score(sched: Schedule) -> float:
    """A stand-in for a validation loss: prefers rates near 0.01 at the start and small ones at the end."""
    import math

    assert sched.lr is not None
    return abs(math.log10(sched(sched.params["warmup_steps"]) / 0.01)) + sched(199) * 10


def test_define_by_run_draws_only_the_chosen_kinds_parameters() -> None:
    space = schedule_space(total_steps=200, lr=(1e-4, 1e-1), max_warmup_steps=20)
    study = tunesmith.create_study(direction="minimize", seed=0)
    built: dict[int, Schedule] = {}

    def objective(trial: tunesmith.Trial) -> float:
        sched = space.suggest(trial)
        built[trial.number] = sched
        return _score(sched)

    study.optimize(objective, n_trials=30)
    trials = study.get_trials([tunesmith.TrialState.COMPLETE])
    assert len(trials) == 30
    kinds = {t.params["schedule/kind"] for t in trials}
    assert kinds == set(CONDITIONAL)  # every kind was tried
    for t in trials:
        kind = t.params["schedule/kind"]
        conditional = set(t.params) & ALL_CONDITIONAL
        assert conditional == KIND_PARAMS[kind], (kind, t.params)
        assert 0 <= t.params["schedule/warmup_steps"] <= 20 and 1e-4 <= t.params["lr"] <= 1e-1
        sched = built[t.number]
        assert sched.kind == kind and sched.lr == t.params["lr"]
        # the same schedule rebuilt from the stored parameters (flat names)
        again = space.from_config(t.params)
        assert again == sched


def test_dict_style_sets_conditional_values_only_for_their_kind() -> None:
    space = schedule_space(["constant", "step", "cosine", "exponential"], total_steps=200, lr=(1e-4, 1e-1),
                           max_warmup_steps=20)
    study = tunesmith.create_study(direction="minimize", seed=1)
    study.set_space(space.config())
    seen: list[dict] = []

    def objective(trial: tunesmith.Trial) -> float:
        config = trial.config  # nested, as a trainable receives it
        seen.append(config)
        return _score(space.from_config(config))

    study.optimize(objective, n_trials=30)
    trials = study.get_trials([tunesmith.TrialState.COMPLETE])
    assert len(trials) == 30
    assert {t.params["schedule/kind"] for t in trials} == {"constant", "step", "cosine", "exponential"}
    for t in trials:
        kind = t.params["schedule/kind"]
        set_here = {n for n in ALL_CONDITIONAL if t.params.get(n) is not None}
        assert set_here == KIND_PARAMS[kind], (kind, t.params)
        assert space.from_config(t.params).kind == kind
    step_trials = [t for t in trials if t.params["schedule/kind"] == "step"]
    assert step_trials and all(0.05 <= t.params["schedule/step/gamma"] <= 0.7 for t in step_trials)
    assert all(t.params["schedule/step/drops"] in (1, 2, 3) for t in step_trials)
    # a seeded study draws the same conditional values again (sample_from is seeded per trial)
    runs = []
    for _ in range(2):
        again = tunesmith.create_study(direction="minimize", sampler=RandomSampler(seed=3))
        again.set_space(space.config())
        again.optimize(lambda trial: _score(space.from_config(trial.config)), n_trials=6)
        runs.append([t.params for t in again.trials])
    assert runs[0] == runs[1]


def test_built_schedules_follow_the_drawn_parameters() -> None:
    space = schedule_space(total_steps=100, max_warmup_steps=10)
    step = space.from_config({"schedule": {"kind": "step", "warmup_steps": 10, "step": {"gamma": 0.5, "drops": 2}}})
    assert step.params["milestones"] == (40, 70) and step(75) == pytest.approx(0.25) and step.lr is None
    exp = space.from_config({"schedule/kind": "exponential", "schedule/warmup_steps": 0,
                             "schedule/exponential/final_factor": 0.01})
    assert exp(100) == pytest.approx(0.01)
    cos = space.from_config({"schedule/kind": "cosine", "schedule/warmup_steps": 0, "schedule/cosine/min_factor": 0.0})
    assert cos(100) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"kinds": ["cosine", "poly"]}, "kinds: unknown schedule 'poly'"),
    ({"kinds": []}, "at least one"),
    ({"total_steps": 0}, "total_steps must be a positive integer"),
    ({"max_warmup_steps": 100}, "max_warmup_steps must be an integer in \\[0, total_steps=100\\)"),
    ({"lr": (1e-1, 1e-3)}, "0 < low < high"),
    ({"lr": 0.1}, "lr must be a \\(low, high\\) pair"),
])
def test_bad_space_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        schedule_space(**{"total_steps": 100, **kwargs})


def test_from_config_names_what_is_missing() -> None:
    space = schedule_space(["step"], total_steps=100)
    with pytest.raises(ValueError, match="lacks 'schedule/step/gamma'"):
        space.from_config({"schedule": {"kind": "step", "step": {"drops": 1}}})
    with pytest.raises(ValueError, match="no 'schedule/kind'"):
        space.from_config({})
