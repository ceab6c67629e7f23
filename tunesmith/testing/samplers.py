"""The sampler conformance suite: the contract of :class:`~tunesmith.samplers.Sampler`, as tests.

Every sampler's test module subclasses :class:`SamplerConformance` and defines
``make_sampler(seed)``, returning a fresh sampler seeded with ``seed`` (None:
unseeded); pytest then runs every check below against it::

    from tunesmith.testing import SamplerConformance

    class TestMySampler(SamplerConformance):
        multi_objective = True  # run the multi-objective checks too

        def make_sampler(self, seed):
            return MySampler(seed=seed)

A sampler meant to run beside a scheduler (BOHB with Hyperband) also defines
``make_scheduler()``; the suite's objectives then report a learning curve, and a
trial the scheduler stops ends PRUNED. Three class attributes say what a sampler
promises beyond the common contract: ``multi_objective``, ``repeats_values`` and
``expected_max_trials``.

The checks: every proposal (from ``suggest`` and ``suggest_one``, recorded as the
study asks) lies inside its distribution, for floats, log and stepped floats,
ints, log and stepped ints, categoricals and conditional parameters, define-by-run
and as a dict config; ``grid_search`` axes take each point once a round; a seed
reproduces a study and the unseeded sampler does not; pickled copies (worker
processes) and copies rebuilt from ``spec()`` (reopened studies) continue the same
sequence; trials asked together get distinct points; parameters first asked for
late go through ``suggest_one``; failed, NaN, pruned and enqueued trials in the
history; two worker processes on SQLite; several objectives.

The suite needs nothing from tunesmith's own tests (only pytest's ``tmp_path`` and
``monkeypatch``). It imports pytest, which tunesmith itself does not depend on:
import it from tests only.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tunesmith
from tunesmith._spec import TRUSTED_ENV
from tunesmith.samplers import Sampler, sampler_from_spec
from tunesmith.schedulers import Scheduler
from tunesmith.testing._sampler_helpers import (
    OPTIMIZERS,
    STEPS,
    Proposals,
    check_mixed,
    finish,
    finished_states,
    grid_balance,
    mixed,
    mixed_config,
    sphere2,
    two_objectives,
)
from tunesmith.trial import Trial, TrialPruned, TrialState

__all__ = ["OPTIMIZERS", "STEPS", "SamplerConformance"]


class SamplerConformance:
    """Checks every :class:`Sampler` must pass. Subclass it and define :meth:`make_sampler`."""

    #: whether the sampler runs studies of several objectives (the multi-objective checks run only then)
    multi_objective: bool = False
    #: whether the sampler may propose a value it already tried (a GA child keeps a parent's
    #: values; a GP may return to a boundary optimum): else 40 trials get 40 distinct floats
    repeats_values: bool = False
    #: what ``max_trials`` returns on the suite's define-by-run space (None: never exhausted);
    #: the space's finite parameters are ``opt`` (:data:`OPTIMIZERS`) and ``s`` (:data:`STEPS`)
    expected_max_trials: int | None = None

    def make_sampler(self, seed: int | None) -> Sampler:
        """A fresh sampler seeded with ``seed`` (None: unseeded)."""
        raise NotImplementedError("subclass SamplerConformance and define make_sampler(self, seed)")

    def make_scheduler(self) -> Scheduler | None:
        """The scheduler the sampler runs beside (None: none; the objectives then report nothing)."""
        return None

    # -- running studies --------------------------------------------------------------------
    def _study(self, sampler: Sampler, **kwargs: Any) -> tunesmith.Study:
        return tunesmith.create_study(sampler=sampler, scheduler=self.make_scheduler(), **kwargs)

    @property
    def _curve(self) -> bool:
        return self.make_scheduler() is not None

    def _run(self, sampler: Sampler, style: str, n_trials: int) -> tunesmith.Study:
        """``n_trials`` of the mixed space, define-by-run or as a dict config; checks every proposal."""
        proposals = Proposals(sampler)
        study = self._study(sampler)
        if style == "define_by_run":
            study.optimize(mixed(self._curve), n_trials=n_trials)
        else:
            study.set_space(mixed_config())
            curve = self._curve
            study.optimize(lambda t: finish(t, t.params["x"], curve), n_trials=n_trials)
        states = finished_states(self._curve)
        assert len(study.trials) == n_trials
        assert {t.state for t in study.trials} <= states, [(t.state, t.error) for t in study.trials]
        proposals.check()
        return study

    def _params(self, seed: int | None, style: str, n_trials: int) -> list[dict[str, Any]]:
        return [t.params for t in self._run(self.make_sampler(seed), style, n_trials).trials]

    # -- values inside the space ---------------------------------------------------------------
    def test_define_by_run_values_are_inside_the_space(self) -> None:
        study = self._run(self.make_sampler(0), "define_by_run", 40)
        for t in study.trials:
            check_mixed(t.params)
            assert ("momentum" in t.params) == (t.params["opt"] == "sgd"), t.params
            if "momentum" in t.params:
                assert 0.0 <= t.params["momentum"] <= 0.99
        assert {t.params["opt"] for t in study.trials} == set(OPTIMIZERS)
        if not self.repeats_values:
            assert len({t.params["x"] for t in study.trials}) == 40

    def test_dict_config_values_are_inside_the_space(self) -> None:
        study = self._run(self.make_sampler(0), "dict", 40)
        for t in study.trials:
            check_mixed(t.params)
            assert t.params["g"] in {"p", "q"}
            assert t.params["d"] == 2 * t.params["n"]
            assert set(t.params) == {"x", "lr", "q", "n", "b", "s", "opt", "g", "d"}

    def test_grid_search_axes_take_each_point_once_a_round(self) -> None:
        """Every sampler enumerates ``grid_search`` axes (Ray Tune's semantics): round after round."""
        sampler = self.make_sampler(0)
        proposals = Proposals(sampler)
        study = self._study(sampler)
        study.set_space({"x": tunesmith.uniform(-2.0, 3.0), "g": tunesmith.grid_search(["p", "q", "r"]),
                         "h": tunesmith.grid_search([1, 2])})
        assert study.space is not None
        space = study.space.distributions
        curve = self._curve
        # Two rounds of the sampler's grid (one if it is large: a grid sampler crosses its own axes).
        size = sampler.grid_size(space)
        study.optimize(lambda t: finish(t, t.params["x"] ** 2, curve), n_trials=size * (2 if size <= 12 else 1))
        grid_balance(study.trials, study.sampler, space)
        proposals.check()

    def test_max_trials(self) -> None:
        study = self._run(self.make_sampler(0), "define_by_run", 2)
        assert study.sampler.max_trials(study.trials[0].distributions) == self.expected_max_trials

    # -- seeds -------------------------------------------------------------------------------------
    @pytest.mark.parametrize("style", ["define_by_run", "dict"])
    def test_seeded_study_reproduces_exactly(self, style: str) -> None:
        first = self._params(42, style, 30)
        assert self._params(42, style, 30) == first
        # Model-based samplers may agree once both converge on the optimum (a GP within a few
        # trials here): compare the start of the runs, where most proposals must differ.
        other = self._params(43, style, 8)
        assert sum(a["x"] != b["x"] for a, b in zip(first[:8], other, strict=True)) > 4

    def test_unseeded_studies_differ(self) -> None:
        a = [p["x"] for p in self._params(None, "define_by_run", 10)]
        b = [p["x"] for p in self._params(None, "define_by_run", 10)]
        assert a != b

    @pytest.mark.parametrize("seed", [-1, 1.5, True, "1"])
    def test_invalid_seed_is_rejected(self, seed: Any) -> None:
        with pytest.raises(ValueError, match="seed"):
            self.make_sampler(seed)

    def test_rng_for_is_deterministic_per_seed_and_number(self) -> None:
        a, b = self.make_sampler(3), self.make_sampler(3)
        draws = a.rng_for(5).random(4)
        np.testing.assert_array_equal(b.rng_for(5).random(4), draws)
        np.testing.assert_array_equal(a.rng_for(5).random(4), draws)  # a fresh generator each time
        assert not np.array_equal(a.rng_for(6).random(4), draws)
        assert not np.array_equal(self.make_sampler(4).rng_for(5).random(4), draws)

    # -- copies: worker processes get a pickle, reopened studies and `tunesmith worker` the spec ----
    def test_a_pickled_copy_suggests_the_same(self) -> None:
        used = self.make_sampler(9)
        first = [t.params for t in self._run(used, "define_by_run", 12).trials]
        copy = pickle.loads(pickle.dumps(used))
        assert [t.params for t in self._run(copy, "define_by_run", 12).trials] == first

    def test_spec_round_trip(self, monkeypatch: pytest.MonkeyPatch) -> None:
        sampler = self.make_sampler(7)
        spec = sampler.spec()
        assert json.loads(json.dumps(spec)) == spec, "spec() must be JSON-safe"
        # A class outside tunesmith is rebuilt from a study record only once its user trusts it.
        trusted = os.environ.get(TRUSTED_ENV, "")
        monkeypatch.setenv(TRUSTED_ENV, f"{trusted},{spec['class']}" if trusted else str(spec["class"]))
        rebuilt = sampler_from_spec(spec)
        assert type(rebuilt) is type(sampler)
        assert rebuilt.spec() == spec
        first = [t.params for t in self._run(sampler, "define_by_run", 12).trials]
        assert [t.params for t in self._run(rebuilt, "define_by_run", 12).trials] == first

    # -- the history a sampler must cope with ---------------------------------------------------
    def test_trials_asked_together_get_distinct_points(self) -> None:
        """Trials asked before earlier ones are told (parallel workers) never get the same point.

        After 20 trials on a sphere a converging sampler may put them close together, but
        not on top of each other: a GP without its constant liar proposes one point four times.
        """
        sampler = self.make_sampler(0)
        proposals = Proposals(sampler)
        study = self._study(sampler)
        objective = sphere2(self._curve)
        study.optimize(objective, n_trials=20)
        trials = [study.ask() for _ in range(4)]
        points = np.array([[(t.suggest_float("x", -5, 5) + 5) / 10, (t.suggest_float("y", -5, 5) + 5) / 10]
                           for t in trials])
        distances = [np.linalg.norm(points[i] - points[j]) for i in range(len(points)) for j in range(i)]
        assert min(distances) > 1e-3, points
        for t in trials:
            study.tell(t, objective(t))
        assert study.count()[TrialState.RUNNING] == 0 and len(study.trials) == 24
        proposals.check()

    def test_late_parameters_are_suggested_one_at_a_time(self) -> None:
        """A parameter first asked for after the sampler has a history goes through ``suggest_one``."""
        sampler = self.make_sampler(0)
        proposals = Proposals(sampler)
        study = self._study(sampler)
        study.optimize(sphere2(self._curve), n_trials=15)
        curve = self._curve

        def later(trial: Trial) -> float:
            value = sphere2(False)(trial)
            trial.suggest_float("late_step", -1.0, 1.0, step=0.5)
            trial.suggest_float("late_log", 1e-4, 1.0, log=True)
            trial.suggest_int("late_int_log", 2, 512, log=True)
            if trial.suggest_categorical("late_cat", ["a", "b"]) == "a":
                trial.suggest_int("late_cond", -3, 3)
            return finish(trial, value, curve)

        study.optimize(later, n_trials=15)
        states = finished_states(curve)
        assert {t.state for t in study.trials} <= states, [(t.state, t.error) for t in study.trials]
        first = {name: number for number, name, _, _ in reversed(proposals.one)}
        for name in ("late_step", "late_log", "late_int_log", "late_cat"):
            assert first.get(name) == 15, f"{name} first drawn by suggest_one at trial {first.get(name)}, not 15"
        late = study.trials[15:]
        for t in late:
            assert t.params["late_step"] in {-1.0, -0.5, 0.0, 0.5, 1.0}
            assert 1e-4 <= t.params["late_log"] <= 1.0
            assert type(t.params["late_int_log"]) is int and 2 <= t.params["late_int_log"] <= 512
            assert ("late_cond" in t.params) == (t.params["late_cat"] == "a")
        assert len({t.params["late_log"] for t in late}) > 1  # not one value over and over
        proposals.check()

    def test_failed_pruned_and_enqueued_trials_in_the_history(self) -> None:
        """Trials the sampler did not propose, or that gave no value, never break a suggestion.

        The first ten trials all fail (a model-based sampler past its start-up has no
        finished trial to fit), then trials fail, return NaN, are pruned, or were enqueued.
        """
        sampler = self.make_sampler(0)
        proposals = Proposals(sampler)
        study = self._study(sampler)
        study.enqueue({"x": 2.5, "lr": 1e-5, "q": 1.0, "n": 10, "b": 1, "s": 20, "opt": "sgd", "momentum": 0.0})
        curve = self._curve
        inner = mixed(curve)

        def objective(trial: Trial) -> float:
            value = inner(trial)
            if trial.number < 10 or trial.number % 5 == 1:
                raise RuntimeError("the objective failed")
            if trial.number % 5 == 2:
                return float("nan")
            if trial.number % 5 == 3:
                if not curve:
                    trial.report(value, step=0)
                raise TrialPruned()
            return value

        study.optimize(objective, n_trials=12, catch=(RuntimeError,))
        study.enqueue({"x": -2.0, "lr": 0.1, "q": 0.0, "n": 1, "b": 1024, "s": 0, "opt": "adam"})
        study.optimize(objective, n_trials=18, catch=(RuntimeError,))
        trials = study.trials
        assert len(trials) == 30
        assert [t.state for t in trials[:10]] == [TrialState.FAILED] * 10
        # Beside a scheduler, a trial it stopped keeps its last report (NaN returned after that
        # is PRUNED), and one it let reach max_t is COMPLETE however it ends.
        ended = {TrialState.COMPLETE, TrialState.PRUNED}
        expected = {1: {TrialState.FAILED}, 2: {TrialState.FAILED, *ended} if curve else {TrialState.FAILED},
                    3: ended if curve else {TrialState.PRUNED}}
        for t in trials[10:]:
            assert t.state in expected.get(t.number % 5, finished_states(curve)), (t.number, t.state)
        assert trials[0].params["x"] == 2.5 and trials[12].params["x"] == -2.0
        for t in trials:
            check_mixed(t.params)
        assert len({t.params["x"] for t in trials[13:]}) > 1
        proposals.check()

    def test_two_worker_processes_on_sqlite(self, tmp_path: Path) -> None:
        study = tunesmith.create_study(storage=f"sqlite:///{tmp_path / 'samplers.db'}",
                                       sampler=self.make_sampler(0), scheduler=self.make_scheduler())
        study.optimize(mixed(self._curve), n_trials=16, n_workers=2)
        trials = study.trials
        assert len(trials) == 16
        assert {t.state for t in trials} <= finished_states(self._curve), [t.error for t in trials]
        for t in trials:
            check_mixed(t.params)
        if not self.repeats_values:
            assert len({t.params["x"] for t in trials}) == 16

    # -- several objectives ----------------------------------------------------------------------
    def test_multi_objective(self) -> None:
        if not self.multi_objective:
            pytest.skip("the sampler does not declare multi-objective support (multi_objective = False)")

        def run(seed: int) -> tunesmith.Study:
            sampler = self.make_sampler(seed)
            proposals = Proposals(sampler)
            study = tunesmith.create_study(directions=["minimize", "maximize"], sampler=sampler)
            study.optimize(two_objectives, n_trials=25)
            proposals.check()
            return study

        study = run(5)
        assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 25
        for done in study.trials:
            assert 0.0 <= done.params["x"] <= 1.0 and 1 <= done.params["n"] <= 8, done.params
            assert done.params["opt"] in OPTIMIZERS and done.values is not None and len(done.values) == 2
        assert [t.params for t in run(5).trials] == [t.params for t in study.trials]
        assert study.best_trials
        # Trials asked together (parallel workers) spread out here too.
        asked = [study.ask() for _ in range(3)]
        xs = [t.suggest_float("x", 0.0, 1.0) for t in asked]
        if not self.repeats_values:
            assert len(set(xs)) == 3, xs
        for t in asked:
            study.tell(t, two_objectives(t))
        assert study.count()[TrialState.COMPLETE] == 28

