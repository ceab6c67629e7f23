"""Population-based training (Jaderberg et al. 2017), with Ray Tune's arguments.

Every ``perturbation_interval`` (in ``time_attr`` units) a trial compares its result
with the other trials' results at the same time. A trial in the bottom
``quantile_fraction`` *exploits*: it ends, and its line continues in a new trial
that starts from the latest checkpoint of a trial in the top quantile, with that
trial's parameters *explored*: each mutated parameter is resampled (with
``resample_probability``, or when it is not a number) or multiplied by 0.8 / 1.2
(a list: moved to a neighbouring entry). Trials must save checkpoints
(``tunesmith.checkpoint_dir``) for their line to be cloned; the new trial gets it
from ``get_checkpoint()`` / the trainable's ``checkpoint_dir`` argument.

The population is read from the stored reports, so it does not need all trials to
run at once: with fewer workers than trials, a trial is compared with what the
others reported when they were at the same time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from tunesmith.distributions import DerivedDistribution, Distribution, FloatDistribution, IntDistribution, clip
from tunesmith.history import ReportLog
from tunesmith.record import Report
from tunesmith.schedulers._base import Decision, Exploit, Scheduler
from tunesmith.space import flatten
from tunesmith.trial import TrialState

__all__ = ["PopulationBasedTraining"]

Mutation = Sequence[Any] | Distribution | Callable[[], Any]


class PopulationBasedTraining(Scheduler):
    """Exploit the best trials' checkpoints and explore around their parameters.

    Args:
        time_attr / metric / mode: as for every scheduler.
        perturbation_interval: time between two exploit/explore steps of a trial.
        burn_in_period: no perturbation before this time.
        hyperparam_mutations: ``{name: list | tunesmith distribution | callable}``
            (nested dicts allowed); the parameters that are explored.
        quantile_fraction: share of the population that exploits / is exploited.
        resample_probability: chance a parameter is resampled instead of perturbed.
        perturbation_factors: the multipliers for numeric parameters.
        custom_explore_fn: ``fn(params) -> params`` applied after the mutations.
        seed: fixes the random choices (each is also keyed by trial and time).
    """

    needs_checkpoints = True
    random_population = True

    def __init__(
        self, time_attr: str = "time_total_s", metric: str | None = None, mode: str | None = None,
        perturbation_interval: float = 60.0, burn_in_period: float = 0.0,
        hyperparam_mutations: Mapping[str, Any] | None = None, quantile_fraction: float = 0.25,
        resample_probability: float = 0.25, perturbation_factors: tuple[float, float] = (1.2, 0.8),
        custom_explore_fn: Callable[[dict[str, Any]], dict[str, Any]] | None = None, seed: int | None = None,
    ) -> None:
        super().__init__(metric, mode, time_attr)
        if not perturbation_interval > 0:
            raise ValueError(f"perturbation_interval must be positive, got {perturbation_interval!r}")
        if not 0 < quantile_fraction <= 0.5:
            raise ValueError(f"quantile_fraction must be in (0, 0.5], got {quantile_fraction!r}")
        if not 0 <= resample_probability <= 1:
            raise ValueError(f"resample_probability must be in [0, 1], got {resample_probability!r}")
        mutations = flatten(dict(hyperparam_mutations or {}))
        if not mutations and custom_explore_fn is None:
            raise ValueError("PopulationBasedTraining needs hyperparam_mutations= or custom_explore_fn=")
        for name, m in mutations.items():
            if not (isinstance(m, (list, tuple, Distribution)) or callable(m)):
                raise TypeError(
                    f"hyperparam_mutations[{name!r}] must be a list, a tunesmith distribution (e.g. "
                    f"tunesmith.uniform(0, 1)) or a function, got {type(m).__name__}"
                )
            if isinstance(m, (list, tuple)) and not m:
                raise ValueError(f"hyperparam_mutations[{name!r}] is an empty list")
        self.perturbation_interval = perturbation_interval
        self.burn_in_period = burn_in_period
        self.hyperparam_mutations = mutations
        self.quantile_fraction = quantile_fraction
        self.resample_probability = resample_probability
        self.perturbation_factors = tuple(perturbation_factors)
        self.custom_explore_fn = custom_explore_fn
        self.seed = seed
        #: values of config constants named in ``hyperparam_mutations`` (``tunesmith.run`` sets them
        #: from its config): a first-generation trial holds them, so explore starts from them
        self.constants: dict[str, Any] = {}
        self.reset()

    def use_constants(self, constants: Mapping[str, Any]) -> None:
        """Take the run's config constants: those named in ``hyperparam_mutations`` are explored too.

        A constant is not a parameter of the study; the continuation that explores it
        carries its new value in its fixed parameters, and the run's config builder
        gives it to the trainable (Ray Tune mutates every key in ``hyperparam_mutations``).
        """
        self.constants = {k: v for k, v in constants.items() if k in self.hyperparam_mutations}

    def _spec_kwargs(self) -> dict[str, Any]:
        return {**super()._spec_kwargs(), "perturbation_interval": self.perturbation_interval,
                "burn_in_period": self.burn_in_period, "hyperparam_mutations": self.hyperparam_mutations,
                "quantile_fraction": self.quantile_fraction, "resample_probability": self.resample_probability,
                "perturbation_factors": list(self.perturbation_factors), "seed": self.seed,
                "custom_explore_fn": self.custom_explore_fn}

    def reset(self) -> None:
        self._curves: dict[int, tuple[list[float], list[float]]] = {}  # trial_id -> (times, scores)
        self._last_perturbation: dict[int, float] = {}

    def ingest(self, view: ReportLog, report: Report) -> None:
        score = self.score(report.metrics)
        if score is None:
            return
        times, scores = self._curves.setdefault(report.trial_id, ([], []))
        times.append(self.time_of(report.step, report.metrics))
        scores.append(score)

    # -- the decision -------------------------------------------------------------------
    def decide(self, view: ReportLog, trial_id: int, step: int, metrics: Mapping[str, Any]) -> Decision | Exploit:
        if not self.require_metric(metrics):  # a report without the metric (Ray: continue)
            return Decision.CONTINUE
        now = self.time_of(step, metrics)
        me = view.trial(trial_id)
        restore = me.system_attrs.get("restore") or {}
        last = self._last_perturbation.get(trial_id, float(restore.get("step", 0.0)))
        if now < self.burn_in_period or now - last < self.perturbation_interval:
            return Decision.CONTINUE
        self._last_perturbation[trial_id] = now
        population = self._population_at(now)
        if trial_id not in population or len(population) < 2:
            return Decision.CONTINUE
        by_id = view.trials()
        ends = [self._curves[t][0][-1] for t in self._curves if t in by_id and by_id[t].state == TrialState.COMPLETE]
        if ends and now >= max(ends):
            return Decision.CONTINUE  # where finished lines ended: nothing left to train after a clone
        ranked = sorted(population, key=lambda t: population[t])  # worst first
        k = math.ceil(len(ranked) * self.quantile_fraction)
        k = min(k, len(ranked) // 2)
        lower, upper = ranked[:k], ranked[len(ranked) - k:]
        if trial_id not in lower:
            return Decision.CONTINUE
        rng = np.random.default_rng([self.seed or 0, me.number, int(now * 1000)])
        donors = [t for t in upper if t in by_id]
        rng.shuffle(donors)
        for donor_id in donors:
            donor = by_id[donor_id]
            # The donor's state when it was where this trial is now (it may have gone further).
            found = view.checkpoints.list(donor.number) if view.checkpoints is not None else []
            usable = [c for c in found if c.step <= now]
            if not usable:
                continue
            # A checkpoint is written before its step's report: one whose report has not come in
            # yet (the donor runs in another worker) gives way to the last one that has it.
            reported = dict(view.reports.get(donor_id, []))
            ckpt = next((c for c in reversed(usable) if c.step in reported), usable[-1])
            # The donor's config: the run's constants, those its own line explored (fixed), its parameters.
            current = {**self.constants, **(donor.fixed_params or {}), **view.params(donor)}
            params = _within(self.explore(current, rng), view.distributions(donor))
            return Exploit(params, donor.number, ckpt.path, ckpt.step, reported.get(ckpt.step))
        return Decision.CONTINUE  # no top trial has a checkpoint to clone yet

    def _population_at(self, now: float) -> dict[int, float]:
        """Each trial's last score at a time <= ``now``, among trials that got near ``now``."""
        out = {}
        horizon = now - self.perturbation_interval
        for tid, (times, scores) in self._curves.items():
            if times[-1] < horizon:
                continue
            i = _last_at(times, now)
            if i >= 0:
                out[tid] = scores[i]
        return out

    def explore(self, params: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        """Perturb or resample each mutated parameter of ``params`` (PBT's explore step)."""
        new = dict(params)
        for name, mutation in self.hyperparam_mutations.items():
            new[name] = self._mutate(name, new.get(name), mutation, rng)
        if self.custom_explore_fn is not None:
            new = dict(self.custom_explore_fn(new))
        return new

    def _mutate(self, name: str, value: Any, mutation: Any, rng: np.random.Generator) -> Any:
        resample = rng.random() < self.resample_probability
        if isinstance(mutation, (list, tuple)):
            choices = list(mutation)
            if resample or value not in choices:
                return choices[int(rng.integers(len(choices)))]
            i = choices.index(value) + (1 if rng.random() < 0.5 else -1)
            return choices[min(max(i, 0), len(choices) - 1)]
        dist = mutation
        if isinstance(dist, Distribution):
            numeric = isinstance(dist, (FloatDistribution, IntDistribution)) and isinstance(value, (int, float))
            if resample or not numeric:
                return dist.sample(rng)
            factor = self.perturbation_factors[int(rng.integers(len(self.perturbation_factors)))]
            assert isinstance(dist, (FloatDistribution, IntDistribution))
            return clip(dist, value * factor)
        if resample or not isinstance(value, (int, float)) or isinstance(value, bool):
            return mutation()
        factor = self.perturbation_factors[int(rng.integers(len(self.perturbation_factors)))]
        out = value * factor
        return round(out) if isinstance(value, int) else out


def _within(params: Mapping[str, Any], distributions: Mapping[str, Distribution]) -> dict[str, Any]:
    """Explored parameters as the successor trial takes them: each inside its range, derived ones left out.

    A derived parameter (``sample_from``) is resolved again from the others.
    """
    out = {}
    for name, value in params.items():
        dist = distributions.get(name)
        if isinstance(dist, DerivedDistribution):
            continue
        out[name] = value if dist is None or dist.contains(value) else clip_into(name, dist, value)
    return out


def clip_into(name: str, dist: Distribution, value: Any) -> Any:
    """A mutated value brought back into its parameter's range (PBT explores past the bounds)."""
    if isinstance(dist, (FloatDistribution, IntDistribution)) and isinstance(value, (int, float)):
        return clip(dist, value)
    raise ValueError(
        f"PopulationBasedTraining set parameter {name!r} to {value!r}, outside its search space {dist}; "
        "give hyperparam_mutations the same domain as the search space (e.g. tunesmith.uniform(...) for "
        "both, or a list of the choices)"
    )


def _last_at(times: list[float], now: float) -> int:
    """Index of the last point at a time <= ``now`` (-1: none)."""
    return max((i for i, t in enumerate(times) if t <= now), default=-1)
