"""The one trial table: the same fields through every style (flat/CSV, Optuna's, Ray Tune's)."""

from __future__ import annotations

import datetime as dt
import math
import os
import subprocess
import sys
from typing import Any

import pytest

from tunesmith.analysis import (
    TABLE_STYLES,
    TRIAL_FIELDS,
    record_columns,
    trial_record,
    trial_table,
    trials_dataframe,
)
from tunesmith.analysis._table import name_columns
from tunesmith.trial import FrozenTrial, TrialState

T0 = 1_767_225_600.25  # 2026-01-01 00:00:00.25 UTC
METRICS = ["loss", "acc"]


def _trials() -> list[FrozenTrial]:
    """Two objectives; complete, conditional, failed, pruned, running and waiting trials; NaN and inf."""
    return [
        FrozenTrial(  # complete, the "sgd" branch: momentum
            number=0, state=TrialState.COMPLETE, params={"lr": 0.1, "opt": "sgd", "momentum": 0.9},
            values=[0.5, 0.75], started_at=T0, finished_at=T0 + 2.5, last_step=3,
            last_result={"loss": 0.5, "acc": 0.75, "time_total_s": 2.4}, user_attrs={"note": "a"},
        ),
        FrozenTrial(  # complete, the "adam" branch: beta; NaN and inf objective values
            number=1, state=TrialState.COMPLETE, params={"lr": 0.01, "opt": "adam", "beta": 0.99},
            values=[math.nan, math.inf], started_at=T0 + 3, finished_at=T0 + 4, last_step=3,
            last_result={"loss": math.nan, "acc": math.inf}, user_attrs={"note": {"nested": [1, 2]}},
        ),
        FrozenTrial(  # failed after reporting
            number=2, state=TrialState.FAILED, params={"lr": 1.0, "opt": "sgd", "momentum": 0.0},
            started_at=T0 + 5, finished_at=T0 + 5.5, last_step=1, last_result={"loss": -math.inf},
            error="Traceback ...\nRuntimeError: diverged",
        ),
        FrozenTrial(  # pruned: no values, its last report kept
            number=3, state=TrialState.PRUNED, params={"lr": 0.5, "opt": "adam", "beta": 0.9},
            started_at=T0 + 6, finished_at=T0 + 7, last_step=0, last_result={"loss": 2.0, "acc": 0.1},
        ),
        FrozenTrial(  # running: started, one parameter drawn, nothing reported
            number=4, state=TrialState.RUNNING, params={"lr": 0.2}, started_at=T0 + 8,
        ),
        FrozenTrial(number=5, state=TrialState.WAITING),  # queued: nothing at all
    ]


def _as_record_value(field: str, key: str | None, value: Any, trial: FrozenTrial, style: str) -> Any:
    """A styled cell read back as the JSON record's value (times as ISO 8601 UTC text)."""
    if key is not None or style == "flat":
        return value
    if field in ("started_at", "finished_at"):
        assert value is None or (isinstance(value, dt.datetime) and value.tzinfo is None)  # naive local, as Optuna
        return None if value is None else value.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")
    if field == "duration" and style == "optuna":
        assert value is None or isinstance(value, dt.timedelta)
        return None if value is None else value.total_seconds()
    if field == "number" and style == "tune":
        assert value == str(trial.number)
        return int(value)
    return value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, abs=1e-6)  # timedelta keeps microseconds
    return bool(a == b)


@pytest.mark.parametrize("style", TABLE_STYLES)
def test_every_style_carries_every_field_of_every_record(style: str) -> None:
    trials = _trials()
    records = [trial_record(t, METRICS) for t in trials]
    table = trial_table(trials, METRICS, style=style)  # type: ignore[arg-type]
    assert set(table.fields) == set(record_columns(records, METRICS))  # no field lost, none invented
    assert len(set(table.columns)) == len(table.columns)  # no name twice
    assert len(table.rows) == len(trials)
    for row, record, trial in zip(table.rows, records, trials, strict=True):
        assert len(row) == len(table.columns)
        for (field, key), value in zip(table.fields, row, strict=True):
            expected = record[field] if key is None else record[field].get(key)
            got = _as_record_value(field, key, value, trial, style)
            assert _same(got, expected), (style, field, key, got, expected)


def test_the_styles_name_the_same_columns() -> None:
    by_style = {style: trial_table(_trials(), METRICS, style=style) for style in TABLE_STYLES}
    flat = by_style["flat"]
    assert flat.columns == [
        "number", "state", "values_loss", "values_acc", "params_lr", "params_opt", "params_momentum",
        "params_beta", "last_step", "metrics_loss", "metrics_acc", "metrics_time_total_s", "user_attrs_note",
        "started_at", "finished_at", "duration", "error",
    ]
    assert by_style["optuna"].columns == [
        "number", "values_0", "values_1", "loss", "acc", "datetime_start", "datetime_complete", "duration",
        "params_beta", "params_lr", "params_momentum", "params_opt", "user_attrs_note", "state",
        "last_step", "last_loss", "last_acc", "last_time_total_s", "error",
    ]
    assert by_style["tune"].columns == [
        "trial_id", "state", "loss", "acc", "time_total_s", "values/loss", "values/acc", "last_step",
        "config/lr", "config/opt", "config/momentum", "config/beta", "user_attrs/note", "started_at",
        "finished_at", "duration", "error",
    ]
    # The same columns: only Optuna's objective aliases (each objective under its name) are extra.
    for style in ("optuna", "tune"):
        assert sorted(map(str, by_style[style].fields)) == sorted(
            map(str, flat.fields + ([("values", "loss"), ("values", "acc")] if style == "optuna" else []))
        )


def test_running_failed_pruned_and_waiting_trials() -> None:
    table = trial_table(_trials(), METRICS, style="flat")
    rows = [dict(zip(table.columns, row, strict=True)) for row in table.rows]
    failed, pruned, running, waiting = rows[2:]
    assert failed["state"] == "FAILED" and failed["error"].endswith("RuntimeError: diverged")
    assert failed["values_loss"] is None and failed["metrics_loss"] == -math.inf and failed["duration"] == 0.5
    assert pruned["state"] == "PRUNED" and pruned["values_acc"] is None and pruned["metrics_acc"] == 0.1
    assert pruned["error"] is None and pruned["last_step"] == 0
    assert running["state"] == "RUNNING" and running["finished_at"] is None and running["duration"] is None
    assert running["started_at"] == "2026-01-01T00:00:08.250000+00:00" and running["last_step"] is None
    assert running["params_opt"] is None and running["metrics_loss"] is None
    assert waiting["state"] == "WAITING" and waiting["started_at"] is None and waiting["params_lr"] is None


def test_parameters_of_other_branches_are_missing_not_dropped() -> None:
    pd = pytest.importorskip("pandas")
    df = trials_dataframe(_trials(), METRICS)
    assert df["params_momentum"][0] == 0.9 and pd.isna(df["params_momentum"][1]) and df["params_momentum"][2] == 0.0
    assert pd.isna(df["params_beta"][0]) and df["params_beta"][1] == 0.99
    assert pd.isna(df["params_opt"][4])  # the running trial has not drawn it yet
    # A parameter no trial has drawn has no column (as in Optuna): the columns come from the trials.
    assert not any(c.startswith("params_") and c[7:] not in {"lr", "opt", "momentum", "beta"} for c in df)


def test_single_objective_columns_and_one_metric_named_value() -> None:
    trial = FrozenTrial(number=0, state=TrialState.COMPLETE, params={"x": 1}, values=[0.25], last_result={"value": 3})
    assert trial_table([trial], ["value"], style="optuna").columns == [
        "number", "value", "datetime_start", "datetime_complete", "duration", "params_x", "state", "last_step",
        "last_value", "error",
    ]  # the objective's own name is "value": one column
    assert trial_table([trial], ["loss"], style="optuna").columns[:3] == ["number", "value", "loss"]
    assert trial_table([trial], ["loss"], style="flat").columns[:3] == ["number", "state", "values_loss"]


def test_nan_and_infinities_come_through_every_style() -> None:
    pytest.importorskip("pandas")
    for style in TABLE_STYLES:
        df = trials_dataframe(_trials(), METRICS, style=style)
        loss, acc = {"flat": ("values_loss", "values_acc"), "optuna": ("values_0", "values_1"),
                     "tune": ("values/loss", "values/acc")}[style]
        assert df[loss].dtype.kind == "f" and df[acc].dtype.kind == "f"
        assert math.isnan(df[loss][1]) and df[acc][1] == math.inf
        assert df[loss][0] == 0.5 and math.isnan(df[loss][2])  # the failed trial has none
        metric = {"flat": "metrics_loss", "optuna": "last_loss", "tune": "loss"}[style]
        assert df[metric][2] == -math.inf


def test_optuna_style_is_optunas_trials_dataframe() -> None:
    """Column for column, Optuna's own ``trials_dataframe()`` on the same trials (system_attrs aside)."""
    optuna = pytest.importorskip("optuna")
    pytest.importorskip("pandas")
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists = {"lr": FloatDistribution(0.001, 1.0), "opt": CategoricalDistribution(["sgd", "adam"]),
             "momentum": FloatDistribution(0.0, 1.0), "beta": FloatDistribution(0.0, 1.0)}
    states = {TrialState.COMPLETE: optuna.trial.TrialState.COMPLETE, TrialState.FAILED: optuna.trial.TrialState.FAIL,
              TrialState.PRUNED: optuna.trial.TrialState.PRUNED, TrialState.RUNNING: optuna.trial.TrialState.RUNNING,
              TrialState.WAITING: optuna.trial.TrialState.WAITING}
    for names in (["loss"], ["loss", "acc"]):
        trials = [t.evolve(values=None if t.values is None else t.values[: len(names)]) for t in _trials()]
        study = optuna.create_study(directions=["minimize"] * len(names))
        for t in trials:
            study.add_trial(optuna.trial.create_trial(
                state=states[t.state], params=t.params, distributions={k: dists[k] for k in t.params},
                values=[0.0] * len(names) if t.state == TrialState.COMPLETE else None,  # Optuna refuses NaN
                user_attrs=t.user_attrs,
            ))
        theirs = [c for c in study.trials_dataframe().columns if not c.startswith("system_attrs_")]
        ours = trials_dataframe(trials, names).columns.tolist()
        extra = {*names, "last_step", "error"} | {c for c in ours if c.startswith("last_")}
        assert [c for c in ours if c not in extra] == theirs
        assert ours[-1] == "error" and ours[len(theirs) + len(names) - 1] == "state"


def test_optuna_style_times_are_datetimes_and_the_duration_a_timedelta() -> None:
    pd = pytest.importorskip("pandas")
    df = trials_dataframe(_trials(), METRICS, style="optuna")
    assert df["datetime_start"].dtype.kind == "M" and df["datetime_complete"].dtype.kind == "M"
    assert df["duration"].dtype.kind == "m"
    assert df["datetime_start"][0] == pd.Timestamp(dt.datetime.fromtimestamp(T0))  # naive local, as Optuna
    assert df["duration"][0] == pd.Timedelta(seconds=2.5)
    assert pd.isna(df["datetime_complete"][4]) and pd.isna(df["duration"][4]) and pd.isna(df["datetime_start"][5])
    tune = trials_dataframe(_trials(), METRICS, style="tune")
    assert tune["duration"].dtype.kind == "f" and tune["duration"][0] == 2.5  # Ray's seconds
    assert tune["trial_id"].tolist() == ["0", "1", "2", "3", "4", "5"]  # Ray's ids are text
    flat = trials_dataframe(_trials(), METRICS, style="flat")
    assert flat["started_at"][0] == "2026-01-01T00:00:00.250000+00:00"


def test_no_trials_gives_the_columns_every_table_has() -> None:
    pytest.importorskip("pandas")
    for style, expected in {
        "flat": ["number", "state", "values_loss", "last_step", "started_at", "finished_at", "duration", "error"],
        "optuna": ["number", "value", "loss", "datetime_start", "datetime_complete", "duration", "state",
                   "last_step", "error"],
        "tune": ["trial_id", "state", "values/loss", "last_step", "started_at", "finished_at", "duration", "error"],
    }.items():
        df = trials_dataframe([], ["loss"], style=style)  # type: ignore[arg-type]
        assert df.columns.tolist() == expected and len(df) == 0


def test_a_name_taken_twice_keeps_both_columns() -> None:
    """A metric named like a fixed column is qualified by its section, never dropped or overwritten."""
    trial = FrozenTrial(
        number=7, state=TrialState.COMPLETE, params={"x": 1.0}, values=[0.5], last_step=2,
        last_result={"state": "warm", "trial_id": 9, "error": 0.1, "loss": 0.5},
    )
    tune = trial_table([trial], ["loss"], style="tune")
    row = dict(zip(tune.columns, tune.rows[0], strict=True))
    assert row["state"] == "COMPLETE" and row["metrics/state"] == "warm"
    assert row["trial_id"] == "7" and row["metrics/trial_id"] == 9
    assert row["error"] is None and row["metrics/error"] == 0.1 and row["loss"] == 0.5
    # An objective named like an Optuna column keeps its values under "value"; its alias is dropped.
    optuna = trial_table([trial], ["number"], style="optuna")
    row = dict(zip(optuna.columns, optuna.rows[0], strict=True))
    assert row["number"] == 7 and row["value"] == 0.5 and optuna.columns.count("number") == 1


def test_params_can_be_the_runs_whole_config() -> None:
    """``RunResult`` passes each trial's flattened config (its constants included) as its params."""
    from tunesmith.space import flatten

    trial = FrozenTrial(number=0, state=TrialState.COMPLETE, params={"x": 0.5}, values=[1.0])
    config = {"x": 0.5, "opt": {"name": "adam", "beta": 0.9}}
    table = trial_table([trial], ["loss"], style="tune", params=lambda t: flatten(config))
    assert table.columns[table.columns.index("config/x"):][:3] == ["config/x", "config/opt/name", "config/opt/beta"]
    assert trial_record(trial, ["loss"], params=lambda t: flatten(config))["params"] == {
        "x": 0.5, "opt/name": "adam", "opt/beta": 0.9,
    }


def test_record_fields_and_unknown_style() -> None:
    trial = _trials()[0]
    assert tuple(trial_record(trial, METRICS)) == TRIAL_FIELDS
    assert name_columns(record_columns([], []), [], "flat") == [
        ((f, None), f) for f in TRIAL_FIELDS if f not in ("values", "params", "metrics", "user_attrs")
    ]
    with pytest.raises(ValueError, match="style must be one of 'flat', 'optuna', 'tune'; got 'ray'"):
        trial_table([trial], METRICS, style="ray")  # type: ignore[arg-type]


def test_pandas_is_imported_only_for_a_dataframe() -> None:
    import tunesmith

    root = os.path.dirname(os.path.dirname(os.path.abspath(tunesmith.__file__)))  # this checkout's tunesmith
    code = (
        "import sys, tunesmith.analysis as a; from tunesmith.trial import FrozenTrial, TrialState\n"
        "a.trial_table([FrozenTrial(number=0, state=TrialState.COMPLETE)], ['v'], style='optuna')\n"
        "assert 'pandas' not in sys.modules, 'pandas imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": root})
