"""get_param_importances: arguments, trial selection, normalisation, errors; a real study."""

from __future__ import annotations

import ast
import copy
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from importance_data import UNIT, additive_study, evaluator_ids, evaluators, make_trials

import tunesmith
from tunesmith.distributions import FloatDistribution
from tunesmith.importance import (
    BaseImportanceEvaluator,
    FanovaImportanceEvaluator,
    MeanDecreaseImpurityImportanceEvaluator,
    PedAnovaImportanceEvaluator,
    get_param_importances,
)
from tunesmith.trial import FrozenTrial, TrialState

EVALUATORS = pytest.mark.parametrize("evaluator", evaluators(), ids=evaluator_ids())


class _Study:
    """Anything with .trials and .directions will do."""

    def __init__(self, trials: list[FrozenTrial], directions: list[str]) -> None:
        self.trials = trials
        self.directions = directions


@EVALUATORS
def test_normalized_importances_sum_to_one_highest_first(evaluator: BaseImportanceEvaluator) -> None:
    trials, names = additive_study(500)
    importances = get_param_importances(_Study(trials, ["minimize"]), evaluator)
    assert set(importances) == set(names)
    values = list(importances.values())
    assert values == sorted(values, reverse=True)
    assert math.isclose(sum(values), 1.0)
    assert all(v >= 0 for v in values)


@EVALUATORS
def test_normalize_false_gives_the_evaluators_raw_values(evaluator: BaseImportanceEvaluator) -> None:
    trials, _ = additive_study(500)
    raw = get_param_importances(trials, evaluator, normalize=False, directions="minimize")
    assert raw == evaluator.evaluate(trials, directions="minimize")
    normalized = get_param_importances(trials, evaluator, directions="minimize")
    total = sum(raw.values())
    if isinstance(evaluator, PedAnovaImportanceEvaluator):  # the forests' fractions already sum to about 1
        assert not math.isclose(total, 1.0, rel_tol=1e-3)
    assert normalized == pytest.approx({k: v / total for k, v in raw.items()})


@EVALUATORS
def test_equal_values_everywhere_give_equal_shares(evaluator: BaseImportanceEvaluator) -> None:
    trials, names = additive_study(50)
    flat = [t.evolve(values=[1.0]) for t in trials]
    importances = get_param_importances(flat, evaluator, directions="minimize")
    assert importances == pytest.approx(dict.fromkeys(names, 1 / len(names)))


@EVALUATORS
def test_params_restricts_the_assessment(evaluator: BaseImportanceEvaluator) -> None:
    trials, _ = additive_study(500)
    importances = get_param_importances(trials, evaluator, params=["x5", "x1", "x3"], directions="minimize")
    assert list(importances) == ["x1", "x3", "x5"]
    assert math.isclose(sum(importances.values()), 1.0)
    assert get_param_importances(trials, evaluator, params=[], directions="minimize") == {}


def test_params_errors_name_the_offending_value() -> None:
    trials, _ = additive_study(50)
    with pytest.raises(ValueError, match=r"\['nope'\].*appear in no COMPLETE trial.*'x0'"):
        get_param_importances(trials, params=["x0", "nope"], directions="minimize")
    with pytest.raises(TypeError, match="list of parameter names"):
        get_param_importances(trials, params="x0", directions="minimize")
    with pytest.raises(TypeError, match="got 3"):
        get_param_importances(trials, params=["x0", 3], directions="minimize")  # type: ignore[list-item]
    with pytest.raises(ValueError, match="twice"):
        get_param_importances(trials, params=["x0", "x0"], directions="minimize")


def _step_study(n: int) -> list[FrozenTrial]:
    """x0 decides between two levels of loss; x1 orders the trials within a level."""
    rng = np.random.default_rng(0)
    X = rng.random((n, 3))
    y = 10.0 * (X[:, 0] > 0.5) + (X[:, 1] - 0.2) ** 2
    params = [{"x0": a, "x1": b, "x2": c} for a, b, c in X.tolist()]
    return make_trials(params, y.tolist(), dict.fromkeys(["x0", "x1", "x2"], UNIT))


@EVALUATORS
def test_top_quantile_looks_only_at_the_best_trials(evaluator: BaseImportanceEvaluator) -> None:
    trials = _step_study(1000)
    full = get_param_importances(trials, evaluator, directions="minimize")
    best = get_param_importances(trials, evaluator, top_quantile=0.4, directions="minimize")
    assert next(iter(best)) == "x1"  # x0 <= 0.5 in every one of the best 40%: it no longer explains them
    assert best["x0"] < full["x0"] / 5
    cutoff = sorted(t.values[0] for t in trials)[399]
    kept = [t for t in trials if t.values[0] <= cutoff]
    assert best == get_param_importances(kept, evaluator, directions="minimize")


@pytest.mark.parametrize("bad", [0, 0.0, 1.5, -0.1, "0.5", True, math.nan])
def test_top_quantile_must_be_a_fraction(bad: object) -> None:
    trials, _ = additive_study(20)
    with pytest.raises(ValueError, match="top_quantile"):
        get_param_importances(trials, top_quantile=bad, directions="minimize")  # type: ignore[arg-type]


def _two_objective_trials(n: int) -> list[FrozenTrial]:
    rng = np.random.default_rng(0)
    X = rng.random((n, 3))
    params = [{"x0": a, "x1": b, "x2": c} for a, b, c in X.tolist()]
    values = [[(a - 0.5) ** 2, (b - 0.5) ** 2] for a, b, _ in X.tolist()]
    return make_trials(params, values, dict.fromkeys(["x0", "x1", "x2"], UNIT))


@EVALUATORS
def test_several_objectives_need_a_target(evaluator: BaseImportanceEvaluator) -> None:
    study = _Study(_two_objective_trials(300), ["minimize", "minimize"])
    with pytest.raises(ValueError, match=r"2 objectives.*target=lambda t: t\.values\[0\]"):
        get_param_importances(study, evaluator)
    first = get_param_importances(study, evaluator, target=lambda t: t.values[0])
    second = get_param_importances(study, evaluator, target=lambda t: t.values[1])
    assert next(iter(first)) == "x0"
    assert next(iter(second)) == "x1"


def test_direction_decides_which_trials_are_good() -> None:
    """Low values come from x0 near 1, high values from x1 near 1: PED-ANOVA's top trials differ."""
    rng = np.random.default_rng(0)
    X = rng.random((2000, 2))
    y = -(X[:, 0] ** 20) + X[:, 1] ** 20
    trials = make_trials([{"x0": a, "x1": b} for a, b in X.tolist()], y.tolist(), {"x0": UNIT, "x1": UNIT})
    assert next(iter(get_param_importances(trials, directions="minimize"))) == "x0"
    assert next(iter(get_param_importances(trials, directions=["maximize"]))) == "x1"
    assert next(iter(get_param_importances(_Study(trials, ["maximize"])))) == "x1"
    # A custom target is minimised (Optuna's rule): negate it to explain high values.
    assert next(iter(get_param_importances(trials, target=lambda t: -t.values[0]))) == "x1"


def test_target_can_explain_any_number_of_the_trial() -> None:
    trials, _ = additive_study(600)
    for t in trials:
        t.user_attrs["cost"] = 5 * t.params["x6"] + 0.1 * t.params["x7"]
    importances = get_param_importances(trials, target=lambda t: t.user_attrs["cost"])
    assert list(importances)[:2] == ["x6", "x7"]
    with pytest.raises(ValueError, match=r"target must return a number.*'cheap'"):
        get_param_importances(trials, target=lambda t: "cheap")
    with pytest.raises(TypeError, match="target must be a callable"):
        get_param_importances(trials, target=3)  # type: ignore[arg-type]


def test_a_target_that_raises_is_not_swallowed() -> None:
    trials, _ = additive_study(20)

    def broken(t: FrozenTrial) -> float:
        raise KeyError("metric")

    with pytest.raises(KeyError, match="metric"):
        get_param_importances(trials, target=broken)


@EVALUATORS
def test_only_complete_trials_with_finite_values_count(evaluator: BaseImportanceEvaluator) -> None:
    trials, _ = additive_study(400)
    rng = np.random.default_rng(5)
    # Trials that would make x7 look decisive, were they counted.
    junk_params = [{f"x{i}": float(rng.random()) for i in range(8)} for _ in range(300)]
    junk_values = [1e6 * p["x7"] for p in junk_params]
    dists = {f"x{i}": UNIT for i in range(8)}
    junk = make_trials(junk_params, junk_values, dists, state=TrialState.FAILED, start=400)
    junk += make_trials(junk_params, junk_values, dists, state=TrialState.PRUNED, start=700)
    junk += make_trials(junk_params[:50], [math.inf] * 25 + [math.nan] * 25, dists, start=1000)
    junk.append(FrozenTrial(number=2000, state=TrialState.RUNNING, params={"x7": 0.5}, distributions={"x7": UNIT}))
    assert get_param_importances(trials + junk, evaluator, directions="minimize") == get_param_importances(
        trials, evaluator, directions="minimize"
    )


@EVALUATORS
def test_no_trials_or_one_trial(evaluator: BaseImportanceEvaluator) -> None:
    assert get_param_importances([], evaluator, directions="minimize") == {}
    trials, names = additive_study(1)
    assert get_param_importances(trials, evaluator, directions="minimize") == pytest.approx(
        dict.fromkeys(names, 1 / len(names))
    )
    assert get_param_importances(trials, evaluator, normalize=False, directions="minimize") == dict.fromkeys(names, 0.0)


def test_the_record_is_only_read() -> None:
    trials, _ = additive_study(200)
    before = copy.deepcopy(trials)
    for evaluator in evaluators():
        get_param_importances(trials, evaluator, top_quantile=0.5, directions="minimize")
    assert trials == before


def test_bad_arguments_raise_clear_errors() -> None:
    trials, _ = additive_study(20)
    with pytest.raises(ValueError, match="directions"):
        get_param_importances(trials)  # a list of trials says nothing about its direction
    with pytest.raises(ValueError, match="names 1 objective but trials have 2 values"):
        get_param_importances(_two_objective_trials(10), directions="minimize")
    with pytest.raises(ValueError, match="'up'"):
        get_param_importances(trials, directions="up")
    with pytest.raises(ValueError, match="a study has its own"):
        get_param_importances(_Study(trials, ["minimize"]), directions="minimize")
    with pytest.raises(TypeError, match=r"evaluator must be.*'fanova'"):
        get_param_importances(trials, "fanova", directions="minimize")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="normalize"):
        get_param_importances(trials, normalize="yes", directions="minimize")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"study must be.*dict"):
        get_param_importances({"trials": trials})
    with pytest.raises(TypeError, match="holds a dict"):
        get_param_importances([{"x0": 1.0}], directions="minimize")  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: PedAnovaImportanceEvaluator(target_quantile=0), "target_quantile must be a number in"),
        (lambda: PedAnovaImportanceEvaluator(region_quantile=1.2), "region_quantile=1.2"),
        (lambda: PedAnovaImportanceEvaluator(target_quantile=0.5, region_quantile=0.5), "below region_quantile"),
        (lambda: PedAnovaImportanceEvaluator(prior_weight=-1), "prior_weight=-1"),
        (lambda: PedAnovaImportanceEvaluator(seed=1.5), "seed=1.5"),
        (lambda: FanovaImportanceEvaluator(n_trees=0), "n_trees=0"),
        (lambda: FanovaImportanceEvaluator(max_depth=2.5), "max_depth=2.5"),
        (lambda: MeanDecreaseImpurityImportanceEvaluator(seed="a"), "seed='a'"),
        (lambda: MeanDecreaseImpurityImportanceEvaluator(max_samples=1), "max_samples=1"),
    ],
)
def test_evaluator_arguments_are_checked(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_a_real_study() -> None:
    def objective(trial: tunesmith.Trial) -> float:
        lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        units = trial.suggest_int("units", 8, 256, log=True)
        optimizer = trial.suggest_categorical("optimizer", ["sgd", "adam"])
        value = (math.log10(lr) + 3) ** 2 + 0.01 * math.log2(units)
        if optimizer == "sgd":
            momentum = trial.suggest_float("momentum", 0.0, 0.99)
            value += 0.5 * (momentum - 0.9) ** 2
        return value

    study = tunesmith.create_study(sampler=tunesmith.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=300)
    for evaluator in evaluators():
        importances = get_param_importances(study, evaluator)
        assert set(importances) == {"lr", "units", "optimizer", "momentum"}
        assert next(iter(importances)) == "lr", (evaluator, importances)
        assert math.isclose(sum(importances.values()), 1.0)
    assert evaluators()[0].evaluate(study) == get_param_importances(study, normalize=False)


def test_importing_tunesmith_does_not_import_the_view_nor_the_view_scikit_learn() -> None:
    code = (
        "import sys, tunesmith\n"
        "assert 'tunesmith.importance' not in sys.modules\n"
        "import tunesmith.importance\n"
        "assert 'sklearn' not in sys.modules, 'scikit-learn imported eagerly'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_view_imports_only_the_record_layer() -> None:
    allowed = {"tunesmith.trial", "tunesmith.distributions"}
    package = Path(tunesmith.__file__).parent / "importance"
    for path in package.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tunesmith"):
                assert node.module in allowed or node.module.startswith("tunesmith.importance"), (path, node.module)
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith("tunesmith"), (path, alias.name)
        for node in tree.body:  # at module level: no scikit-learn
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                assert not any(n.startswith("sklearn") for n in names), path


def test_distributions_that_disagree_between_trials_are_joined() -> None:
    """A space that changed during the study: x's bounds widened half way."""
    trials, _ = additive_study(400, (4.0, 1.0))
    wide = FloatDistribution(-1.0, 1.0)
    for t in trials[200:]:
        t.distributions["x0"] = wide
    importances = get_param_importances(trials, directions="minimize")
    assert list(importances) == ["x0", "x1"]
