"""Diagnosis of real studies: trials that report ``loss``, ``val_loss`` and ``lr`` while they train."""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

import tunesmith
from tunesmith.analysis import KINDS, Diagnosis, Finding, diagnose, format_findings
from tunesmith.storage import get_storage
from tunesmith.trial import FrozenTrial, TrialState

EPOCHS = 40


def train(trial: tunesmith.Trial) -> float:
    """A simulated training run whose curves follow its hyperparameters like a real one's do.

    Each epoch closes a share of the gap to the model's floor that grows with the learning
    rate (above 0.3 the updates overshoot and the loss blows up); a step decay divides
    the rate by 100; a narrow model has a high floor; weight decay below 1e-4 lets
    validation drift up once the training loss is low. Noise: 2 % (train) and 1 % (validation).
    """
    lr = trial.suggest_float("lr", 1e-5, 1.0, log=True)
    wd = trial.suggest_float("weight_decay", 1e-6, 1e-1, log=True)
    decay_at = trial.suggest_int("decay_at", 2, EPOCHS)
    width = trial.suggest_int("width", 1, 64, log=True)
    rng = np.random.default_rng(trial.number)
    floor = 0.1 + 1.5 / width
    gap = 2.3 - floor
    val = math.nan
    for epoch in range(EPOCHS):
        rate = lr if epoch < decay_at else lr / 100
        gap = gap * (1 + 3 * rate) if rate > 0.3 else gap * (1 - min(4 * rate, 0.5))
        loss = (floor + gap) * math.exp(0.02 * rng.standard_normal())
        drift = max(0.0, epoch - 10) * 0.004 * max(0.0, math.log10(1e-4 / wd))
        val = (1.05 * (floor + gap) + drift) * math.exp(0.01 * rng.standard_normal())
        if not math.isfinite(loss) or loss > 1e6:
            trial.report(epoch, loss=math.nan, val_loss=math.nan, lr=rate)
            break
        trial.report(epoch, loss=loss, val_loss=val, lr=rate)
    return val if math.isfinite(val) else 1e9


HEALTHY = {"lr": 0.05, "weight_decay": 1e-2, "decay_at": EPOCHS, "width": 64}
SCENARIOS: list[tuple[dict[str, Any], set[str]]] = [
    (HEALTHY, set()),
    ({**HEALTHY, "lr": 0.8}, {"diverging"}),
    ({**HEALTHY, "lr": 1e-5}, {"not_learning"}),
    ({**HEALTHY, "lr": 0.004}, {"still_improving"}),
    ({**HEALTHY, "weight_decay": 1e-6}, {"overfitting"}),
    ({**HEALTHY, "decay_at": 5}, {"decayed_too_early"}),
    ({**HEALTHY, "lr": 0.1}, set()),
    ({**HEALTHY, "width": 1}, {"underfitting"}),
]


@pytest.fixture(scope="module")
def study() -> tunesmith.Study:
    study = tunesmith.create_study(direction="minimize", metric="val_loss", seed=0)
    for params, _ in SCENARIOS:
        study.enqueue(params)
    study.optimize(train, n_trials=len(SCENARIOS))
    return study


def test_each_trial_gets_the_finding_its_curves_show(study: tunesmith.Study) -> None:
    d = diagnose(study)
    for number, (_, expected) in enumerate(SCENARIOS):
        assert {f.kind for f in d.for_trial(number)} == expected, (number, d.for_trial(number))


def test_the_summary_counts_trials_per_kind(study: tunesmith.Study) -> None:
    d = diagnose(study)
    expected = dict.fromkeys(KINDS, 0)
    for _, kinds in SCENARIOS:
        for kind in kinds:
            expected[kind] += 1
    assert d.summary == expected
    assert d.n_trials == len(SCENARIOS)
    assert d.healthy == sum(not kinds for _, kinds in SCENARIOS)


def test_findings_name_steps_and_say_what_to_do(study: tunesmith.Study) -> None:
    d = diagnose(study)
    (div,) = d.of_kind("diverging")
    assert div.trial == 1 and "NaN" in div.message and "learning rate" in div.advice
    (over,) = d.of_kind("overfitting")
    assert over.steps == tuple(range(over.steps[0], EPOCHS)) and 10 <= over.steps[0] <= 25
    assert "val_loss" in over.message and "loss" in over.message
    (decayed,) = d.of_kind("decayed_too_early")
    assert "step 5" in decayed.message and decayed.steps[0] >= 5
    (still,) = d.of_kind("still_improving")
    assert still.steps[-1] == EPOCHS - 1 and "longer" in still.advice
    for f in d:
        assert "\n" not in f.message and "\n" not in f.advice
        assert isinstance(f, Finding)


def test_one_trial_against_the_others(study: tunesmith.Study) -> None:
    d = diagnose(study, trial=7)
    assert [f.kind for f in d] == ["underfitting"] and d.n_trials == 1
    assert "the best" in d[0].message  # judged against the study's best trial
    assert diagnose(study, trial=0).kinds == set()
    with pytest.raises(ValueError, match=r"trial=99: the study has no trial of that number; it has trials 0-7"):
        diagnose(study, trial=99)


def test_a_frozen_trial_with_its_reports() -> None:
    reports = [(s, {"loss": 2.0 * 1.6**s, "lr": 0.9}) for s in range(12)]
    trial = FrozenTrial(3, TrialState.COMPLETE)
    d = diagnose(trial, reports=reports)
    assert [(f.kind, f.trial) for f in d] == [("diverging", 3)]
    with pytest.raises(TypeError, match="needs the trial's reports"):
        diagnose(trial)
    with pytest.raises(ValueError, match=r"reports no training or validation curve among \['lr'\]"):
        diagnose(trial, reports=[(0, {"lr": 0.1})])


def test_other_inputs_are_refused_with_a_pointer() -> None:
    with pytest.raises(TypeError, match="diagnose_curves"):
        diagnose({"loss": [1.0, 0.5]})  # type: ignore[arg-type]


def test_a_pruned_trial_is_not_told_to_train_longer() -> None:
    study = tunesmith.create_study(direction="minimize")

    def stopped_early(trial: tunesmith.Trial) -> float:
        trial.suggest_float("lr", 1e-3, 1e-1, log=True)
        for step in range(30):
            trial.report(step, loss=2.3 * 0.97**step)
        raise tunesmith.TrialPruned()

    study.optimize(stopped_early, n_trials=1)
    assert study.trials[0].state == TrialState.PRUNED
    assert diagnose(study).kinds == set()


def test_running_trials_only_when_asked_for() -> None:
    study = tunesmith.create_study(direction="minimize")
    running = study.ask()
    for step in range(20):
        running.report(step, loss=2.3 * (1.5**step))
    assert diagnose(study).n_trials == 0
    assert diagnose(study, trial=running.number).kinds == {"diverging"}


def test_the_study_metric_is_used_when_no_common_name_is_reported() -> None:
    study = tunesmith.create_study(direction="maximize", metric="score")

    def objective(trial: tunesmith.Trial) -> float:
        trial.suggest_float("x", 0, 1)
        for step in range(30):
            trial.report(step, score=0.9 * (1 - 0.97**step))
        return 0.9 * (1 - 0.97**29)

    study.optimize(objective, n_trials=1)
    (f,) = diagnose(study)
    assert f.kind == "still_improving" and "score" in f.message


def test_given_metric_names_and_direction() -> None:
    study = tunesmith.create_study(direction="minimize")

    def objective(trial: tunesmith.Trial) -> float:
        trial.suggest_float("x", 0, 1)
        for step in range(30):
            trial.report(step, loss=0.5, fit=1 - 0.9 * 0.97**step, holdout=0.7)
        return 0.5

    study.optimize(objective, n_trials=1)
    assert diagnose(study).kinds == {"not_learning"}  # "loss" is the guess, and it is flat
    assert diagnose(study, train="fit", val="fit", direction="maximize").kinds == {"still_improving"}


def test_reading_writes_nothing(sqlite_url: str) -> None:
    study = tunesmith.create_study("curves", sqlite_url, direction="minimize", metric="val_loss")
    for params, _ in SCENARIOS[:3]:
        study.enqueue(params)
    study.optimize(train, n_trials=3)
    reader = tunesmith.load_study("curves", get_storage(sqlite_url, read_only=True))
    d = diagnose(reader)  # a read-only storage raises on any write
    assert [sorted({f.kind for f in d.for_trial(i)}) for i in range(3)] == [[], ["diverging"], ["not_learning"]]


def test_boundary_best_names_the_parameter_and_the_bound() -> None:
    study = tunesmith.create_study(direction="minimize")
    for lr in np.geomspace(1e-5, 1e-1, 20):
        study.enqueue({"lr": float(lr), "units": 32})

    def objective(trial: tunesmith.Trial) -> float:
        lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        units = trial.suggest_int("units", 8, 256, log=True)
        return -math.log10(lr) + 0.01 * abs(math.log2(units / 32))  # lower is better: higher lr wins

    study.optimize(objective, n_trials=20)
    d = diagnose(study)
    (f,) = d.of_kind("boundary_best")
    assert f.trial is None and f.steps == ()
    assert "lr" in f.message and "upper bound 0.1" in f.message and "log scale" in f.message
    assert f.advice == "widen the range of 'lr' above 0.1"
    assert d.summary["boundary_best"] == 1


def test_boundary_best_stays_quiet_for_an_interior_optimum() -> None:
    study = tunesmith.create_study(direction="minimize", sampler=tunesmith.samplers.TPESampler(seed=1))
    study.optimize(lambda t: (t.suggest_float("x", -5, 5) - 1) ** 2 + 0 * t.suggest_int("n", 1, 9), n_trials=40)
    assert abs(study.best_params["x"] - 1) < 0.5
    assert not diagnose(study).of_kind("boundary_best")


def test_format_findings_prints_a_summary_then_each_finding(study: tunesmith.Study) -> None:
    lines = format_findings(diagnose(study))
    assert lines[0] == (
        "8 trials diagnosed: 1 diverging, 1 not_learning, 1 decayed_too_early, 1 overfitting, 1 underfitting, "
        "1 still_improving; 2 without findings"
    )
    body = lines[1:]
    assert len(body) == 12  # a line for each finding and one for its advice
    assert body[0].startswith("trial 1  diverging") and body[1].lstrip().startswith("-> lower the learning rate")
    column = body[0].index("loss")
    assert all(line[column - 3:column] == "   " or line.startswith("trial") for line in body)
    assert str(diagnose(study)) == "\n".join(lines)


def test_format_findings_without_findings() -> None:
    assert format_findings(Diagnosis([], 3)) == ["3 trials diagnosed: no findings"]
    assert format_findings(Diagnosis([], 0)) == ["0 trials diagnosed: no findings"]


def test_importing_tunesmith_does_not_import_the_analysis() -> None:
    code = "import sys, tunesmith; print('tunesmith.analysis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_the_analysis_imports_only_the_record_layer_and_numpy() -> None:
    import ast
    import pathlib

    import tunesmith.analysis

    allowed = ("tunesmith.analysis", "tunesmith.trial", "tunesmith.distributions", "numpy")
    root = pathlib.Path(tunesmith.analysis.__file__).parent
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                if name.startswith(("tunesmith", "numpy")):
                    assert name.startswith(allowed), f"{path.name} imports {name}"
                elif name == "pandas" and path.name == "_table.py":
                    continue  # optional: trials_dataframe imports it when called (test_trial_table.py)
                else:
                    assert name.split(".")[0] in sys.stdlib_module_names, f"{path.name} imports {name}"
