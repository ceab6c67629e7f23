"""Plain files, no library: :class:`CSVLogger` and :class:`JSONLogger` (Ray Tune's ``progress.csv`` / ``result.json``).

Both write ``<logdir>/<study>/trial_<n>/`` with one row per report, and a study-level
table with one row per finished trial (number, state, final values, parameters, error).
"""

from __future__ import annotations

import csv
import json
import os
from typing import TYPE_CHECKING, Any

from tunesmith.integration.trackers._base import STATE_KEY, final_values, flat_params, safe_dirname, state_name
from tunesmith.integration.trackers._base import trial_dir as _trial_dir
from tunesmith.record import FrozenTrial
from tunesmith.tracking import Logger

if TYPE_CHECKING:
    from tunesmith.study import Study

__all__ = ["CSVLogger", "JSONLogger"]


class _CsvTable:
    """A CSV file that grows by rows; a row with a new column rewrites the file with the wider header."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.columns: list[str] = []
        self.rows: list[dict[str, Any]] = []
        self._written = 0

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)

    def write(self) -> None:
        new = [k for r in self.rows[self._written:] for k in r if k not in self.columns]
        if new:
            self.columns.extend(dict.fromkeys(new))
            rows, mode = self.rows, "w"
        else:
            rows, mode = self.rows[self._written:], "a"
        if not rows:
            return
        with open(self.path, mode, newline="") as f:
            w = csv.DictWriter(f, self.columns)
            if mode == "w":
                w.writeheader()
            w.writerows(rows)
        self._written = len(self.rows)


def _trial_row(study: Study, trial: FrozenTrial) -> dict[str, Any]:
    row: dict[str, Any] = {"number": trial.number, STATE_KEY: state_name(trial)}
    row.update(final_values(study, trial))
    row.update({f"params_{k}": v for k, v in flat_params(trial).items()})
    row.update({"last_step": trial.last_step, "started_at": trial.started_at, "finished_at": trial.finished_at})
    if trial.error:
        row["error"] = trial.error.strip().splitlines()[-1]
    return row


class CSVLogger(Logger):
    """``<logdir>/<study>/trial_<n>/progress.csv`` (step and metrics per report) and ``<logdir>/<study>/trials.csv``."""

    def __init__(self, logdir: str | os.PathLike[str] = "runs") -> None:
        self.logdir = os.fspath(logdir)
        self._study: Study | None = None
        self._progress: dict[int, _CsvTable] = {}
        self._trials: _CsvTable | None = None

    def on_study_start(self, study: Study) -> None:
        self._study = study
        folder = os.path.join(self.logdir, safe_dirname(study.name))
        os.makedirs(folder, exist_ok=True)
        self._trials = _CsvTable(os.path.join(folder, "trials.csv"))

    def on_trial_start(self, trial: FrozenTrial) -> None:
        assert self._study is not None
        self._progress[trial.trial_id] = _CsvTable(os.path.join(_trial_dir(self.logdir, self._study, trial),
                                                                "progress.csv"))

    def on_report(self, trial: FrozenTrial, step: int, metrics: dict[str, Any]) -> None:
        table = self._progress.get(trial.trial_id)
        if table is not None:
            table.add({"step": step, **metrics})

    def on_trial_end(self, trial: FrozenTrial) -> None:
        assert self._study is not None and self._trials is not None
        table = self._progress.pop(trial.trial_id, None)
        if table is not None:
            table.write()
        self._trials.add(_trial_row(self._study, trial))

    def flush(self) -> None:
        for table in self._progress.values():
            table.write()
        if self._trials is not None:
            self._trials.write()


def _dumps(obj: Any) -> str:
    return json.dumps(obj, default=str, allow_nan=True)


class JSONLogger(Logger):
    """``<logdir>/<study>/trial_<n>/result.json`` (a JSON line per report) and ``<logdir>/<study>/trials.jsonl``."""

    def __init__(self, logdir: str | os.PathLike[str] = "runs") -> None:
        self.logdir = os.fspath(logdir)
        self._study: Study | None = None
        self._lines: dict[str, list[str]] = {}  # path -> lines not yet written

    def on_study_start(self, study: Study) -> None:
        self._study = study
        os.makedirs(os.path.join(self.logdir, safe_dirname(study.name)), exist_ok=True)

    def _path(self, trial: FrozenTrial) -> str:
        assert self._study is not None
        return os.path.join(_trial_dir(self.logdir, self._study, trial), "result.json")

    def on_trial_start(self, trial: FrozenTrial) -> None:
        self._lines.setdefault(self._path(trial), [])

    def on_report(self, trial: FrozenTrial, step: int, metrics: dict[str, Any]) -> None:
        self._lines.setdefault(self._path(trial), []).append(_dumps({"step": step, **metrics}))

    def on_trial_end(self, trial: FrozenTrial) -> None:
        assert self._study is not None
        record = {
            "number": trial.number, STATE_KEY: state_name(trial), "values": final_values(self._study, trial),
            "params": trial.params, "user_attrs": trial.user_attrs, "last_step": trial.last_step,
            "started_at": trial.started_at, "finished_at": trial.finished_at, "error": trial.error,
        }
        path = os.path.join(self.logdir, safe_dirname(self._study.name), "trials.jsonl")
        self._lines.setdefault(path, []).append(_dumps(record))

    def flush(self) -> None:
        for path, lines in self._lines.items():
            if lines:
                with open(path, "a") as f:
                    f.write("\n".join(lines) + "\n")
                lines.clear()
