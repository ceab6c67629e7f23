"""Search spaces: dict style (tunesmith/space.py) and define-by-run (Trial.suggest_*, trial.hp)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tunesmith
from tunesmith import TrialState
from tunesmith.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    NormalDistribution,
)
from tunesmith.space import SearchSpace, flatten, unflatten

# -- dict style: compiling --------------------------------------------------------------------------


def test_every_function_compiles() -> None:
    config = {
        "u": tunesmith.uniform(-1.0, 1.0),
        "qu": tunesmith.quniform(0.0, 1.0, 0.25),
        "lu": tunesmith.loguniform(1e-4, 1e-1),
        "qlu": tunesmith.qloguniform(0.1, 10.0, 0.1),
        "ri": tunesmith.randint(1, 3),
        "qri": tunesmith.qrandint(0, 20, 5),
        "lri": tunesmith.lograndint(1, 1000),
        "rn": tunesmith.randn(2.0, 0.5),
        "qrn": tunesmith.qrandn(0.0, 1.0, 0.5),
        "c": tunesmith.choice(["relu", "tanh"]),
        "g": tunesmith.grid_search([1, 2, 3]),
        "sf": tunesmith.sample_from(lambda spec: spec.config.ri + 1),
        "const": 7,
    }
    space = SearchSpace(config)
    d = space.distributions
    assert d["u"] == FloatDistribution(-1.0, 1.0)
    assert d["qu"] == FloatDistribution(0.0, 1.0, step=0.25)
    assert d["lu"] == FloatDistribution(1e-4, 1e-1, log=True)
    assert d["qlu"] == FloatDistribution(0.1, 10.0, log=True, step=0.1)
    assert d["ri"] == IntDistribution(1, 3)
    assert d["qri"] == IntDistribution(0, 20, step=5)
    assert d["lri"] == IntDistribution(1, 1000, log=True)
    assert d["rn"] == NormalDistribution(2.0, 0.5)
    assert d["qrn"] == NormalDistribution(0.0, 1.0, step=0.5)
    assert d["c"] == CategoricalDistribution(("relu", "tanh"))
    assert d["g"] == CategoricalDistribution((1, 2, 3), grid=True)
    assert not d["c"].grid
    assert list(space.derived) == ["sf"]
    assert space.constants == {"const": 7}
    assert space.grid_axes == ["g"]
    assert space.grid_size == 3
    assert len(space) == 11
    assert "sf" in space and "const" in space and "nope" not in space

    study = tunesmith.create_study(seed=0)
    study.set_space(config)
    for _ in range(12):
        trial = study.ask()
        for name, dist in d.items():
            assert dist.contains(trial.params[name]), (name, trial.params[name])
        assert trial.params["sf"] == trial.params["ri"] + 1
        assert "const" not in trial.params  # constants are not parameters...
        assert study.space is not None
        assert study.space.config_for(trial.params)["const"] == 7  # ...but reach the trainable
        study.tell(trial, 0.0)
    assert {t.params["ri"] for t in study.trials} == {1, 2, 3}  # inclusive upper bound


def test_nested_dicts_flatten_and_unflatten() -> None:
    config = {
        "model": {"lr": tunesmith.uniform(0, 1), "layers": {"n": tunesmith.randint(1, 3)}, "act": "relu"},
        "epochs": 10,
        "opts": {},
    }
    space = SearchSpace(config)
    assert sorted(space.distributions) == ["model/layers/n", "model/lr"]
    assert space.constants == {"model/act": "relu", "epochs": 10, "opts": {}}
    assert space.config_for({"model/lr": 0.5, "model/layers/n": 2}) == {
        "model": {"lr": 0.5, "layers": {"n": 2}, "act": "relu"},
        "epochs": 10,
        "opts": {},
    }
    flat = flatten({"a": {"b": {"c": 1}, "d": 2}, "e": 3})
    assert flat == {"a/b/c": 1, "a/d": 2, "e": 3}
    assert unflatten(flat) == {"a": {"b": {"c": 1}, "d": 2}, "e": 3}

    study = tunesmith.create_study(seed=0)
    study.set_space(config)
    study.optimize(lambda t: t.params["model/lr"], n_trials=3)
    trial = study.trials[0]
    assert set(trial.params) == {"model/lr", "model/layers/n"}
    assert trial.config == {"model": {"lr": trial.params["model/lr"], "layers": {"n": trial.params["model/layers/n"]}}}


def test_ray_literal_grid_search_form() -> None:
    config = {"a": {"grid_search": [1, 2, 3]}, "m": {"b": {"grid_search": ["x", "y"]}, "c": 5}}
    space = SearchSpace(config)
    assert space.distributions["a"] == CategoricalDistribution((1, 2, 3), grid=True)
    assert space.distributions["m/b"] == CategoricalDistribution(("x", "y"), grid=True)
    assert space.constants == {"m/c": 5}
    assert space.grid_size == 6
    study = tunesmith.create_study(seed=0)
    study.set_space(config)
    study.optimize(lambda t: 0.0, n_trials=6)
    points = [(t.params["a"], t.params["m/b"]) for t in study.trials]
    assert points == [(1, "x"), (1, "y"), (2, "x"), (2, "y"), (3, "x"), (3, "y")]


def test_a_plain_dict_with_other_keys_is_not_a_grid() -> None:
    space = SearchSpace({"a": {"grid_search": [1, 2], "other": 3}})
    assert "a/grid_search" in space.constants and space.constants["a/other"] == 3
    assert space.grid_axes == []


# -- dict style: sample_from ------------------------------------------------------------------------


def _ask_params(config: dict[str, Any], seed: int, n: int) -> list[dict[str, Any]]:
    study = tunesmith.create_study(seed=seed)
    study.set_space(config)
    out = []
    for _ in range(n):
        trial = study.ask()
        out.append(trial.params)
        study.tell(trial, 0.0)
    assert [t.params for t in study.trials] == out  # what is stored is what the trial saw
    return out


def test_sample_from_attribute_and_item_access() -> None:
    config = {
        "a": tunesmith.uniform(0, 1),
        "model": {"lr": tunesmith.loguniform(1e-4, 1e-1), "width": 32},
        "twice": tunesmith.sample_from(lambda spec: spec.config.a * 2),
        "item": tunesmith.sample_from(lambda spec: spec.config["a"] + 1),
        "nested_attr": tunesmith.sample_from(lambda spec: spec.config.model.lr * 10),
        "nested_item": tunesmith.sample_from(lambda spec: spec.config["model"]["lr"] * 100),
        "from_const": tunesmith.sample_from(lambda spec: spec.config.model.width // 2),
    }
    for p in _ask_params(config, seed=0, n=5):
        assert p["twice"] == p["a"] * 2
        assert p["item"] == p["a"] + 1
        assert p["nested_attr"] == p["model/lr"] * 10
        assert p["nested_item"] == p["model/lr"] * 100
        assert p["from_const"] == 16


def test_chained_sample_from_in_any_order() -> None:
    config = {
        "c": tunesmith.sample_from(lambda spec: spec.config.b + 100),  # needs b, which needs a
        "b": tunesmith.sample_from(lambda spec: spec.config.a * 10),
        "a": tunesmith.randint(1, 5),
    }
    params = _ask_params(config, seed=1, n=8)
    for p in params:
        assert p["b"] == p["a"] * 10
        assert p["c"] == p["a"] * 10 + 100
    assert len({p["a"] for p in params}) > 1


def test_sample_from_that_always_fails_names_the_parameter() -> None:
    config = {"a": tunesmith.uniform(0, 1), "bad": tunesmith.sample_from(lambda spec: spec.config.missing)}
    study = tunesmith.create_study(seed=0)
    study.set_space(config)
    with pytest.raises(ValueError, match="'bad'"):
        study.ask()


def _power_of_two(_: Any) -> int:
    return 2 ** np.random.randint(2, 9)


def test_sample_from_with_global_numpy_random_is_seeded() -> None:
    config = {"x": tunesmith.uniform(0, 1), "batch": tunesmith.sample_from(_power_of_two)}
    first = _ask_params(config, seed=5, n=10)
    assert _ask_params(config, seed=5, n=10) == first
    batches = [p["batch"] for p in first]
    assert set(batches) <= {2**k for k in range(2, 9)}
    assert len(set(batches)) > 2  # it does vary between trials
    assert _ask_params(config, seed=6, n=10) != first


def test_sample_from_reproduces_through_run(tmp_path: Path) -> None:
    def train(config: dict[str, Any]) -> None:
        tunesmith.report(loss=config["x"] + config["batch"])

    config = {"x": tunesmith.uniform(0, 1), "batch": tunesmith.sample_from(lambda _: 2 ** np.random.randint(2, 9))}
    configs = []
    for i in range(2):
        # Random search: with two workers, a model-based sampler (the default Auto's GP after a
        # 2-trial start for this 6-trial budget) depends on which trials finished first.
        result = tunesmith.run(
            train, config, num_samples=6, metric="loss", mode="min",
            search_alg=tunesmith.samplers.RandomSampler(seed=11), storage=f"sqlite:///{tmp_path}/run{i}.db",
            verbose=0, max_concurrent_trials=2,
        )
        configs.append([t.config for t in sorted(result.trials, key=lambda t: t.number)])
    assert configs[0] == configs[1]
    assert len(configs[0]) == 6
    assert all(c["batch"] in {4, 8, 16, 32, 64, 128, 256} for c in configs[0])


# -- dict style: invalid spaces ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: tunesmith.uniform(1, 0.5), ["low=1", "high=0.5"]),
        (lambda: tunesmith.uniform(5, 1), ["low=5 must not exceed high=1"]),
        (lambda: tunesmith.uniform(1, 1), ["low=1", "high=1"]),
        (lambda: tunesmith.uniform(float("nan"), 1), ["low=nan"]),
        (lambda: tunesmith.uniform(0, float("inf")), ["finite", "high=inf"]),
        (lambda: tunesmith.uniform("0", 1), ["numbers", "low='0'"]),  # type: ignore[arg-type]
        (lambda: tunesmith.randint(10, 3), ["low=10 must not exceed high=3"]),
        (lambda: tunesmith.randint(1.5, 3), ["integer", "low=1.5"]),  # type: ignore[arg-type]
        (lambda: tunesmith.loguniform(0, 1), ["log scale needs low > 0, got low=0"]),
        (lambda: tunesmith.loguniform(-1, 1), ["low > 0", "low=-1"]),
        (lambda: tunesmith.loguniform(1e-4, 1e-1, base=1), ["base", "other than 1", "base=1"]),
        (lambda: tunesmith.lograndint(0, 5), ["log scale needs low > 0, got low=0"]),
        (lambda: tunesmith.lograndint(1, 100, base=-2), ["base=-2"]),
        (lambda: tunesmith.qloguniform(0, 1, 0.1), ["low > 0", "low=0"]),
        (lambda: tunesmith.qloguniform(0.1, 1.0, 0), ["positive", "step=0"]),
        (lambda: tunesmith.qloguniform(0.1, 1.0, -0.1), ["positive", "step=-0.1"]),
        (lambda: tunesmith.qloguniform(1e-4, 1e-1, 0.3), ["step=0.3", "larger", "[0.0001, 0.1]"]),
        (lambda: tunesmith.qloguniform(0.1, 1.0, 0.4), ["step=0.4", "does not divide", "high=0.9"]),
        (lambda: tunesmith.choice([]), ["choice needs at least one value"]),
        (lambda: tunesmith.choice(3), ["choice needs a list", "3"]),
        (lambda: tunesmith.grid_search([]), ["grid_search needs at least one value"]),
        (lambda: tunesmith.quniform(0, 1, 0.3), ["step=0.3", "[0, 1]"]),
        (lambda: tunesmith.qrandint(1, 10, 4), ["step=4", "[1, 10]", "high=9"]),
        (lambda: tunesmith.quniform(0, 1, 0), ["step must be a positive number, got step=0"]),
        (lambda: tunesmith.quniform(0, 1, -0.5), ["step=-0.5"]),
        (lambda: tunesmith.quniform(0, 1, float("nan")), ["step=nan"]),
        (lambda: tunesmith.qrandint(1, 10, 0), ["step=0"]),
        (lambda: tunesmith.qrandint(2, 2, 0), ["step=0"]),
        (lambda: tunesmith.quniform(0, 1, 2), ["step=2", "larger"]),
        (lambda: tunesmith.qrandint(1, 3, 5), ["step=5", "larger"]),
        (lambda: tunesmith.randn(0, -1), ["sd > 0", "sd=-1"]),
        (lambda: tunesmith.randn(0, 0), ["sd=0"]),
        (lambda: tunesmith.randn(float("inf"), 1), ["finite", "mean=inf"]),
        (lambda: tunesmith.qrandn(0, 1, -1), ["step=-1"]),
    ],
)
def test_invalid_domain_fails_where_it_is_written(make: Any, expected: list[str]) -> None:
    """Ray Tune's behaviour: ``loguniform(0, 1)`` raises at once, saying what is wrong and what is valid."""
    with pytest.raises(ValueError) as info:
        make()
    message = str(info.value)
    for fragment in expected:
        assert fragment in message, message


def test_invalid_space_names_the_parameter() -> None:
    with pytest.raises(ValueError, match=r"^parameter 'lr': sample_from needs a function.*got 3"):
        SearchSpace({"lr": tunesmith.sample_from(3), "ok": tunesmith.uniform(0, 1)})  # type: ignore[arg-type]
    # Ray's literal grid_search form is compiled with the space, where the name is known.
    with pytest.raises(ValueError, match=r"^parameter 'model/opt': grid_search needs at least one value"):
        SearchSpace({"model": {"opt": {"grid_search": []}}, "ok": tunesmith.uniform(0, 1)})
    with pytest.raises(ValueError, match=r"^parameter 'g': grid_search needs a list of values, got 4"):
        SearchSpace({"g": {"grid_search": 4}})


@pytest.mark.parametrize(
    "config, shown, rule",
    [
        ({"": tunesmith.uniform(0, 1)}, "", "must not be empty"),
        ({"a\x00b": tunesmith.uniform(0, 1)}, "'a\\x00b'", "control character '\\x00'"),
        ({"m": {"tab\there": tunesmith.choice([1, 2])}}, "'m/tab\\there'", "control character '\\t'"),
        ({"del\x7f": tunesmith.randint(0, 3)}, "'del\\x7f'", "control character"),
        ({"x" * 257: tunesmith.uniform(0, 1)}, "'xxxxxxxx", "257 characters long; at most 256"),
        ({"bad\x1b": tunesmith.sample_from(lambda spec: 1)}, "'bad\\x1b'", "control character"),
        ({"g\n": {"grid_search": [1, 2]}}, "'g\\n'", "control character"),
    ],
    ids=["empty", "nul", "nested-tab", "del", "too-long", "sample_from", "grid_search"],
)
def test_invalid_parameter_name_in_a_dict_space(config: dict[str, Any], shown: str, rule: str) -> None:
    with pytest.raises(ValueError) as info:
        SearchSpace(config)
    message = str(info.value)
    assert message.startswith("parameter name") and shown in message and rule in message, message
    assert len(message) < 200  # a long name is shortened


def test_longest_allowed_and_unicode_names_are_accepted(tmp_path: Path) -> None:
    longest, unicode_name = "p" * 256, "réseau/λ 学习率"
    space = SearchSpace({longest: tunesmith.uniform(0, 1), unicode_name: tunesmith.choice(["a", "b"]), "c\x00": 3})
    assert set(space.distributions) == {longest, unicode_name}  # constants are not stored: any name
    study = tunesmith.create_study("names", f"sqlite:///{tmp_path}/n.db")
    study.set_space(space)
    study.optimize(lambda t: t.params[longest], n_trials=2)
    again = tunesmith.load_study("names", f"sqlite:///{tmp_path}/n.db")
    assert [set(t.params) for t in again.trials] == [{longest, unicode_name}] * 2


def test_config_must_be_a_dict() -> None:
    with pytest.raises(TypeError, match="list"):
        SearchSpace([tunesmith.uniform(0, 1)])  # type: ignore[arg-type]


# -- define-by-run -----------------------------------------------------------------------------------


def _everything(trial: tunesmith.Trial) -> float:
    trial.suggest_float("f", -1.0, 1.0)
    trial.suggest_float("flog", 1e-5, 1e-1, log=True)
    trial.suggest_float("fstep", 0.0, 1.0, step=0.25)
    trial.suggest_int("i", 1, 3)
    trial.suggest_int("ilog", 1, 1024, log=True)
    trial.suggest_int("istep", 0, 100, step=10)
    trial.suggest_categorical("c", ["a", None, 3])
    trial.hp.Int("units", 32, 512, step=32)
    trial.hp.Int("hlog", 1, 1000, sampling="log")
    trial.hp.Float("lr", 1e-4, 1e-2, sampling="log")
    trial.hp.Float("drop", 0.0, 0.5, step=0.1)
    trial.hp.Choice("act", ["relu", "tanh"])
    trial.hp.Boolean("bn")
    assert trial.hp.Fixed("fixed", 42) == 42
    return 0.0


def test_define_by_run_values_are_inside_bounds() -> None:
    study = tunesmith.create_study(seed=3)
    study.optimize(_everything, n_trials=60)
    trials = study.trials
    assert all(t.state == TrialState.COMPLETE for t in trials)
    col = {name: [t.params[name] for t in trials] for name in trials[0].params}
    assert "fixed" not in col
    assert all(-1.0 <= v <= 1.0 and isinstance(v, float) for v in col["f"])
    assert all(1e-5 <= v <= 1e-1 for v in col["flog"])
    assert set(col["fstep"]) <= {0.0, 0.25, 0.5, 0.75, 1.0}
    assert set(col["i"]) == {1, 2, 3}
    assert all(type(v) is int and 1 <= v <= 1024 for v in col["ilog"])
    assert sum(v < 32 for v in col["ilog"]) > 15  # log scale: half the mass below sqrt(1024)
    assert set(col["istep"]) <= set(range(0, 101, 10))
    assert set(col["c"]) == {"a", None, 3}
    assert set(col["units"]) <= set(range(32, 513, 32))
    assert all(type(v) is int and 1 <= v <= 1000 for v in col["hlog"])
    assert all(1e-4 <= v <= 1e-2 for v in col["lr"])
    assert sum(v < 1e-3 for v in col["lr"]) > 15
    assert all(any(abs(v - k / 10) < 1e-9 for k in range(6)) for v in col["drop"])
    assert set(col["act"]) == {"relu", "tanh"}
    assert set(col["bn"]) == {False, True} and all(type(v) is bool for v in col["bn"])
    assert trials[0].distributions["ilog"] == IntDistribution(1, 1024, log=True)
    assert trials[0].distributions["lr"] == FloatDistribution(1e-4, 1e-2, log=True)


def test_conditional_parameters_only_in_their_branch() -> None:
    def objective(trial: tunesmith.Trial) -> float:
        opt = trial.suggest_categorical("opt", ["sgd", "adam"])
        if opt == "sgd":
            trial.suggest_float("momentum", 0.0, 0.99)
        else:
            trial.suggest_float("beta1", 0.8, 0.999)
        return 0.0

    study = tunesmith.create_study(seed=0)
    study.optimize(objective, n_trials=30)
    branches = {t.params["opt"] for t in study.trials}
    assert branches == {"sgd", "adam"}
    for t in study.trials:
        expected = {"opt", "momentum"} if t.params["opt"] == "sgd" else {"opt", "beta1"}
        assert set(t.params) == expected


def test_redefining_a_parameter_in_a_later_trial_raises() -> None:
    study = tunesmith.create_study(seed=0)
    trial = study.ask()
    trial.suggest_float("x", 0.0, 1.0)
    study.tell(trial, 0.0)
    later = study.ask()
    with pytest.raises(ValueError, match="'x'"):
        later.suggest_float("x", 0.0, 2.0)
    with pytest.raises(ValueError, match="'x'"):
        later.suggest_int("x", 0, 1)
    assert later.suggest_float("x", 0.0, 1.0) <= 1.0  # the original definition still works


def test_redefinition_inside_optimize_fails_the_trial() -> None:
    def objective(trial: tunesmith.Trial) -> float:
        if trial.number == 0:
            return trial.suggest_float("x", 0.0, 1.0)
        return trial.suggest_categorical("x", ["a", "b"])

    study = tunesmith.create_study(seed=0)
    study.optimize(objective, n_trials=2)
    assert study.trials[0].state == TrialState.COMPLETE
    last = study.trials[-1]
    assert last.state == TrialState.FAILED
    assert last.error is not None
    assert "ValueError" in last.error and "'x'" in last.error
    assert "x" not in last.params


def test_same_name_twice_in_one_trial_returns_the_same_value() -> None:
    study = tunesmith.create_study(seed=0)
    for _ in range(5):
        trial = study.ask()
        assert trial.suggest_float("x", 0.0, 1.0) == trial.suggest_float("x", 0.0, 1.0)
        assert trial.suggest_int("n", 0, 1000) == trial.suggest_int("n", 0, 1000)
        c = trial.suggest_categorical("c", [[1], [2], [3]])
        assert trial.suggest_categorical("c", [[1], [2], [3]]) is c
        assert trial.hp.Float("lr", 1e-4, 1.0, sampling="log") == trial.hp.Float("lr", 1e-4, 1.0, sampling="log")
        assert trial.hp.Boolean("b") == trial.hp.Boolean("b")
        with pytest.raises(ValueError, match=r"'x'.*already suggested"):
            trial.suggest_float("x", 0.0, 0.5)
        assert set(trial.params) == {"x", "n", "c", "lr", "b"}
        study.tell(trial, 0.0)


@pytest.mark.parametrize(
    "suggest, fragment",
    [
        (lambda t: t.suggest_float("lr", 0.0, 1.0, log=True), "low=0"),
        (lambda t: t.suggest_float("lr", 1.0, 0.0), "high=0"),
        (lambda t: t.suggest_float("lr", 0.0, 1.0, step=0.3), "step=0.3"),
        (lambda t: t.suggest_int("lr", 5, 1), "low=5"),
        (lambda t: t.suggest_int("lr", 1, 10, step=4), "step=4"),
        (lambda t: t.suggest_int("lr", 1, 10, step=2, log=True), "step=2"),
        (lambda t: t.suggest_categorical("lr", []), "empty"),
        (lambda t: t.hp.Int("lr", 10, 1), "low=10"),
        (lambda t: t.hp.Float("lr", 0.0, 1.0, sampling="log"), "low=0"),
        (lambda t: t.hp.Choice("lr", []), "empty"),
        (lambda t: t.hp.Float("lr", 0.0, 1.0, sampling="weird"), "'weird'"),
        (lambda t: t.hp.Int("lr", 0, 10, sampling="weird"), "'weird'"),
    ],
)
def test_invalid_define_by_run_bounds_name_the_parameter(suggest: Any, fragment: str) -> None:
    study = tunesmith.create_study(seed=0)
    trial = study.ask()
    with pytest.raises(ValueError) as info:
        suggest(trial)
    assert str(info.value).startswith("parameter 'lr': ") and fragment in str(info.value), str(info.value)
    assert "lr" not in trial.params
    assert 0.0 <= trial.suggest_float("lr", 0.0, 1.0) <= 1.0  # the bad definition was not kept


def test_define_by_run_log_bound_message() -> None:
    trial = tunesmith.create_study(seed=0).ask()
    with pytest.raises(ValueError) as info:
        trial.suggest_float("lr", 0, 1, log=True)
    assert str(info.value) == "parameter 'lr': log scale needs low > 0, got low=0"


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
@pytest.mark.parametrize(
    "name, shown, rule",
    [
        ("", "", "must not be empty"),
        ("lr\x00", "'lr\\x00'", "control character '\\x00'"),
        ("a\nb", "'a\\nb'", "control character '\\n'"),
        ("\x85c1", "'\\x85c1'", "control character"),
        ("\ud800", "'\\ud800'", "control character"),
        ("y" * 600, "'yyyyyy", "600 characters long; at most 256"),
        (7, "int 7", "must be a str"),
    ],
    ids=["empty", "nul", "newline", "c1", "surrogate", "too-long", "not-str"],
)
def test_invalid_define_by_run_name_is_rejected_on_every_backend(
    tmp_path: Path, backend: str, name: Any, shown: str, rule: str,
) -> None:
    storage = None if backend == "memory" else f"sqlite:///{tmp_path}/n.db"
    study = tunesmith.create_study(storage=storage, seed=0)
    trial = study.ask()
    for suggest in (lambda: trial.suggest_float(name, 0.0, 1.0), lambda: trial.suggest_categorical(name, [1, 2]),
                    lambda: trial.hp.Int(name, 0, 3)):
        with pytest.raises(ValueError) as info:
            suggest()
        message = str(info.value)
        assert message.startswith("parameter name") and shown in message and rule in message, message
        assert len(message) < 200
    assert trial.params == {}
    assert trial.suggest_float("p" * 256, 0.0, 1.0) <= 1.0  # the longest allowed name
    study.tell(trial, 0.0)
    assert set(study.trials[0].params) == {"p" * 256}


def test_hp_int_rejects_step_zero_and_qrandn_checks_its_lattice() -> None:
    study = tunesmith.create_study()
    trial = study.ask()
    with pytest.raises(ValueError, match="'k'"):
        trial.hp.Int("k", 0, 10, step=0)
    dist = tunesmith.qrandn(0.0, 1.0, 0.5)
    assert dist.contains(1.5) and not dist.contains(1.25)


def test_stepped_floats_stay_on_the_printed_lattice() -> None:
    dist = tunesmith.quniform(0.0, 0.7, 0.1)
    assert dist.from_unit(1.0) == 0.7
    assert all(dist.from_unit(u / 100) <= 0.7 for u in range(101))
