"""``tunesmith export`` writes the one trial table: JSON its records, CSV its "flat" style."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from cli_support import run

import tunesmith
from tunesmith.analysis import trial_record, trial_table
from tunesmith.trial import TrialState


def _study(url: str) -> tunesmith.Study:
    """Two objectives, a conditional parameter, NaN/inf, failed, pruned and running trials."""
    study = tunesmith.create_study(name="table", storage=url, metric=["loss", "acc"], mode=["min", "max"])
    for i in range(5):
        trial = study.ask()
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        if trial.suggest_categorical("opt", ["sgd", "adam"]) == "sgd":
            trial.suggest_float("momentum", 0.0, 0.99)
        trial.report(0, loss=1.0, acc=0.1)
        trial.report(5, loss=lr, acc=math.nan, note="=cmd")  # a formula-like text metric
        trial.user_attrs["i"] = i
        if i == 2:
            study.tell(trial, state=TrialState.FAILED, error="boom")
        elif i == 3:
            study.tell(trial, state=TrialState.PRUNED)
        else:
            study.tell(trial, [lr, math.inf if i else -math.inf])
    study.ask()
    return study


def test_export_writes_the_trial_tables_records_and_flat_columns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/t.db"
    study = _study(url)
    trials = study.trials
    as_json = run("export", "table", "--format", "json", "--storage", url)
    assert as_json.exit_code == 0, as_json.output
    records = [trial_record(t, study.metric_names) for t in trials]
    assert as_json.stdout == json.dumps(records, indent=2) + "\n"  # NaN/Infinity as json writes them

    as_csv = run("export", "table", "--format", "csv", "--storage", url)
    assert as_csv.exit_code == 0, as_csv.output
    rows = list(csv.reader(io.StringIO(as_csv.stdout)))
    table = trial_table(trials, study.metric_names, style="flat")
    assert rows[0] == table.columns
    assert {"params_momentum", "metrics_note", "values_loss", "values_acc"} <= set(table.columns)
    assert len(rows) == len(trials) + 1
    for row, cells in zip(rows[1:], table.rows, strict=True):
        for text, cell in zip(row, cells, strict=True):
            if cell is None:
                assert text == ""
            elif isinstance(cell, str):
                assert text == ("'" + cell if cell.startswith("=") else cell)  # formula-guarded
            elif isinstance(cell, float) and math.isnan(cell):
                assert text == "nan"
            else:
                assert text == (json.dumps(cell) if isinstance(cell, dict) else repr(cell))
