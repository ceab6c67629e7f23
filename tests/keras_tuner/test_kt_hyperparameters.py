"""KerasTuner's HyperParameters semantics: standalone defaults, conditional scopes, get/[], reverse_log, Fixed."""

from __future__ import annotations

import pytest

import tunesmith
import tunesmith.keras_tuner as kt
from tunesmith.record import TrialState
from tunesmith.samplers import RandomSampler


def test_standalone_returns_defaults_and_records_the_space() -> None:
    hp = kt.HyperParameters()
    assert hp.Int("units", 32, 512, step=32) == 32
    assert hp.Float("lr", 1e-4, 1e-2, sampling="log", default=1e-3) == 1e-3
    assert hp.Choice("act", ["relu", "tanh"]) == "relu"
    assert hp.Boolean("bn") is False
    assert hp.Fixed("batch", 64) == 64
    assert hp.values == {"units": 32, "lr": 1e-3, "act": "relu", "bn": False, "batch": 64}
    assert hp["units"] == 32 and hp.get("act") == "relu"
    assert [kind for kind, _ in hp.space.values()] == ["Int", "Float", "Choice", "Boolean", "Fixed"]
    assert hp.space["units"][1] == {"default": None, "conditions": [], "min_value": 32, "max_value": 512,
                                    "step": 32, "sampling": "linear"}
    with pytest.raises(KeyError, match="'nope'"):
        hp.get("nope")


def test_standalone_values_given_override_defaults() -> None:
    hp = kt.HyperParameters(values={"units": 128, "act": "tanh"})
    assert hp.Int("units", 32, 512, step=32) == 128
    assert hp.Choice("act", ["relu", "tanh"]) == "tanh"
    assert hp.values["units"] == 128


def test_conditional_scope_standalone() -> None:
    hp = kt.HyperParameters()
    model = hp.Choice("model", ["mlp", "cnn"])
    with hp.conditional_scope("model", ["cnn"]):
        assert hp.Int("filters", 8, 64, step=8) is None  # inactive: the default branch is "mlp"
    with hp.conditional_scope("model", "mlp"):
        assert hp.Int("layers", 1, 3) == 1
    assert model == "mlp" and "filters" not in hp.values and hp.values["layers"] == 1
    assert hp.get("filters") is None  # declared but inactive
    assert hp.space["filters"][1]["conditions"] == [{"name": "model", "values": ["cnn"]}]
    with pytest.raises(ValueError, match="'missing' is not defined"):
        with hp.conditional_scope("missing", [1]):
            pass


def _conditional(trial: tunesmith.Trial) -> float:
    hp = trial.hp
    kind = hp.Choice("model", ["mlp", "cnn"])
    with hp.conditional_scope("model", ["cnn"]):
        filters = hp.Int("filters", 8, 64, step=8)
    units = hp.Int("units", 4, 32, parent_name="model", parent_values=["mlp"])
    if kind == "cnn":
        assert filters is not None and units is None
    else:
        assert filters is None and units is not None
    assert hp["model"] == kind
    return float(filters or units)


def test_inactive_params_are_absent_from_the_trial_record() -> None:
    study = tunesmith.create_study(sampler=RandomSampler(seed=1))
    study.optimize(_conditional, n_trials=30)
    trials = study.trials
    assert all(t.state == TrialState.COMPLETE for t in trials)
    kinds = {t.params["model"] for t in trials}
    assert kinds == {"mlp", "cnn"}
    for t in trials:
        expected = {"model", "filters"} if t.params["model"] == "cnn" else {"model", "units"}
        assert set(t.params) == expected


def test_reverse_log_is_dense_near_the_top_and_inside_bounds() -> None:
    study = tunesmith.create_study(sampler=RandomSampler(seed=0))
    study.optimize(lambda t: t.hp.Float("m", 0.01, 1.0, sampling="reverse_log"), n_trials=200)
    values = [t.params["m"] for t in study.trials]
    assert all(0.01 <= v <= 1.0 for v in values)
    assert sum(v > 0.9 for v in values) > sum(v < 0.1 for v in values) * 3  # log sampling would be the reverse
    assert study.trials[0].value == values[0]


def test_log_int_with_step_multiplies() -> None:
    study = tunesmith.create_study(sampler=RandomSampler(seed=0))
    study.optimize(lambda t: t.hp.Int("units", 8, 128, step=2, sampling="log"), n_trials=40)
    assert {t.params["units"] for t in study.trials} <= {8, 16, 32, 64, 128}


def test_fixed_is_kept_on_the_trial_not_as_a_parameter() -> None:
    study = tunesmith.create_study(seed=0)

    def objective(trial: tunesmith.Trial) -> float:
        assert trial.hp.Fixed("epochs", 5) == 5
        assert trial.hp.values["epochs"] == 5
        return float(trial.hp.Int("x", 0, 3))

    study.optimize(objective, n_trials=2)
    assert "epochs" not in study.trials[0].params
    assert study.trials[0].user_attrs["fixed_hps"] == {"epochs": 5}


def test_trial_hp_is_one_object_per_trial() -> None:
    trial = tunesmith.create_study().ask()
    assert trial.hp is trial.hp


@pytest.mark.parametrize(
    "declare, fragment",
    [
        (lambda hp: hp.Float("lr", 0.0, 1.0, sampling="log"), "low=0"),
        (lambda hp: hp.Int("n", 1, 10, sampling="exp"), "'reverse_log'"),
        (lambda hp: hp.Choice("act", ["relu"], default="tanh"), "default 'tanh'"),
        (lambda hp: hp.Int("n", 0, 10, step=2, sampling="log"), "min_value=0"),
    ],
)
def test_bad_declarations_name_the_parameter(declare: object, fragment: str) -> None:
    hp = kt.HyperParameters()
    with pytest.raises(ValueError) as info:
        declare(hp)  # type: ignore[operator]
    assert fragment in str(info.value)


def _model_space(hp: kt.HyperParameters) -> float:
    return float(hp.Int("units", 4, 64, step=4) + hp.Float("lr", 1e-4, 1e-1, sampling="log") + hp.Boolean("bn"))


def test_restrict_replaces_declarations_and_fixes_the_rest() -> None:
    declared = kt.HyperParameters()
    declared.Choice("units", [8, 16])
    study = tunesmith.create_study(sampler=RandomSampler(seed=0))

    def objective(trial: tunesmith.Trial) -> float:
        trial.hp.restrict(declared, tune_new_entries=False)
        value = _model_space(trial.hp)
        assert trial.hp.values["lr"] == 1e-4 and trial.hp.values["bn"] is False  # untuned: their defaults
        return value

    study.optimize(objective, n_trials=12)
    assert {t.params["units"] for t in study.trials} == {8, 16}  # the restricting Choice, not the Int
    assert all(set(t.params) == {"units"} for t in study.trials)
    assert study.trials[0].user_attrs["fixed_hps"] == {"lr": 1e-4, "bn": False}

    summary = kt.HyperParameters()
    summary.restrict(declared, tune_new_entries=False)
    _model_space(summary)
    assert list(summary.space) == ["units"] and summary.space["units"][0] == "Choice"


def test_restrict_with_new_entries_tuned_or_refused() -> None:
    declared = kt.HyperParameters()
    declared.Fixed("lr", 0.01)
    hp = kt.HyperParameters()
    hp.restrict(declared)  # tune_new_entries=True: the others keep their own declarations
    _model_space(hp)
    assert hp.values["lr"] == 0.01 and hp.space["units"][0] == "Int" and hp.space["lr"][0] == "Fixed"
    strict = kt.HyperParameters()
    strict.restrict(declared, allow_new_entries=False)
    with pytest.raises(ValueError, match="'units' is not in hyperparameters= and allow_new_entries=False"):
        _model_space(strict)
