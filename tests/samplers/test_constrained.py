"""The pieces of the constrained samplers: TPE's feasible split, NSGA-II's constrained fronts,
the GP's constrained acquisition, and the violation columns they read."""

from __future__ import annotations

import numpy as np
import pytest

import tunesmith
from tunesmith.record import FrozenTrial
from tunesmith.samplers import TPESampler
from tunesmith.samplers._constraints import constraint_values, violations
from tunesmith.samplers._gp import (
    ConstrainedLogEI,
    GaussianProcess,
    KernelParams,
    LogExpectedImprovement,
    LogProbabilityOfFeasibility,
)
from tunesmith.samplers.nsga2 import constrained_ranks
from tunesmith.samplers.tpe import _split, _split_feasible
from tunesmith.trial import Trial


def test_tpe_split_takes_the_good_group_from_feasible_trials() -> None:
    loss = np.array([[0.0], [5.0], [1.0], [3.0], [2.0], [4.0]])
    violation = np.array([1.0, 0.0, 0.0, 0.0, 0.5, 0.0])
    good, bad, weights = _split_feasible(loss, violation, 2, _split)
    assert sorted(good.tolist()) == [2, 3]  # the two best feasible; 0 and 4 are better but infeasible
    assert sorted(bad.tolist()) == [0, 1, 4, 5] and len(weights) == 2


def test_tpe_split_fills_the_good_group_with_the_least_violating() -> None:
    loss = np.array([[0.0], [5.0], [1.0], [3.0]])
    violation = np.array([3.0, 0.0, 0.5, np.inf])
    good, bad, weights = _split_feasible(loss, violation, 2, _split)
    assert good.tolist() == [1, 2] and bad.tolist() == [0, 3]
    np.testing.assert_array_equal(weights, [1.0, 1.0])


def test_constrained_ranks_put_feasible_fronts_first_then_violation_levels() -> None:
    losses = np.array([[0.0, 0.0], [1.0, 2.0], [2.0, 1.0], [3.0, 3.0], [0.0, 1.0], [9.0, 9.0]])
    violation = np.array([2.0, 0.0, 0.0, 0.0, 0.5, 0.5])
    assert constrained_ranks(losses, violation).tolist() == [3, 0, 0, 1, 2, 2]
    assert constrained_ranks(losses, np.zeros(6)).tolist() == [0, 2, 2, 3, 1, 4]  # all feasible: plain fronts


def _gp(X: np.ndarray, y: np.ndarray) -> GaussianProcess:
    return GaussianProcess.fit(X, y, KernelParams.default(X.shape[1]), np.zeros(X.shape[1], dtype=bool))


@pytest.mark.parametrize("with_objective", [True, False])
def test_constrained_log_ei_gradient_matches_finite_differences(with_objective: bool) -> None:
    rng = np.random.default_rng(0)
    X = rng.random((12, 2))
    gp = _gp(X, np.sin(3 * X[:, 0]) + X[:, 1])
    pofs = [LogProbabilityOfFeasibility(_gp(X, X.sum(axis=1) - 1.0), 0.0),
            LogProbabilityOfFeasibility(_gp(X, X[:, 0] - X[:, 1]), 0.2)]
    acqf = ConstrainedLogEI(gp, LogExpectedImprovement(gp, 0.1) if with_objective else None, pofs)
    x = rng.random((5, 2))
    value, grad = acqf.value_and_grad(x)
    np.testing.assert_allclose(value, acqf(x))
    eps = 1e-6
    for j in range(2):
        step = np.zeros(2)
        step[j] = eps
        numeric = (acqf(x + step) - acqf(x - step)) / (2 * eps)
        np.testing.assert_allclose(grad[:, j], numeric, rtol=1e-4, atol=1e-6)


def test_probability_of_feasibility_is_high_where_the_constraint_holds() -> None:
    X = np.linspace(0, 1, 15)[:, None]
    pof = LogProbabilityOfFeasibility(_gp(X, X[:, 0] - 0.5), 0.0)  # holds for x <= 0.5
    inside, outside = np.exp(pof(np.array([[0.1]]))), np.exp(pof(np.array([[0.9]])))
    assert inside[0] > 0.9 and outside[0] < 0.1


def test_violation_columns_follow_the_history() -> None:
    def objective(trial: Trial) -> float:
        trial.set_user_attr("c", [trial.number - 2.0, -1.0])
        return trial.suggest_float("x", 0, 1)

    study = tunesmith.create_study(sampler=TPESampler(seed=0, constraints_func=lambda t: t.user_attrs["c"]))
    study.optimize(objective, n_trials=4)
    history = study.history
    history.mark_stale()
    np.testing.assert_array_equal(violations(history), [0.0, 0.0, 0.0, 1.0])
    t = study.ask()  # a running trial has no values yet: it ranks last
    history.mark_stale()
    assert violations(history)[-1] == np.inf
    study.tell(t, objective(t))
    history.mark_stale()
    np.testing.assert_array_equal(violations(history), [0.0, 0.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(constraint_values(history, np.array([4, 0])), [[2.0, -1.0], [-2.0, -1.0]])


def test_a_trial_without_values_counts_as_feasible_for_best_trial_but_last_for_the_sampler() -> None:
    """Optuna's rules: a trial run without the function is feasible for ``best_trial``, and
    a constrained sampler ranks it below every trial with values."""
    study = tunesmith.create_study(sampler=TPESampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert isinstance(study.best_trial, FrozenTrial)
    study.history.mark_stale()
    assert violations(study.history).tolist() == [np.inf, np.inf]
