from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from scipy.stats import truncnorm

import tunesmith
from tunesmith import TrialState
from tunesmith.distributions import FloatDistribution, IntDistribution
from tunesmith.samplers import RandomSampler, TPESampler, sampler_from_spec
from tunesmith.samplers._parzen import ParzenEstimator, _neighbour_gap_bandwidths
from tunesmith.samplers.tpe import _unit_spacing


def branin(trial: tunesmith.Trial) -> float:
    x, y = trial.suggest_float("x", -5, 10), trial.suggest_float("y", 0, 15)
    return (y - 5.1 / (4 * math.pi**2) * x**2 + 5 / math.pi * x - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(
        x) + 10


def quadratic4(trial: tunesmith.Trial) -> float:
    return sum((trial.suggest_float(f"x{i}", -5, 5) - 1.5) ** 2 for i in range(4))


def best(objective, sampler, n: int) -> float:
    study = tunesmith.create_study(sampler=sampler)
    study.optimize(objective, n_trials=n)
    return study.best_value


def test_parzen_density_is_the_truncated_gaussian_mixture() -> None:
    rng = np.random.default_rng(0)
    est = ParzenEstimator(rng.random((6, 2)), rng.random(6) + 0.1, np.array([0, 0]), prior_weight=1.0)
    x = rng.random((5, 2))
    expected = []
    for xi in x:
        total = 0.0
        for k in range(7):
            p = np.exp(est.log_weights[k])
            for j in range(2):
                mu, sd = est.mu[k, j], est.sigma[k, j]
                p *= truncnorm.pdf(xi[j], -mu / sd, (1 - mu) / sd, loc=mu, scale=sd)
            total += p
        expected.append(math.log(total))
    assert np.allclose(est.log_pdf(x), expected)
    samples = est.sample(rng, 2000)
    assert samples.min() >= 0 and samples.max() <= 1


def test_parzen_categorical_probabilities_sum_to_one() -> None:
    rng = np.random.default_rng(1)
    c = 4
    obs = (rng.integers(c, size=(5, 1)) + 0.5) / c
    est = ParzenEstimator(obs, np.ones(5), np.array([c]))
    grid = (np.arange(c)[:, None] + 0.5) / c
    assert math.isclose(float(np.exp(est.log_pdf(grid)).sum()), 1.0, rel_tol=1e-9)
    drawn = est.sample(rng, 20000)[:, 0]
    freq = np.bincount(np.minimum((drawn * c).astype(int), c - 1), minlength=c) / len(drawn)
    assert np.allclose(freq, np.exp(est.log_pdf(grid)), atol=0.02)  # sampling matches the density


def shifted_sphere10(trial: tunesmith.Trial) -> float:
    return sum((trial.suggest_float(f"x{i}", -5, 5) - 1.5) ** 2 for i in range(10))


def test_neighbour_gap_bandwidths() -> None:
    obs = np.array([[0.1], [0.5], [0.2], [0.9]])
    # Sorted 0.1, 0.2, 0.5, 0.9: the ends take their inner gap, the others the wider gap;
    # 5 components (4 points + prior) clip below at 1 / 6.
    assert np.allclose(_neighbour_gap_bandwidths(obs, 5)[:, 0], [1 / 6, 0.4, 0.3, 0.4])
    assert np.allclose(_neighbour_gap_bandwidths(obs, 5, np.array([0.35]))[:, 0], [0.35, 0.4, 0.35, 0.4])
    assert np.allclose(_neighbour_gap_bandwidths(np.array([[0.2, 0.9]]), 2), [[0.8, 0.9]])  # lone point
    dense = np.linspace(0, 1, 500)[:, None]
    assert np.allclose(_neighbour_gap_bandwidths(dense, 501), 0.01)  # the magic clip stops at 1 / 100


def test_discrete_parameters_have_a_bandwidth_floor() -> None:
    assert _unit_spacing(IntDistribution(1, 10)) == 0.1
    assert _unit_spacing(IntDistribution(0, 10, step=5)) == pytest.approx(1 / 3)
    assert _unit_spacing(FloatDistribution(0.0, 1.0, step=0.25)) == 0.25
    assert _unit_spacing(FloatDistribution(0.0, 1.0)) == 0.0
    assert _unit_spacing(IntDistribution(1, 100, log=True)) == 0.0


def test_tpe_makes_progress_in_ten_dimensions() -> None:
    # Median best of 5 seeds after 80 trials: about 3.8 (random search: 29; the former
    # Scott-rule bandwidths with gamma 0.1: 9.6; neighbour gaps with gamma 0.1: 6.0).
    assert statistics.median(best(shifted_sphere10, TPESampler(seed=s), 80) for s in range(5)) < 5.0


def test_tpe_beats_random_and_finds_branin() -> None:
    tpe = [best(quadratic4, TPESampler(seed=s), 60) for s in range(3)]
    rnd = [best(quadratic4, RandomSampler(seed=s), 60) for s in range(3)]
    assert statistics.median(tpe) < 0.5 * statistics.median(rnd)
    assert statistics.median(best(branin, TPESampler(seed=s), 80) for s in range(3)) < 0.8


def test_categorical_int_and_log_params() -> None:
    def objective(trial: tunesmith.Trial) -> float:
        c = trial.suggest_categorical("c", ["a", "b", "c"])
        k = trial.suggest_int("k", 1, 9)
        lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        return {"a": 1.0, "b": 0.0, "c": 2.0}[c] + abs(k - 7) + abs(math.log10(lr) + 3)

    study = tunesmith.create_study(sampler=TPESampler(seed=3))
    study.optimize(objective, n_trials=60)
    late = study.trials[30:]
    assert sum(t.params["c"] == "b" for t in late) > len(late) / 2
    assert all(isinstance(t.params["k"], int) and 1 <= t.params["k"] <= 9 for t in study.trials)
    assert all(1e-5 <= t.params["lr"] <= 1e-1 for t in study.trials)
    assert study.best_value < 1.5


def test_conditional_parameters_are_grouped() -> None:
    def objective(trial: tunesmith.Trial) -> float:
        if trial.suggest_categorical("model", ["linear", "tree"]) == "linear":
            return (trial.suggest_float("alpha", 0, 1) - 0.2) ** 2
        return 1.0 + (trial.suggest_int("depth", 1, 10) - 3) ** 2 / 10

    study = tunesmith.create_study(sampler=TPESampler(seed=0))
    study.optimize(objective, n_trials=50)
    linear = [t for t in study.trials if t.params["model"] == "linear"]
    assert all("depth" not in t.params for t in linear)
    assert study.best_params["model"] == "linear" and abs(study.best_params["alpha"] - 0.2) < 0.1


def test_running_trials_spread_out_with_a_constant_liar() -> None:
    """Four workers ask in turn, each drawing its parameters before the next asks (as worker processes do):
    the running ones join the bad group, so the four spread over the good region instead of piling up at
    its centre (seeds 0-4: spread 0.40 to 0.47 with the liar; 0.05 to 0.47, three under 0.22, without)."""
    spreads = []
    for seed in range(5):
        study = tunesmith.create_study(sampler=TPESampler(seed=seed, n_startup_trials=5))
        study.optimize(lambda t: (t.suggest_float("x", 0, 1) - 0.5) ** 2, n_trials=20)
        xs = []
        for _ in range(4):
            trial = study.ask()
            xs.append(trial.suggest_float("x", 0, 1))  # stored at once where others run (all but the first)
        spreads.append(max(xs) - min(xs))
    assert min(spreads) > 0.3, spreads


def test_seeded_reproducibility_and_spec() -> None:
    def params(seed: int) -> list[dict]:
        study = tunesmith.create_study(sampler=TPESampler(seed=seed))
        study.optimize(quadratic4, n_trials=25)
        return [t.params for t in study.trials]

    assert params(7) == params(7)
    assert params(7) != params(8)
    sampler = TPESampler(seed=4, n_startup_trials=3, prior_weight=0.5)
    again = sampler_from_spec(sampler.spec())
    assert isinstance(again, TPESampler) and again.spec() == sampler.spec()


def test_multi_objective_and_pareto_front() -> None:
    study = tunesmith.create_study(directions=["minimize", "minimize"], sampler=TPESampler(seed=0))
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), (1 - t.params["x"]) ** 2 + t.suggest_float("y", 0, 1)),
                   n_trials=40)
    front = study.pareto_front()
    assert front and all(t.state == TrialState.COMPLETE for t in front)
    values = np.array([t.values for t in study.trials])
    for t in front:  # nothing dominates a front member
        v = np.array(t.values)
        assert not np.any(np.all(values <= v, axis=1) & np.any(values < v, axis=1))
    assert study.best_trials == front
    late_y = [t.params["y"] for t in study.trials[20:]]
    assert statistics.median(late_y) < 0.35  # y only hurts: TPE learns to keep it small


def test_multi_objective_is_seeded_and_spreads_running_trials() -> None:
    """Several objectives: a seed fixes the run, and the constant liar spreads workers that ask in turn
    (front x in [0.5, 0.55]; seeds 0-4: spread 0.36 to 0.43 with the liar, 0.01 to 0.20 without)."""
    def objective(trial: tunesmith.Trial) -> tuple[float, float]:
        x = trial.suggest_float("x", 0, 1)
        return (x - 0.5) ** 2, (x - 0.55) ** 2

    def study_for(seed: int) -> tunesmith.Study:
        study = tunesmith.create_study(directions=["minimize", "minimize"],
                                       sampler=TPESampler(seed=seed, n_startup_trials=5))
        study.optimize(objective, n_trials=20)
        return study

    assert [t.params for t in study_for(3).trials] == [t.params for t in study_for(3).trials]
    assert [t.params for t in study_for(3).trials] != [t.params for t in study_for(4).trials]
    spreads = []
    for seed in range(5):
        study = study_for(seed)
        xs = [study.ask().suggest_float("x", 0, 1) for _ in range(4)]
        spreads.append(max(xs) - min(xs))
    assert min(spreads) > 0.25, spreads


@pytest.mark.parametrize("bad", [{"n_ei_candidates": 0}, {"prior_weight": 0}, {"n_startup_trials": -1}])
def test_invalid_settings(bad: dict) -> None:
    with pytest.raises(ValueError, match="TPESampler"):
        TPESampler(**bad)


def test_pareto_split_takes_whole_fronts_then_the_most_hypervolume_and_weighs_by_contribution() -> None:
    from tunesmith.samplers.tpe import _split_pareto

    # Front 0: rows 0, 1, 4, 5, 6, 7; front 1: rows 2 and 3 (dominated by rows 0 and 1).
    loss = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 1.0], [1.0, 0.2], [0.1, 0.9], [0.5, 0.5], [0.45, 0.55],
                     [0.9, 0.1]])
    good, bad, weights = _split_pareto(loss, 3)  # within front 0, greedily: the knee, then the most area
    assert good.tolist() == [5, 4, 7] and bad.tolist() == [0, 1, 2, 3, 6]
    assert weights.max() == 1.0 and weights.min() > 0.1
    good, bad, weights = _split_pareto(loss, 7)  # all of front 0, and one of front 1
    assert sorted(good[:6].tolist()) == [0, 1, 4, 5, 6, 7] and good[6] in (2, 3) and len(bad) == 1
    assert weights[6] == pytest.approx(1e-3)  # dominated within the good group: no area of its own
    assert weights.max() == 1.0 and weights[:6].min() > 0.2
