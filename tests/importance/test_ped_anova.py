"""PED-ANOVA's pieces: densities on the grid, the divergence, regimes of conditional parameters."""

from __future__ import annotations

import math

import numpy as np
import pytest
from importance_data import UNIT, choice, make_trials

from tunesmith.importance import PedAnovaImportanceEvaluator, get_param_importances
from tunesmith.importance._ped_anova import _parzen_on_grid, _scott_bandwidth


@pytest.mark.parametrize("ordered", [True, False])
def test_grid_densities_sum_to_one(ordered: bool) -> None:
    counts = np.array([[0.0, 3.0, 10.0, 0.0, 1.0], [5.0, 0.0, 0.0, 0.0, 0.0]])
    density = _parzen_on_grid(counts, ordered, prior_weight=1.0)
    np.testing.assert_allclose(density.sum(axis=1), [1.0, 1.0])
    assert (density > 0).all()
    if not ordered:  # counts plus one observation spread uniformly
        np.testing.assert_allclose(density, (counts + 0.2) / (counts.sum(axis=1, keepdims=True) + 1))
    else:  # smoothing moves mass to the empty neighbours
        assert density[1, 1] > 0.01


def test_scott_bandwidth_follows_the_rule() -> None:
    grid = np.arange(50, dtype=float)
    counts = np.zeros(50)
    counts[[10, 20, 30, 40]] = 25  # 100 observations
    x = np.repeat(grid, counts.astype(int))
    sd = x.std(ddof=1)
    iqr = np.quantile(x, 0.75, method="inverted_cdf") - np.quantile(x, 0.25, method="inverted_cdf")
    expected = 1.059 * min(sd, iqr / 1.34) * 100**-0.2
    one_point = np.zeros(50)
    one_point[7] = 9
    got = _scott_bandwidth(grid, np.stack([counts, one_point]))
    assert math.isclose(got[0], expected, rel_tol=1e-12)
    assert got[1] == pytest.approx(0.5 / 1.64)  # the floor


def _ranked_trials(choices_of: list[str | None]) -> list:
    """Trial i has value i (so the best are the first) and categorical c as given (None: absent)."""
    params = [{"x": i / 10} if c is None else {"x": i / 10, "c": c} for i, c in enumerate(choices_of)]
    return make_trials(params, list(range(len(params))), {"x": UNIT, "c": choice(["a", "b"])})


def test_the_divergence_of_a_categorical_parameter_by_hand() -> None:
    trials = _ranked_trials(["a", "a", "b", "a", "b", "b", "a", "b", "a", "b"])
    ev = PedAnovaImportanceEvaluator(target_quantile=0.2, prior_weight=0.0)
    got = get_param_importances(trials, ev, params=["c"], normalize=False, directions="minimize")["c"]
    # p_top = (1, 0), p_all = (.5, .5): D = .5 (2 - 1)^2 + .5 (0 - 1)^2 = 1, times (γ'/γ)^2 = .2^2
    assert got == pytest.approx(0.04, rel=1e-9)


def test_a_conditional_parameter_weighs_its_present_regime_by_alpha_squared_over_beta() -> None:
    trials = _ranked_trials(["a", "a", "b", "b", "b", None, None, None, None, None])
    ev = PedAnovaImportanceEvaluator(target_quantile=0.2, prior_weight=0.0)
    got = get_param_importances(trials, ev, params=["c"], normalize=False, directions="minimize")["c"]
    # present in 5 of 10 (β = .5) and in both top trials (α = 1); among present trials
    # p_top = (1, 0), p_region = (.4, .6): D = .4 (2.5 - 1)^2 + .6 = 1.5
    assert got == pytest.approx(0.04 * 1 / 0.5 * 1.5, rel=1e-9)
    absent_at_the_top = _ranked_trials([None, None, "b", "b", "b", "a", "a", "a", "a", "b"])
    assert get_param_importances(absent_at_the_top, ev, normalize=False, directions="minimize")["c"] == 0.0


def test_a_regime_of_one_trial_is_ignored() -> None:
    trials = _ranked_trials(["a"] + [None] * 9)
    got = get_param_importances(trials, params=["c"], normalize=False, directions="minimize")
    assert got == {"c": 0.0}


def _step_trials(n: int) -> list:
    rng = np.random.default_rng(0)
    X = rng.random((n, 2))
    y = 10.0 * (X[:, 0] > 0.5) + (X[:, 1] - 0.2) ** 2
    return make_trials([{"x0": a, "x1": b} for a, b in X.tolist()], y.tolist(), {"x0": UNIT, "x1": UNIT})


def test_region_quantile_asks_what_matters_within_the_region() -> None:
    trials = _step_trials(2000)
    whole = get_param_importances(trials, PedAnovaImportanceEvaluator(target_quantile=0.45), directions="minimize")
    assert next(iter(whole)) == "x0"  # the top 45% all have x0 <= 0.5
    inside = get_param_importances(
        trials, PedAnovaImportanceEvaluator(target_quantile=0.1, region_quantile=0.5), directions="minimize"
    )
    assert next(iter(inside)) == "x1"
    assert inside["x0"] < 0.05  # within the best half, x0 is spread as evenly as in the region


def test_evaluate_on_local_false_compares_with_the_search_space() -> None:
    trials = _step_trials(1000)
    local = PedAnovaImportanceEvaluator(target_quantile=0.1, region_quantile=0.5)
    globally = PedAnovaImportanceEvaluator(target_quantile=0.1, region_quantile=0.5, evaluate_on_local=False)
    a = get_param_importances(trials, local, normalize=False, directions="minimize")
    b = get_param_importances(trials, globally, normalize=False, directions="minimize")
    assert b["x0"] > 10 * a["x0"]  # against the whole space, x0 <= 0.5 is a strong concentration
