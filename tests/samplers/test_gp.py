"""GP-BO: the numerics against direct computations, then the sampler end to end."""

from __future__ import annotations

import math
import pickle
from typing import Any

import numpy as np
import pytest
import scipy.stats
from scipy.optimize import approx_fprime
from scipy.stats import norm

import tunesmith
from tunesmith import TrialState
from tunesmith.distributions import FloatDistribution
from tunesmith.samplers import RandomSampler, sampler_from_spec
from tunesmith.samplers._gp import (
    GaussianProcess,
    KernelParams,
    SearchBox,
    fit_kernel_params,
    log_ei,
    log_h,
    maximize_acqf,
    standardize,
    warp_outputs,
)
from tunesmith.samplers._gp.acquisition import LogExpectedImprovement
from tunesmith.samplers._gp.kernel import pairwise_sq_diffs
from tunesmith.samplers._gp.model import _neg_log_posterior
from tunesmith.samplers.gp import GPSampler

IS_CAT = np.array([False, False, True])


def _data(n: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.random((n, 3))
    X[:, 2] = (rng.integers(0, 3, n) + 0.5) / 3  # a categorical with three choices
    y = np.sin(5 * X[:, 0]) + X[:, 1] ** 2 + (X[:, 2] > 0.5) + 0.01 * rng.standard_normal(n)
    return X, (y - y.mean()) / y.std()


def _direct_kernel(a: np.ndarray, b: np.ndarray, p: KernelParams) -> np.ndarray:
    """k(a, b) by the textbook formula, one pair at a time."""
    out = np.empty((len(a), len(b)))
    for i in range(len(a)):
        for j in range(len(b)):
            terms = [(a[i, k] != b[j, k]) if IS_CAT[k] else (a[i, k] - b[j, k]) ** 2 for k in range(3)]
            r = math.sqrt(sum(t / p.lengthscale[k] ** 2 for k, t in enumerate(terms)))
            out[i, j] = p.signal_var * (1 + math.sqrt(5) * r + 5 / 3 * r * r) * math.exp(-math.sqrt(5) * r)
    return out


PARAMS = KernelParams(np.array([0.3, 0.7, 1.5]), 1.3, 1e-3)


def test_kernel_and_posterior_match_a_direct_computation() -> None:
    X, y = _data()
    gp = GaussianProcess.fit(X, y, PARAMS, IS_CAT)
    x = np.random.default_rng(1).random((5, 3))
    x[:, 2] = X[:5, 2]
    np.testing.assert_allclose(gp.kernel(x), _direct_kernel(x, X, PARAMS), rtol=1e-10, atol=1e-12)
    K = _direct_kernel(X, X, PARAMS) + PARAMS.noise_var * np.eye(len(X))
    k = _direct_kernel(x, X, PARAMS)
    mean, var = gp.posterior(x)
    np.testing.assert_allclose(mean, k @ np.linalg.solve(K, y), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(var, PARAMS.signal_var - np.sum(k * np.linalg.solve(K, k.T).T, axis=1), atol=1e-9)
    # At a training point the latent variance is below the noise, the mean near the data.
    m0, v0 = gp.posterior(X[:1])
    assert v0[0] < PARAMS.noise_var and abs(m0[0] - y[0]) < 0.05


def test_incremental_conditioning_equals_a_refit() -> None:
    X, y = _data(15)
    extended = GaussianProcess.fit(X[:10], y[:10], PARAMS, IS_CAT).condition_on(X[10:], y[10:])
    refit = GaussianProcess.fit(X, y, PARAMS, IS_CAT)
    x = np.random.default_rng(2).random((7, 3))
    for a, b in zip(extended.posterior(x), refit.posterior(x), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)


def test_leave_one_out_residuals_equal_refits_without_each_point() -> None:
    X, y = _data(12)
    residuals = GaussianProcess.fit(X, y, PARAMS, IS_CAT).loo_residuals()
    for i in range(len(X)):
        rest = np.arange(len(X)) != i
        mean, var = GaussianProcess.fit(X[rest], y[rest], PARAMS, IS_CAT).posterior(X[i:i + 1])
        expected = (y[i] - mean[0]) / math.sqrt(var[0] + PARAMS.noise_var)  # of the noisy observation
        assert residuals[i] == pytest.approx(expected, rel=1e-6)


def test_posterior_and_log_ei_gradients_match_finite_differences() -> None:
    X, y = _data()
    acqf = LogExpectedImprovement(GaussianProcess.fit(X, y, PARAMS, IS_CAT), best=float(y.min()))
    x = np.random.default_rng(3).random((4, 3))
    x[:, 2] = X[:4, 2]
    _, grad = acqf.value_and_grad(x)
    for i in range(len(x)):
        def f(u: np.ndarray, i: int = i) -> float:
            return float(acqf(np.concatenate([u, x[i, 2:]])[None])[0])

        np.testing.assert_allclose(grad[i, :2], approx_fprime(x[i, :2], f, 1e-7), rtol=1e-4, atol=1e-5)
    assert np.all(grad[:, 2] == 0.0)  # no gradient along a category


def test_marginal_likelihood_gradient_matches_finite_differences() -> None:
    X, y = _data(20)
    diffs, pairs = pairwise_sq_diffs(X, IS_CAT), np.triu_indices(len(X), k=1)
    theta = np.array([-1.0, 0.2, 0.5, 0.1, -6.0])
    value, grad = _neg_log_posterior(theta, diffs, y, pairs)
    numeric = approx_fprime(theta, lambda t: _neg_log_posterior(t, diffs, y, pairs)[0], 1e-6)
    assert np.isfinite(value)
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-4)


def test_fitted_lengthscales_find_the_irrelevant_dimension() -> None:
    rng = np.random.default_rng(0)
    X = rng.random((40, 2))
    y = np.sin(6 * X[:, 0])  # x1 does not matter
    p = fit_kernel_params(X, (y - y.mean()) / y.std(), np.zeros(2, dtype=bool))
    assert p.lengthscale[1] > 3 * p.lengthscale[0]
    assert p.noise_var < 1e-2


def test_evaluated_points_are_not_proposed_again_unless_nothing_else_is_left() -> None:
    levels = np.linspace(0.0, 1.0, 11)  # an integer parameter with 11 values
    X = levels[[0, 5, 10]][:, None]
    gp = GaussianProcess.fit(X, np.array([1.0, -1.0, 1.0]), KernelParams(np.array([0.3]), 1.0, 0.5), np.array([False]))
    acqf = LogExpectedImprovement(gp, best=-1.0)  # noisy: the acquisition peaks on the incumbent
    box = SearchBox(levels=(levels,), is_categorical=np.array([False]), fixed=np.array([np.nan]))

    def best(observed: np.ndarray | None) -> float:
        return float(maximize_acqf(acqf, box, np.random.default_rng(0), anchors=X[[1]], observed=observed)[0])

    assert best(None) == 0.5
    assert round(best(X), 9) in (0.4, 0.6)  # the incumbent's neighbours come next
    assert best(levels[:, None]) == 0.5  # every value tried: the acquisition decides again


def test_log_ei_matches_log_of_ei_and_stays_finite_far_below() -> None:
    mean, var, best = np.array([0.0, 0.5, -1.0, 2.0]), np.array([1.0, 0.25, 2.0, 0.01]), 0.3
    sigma = np.sqrt(var)
    z = (best - mean) / sigma
    ei = sigma * (z * norm.cdf(z) + norm.pdf(z))  # closed form, fine where it does not underflow
    np.testing.assert_allclose(log_ei(mean, var, best), np.log(ei), rtol=1e-12)

    z = np.array([-5.0, -40.0, -1e3, -1e10])
    values = log_h(z)
    assert np.all(np.isfinite(values)) and np.all(np.diff(values) < 0)
    # h(z) ~ φ(z) / z² for z → -∞ (Mills' ratio), so log h(-40) ≈ -z²/2 - log√(2π) - 2 log 40
    assert abs(values[1] - (-800 - 0.5 * math.log(2 * math.pi) - 2 * math.log(40))) < 2e-3
    with np.errstate(divide="ignore"):
        assert np.log(-40 * norm.cdf(-40) + norm.pdf(-40)) == -np.inf  # the naive form underflows


def test_output_warping_is_monotone_and_standardized_and_pulls_in_a_skewed_tail() -> None:
    y = np.exp(1.5 * np.random.default_rng(0).normal(size=12))  # log-normal: a long bad tail
    w, z = warp_outputs(y), standardize(y)
    assert list(np.argsort(w)) == list(np.argsort(y))
    assert abs(w.mean()) < 1e-12 and abs(w.std() - 1) < 1e-12

    def tail_to_head(v: np.ndarray) -> float:
        return float((v.max() - np.median(v)) / (np.median(v) - v.min()))

    assert tail_to_head(w) < 0.5 * tail_to_head(z)  # measured 2.2 against 6.2
    assert abs(scipy.stats.skew(w)) < 0.6 * abs(scipy.stats.skew(z))
    assert np.all(warp_outputs(np.ones(4)) == 0.0)
    assert np.array_equal(warp_outputs(np.array([3.0, 1.0])), standardize(np.array([3.0, 1.0])))


def test_warped_outputs_follow_a_curved_valley_better_than_standardized_ones() -> None:
    # Rosenbrock on [-5, 5]^2: values from 0 to ~10^5, the optimum at the end of a curved valley.
    def objective(t: tunesmith.Trial) -> float:
        x, y = t.suggest_float("x", -5, 5), t.suggest_float("y", -5, 5)
        return 100 * (y - x * x) ** 2 + (1 - x) ** 2

    best = {}
    for warp in (True, False):
        values = []
        for seed in range(4):
            study = tunesmith.create_study(sampler=GPSampler(seed=seed, warp_outputs=warp, n_candidates=256))
            study.optimize(objective, n_trials=25)
            values.append(study.best_value)
        best[warp] = float(np.median(values))
    assert best[True] < 0.5 * best[False], best  # measured: 0.43 against 2.03


def test_outputs_are_standardized_and_the_prior_keeps_every_dimension_in_play() -> None:
    z = standardize(np.array([0.0, 0.01, -0.01, 0.0, 0.02, 0.0, -0.02, 0.0, -3.0, -2.5]))
    assert abs(z.mean()) < 1e-12 and abs(z.std() - 1) < 1e-12
    # The second input does not matter on these 12 points: the fit may lengthen its
    # lengthscale, but the prior holds it near the box's size, so the model keeps some
    # uncertainty along it (a long one would leave none, and the search would stop moving it).
    rng = np.random.default_rng(0)
    X = rng.random((12, 2))
    z = standardize(np.sin(6 * X[:, 0]))
    p = fit_kernel_params(X, z, np.zeros(2, dtype=bool))
    assert p.lengthscale[1] > 2 * p.lengthscale[0] and p.lengthscale[1] < 10.0  # the earlier prior: 74
    gp = GaussianProcess.fit(X, z, p, np.zeros(2, dtype=bool))
    best = X[np.argmin(z)]
    _, var = gp.posterior(np.array([[best[0], 1.0 - best[1]]]))  # the incumbent, the other input moved
    assert var[0] > 1e-5 * p.signal_var  # 6e-5 (the earlier prior: 8e-7)


# -- the sampler ------------------------------------------------------------------------------------


def branin(trial: tunesmith.Trial) -> float:
    x, y = trial.suggest_float("x", -5, 10), trial.suggest_float("y", 0, 15)
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (y - b * x**2 + c * x - 6) ** 2 + 10 * (1 - t) * math.cos(x) + 10


def test_a_search_stuck_at_a_bound_leaves_it() -> None:
    # AutoSampler seed 0 on Branin reaches the corner (10, 3), a local minimum at a bound
    # (1.943; the global minima are 0.398), and without the escape proposed near-duplicates
    # of it until trial 50 and beyond. Measured best after 40 trials, seeds 0-3:
    # 1.943, 0.681, 0.398, 0.399 without; 0.398, 0.681, 0.398, 0.399 with.
    bests = []
    for seed in range(4):
        study = tunesmith.create_study(sampler=tunesmith.samplers.AutoSampler(seed=seed))
        study.optimize(branin, n_trials=40)
        bests.append(study.best_value)
    assert max(bests) < 1.0, bests


def test_avoided_neighbourhoods_are_not_proposed() -> None:
    X = np.array([[0.0, 0.5], [0.2, 0.5], [1.0, 0.5]])
    gp = GaussianProcess.fit(X, np.array([-1.0, 0.5, 1.0]), KernelParams(np.array([0.5, 0.5]), 1.0, 1e-4),
                             np.zeros(2, dtype=bool))
    acqf = LogExpectedImprovement(gp, best=-1.0)
    box = SearchBox(levels=(None, None), is_categorical=np.zeros(2, dtype=bool), fixed=np.full(2, np.nan))
    free = maximize_acqf(acqf, box, np.random.default_rng(0), anchors=X[:1], observed=X)
    assert free[0] < 0.05  # the acquisition peaks at the incumbent on the bound x = 0
    radii = np.array([0.25, 0.25])
    away = maximize_acqf(acqf, box, np.random.default_rng(0), anchors=X[:1], observed=X, avoid=(X[:1], radii))
    assert np.sum(((away - X[0]) / radii) ** 2) >= 1.0, away


BRANIN_SPACE = {"x": tunesmith.uniform(-5, 10), "y": tunesmith.uniform(0, 15)}


def test_gp_finds_the_branin_minimum() -> None:
    bests = []
    for seed in range(3):
        study = tunesmith.create_study(sampler=GPSampler(seed=seed))
        study.optimize(branin, n_trials=40)
        bests.append(study.best_value)
    assert np.median(bests) < 0.45, bests  # the minimum is 0.397887


def quadratic(trial: tunesmith.Trial) -> float:
    return sum((trial.suggest_float(f"x{i}", -5, 5) - i + 1.5) ** 2 for i in range(4))


def test_gp_beats_random_search_on_a_quadratic() -> None:
    gp, rnd = [], []
    for seed in range(3):
        for sampler, out in ((GPSampler(seed=seed), gp), (RandomSampler(seed=seed), rnd)):
            study = tunesmith.create_study(sampler=sampler)
            study.optimize(quadratic, n_trials=30)
            out.append(study.best_value)
    assert max(gp) < 0.5 < min(rnd), (gp, rnd)


CHOICES = ["relu", "tanh", "gelu"]


def mixed(trial: tunesmith.Trial) -> float:
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    units = trial.suggest_int("units", 8, 512, log=True)
    layers = trial.suggest_int("layers", 1, 6)
    drop = trial.suggest_float("drop", 0.0, 0.5, step=0.1)
    act = trial.suggest_categorical("act", CHOICES)
    return (math.log10(lr) + 3) ** 2 + (math.log2(units) - 7) ** 2 / 4 + abs(layers - 3) + drop + (act != "gelu")


def test_int_log_step_and_categorical_values_are_valid_and_learned() -> None:
    study = tunesmith.create_study(sampler=GPSampler(seed=0, n_startup_trials=8))
    study.optimize(mixed, n_trials=40)
    for t in study.trials:
        p = t.params
        assert 1e-5 <= p["lr"] <= 1e-1
        assert type(p["units"]) is int and 8 <= p["units"] <= 512
        assert type(p["layers"]) is int and 1 <= p["layers"] <= 6
        assert p["drop"] in {0.0, 0.1, 0.2, 0.3, 0.4, 0.5}
        assert p["act"] in CHOICES
    late = [t.params for t in study.trials[-10:]]
    assert sum(p["act"] == "gelu" for p in late) >= 7
    assert study.best_value < 1.0  # the optimum is 0


def test_dict_config_with_grid_axis_and_derived_values() -> None:
    study = tunesmith.create_study(sampler=GPSampler(seed=1, n_startup_trials=5))
    study.set_space({
        "x": tunesmith.uniform(-2, 2), "k": tunesmith.randint(0, 4), "g": tunesmith.grid_search(["a", "b"]),
        "d": tunesmith.sample_from(lambda spec: spec.config.k * 2),
    })
    study.optimize(lambda t: t.params["x"] ** 2 + t.params["k"] + (t.params["g"] == "b"), n_trials=16)
    trials = study.trials
    assert [t.params["g"] for t in trials] == ["a", "b"] * 8  # grid points in trial order
    assert all(t.params["d"] == 2 * t.params["k"] and -2 <= t.params["x"] <= 2 for t in trials)
    assert study.best_value < 0.1


def _params(seed: int, n: int = 16, objective: Any = branin) -> list[dict[str, Any]]:
    study = tunesmith.create_study(sampler=GPSampler(seed=seed, n_startup_trials=5))
    study.optimize(objective, n_trials=n)
    return [t.params for t in study.trials]


def test_seeded_studies_reproduce_exactly() -> None:
    first = _params(7)
    assert _params(7) == first
    assert _params(8) != first


def test_a_pickled_copy_suggests_the_same() -> None:
    sampler = GPSampler(seed=3, n_startup_trials=5)
    study = tunesmith.create_study(sampler=sampler)
    study.optimize(branin, n_trials=12)
    copy = pickle.loads(pickle.dumps(sampler))  # without the fitted model it had cached
    again = tunesmith.create_study(sampler=copy)
    again.optimize(branin, n_trials=12)
    assert [t.params for t in again.trials] == [t.params for t in study.trials]


def test_startup_trials_are_random_draws() -> None:
    gp = _params(4, n=6)  # five startup trials, then the model
    study = tunesmith.create_study(sampler=RandomSampler(seed=4))
    study.optimize(branin, n_trials=6)
    random = [t.params for t in study.trials]
    assert gp[:5] == random[:5]  # the same generator per (seed, trial number)
    assert gp[5] != random[5]


@pytest.mark.parametrize("style", ["define_by_run", "dict"])
def test_running_trials_are_not_proposed_twice(style: str) -> None:
    """Constant liar: each of three trials asked before any is told sees the others as running."""
    study = tunesmith.create_study(sampler=GPSampler(seed=0, n_startup_trials=6))
    if style == "dict":
        study.set_space(BRANIN_SPACE)
    for _ in range(12):
        trial = study.ask()
        study.tell(trial, branin(trial))
    trials = [study.ask() for _ in range(3)]
    points = np.array([[t.suggest_float("x", -5, 10) / 15, t.suggest_float("y", 0, 15) / 15] for t in trials])
    distances = [np.linalg.norm(points[i] - points[j]) for i in range(3) for j in range(i)]
    assert min(distances) > 0.01, points
    for t in trials:
        study.tell(t, branin(t))


def test_define_by_run_conditional_parameters() -> None:
    def objective(trial: tunesmith.Trial) -> float:
        x = trial.suggest_float("x", -3, 3)
        if trial.suggest_categorical("kind", ["linear", "square"]) == "square":
            return x**2 + trial.suggest_float("shift", 0, 1)
        return abs(x) + 1 + trial.suggest_int("extra", 0, 3)

    study = tunesmith.create_study(sampler=GPSampler(seed=2, n_startup_trials=6))
    study.optimize(objective, n_trials=25)
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    for t in study.trials:
        assert ("shift" in t.params) == (t.params["kind"] == "square")
        assert ("extra" in t.params) == (t.params["kind"] == "linear")
    assert study.best_value < 0.3
    modelled = study.trials[6:]  # "kind" is in every trial, so the GP learns that "square" is better
    assert sum(t.params["kind"] == "square" for t in modelled) >= 12, [t.params["kind"] for t in modelled]


def test_spec_round_trip() -> None:
    sampler = GPSampler(seed=5, n_startup_trials=3, max_trials_gp=50, n_candidates=256, warp_outputs=True)
    rebuilt = sampler_from_spec(sampler.spec())
    assert isinstance(rebuilt, GPSampler)
    assert rebuilt.spec() == sampler.spec()
    assert repr(rebuilt) == repr(sampler)
    a, b = tunesmith.create_study(sampler=sampler), tunesmith.create_study(sampler=rebuilt)
    for study in (a, b):
        study.optimize(branin, n_trials=6)
    assert [t.params for t in a.trials] == [t.params for t in b.trials]


def test_past_max_trials_gp_another_sampler_takes_over() -> None:
    sampler = GPSampler(seed=0, n_startup_trials=4, max_trials_gp=8)
    study = tunesmith.create_study(sampler=sampler)
    study.optimize(branin, n_trials=14)
    assert all(-5 <= t.params["x"] <= 10 and 0 <= t.params["y"] <= 15 for t in study.trials)
    cache = sampler._cache
    assert cache is not None and len(cache.X) == 8  # the last fit saw 8 trials
    assert sampler._fallback is not None and not isinstance(sampler._fallback, GPSampler)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"n_startup_trials": -1}, "n_startup_trials"), ({"max_trials_gp": 1}, "max_trials_gp"),
     ({"n_candidates": 0}, "n_candidates"), ({"seed": -3}, "seed")],
)
def test_invalid_arguments_are_rejected(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        GPSampler(**kwargs)


def test_maximize_direction_is_respected() -> None:
    study = tunesmith.create_study(direction="maximize", sampler=GPSampler(seed=0, n_startup_trials=5))
    study.optimize(lambda t: -((t.suggest_float("x", 0, 1) - 0.7) ** 2), n_trials=15)
    assert abs(study.best_params["x"] - 0.7) < 0.02
    assert isinstance(study.trials[0].distributions["x"], FloatDistribution)
