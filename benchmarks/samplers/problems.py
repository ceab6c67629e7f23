"""Benchmark problems: a declarative search space, a function of the parameters, a known optimum.

A space is a tuple of :class:`Float`, :class:`Int` and :class:`Categorical` (whose
choices may carry conditional sub-spaces). From it :meth:`Problem.objective` makes the
define-by-run objective that tunesmith and Optuna run (the same ``suggest_*`` calls in
both), and :func:`hyperopt_space` the equivalent Hyperopt space, so every library sees
the same problem.

Problems are looked up by name (:func:`get_problem`), so a worker process rebuilds
them instead of receiving pickled callables. Names:

- classic: ``branin``, ``hartmann6``, ``rosenbrock10``, ``ackley10``, ``mixed-rosenbrock4``,
  ``conditional-branin-styblinski4``;
- BBOB (through ``ioh``): ``bbob-f{fid:02d}-d{dim}-i{instance}``, e.g. ``bbob-f07-d5-i1``;
- Bayesmark port: ``bayesmark-{model}-{dataset}-{metric}`` (see :mod:`.bayesmark`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np


@dataclass(frozen=True)
class Float:
    name: str
    low: float
    high: float
    log: bool = False


@dataclass(frozen=True)
class Int:
    name: str
    low: int
    high: int
    log: bool = False


@dataclass(frozen=True)
class Categorical:
    """A choice; ``branches`` maps a choice to the parameters that exist only under it."""

    name: str
    choices: tuple[Any, ...]
    branches: tuple[tuple[Any, Space], ...] = ()


Param = Union[Float, Int, Categorical]  # noqa: UP007 (a runtime alias; `|` needs the classes)
Space = tuple[Param, ...]


@dataclass(frozen=True)
class Problem:
    """One benchmark problem.

    Args:
        family: the group whose ranks are averaged together in the report.
        optimum: the known minimum (regret = value - optimum), or None where unknown
            (Bayesmark: scores there are normalised against the run's best and random search).
    """

    name: str
    family: str
    space: Space
    function: Callable[[dict[str, Any]], float] = field(compare=False)
    optimum: float | None = None

    def objective(self, trial: Any) -> float:
        """The define-by-run objective (a tunesmith or an Optuna trial)."""
        return self.function(suggest(trial, self.space))


def suggest(trial: Any, space: Space) -> dict[str, Any]:
    """Draw every (active) parameter of ``space`` through ``trial.suggest_*``."""
    params: dict[str, Any] = {}
    for p in space:
        if isinstance(p, Float):
            params[p.name] = trial.suggest_float(p.name, p.low, p.high, log=p.log)
        elif isinstance(p, Int):
            params[p.name] = trial.suggest_int(p.name, p.low, p.high, log=p.log)
        else:
            choice = trial.suggest_categorical(p.name, list(p.choices))
            params[p.name] = choice
            params.update(suggest(trial, dict(p.branches).get(choice, ())))
    return params


def hyperopt_space(space: Space) -> dict[str, Any]:
    """The equivalent Hyperopt space; :func:`from_hyperopt` turns its samples back into params.

    Integers are ``quniform`` over ``[low - 0.5, high + 0.5]`` (so the end points are as
    likely as the others) and rounded; log integers ``qloguniform`` likewise.
    """
    from hyperopt import hp

    out: dict[str, Any] = {}
    for p in space:
        if isinstance(p, Float):
            out[p.name] = (hp.loguniform(p.name, math.log(p.low), math.log(p.high)) if p.log
                           else hp.uniform(p.name, p.low, p.high))
        elif isinstance(p, Int):
            out[p.name] = (hp.qloguniform(p.name, math.log(p.low - 0.5 + 1e-9), math.log(p.high + 0.5), 1) if p.log
                           else hp.quniform(p.name, p.low - 0.5, p.high + 0.5, 1))
        else:
            branches = dict(p.branches)
            if branches:
                # A nested dict per choice: Hyperopt samples a branch's parameters only under it.
                out[p.name] = hp.choice(p.name, [
                    {"__choice__": c, **hyperopt_space(branches.get(c, ()))} for c in p.choices
                ])
            else:
                out[p.name] = hp.choice(p.name, list(p.choices))
    return out


def from_hyperopt(space: Space, sample: Mapping[str, Any]) -> dict[str, Any]:
    """Flatten a Hyperopt sample of :func:`hyperopt_space` into the params :func:`suggest` gives."""
    params: dict[str, Any] = {}
    for p in space:
        value = sample[p.name]
        if isinstance(p, Float):
            params[p.name] = float(value)
        elif isinstance(p, Int):
            params[p.name] = int(min(max(round(float(value)), p.low), p.high))
        elif p.branches:
            choice = value["__choice__"]
            params[p.name] = choice
            params.update(from_hyperopt(dict(p.branches).get(choice, ()), value))
        else:
            params[p.name] = value
    return params


def flatten(space: Space) -> list[Param]:
    """Every parameter of ``space``, those under each branch included (for samplers without
    conditional spaces, which see them all and let :func:`active` pick)."""
    out: list[Param] = []
    for p in space:
        out.append(p)
        if isinstance(p, Categorical):
            for _, sub in p.branches:
                out.extend(flatten(sub))
    return out


def active(space: Space, flat: Mapping[str, Any]) -> dict[str, Any]:
    """The params :func:`suggest` would give, read from values for every parameter of :func:`flatten`."""
    params: dict[str, Any] = {}
    for p in space:
        params[p.name] = flat[p.name]
        if isinstance(p, Categorical):
            params.update(active(dict(p.branches).get(flat[p.name], ()), flat))
    return params


def dimension(space: Space) -> int:
    """Parameters in the largest active configuration (for display)."""
    n = 0
    for p in space:
        n += 1 + (max((dimension(sub) for _, sub in p.branches), default=0) if isinstance(p, Categorical) else 0)
    return n


# -- classic test functions --------------------------------------------------------------
BRANIN_OPT = 0.397887
HARTMANN6_OPT = -3.32237
_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
                  [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
_H6_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                         [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])


def branin(x1: float, x2: float) -> float:
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


def hartmann6(x: np.ndarray) -> float:
    return float(-np.sum(_H6_ALPHA * np.exp(-np.sum(_H6_A * (x - _H6_P) ** 2, axis=1))))


def rosenbrock(x: np.ndarray) -> float:
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def ackley(x: np.ndarray) -> float:
    d = len(x)
    return float(-20 * math.exp(-0.2 * math.sqrt(float(np.sum(x**2)) / d))
                 - math.exp(float(np.sum(np.cos(2 * math.pi * x))) / d) + 20 + math.e)


def styblinski_tang_mean(x: np.ndarray) -> float:
    """Styblinski-Tang per coordinate, shifted so the minimum (x_i = -2.903534) is 0."""
    return float(np.mean(0.5 * (x**4 - 16 * x**2 + 5 * x)) + 39.16616570377142)


def _vector(params: Mapping[str, Any], prefix: str, d: int) -> np.ndarray:
    return np.array([float(params[f"{prefix}{i}"]) for i in range(d)])


def _box(prefix: str, d: int, low: float, high: float) -> Space:
    return tuple(Float(f"{prefix}{i}", low, high) for i in range(d))


MIXED_OFFSETS = {"none": 0.0, "small": 5.0, "large": 50.0}


def _mixed(params: Mapping[str, Any]) -> float:
    x = np.array([params["x0"], params["x1"], params["n0"], params["n1"]], dtype=float)
    return rosenbrock(x) + MIXED_OFFSETS[params["offset"]]


def _conditional(params: Mapping[str, Any]) -> float:
    if params["branch"] == "branin":  # easy, but its best (1.0) is not the global one
        return branin(params["b_x1"], params["b_x2"]) - BRANIN_OPT + 1.0
    return styblinski_tang_mean(_vector(params, "s_x", 4))  # harder, minimum 0


CLASSIC: dict[str, Problem] = {p.name: p for p in (
    Problem("branin", "classic", (Float("x1", -5, 10), Float("x2", 0, 15)),
            lambda q: branin(q["x1"], q["x2"]), BRANIN_OPT),
    Problem("hartmann6", "classic", _box("x", 6, 0, 1), lambda q: hartmann6(_vector(q, "x", 6)), HARTMANN6_OPT),
    Problem("rosenbrock10", "classic", _box("x", 10, -5, 10), lambda q: rosenbrock(_vector(q, "x", 10)), 0.0),
    Problem("ackley10", "classic", _box("x", 10, -32.768, 32.768), lambda q: ackley(_vector(q, "x", 10)), 0.0),
    Problem("mixed-rosenbrock4", "mixed/conditional",
            (Float("x0", -5, 10), Float("x1", -5, 10), Int("n0", -5, 10), Int("n1", -5, 10),
             Categorical("offset", tuple(MIXED_OFFSETS))), _mixed, 0.0),
    Problem("conditional-branin-styblinski4", "mixed/conditional",
            (Categorical("branch", ("branin", "styblinski4"), (
                ("branin", (Float("b_x1", -5, 10), Float("b_x2", 0, 15))),
                ("styblinski4", _box("s_x", 4, -5, 5)),
            )),), _conditional, 0.0),
)}


# -- BBOB through ioh ----------------------------------------------------------------------
BBOB_GROUPS = (
    (range(1, 6), "bbob separable"),
    (range(6, 10), "bbob low/moderate conditioning"),
    (range(10, 15), "bbob high conditioning"),
    (range(15, 20), "bbob multimodal, global structure"),
    (range(20, 25), "bbob multimodal, weak structure"),
)


def bbob_name(fid: int, dim: int, instance: int) -> str:
    return f"bbob-f{fid:02d}-d{dim}-i{instance}"


def bbob_family(fid: int) -> str:
    return next(name for fids, name in BBOB_GROUPS if fid in fids)


@functools.cache
def _ioh_problem(fid: int, dim: int, instance: int) -> Any:
    import ioh

    return ioh.get_problem(fid, instance=instance, dimension=dim, problem_class=ioh.ProblemClass.BBOB)


def bbob_problem(fid: int, dim: int, instance: int) -> Problem:
    """BBOB function ``fid`` on [-5, 5]^dim; regret = f(x) - f(x*) (ioh's ``optimum.y``)."""
    f = _ioh_problem(fid, dim, instance)

    def function(params: Mapping[str, Any]) -> float:
        return float(f(list(_vector(params, "x", dim))))

    return Problem(bbob_name(fid, dim, instance), bbob_family(fid), _box("x", dim, -5, 5), function,
                   float(f.optimum.y))


def get_problem(name: str) -> Problem:
    """The problem of that name (classic, BBOB or Bayesmark)."""
    if name in CLASSIC:
        return CLASSIC[name]
    if name.startswith("bbob-"):
        fid, dim, instance = (int(part[1:]) for part in name.split("-")[1:])
        return bbob_problem(fid, dim, instance)
    if name.startswith("bayesmark-"):
        from benchmarks.samplers.bayesmark import bayesmark_problem

        return bayesmark_problem(name)
    raise ValueError(f"unknown problem {name!r}: expected one of {sorted(CLASSIC)}, 'bbob-fFF-dD-iI' or "
                     "'bayesmark-MODEL-DATASET-METRIC'")


def sphere(d: int) -> Problem:
    """The d-dimensional sphere on [-5, 5]^d, for timing suggestions."""
    return Problem(f"sphere{d}", "timing", _box("x", d, -5, 5),
                   lambda q: float(np.sum(_vector(q, "x", d) ** 2)), 0.0)
