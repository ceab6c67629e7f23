"""Generated studies for the plot tests: FrozenTrials built directly, no storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tunesmith.distributions import CategoricalDistribution, Distribution, FloatDistribution, IntDistribution
from tunesmith.trial import FrozenTrial, TrialState

DISTS: dict[str, Distribution] = {
    "x": FloatDistribution(-5.0, 5.0),
    "lr": FloatDistribution(1e-5, 1e-1, log=True),
    "n": IntDistribution(1, 8),
    "opt": CategoricalDistribution(("sgd", "adam", "rmsprop")),
}


@dataclass
class FakeStudy:
    """What a plot needs of a study: trials, directions, metric names."""

    trials: list[FrozenTrial]
    directions: list[str] = field(default_factory=lambda: ["minimize"])
    metric_names: list[str] = field(default_factory=lambda: ["value"])


def make_trials(n: int, seed: int = 0, n_running: int = 0, n_objectives: int = 1) -> list[FrozenTrial]:
    """``n`` COMPLETE trials over DISTS (value = x^2 + ... + noise), then ``n_running`` RUNNING ones."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-5, 5, n + n_running)
    lr = 10 ** rng.uniform(-5, -1, n + n_running)
    nn = rng.integers(1, 9, n + n_running)
    opt = rng.integers(0, 3, n + n_running)
    value = x**2 + 0.1 * np.log10(lr) ** 2 + 0.01 * nn + 0.5 * opt + rng.normal(0, 0.1, n + n_running)
    trials = []
    for i in range(n + n_running):
        params: dict[str, Any] = {"x": float(x[i]), "lr": float(lr[i]), "n": int(nn[i]),
                                  "opt": DISTS["opt"].choices[int(opt[i])]}  # type: ignore[attr-defined]
        running = i >= n
        values = [float(value[i])] if n_objectives == 1 else [float(value[i]), float(25 - x[i] ** 2)]
        trials.append(FrozenTrial(
            number=i, state=TrialState.RUNNING if running else TrialState.COMPLETE, params=params,
            values=None if running else values, distributions=dict(DISTS),
            started_at=1.7e9 + i, finished_at=None if running else 1.7e9 + i + 0.5,
            last_step=3, last_result={"value": float(value[i]), "acc": float(1 / (1 + value[i]))},
        ))
    return trials


def fake_study(n: int, seed: int = 0, n_running: int = 0, **kwargs: Any) -> FakeStudy:
    return FakeStudy(make_trials(n, seed, n_running), **kwargs)


class _Reports:
    """A storage stand-in: ``get_reports`` only, the one call :func:`read_reports` makes."""

    def __init__(self, reports: dict[int, list[tuple[int, dict[str, Any]]]]) -> None:
        self.reports = reports

    def get_reports(self, study_id: int, trial_id: int) -> list[tuple[int, dict[str, Any]]]:
        return list(self.reports.get(trial_id, []))


def reporting_study(curves: list[list[dict[str, Any]]], running: int = 0) -> FakeStudy:
    """A study whose trial ``i`` reported ``curves[i]`` (one metrics dict per step 0, 1, ...);
    the last ``running`` trials are RUNNING. Reads go through a storage stand-in, like a real study's."""
    trials = []
    for i, curve in enumerate(curves):
        live = i >= len(curves) - running
        trials.append(FrozenTrial(
            number=i, trial_id=i, state=TrialState.RUNNING if live else TrialState.COMPLETE,
            params={"x": float(i)}, distributions={"x": DISTS["x"]},
            values=None if live else [float(curve[-1].get("value", 0.0))],
            last_step=len(curve) - 1, last_result=dict(curve[-1]),
        ))
    study = FakeStudy(trials)
    study.storage = _Reports({i: list(enumerate(c)) for i, c in enumerate(curves)})  # type: ignore[attr-defined]
    study.study_id = 0  # type: ignore[attr-defined]
    return study
