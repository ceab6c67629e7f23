"""Spaces, objectives and a proposal recorder of the sampler conformance suite (:mod:`tunesmith.testing.samplers`)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

import tunesmith
from tunesmith.distributions import Distribution
from tunesmith.history import History
from tunesmith.samplers import Sampler
from tunesmith.trial import FrozenTrial, Trial, TrialState

#: the choices of the suite's categorical parameter ``opt`` (``sgd`` opens the conditional ``momentum``)
OPTIMIZERS = ("sgd", "adam", "rmsprop")
#: the values of the suite's stepped integer ``s``
STEPS = (0, 5, 10, 15, 20)

Objective = Callable[[Trial], Any]


def finish(trial: Trial, value: float, curve: bool) -> float:
    """``value``, after a learning curve towards it when the study has a scheduler to consult."""
    if not curve:
        return value
    for step in range(1, 10):
        trial.report(value + 5.0 / step, step=step)
        if trial.should_stop():
            break
    return value + 5.0 / step


def mixed(curve: bool = False) -> Objective:
    """Define-by-run: float, log float, stepped float, int, log int, stepped int, categorical, conditional."""

    def objective(trial: Trial) -> float:
        x = trial.suggest_float("x", -2.0, 3.0)
        trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        trial.suggest_float("q", 0.0, 1.0, step=0.25)
        trial.suggest_int("n", 1, 10)
        trial.suggest_int("b", 1, 1024, log=True)
        trial.suggest_int("s", 0, 20, step=5)
        if trial.suggest_categorical("opt", list(OPTIMIZERS)) == "sgd":
            trial.suggest_float("momentum", 0.0, 0.99)
        return finish(trial, x, curve)

    return objective


def mixed_config() -> dict[str, Any]:
    """The same kinds in the dict style, plus a ``grid_search`` axis, a derived value and a constant."""
    return {
        "x": tunesmith.uniform(-2.0, 3.0),
        "lr": tunesmith.loguniform(1e-5, 1e-1),
        "q": tunesmith.quniform(0.0, 1.0, 0.25),
        "n": tunesmith.randint(1, 10),
        "b": tunesmith.lograndint(1, 1024),
        "s": tunesmith.qrandint(0, 20, 5),
        "opt": tunesmith.choice(list(OPTIMIZERS)),
        "g": tunesmith.grid_search(["p", "q"]),
        "d": tunesmith.sample_from(lambda spec: spec.config.n * 2),
        "const": 1,
    }


def check_mixed(params: Mapping[str, Any]) -> None:
    """The values of :func:`mixed` (or :func:`mixed_config`) lie in their distributions, with their types."""
    assert -2.0 <= params["x"] <= 3.0, params
    assert 1e-5 <= params["lr"] <= 1e-1, params
    assert params["q"] in {0.0, 0.25, 0.5, 0.75, 1.0}, params
    assert type(params["n"]) is int and 1 <= params["n"] <= 10, params
    assert type(params["b"]) is int and 1 <= params["b"] <= 1024, params
    assert type(params["s"]) is int and params["s"] in STEPS, params
    assert params["opt"] in OPTIMIZERS, params


def sphere2(curve: bool = False) -> Objective:
    def objective(trial: Trial) -> float:
        x, y = trial.suggest_float("x", -5, 5), trial.suggest_float("y", -5, 5)
        return finish(trial, (x - 1) ** 2 + (y + 2) ** 2, curve)

    return objective


def two_objectives(trial: Trial) -> tuple[float, float]:
    x = trial.suggest_float("x", 0.0, 1.0)
    n = trial.suggest_int("n", 1, 8, log=True)
    opt = trial.suggest_categorical("opt", list(OPTIMIZERS))
    return x + OPTIMIZERS.index(opt), (1 - x) ** 2 + n


def finished_states(curve: bool) -> set[TrialState]:
    """The states a trial of the suite may end in: COMPLETE, or PRUNED when a scheduler stops it."""
    return {TrialState.COMPLETE, TrialState.PRUNED} if curve else {TrialState.COMPLETE}


def grid_balance(trials: list[FrozenTrial], sampler: Sampler, space: Mapping[str, Distribution]) -> None:
    """Each point of the sampler's grid axes is taken equally often in every whole round (Ray's semantics).

    Only the axes in ``space`` are seen in the trials: their points are counted, each
    as often as the axes outside (a grid sampler's own, unused here) multiply it.
    """
    axes = sampler.grid_axes(space)
    size = sampler.grid_size(space)
    rounds = len(trials) // size
    seen = [name for name in axes if name in space]
    assert rounds >= 1 and seen, f"{len(trials)} trials hold no whole round of the grid {list(axes)} on {list(space)}"
    points = Counter(tuple(t.params[name] for name in seen) for t in trials[: rounds * size])
    n_seen = math.prod(len(axes[name].choices) for name in seen)
    assert len(points) == n_seen and set(points.values()) == {rounds * size // n_seen}, (seen, points)


class Proposals:
    """Records what a sampler proposes through :meth:`Sampler.suggest` and :meth:`Sampler.suggest_one`.

    Wraps the two methods on the instance (its class is untouched), so a study
    calls the sampler exactly as it would otherwise. The study replaces a proposed
    value that is outside its distribution by a ``suggest_one`` draw, so the
    trials' parameters alone cannot show such a proposal: :meth:`check` does.
    """

    def __init__(self, sampler: Sampler) -> None:
        #: (trial number, name, distribution, value) of every joint proposal
        self.joint: list[tuple[int, str, Distribution | None, Any]] = []
        #: the same for every ``suggest_one`` call
        self.one: list[tuple[int, str, Distribution, Any]] = []
        suggest, suggest_one = sampler.suggest, sampler.suggest_one

        def recorded_suggest(
            space: Mapping[str, Distribution], history: History, number: int, rng: np.random.Generator,
        ) -> dict[str, Any]:
            proposal = suggest(space, history, number, rng)
            self.joint.extend((number, name, space.get(name), value) for name, value in proposal.items())
            return proposal

        def recorded_suggest_one(
            name: str, distribution: Distribution, history: History, number: int,
            rng: np.random.Generator, params: Mapping[str, Any],
        ) -> Any:
            value = suggest_one(name, distribution, history, number, rng, params)
            self.one.append((number, name, distribution, value))
            return value

        self._sampler = sampler
        sampler.suggest = recorded_suggest  # type: ignore[method-assign]
        sampler.suggest_one = recorded_suggest_one  # type: ignore[method-assign]

    def check(self) -> None:
        """Every proposed value is inside its distribution.

        A joint proposal may name a parameter the space does not hold yet (a grid sampler
        knows its axes before the first trial asks for them); such a value is checked
        by the study when the trial asks for it, and is not checked here.

        Ends the recording: the sampler gets its own methods back (and pickles again).
        """
        self._sampler.__dict__.pop("suggest", None)
        self._sampler.__dict__.pop("suggest_one", None)
        for number, name, dist, value in [*self.joint, *self.one]:
            assert dist is None or dist.contains(value), f"trial {number}: proposed {name}={value!r}, outside {dist}"
