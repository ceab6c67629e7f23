"""The sampler contract.

A sampler turns (search space, history, trial number, random generator) into
parameter values. ``suggest`` proposes values for the parameters known before the
trial starts, jointly; ``suggest_one`` fills any other parameter as the objective
asks for it (define-by-run). Both are pure functions of their inputs plus the
sampler's settings, so a seeded study reproduces exactly, and parallel workers that
receive a copy of the sampler suggest the same values for the same trial number.
"""

from __future__ import annotations

import bisect
import importlib
import math
import weakref
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from tunesmith._spec import class_path, from_spec
from tunesmith.distributions import CategoricalDistribution, Distribution
from tunesmith.history import History, ReportLog
from tunesmith.trial import FrozenTrial

__all__ = ["Sampler", "UnstoredFunction", "grid_point", "next_grid_point", "sampler_from_spec"]


class Sampler:
    """Base class; subclasses override :meth:`suggest` and/or :meth:`suggest_one`.

    ``grid_search`` axes are enumerated by every sampler (Ray Tune's semantics): each
    point once per round, *num_samples* rounds (see :func:`next_grid_point`).
    :meth:`grid_axes` says which axes a sampler enumerates; :meth:`grid_size` counts
    their points, which is how many trials one round takes.
    """

    #: modules that suggestions import on first use (SciPy is slow to import); a fork
    #: server imports them once, before it forks the workers (:meth:`preload`)
    lazy_imports: tuple[str, ...] = ()
    #: ``trial -> constraint values`` (each <= 0: satisfied), Optuna's ``constraints_func``;
    #: the samplers that take one (TPE, GP, NSGA-II, Auto) prefer feasible trials
    constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None

    def __init__(self, seed: int | None = None) -> None:
        if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0):
            raise ValueError(f"seed must be a non-negative integer or None, got seed={seed!r}")
        self.seed = None if seed is None else int(seed)
        self._shared_rng: np.random.Generator | None = None

    def __getstate__(self) -> dict[str, object]:
        # A copy in another process must not replay this process's unseeded stream.
        return {**self.__dict__, "_shared_rng": None}

    def rng_for(self, number: int) -> np.random.Generator:
        """The generator for trial ``number``: from (seed, number); unseeded, one fresh stream."""
        if self.seed is None:
            if self._shared_rng is None:
                self._shared_rng = np.random.default_rng()
            return self._shared_rng
        return np.random.default_rng([self.seed, number])

    def spec(self) -> dict[str, Any]:
        """A JSON-safe description that rebuilds an equivalent sampler (see :func:`sampler_from_spec`).

        Studies store it, so that workers started elsewhere (``tunesmith worker``) and
        reopened studies suggest with the same sampler.
        """
        spec: dict[str, Any] = {"class": class_path(self), "kwargs": self._spec_kwargs()}
        if self.constraints_func is not None:
            # A function is not stored: its name is, so that a sampler rebuilt from the
            # record knows it lacks one (see :func:`sampler_from_spec`).
            spec["constraints_func"] = function_name(self.constraints_func)
        return spec

    def _spec_kwargs(self) -> dict[str, Any]:
        return {"seed": self.seed}

    def constraints(self, trial: FrozenTrial) -> list[float] | None:
        """The constraint values of a finished ``trial`` (None: this sampler has no ``constraints_func``).

        Called in the process that ran the trial, before its end is stored. Raises what
        the function raises, and ValueError/TypeError unless it returns a sequence of
        numbers, none NaN.
        """
        if self.constraints_func is None:
            return None
        return check_constraint_values(self.constraints_func(trial), trial.number)

    @property
    def hedges_running(self) -> bool:
        """Whether the next suggestion reads running trials' parameters (a constant liar), so
        that a running trial's parameters are worth storing as soon as they are drawn."""
        return False

    def preload(self) -> None:
        """Import :attr:`lazy_imports` now, so that processes forked afterwards start warm."""
        for name in self.lazy_imports:
            importlib.import_module(name)

    def use_reports(self, reports: ReportLog, scheduler: object) -> None:
        """Hear of the study's intermediate reports and the scheduler that folds them (the
        study calls it when it has a scheduler); the default ignores them (BOHB fits per budget)."""

    def plan(self, n_trials: int | None, n_workers: int | None) -> None:
        """Hear what :meth:`Study.optimize` is about to run; the default ignores it.

        ``n_trials`` is the study's planned size (its trials so far plus those this call
        runs; None: until a timeout or a stop), ``n_workers`` the parallel workers (None:
        as many as the executor fits). Called before the sampler is copied to workers.
        The default refuses to run a sampler rebuilt from a study record without its
        ``constraints_func`` (which the record cannot hold).
        """
        if isinstance(self.constraints_func, UnstoredFunction):
            raise ValueError(self.constraints_func.message())

    def max_trials(self, space: Mapping[str, Distribution]) -> int | None:
        """How many trials exhaust this sampler on ``space`` (None: never exhausted)."""
        return None

    def grid_axes(self, space: Mapping[str, Distribution]) -> dict[str, CategoricalDistribution]:
        """The axes this sampler enumerates on ``space``: here its ``grid_search`` axes."""
        return {n: d for n, d in space.items() if isinstance(d, CategoricalDistribution) and d.grid}

    def grid_size(self, space: Mapping[str, Distribution]) -> int:
        """Points of the product of :meth:`grid_axes` (1 without axes): the trials of one round."""
        return math.prod(len(d.choices) for d in self.grid_axes(space).values())

    def suggest(
        self, space: Mapping[str, Distribution], history: History, number: int, rng: np.random.Generator,
    ) -> dict[str, Any]:
        """Joint proposal for the parameters of ``space`` (may leave some out)."""
        axes = self.grid_axes(space)
        return next_grid_point(axes, space, history, number) if axes else {}

    def suggest_one(
        self, name: str, distribution: Distribution, history: History, number: int,
        rng: np.random.Generator, params: Mapping[str, Any],
    ) -> Any:
        """A value for one parameter not in the joint proposal."""
        return distribution.sample(rng)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed!r})"


def sampler_from_spec(spec: Mapping[str, Any]) -> Sampler:
    """Rebuild a sampler from :meth:`Sampler.spec`.

    A sampler created with a ``constraints_func`` comes back without it (a study record
    holds no code): it reads the study as before, but running trials with it raises an
    error that says to pass the sampler with its function again.
    """
    sampler = from_spec(spec, Sampler, "sampler")
    name = spec.get("constraints_func")
    if name is not None:
        sampler.constraints_func = UnstoredFunction(str(name), str(spec.get("class", "")).rpartition(".")[2])
    return sampler


def function_name(func: Callable[..., Any]) -> str:
    """``module.qualname`` of a function (its repr for other callables)."""
    if isinstance(func, UnstoredFunction):
        return func.name
    qualname = getattr(func, "__qualname__", None)
    return f"{getattr(func, '__module__', '?')}.{qualname}" if qualname else repr(func)


class UnstoredFunction:
    """Stands for a ``constraints_func`` a study record named but could not hold; calling it raises."""

    def __init__(self, name: str, sampler: str) -> None:
        self.name = name
        self.sampler = sampler or "Sampler"

    def message(self) -> str:
        return (
            f"this study's sampler was created with constraints_func={self.name}, a function the study "
            f"record cannot hold; pass the sampler again to run trials, e.g. "
            f"load_study(..., sampler={self.sampler}(constraints_func={self.name.rpartition('.')[2]}))"
        )

    def __call__(self, trial: FrozenTrial) -> Sequence[float]:
        raise RuntimeError(self.message())

    def __repr__(self) -> str:
        return f"UnstoredFunction({self.name!r})"


def check_constraints_func(func: Any) -> Callable[[FrozenTrial], Sequence[float]] | None:
    """``func`` if it is None or callable; TypeError naming the parameter otherwise."""
    if func is not None and not callable(func):
        raise TypeError(
            f"constraints_func must be a function trial -> sequence of floats (or None), got {func!r}"
        )
    return func


def check_constraint_values(raw: Any, number: int) -> list[float]:
    """What a ``constraints_func`` returned, as floats; TypeError/ValueError if it is no sequence of numbers."""
    if isinstance(raw, (str, bytes, Mapping)) or not hasattr(raw, "__iter__"):
        raise TypeError(
            f"constraints_func must return a sequence of numbers (each <= 0 where satisfied), "
            f"got {raw!r} for trial {number}"
        )
    values = []
    for c in raw:
        if isinstance(c, bool) or not isinstance(c, (int, float, np.integer, np.floating)):
            raise TypeError(f"constraints_func returned {raw!r} for trial {number}: {c!r} is not a number")
        values.append(float(c))
    if any(math.isnan(c) for c in values):
        raise ValueError(f"constraints_func returned NaN for trial {number}: {values}; each value must be a number")
    return values


def grid_point(axes: Mapping[str, CategoricalDistribution], index: int) -> dict[str, Any]:
    """The ``index``-th point (mod size) of the product of ``axes``; the first axis varies slowest."""
    size = math.prod(len(d.choices) for d in axes.values())
    index %= size
    out: dict[str, Any] = {}
    for name, dist in reversed(list(axes.items())):
        index, k = divmod(index, len(dist.choices))
        out[name] = dist.choices[k]
    return dict(reversed(list(out.items())))


def next_grid_point(
    axes: Mapping[str, CategoricalDistribution], space: Mapping[str, Distribution], history: History, number: int,
) -> dict[str, Any]:
    """The grid point trial ``number`` takes: each point once per round, none skipped.

    What is stored decides, not the trial number alone: the points that sampler-made
    trials numbered below ``number`` took (enqueued trials do not count) are filled in,
    lowest round first, then point order. A trial whose point is not stored yet (it
    is running, or it never suggested an axis) holds the next open slot, in number
    order. When every trial follows this rule, trial *k* gets point *k* mod the size,
    so parallel workers neither repeat nor skip a point; when the record departs from
    it (a resumed study, a first define-by-run trial drawn before its axes were known,
    axes reordered or added, trials of another sampler), the missing points come next.
    """
    size = math.prod(len(d.choices) for d in axes.values())
    record = _decoded(axes, space, history, size)
    if bisect.bisect_left(record.irregular, number) == 0:
        # Every trial below followed the rule: the open slots before ours are the pending trials'.
        return grid_point(axes, number - history.n_enqueued_before(number))
    taken: Counter[int] = Counter()
    pending = 0
    for n, point in record.points.items():
        if n < number and point is not None and point >= 0:
            taken[point] += 1
        elif n < number and point is None:
            pending += 1
    # The pending-th open slot, where slot (round r, point p) is open while p was taken <= r times.
    rnd = min(taken.values()) if len(taken) == size else 0
    while True:
        closed = sorted(p for p, c in taken.items() if c > rnd)
        if not closed:
            rnd += pending // size  # whole rounds of open points; counts only matter below here
            pending %= size
        if pending < size - len(closed):
            index = pending
            for p in closed:  # the pending-th point not in ``closed``
                if p > index:
                    break
                index += 1
            return grid_point(axes, index)
        pending -= size - len(closed)
        rnd += 1


class _GridRecord:
    """Each trial's stored grid point, decoded once per change of the trial (per History)."""

    def __init__(self, setup: Any) -> None:
        self.setup = setup
        #: the History's rows as last decoded, and the places of those not finished then
        self.rows: list[FrozenTrial] = []
        self.unfinished: list[int] = []
        #: number -> stored point: an index, None if unstored, -1 off the grid or enqueued
        self.points: dict[int, int | None] = {}
        #: sorted numbers of trials whose stored point is not the one the rule gives them
        self.irregular: list[int] = []


_RECORDS: weakref.WeakKeyDictionary[History, _GridRecord] = weakref.WeakKeyDictionary()


def _decoded(
    axes: Mapping[str, CategoricalDistribution], space: Mapping[str, Distribution], history: History, size: int,
) -> _GridRecord:
    setup = tuple((name, axis, space.get(name)) for name, axis in axes.items())
    record = _RECORDS.get(history)
    # By identity: the study hands the same distribution objects to every suggestion, and
    # choices need not compare cleanly (arrays).
    if record is None or len(record.setup) != len(setup) or any(
        n != m or a is not b or d is not e for (n, a, d), (m, b, e) in zip(record.setup, setup, strict=True)
    ):
        record = _RECORDS[history] = _GridRecord(setup)
    rows = history.trials
    # Only a trial not finished when last decoded can have changed: a suggestion costs
    # O(trials in flight), not O(trials) (rows keep their place; a change is a new object).
    changed = [i for i in record.unfinished if rows[i] is not record.rows[i]] + list(range(len(record.rows), len(rows)))
    record.rows.extend(rows[len(record.rows):])
    for i in changed:
        trial = record.rows[i] = rows[i]
        regular = True
        if trial.enqueued:  # enqueued: neither takes a point nor holds a slot
            point: int | None = -1
        else:
            point = _stored_index(trial.internal_params, axes, space)
            regular = point is None or point == (trial.number - history.n_enqueued_before(trial.number)) % size
        record.points[trial.number] = point
        at = bisect.bisect_left(record.irregular, trial.number)
        listed = at < len(record.irregular) and record.irregular[at] == trial.number
        if listed and regular:
            del record.irregular[at]
        elif not listed and not regular:
            record.irregular.insert(at, trial.number)
    if changed:
        record.unfinished = [i for i in sorted({*record.unfinished, *changed}) if not rows[i].state.is_finished()]
    return record


def _stored_index(
    internal: Mapping[str, Any], axes: Mapping[str, CategoricalDistribution], space: Mapping[str, Distribution],
) -> int | None:
    """A trial's stored grid point as an index; None if an axis is unstored, -1 if off the grid."""
    index = 0
    for name, axis in axes.items():
        if name not in internal:
            return None
        # Stored in the form of the study's distribution for ``name`` (a choice's position in
        # its own list, a number for suggest_int), which need not be the axis itself.
        dist = space.get(name, axis)
        try:
            k = axis.index_of(dist.to_external(internal[name]))
        except (ValueError, TypeError, IndexError):
            return -1
        index = index * len(axis.choices) + k
    return index
