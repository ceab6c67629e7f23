"""Tree-structured Parzen Estimator (TPE), multivariate, after Watanabe (2023).

Each suggestion splits the completed trials into a *good* group (the best
``gamma(n)`` of them) and a *bad* group, fits a Parzen estimator to each — l(x) and
g(x) — draws candidates from l and keeps the one that maximises l(x) / g(x), which
maximises expected improvement (Bergstra et al., 2011). The components follow the
recommendations of Watanabe, "Tree-structured Parzen estimator: understanding its
algorithm components and their roles for better empirical performance" (2023):

- gamma linear in n: ``min(ceil(0.2 n), 25)`` good trials (0.2 rather than the
  usual 0.1: the EI weights already discount the weaker members of the good group);
- EI-style weights for the good group (an observation weighs by its improvement over
  the split), uniform weights for the bad group, plus a prior component;
- bandwidths from the gaps to neighbouring observations, per dimension, with a minimum
  ("magic clip"; see ``_parzen._neighbour_gap_bandwidths``), and for a discrete
  parameter at least half the step between its values;
- multivariate kernels (one component spans all dimensions), 24 candidates,
  10 start-up trials;
- conditional parameters are modelled in groups that always occur together;
- running trials join the bad group (a constant liar), so parallel workers spread out;
- constraints (``constraints_func``, Optuna's): the good group is taken from the feasible
  trials; when fewer are feasible than it holds, the least violating infeasible ones
  (by total violation) fill it, and every other infeasible trial is bad (as Optuna's
  TPE splits, after c-TPE, Watanabe & Hutter 2023);
- several objectives: MOTPE (Ozaki et al. 2022): the good group is whole non-domination
  fronts, then the members of the next front that add the most hypervolume, and each
  good trial weighs by the hypervolume only it covers (``_split_pareto``).

History arrives as columns (:class:`~tunesmith.history.History`), so a suggestion
costs O(n·d) numerics and never walks trial objects.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from tunesmith.distributions import CategoricalDistribution, Distribution, FloatDistribution, IntDistribution
from tunesmith.history import History
from tunesmith.samplers._base import Sampler, check_constraints_func
from tunesmith.samplers._constraints import violations
from tunesmith.samplers._parzen import ParzenEstimator
from tunesmith.trial import FrozenTrial, TrialState

__all__ = ["TPESampler"]


class TPESampler(Sampler):
    """Multivariate TPE.

    Args:
        n_startup_trials: completed trials drawn at random before the model takes over.
        n_ei_candidates: candidates drawn from l(x) per suggestion.
        prior_weight: weight of the prior component in both estimators.
        constant_liar: treat running trials as bad observations (spreads parallel workers).
        gamma_fraction, gamma_max: the good group is ``min(ceil(gamma_fraction * n), gamma_max)``
            of ``n`` completed trials.
        constraints_func: ``trial -> sequence of floats``, each ``<= 0`` where a constraint
            holds (Optuna's); computed when each trial ends and stored with it
            (``FrozenTrial.constraints``). The good group is then drawn from feasible trials.

    >>> import tunesmith
    >>> study = tunesmith.create_study(sampler=TPESampler(seed=0))
    >>> study.optimize(lambda t: (t.suggest_float("x", -5, 5) - 1) ** 2, n_trials=40)
    >>> study.best_value < 0.05
    True
    """

    def __init__(
        self, seed: int | None = None, n_startup_trials: int = 10, n_ei_candidates: int = 24,
        prior_weight: float = 1.0, constant_liar: bool = True, gamma_fraction: float = 0.2, gamma_max: int = 25,
        constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None,
    ) -> None:
        super().__init__(seed)
        if n_startup_trials < 0 or n_ei_candidates < 1 or prior_weight <= 0:
            raise ValueError(
                "TPESampler needs n_startup_trials >= 0, n_ei_candidates >= 1 and prior_weight > 0; got "
                f"{n_startup_trials}, {n_ei_candidates}, {prior_weight}"
            )
        self.n_startup_trials = n_startup_trials
        self.n_ei_candidates = n_ei_candidates
        self.prior_weight = prior_weight
        self.constant_liar = constant_liar
        self.gamma_fraction = gamma_fraction
        self.gamma_max = gamma_max
        self.constraints_func = check_constraints_func(constraints_func)

    @property
    def hedges_running(self) -> bool:
        return self.constant_liar

    def _spec_kwargs(self) -> dict[str, Any]:
        return {
            "seed": self.seed, "n_startup_trials": self.n_startup_trials, "n_ei_candidates": self.n_ei_candidates,
            "prior_weight": self.prior_weight, "constant_liar": self.constant_liar,
            "gamma_fraction": self.gamma_fraction, "gamma_max": self.gamma_max,
        }

    def gamma(self, n: int) -> int:
        """How many of ``n`` completed trials form the good group."""
        return max(1, min(math.ceil(self.gamma_fraction * n), self.gamma_max))

    def suggest(
        self, space: Mapping[str, Distribution], history: History, number: int, rng: np.random.Generator,
    ) -> dict[str, Any]:
        proposal = super().suggest(space, history, number, rng)  # grid_search axes
        dists = {n: d for n, d in space.items() if d.numeric_encoding and n not in proposal}
        if not dists:
            return proposal
        x_all = history.params_unit(dists)
        losses = history.losses
        states = history.states
        complete = (states == int(TrialState.COMPLETE)) & np.isfinite(losses).all(axis=1) if losses.shape[1] else (
            states == int(TrialState.COMPLETE))
        if int(complete.sum()) < max(self.n_startup_trials, 2):
            return proposal
        x, loss = x_all[complete], losses[complete]
        violation = violations(history)[complete] if self.constraints_func is not None else None
        running = x_all[states == int(TrialState.RUNNING)] if self.constant_liar else x_all[:0]
        names = list(dists)
        n_choices = np.array([len(d.choices) if isinstance(d, CategoricalDistribution) else 0 for d in dists.values()])
        spacing = np.array([_unit_spacing(d) for d in dists.values()])
        for group in _groups(x):
            rows = ~np.isnan(x[:, group]).any(axis=1)
            if rows.sum() < 2:
                continue
            liars = running[:, group]
            liars = liars[~np.isnan(liars).any(axis=1)]
            u = self._sample(
                x[rows][:, group], loss[rows], None if violation is None else violation[rows], liars,
                n_choices[group], spacing[group], rng,
            )
            for k, j in enumerate(group):
                proposal[names[j]] = dists[names[j]].from_unit(float(u[k]))
        return proposal

    def _sample(
        self, x: np.ndarray, loss: np.ndarray, violation: np.ndarray | None, liars: np.ndarray,
        n_choices: np.ndarray, spacing: np.ndarray, rng: np.random.Generator,
    ) -> np.ndarray:
        n_good = self.gamma(len(loss))
        split = _split if loss.shape[1] <= 1 else _split_pareto
        if violation is None:
            good, bad, w_good = split(loss, n_good)
        else:
            good, bad, w_good = _split_feasible(loss, violation, n_good, split)
        x_bad = np.vstack([x[bad], liars])
        # A kernel much narrower than the step between a discrete parameter's values makes
        # l / g spike on the values already tried: a guard for parameters with few values.
        floor = _DISCRETE_BANDWIDTH * spacing
        l_est = ParzenEstimator(x[good], w_good, n_choices, self.prior_weight, floor)
        g_est = ParzenEstimator(x_bad, np.ones(len(x_bad)), n_choices, self.prior_weight, floor)
        candidates = l_est.sample(rng, self.n_ei_candidates)
        acquisition = l_est.log_pdf(candidates) - g_est.log_pdf(candidates)
        return candidates[int(np.argmax(acquisition))]


_DISCRETE_BANDWIDTH = 0.5  # minimum bandwidth of a discrete parameter, in steps between its values


def _unit_spacing(dist: Distribution) -> float:
    """The step between neighbouring values of a discrete parameter in the unit encoding; 0 if continuous."""
    if isinstance(dist, IntDistribution) and not dist.log:
        return 1.0 / ((dist.high - dist.low) // dist.step + 1)
    if isinstance(dist, FloatDistribution) and dist.step is not None and not dist.log and dist.high > dist.low:
        return float(dist.step / (dist.high - dist.low))
    return 0.0


def _groups(x: np.ndarray) -> list[np.ndarray]:
    """Columns that are present in exactly the same trials (conditional parameters)."""
    present = ~np.isnan(x)
    groups: dict[bytes, list[int]] = {}
    for j in range(x.shape[1]):
        if present[:, j].any():
            groups.setdefault(np.packbits(present[:, j]).tobytes(), []).append(j)
    return [np.array(cols) for cols in groups.values()]


def _split(loss: np.ndarray, n_good: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(good rows, bad rows, weights of the good ones) for one objective (or none: every loss 0)."""
    score = loss[:, 0] if loss.shape[1] else np.zeros(len(loss))
    order = np.argsort(score, kind="stable")
    good, bad = order[:n_good], order[n_good:]
    if n_good == 1:
        return good, bad, np.ones(1)
    # EI-style weights (Watanabe 2023, Sec. 3.2): a good trial weighs by its improvement
    # over the split value; a tiny floor keeps ties (or a single good trial) usable.
    improvement = score[order[min(n_good, len(order) - 1)]] - score[good]
    return good, bad, np.maximum(improvement, 0.0) + 1e-12 + 1e-3 * np.ptp(score[good])


_Split = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray, np.ndarray]]


def _split_feasible(
    loss: np.ndarray, violation: np.ndarray, n_good: int, split: _Split,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``split`` among the feasible trials (violation 0); infeasible ones are bad, unless fewer
    than ``n_good`` are feasible: then the least violating fill the good group (equal weights)."""
    feasible = np.flatnonzero(violation <= 0)
    infeasible = np.flatnonzero(violation > 0)
    if len(feasible) >= n_good:
        good, bad, weights = split(loss[feasible], n_good)
        return feasible[good], np.concatenate([feasible[bad], infeasible]), weights
    ranked = infeasible[np.argsort(violation[infeasible], kind="stable")]
    k = n_good - len(feasible)
    good = np.concatenate([feasible, ranked[:k]])
    return good, ranked[k:], np.ones(len(good))


def _split_pareto(loss: np.ndarray, n_good: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MOTPE's split (Ozaki et al. 2022): whole non-domination fronts while they fit, then the
    members of the next front that add the most hypervolume (chosen greedily); each good
    trial weighs by the hypervolume only it covers within the good group.

    Losses are scaled to [0, 1] per objective over the completed trials, and the
    hypervolume is taken up to 1.1 in each, so no objective's units dominate.
    """
    from tunesmith.multi_objective import hypervolume, hypervolume_contributions, nondominated_ranks

    span = np.ptp(loss, axis=0)
    unit = (loss - loss.min(axis=0)) / np.where(span > 0, span, 1.0)
    ref = np.full(loss.shape[1], 1.1)
    ranks = nondominated_ranks(loss)
    order = np.argsort(ranks, kind="stable")
    whole = order[: int(np.count_nonzero(ranks < ranks[order[n_good - 1]]))]  # fronts that fit entirely
    front = np.flatnonzero(ranks == ranks[order[n_good - 1]]).tolist()
    picked: list[int] = []
    while len(whole) + len(picked) < n_good:  # greedy hypervolume subset selection within that front
        volumes = [hypervolume(unit[[*picked, i]], ref) for i in front]
        picked.append(front.pop(int(np.argmax(volumes))))
    good = np.concatenate([whole, np.array(picked, dtype=int)])
    bad = np.setdiff1d(np.arange(len(loss)), good)
    contributions = hypervolume_contributions(unit[good], ref)
    top = float(contributions.max())
    weights = contributions / top if top > 0 else np.ones(len(good))
    return good, bad, np.maximum(weights, 1e-3)  # dominated members keep a little weight
