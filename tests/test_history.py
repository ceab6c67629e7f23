"""History: the columnar, incrementally synced view of a study that samplers read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import tunesmith
from tunesmith import TrialState
from tunesmith.distributions import (
    CategoricalDistribution,
    Distribution,
    FloatDistribution,
    IntDistribution,
)
from tunesmith.history import History
from tunesmith.trial import FrozenTrial

OPTS = ("sgd", "adam", "rmsprop")


def objective(trial: tunesmith.Trial) -> float:
    x = trial.suggest_float("x", -1.0, 1.0)
    trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    trial.suggest_int("n", 1, 8)
    if trial.suggest_categorical("opt", OPTS) == "sgd":
        trial.suggest_float("momentum", 0.0, 0.9)
    return x


DISTS: dict[str, Distribution] = {
    "x": FloatDistribution(-1.0, 1.0),
    "lr": FloatDistribution(1e-4, 1e-1, log=True),
    "n": IntDistribution(1, 8),
    "opt": CategoricalDistribution(OPTS),
    "momentum": FloatDistribution(0.0, 0.9),
}


def expected_unit(trials: list[FrozenTrial], dists: dict[str, Distribution]) -> np.ndarray:
    return np.array([
        [d.to_unit(t.params[name]) if name in t.params else np.nan for name, d in dists.items()] for t in trials
    ])


@dataclass(frozen=True)
class CountingFloat(FloatDistribution):
    """A FloatDistribution that records every value it encodes."""

    encoded: list[float] = field(default_factory=list, compare=False, hash=False, repr=False)

    def to_unit(self, value: Any) -> float:
        self.encoded.append(value)
        return super().to_unit(value)


def test_params_unit_matches_to_unit_of_params() -> None:
    study = tunesmith.create_study(seed=0)
    study.optimize(objective, n_trials=12)
    u = study.history.params_unit(DISTS)
    assert u.shape == (12, 5)
    np.testing.assert_allclose(u, expected_unit(study.trials, DISTS), rtol=0, atol=1e-12)
    assert np.isnan(u[:, 4]).any() and not np.isnan(u[:, 4]).all()  # the conditional parameter
    assert np.all(np.isnan(u[:, 4]) == np.array([t.params["opt"] != "sgd" for t in study.trials]))
    assert np.all(u[~np.isnan(u)] >= 0) and np.all(u[~np.isnan(u)] <= 1)
    # Columns come in the order of the mapping asked for, and a subset works.
    sub = study.history.params_unit({"n": DISTS["n"], "x": DISTS["x"]})
    np.testing.assert_array_equal(sub, u[:, [2, 0]])
    assert study.history.params_unit({}).shape == (12, 0)


def test_params_unit_encodes_only_new_rows() -> None:
    study = tunesmith.create_study(sampler=tunesmith.samplers.RandomSampler(seed=1))  # reads no history
    study.optimize(objective, n_trials=10)
    x = CountingFloat(-1.0, 1.0)
    history = study.history

    u = history.params_unit({"x": x})
    assert u.shape == (10, 1)
    assert len(x.encoded) == 10
    assert history.params_unit({"x": x}).shape == (10, 1)
    assert len(x.encoded) == 10  # nothing new: nothing encoded

    study.optimize(objective, n_trials=25)  # grows past the initial capacity of 16 rows
    u = history.params_unit({"x": x})
    trials = study.trials
    assert u.shape == (35, 1)
    assert x.encoded[10:] == [t.params["x"] for t in trials[10:]]  # exactly the 25 new rows
    np.testing.assert_allclose(u[:, 0], [(t.params["x"] + 1) / 2 for t in trials], rtol=0, atol=1e-12)

    # Another distribution for the same name re-encodes that column from scratch.
    wider = FloatDistribution(-2.0, 2.0)
    np.testing.assert_allclose(history.params_unit({"x": wider})[:, 0], [(t.params["x"] + 2) / 4 for t in trials])


def test_a_row_is_re_encoded_when_its_trial_changes() -> None:
    study = tunesmith.create_study(seed=2)
    study.optimize(objective, n_trials=3)
    running = study.ask()
    u = study.history.params_unit(DISTS)
    assert u.shape == (4, 5) and np.isnan(u[3]).all()  # no parameters yet
    value = running.suggest_float("x", -1.0, 1.0)
    study.tell(running, value)
    u = study.history.params_unit(DISTS)
    assert u[3, 0] == pytest.approx((value + 1) / 2)
    assert np.isnan(u[3, 1:]).all()
    np.testing.assert_allclose(u[:3], expected_unit(study.trials[:3], DISTS))


def test_states_and_values_reflect_finished_trials() -> None:
    study = tunesmith.create_study(seed=0)
    outcomes = [
        dict(values=1.5), dict(state=TrialState.FAILED, error="boom"), dict(state=TrialState.PRUNED),
        dict(values=-2.0),
    ]
    for kw in outcomes:
        t = study.ask()
        t.suggest_float("x", 0, 1)
        study.tell(t, **kw)
    running = study.ask()
    h = study.history
    h.mark_stale()
    assert h.states.tolist() == [2, 4, 3, 2, 1]
    np.testing.assert_array_equal(h.values[:, 0], [1.5, np.nan, np.nan, -2.0, np.nan])
    assert h.values.shape == (5, 1)
    assert h.numbers.tolist() == [0, 1, 2, 3, 4]
    assert h.mask(TrialState.COMPLETE).tolist() == [True, False, False, True, False]
    assert h.mask(TrialState.FAILED, TrialState.PRUNED).tolist() == [False, True, True, False, False]
    assert len(h) == 5

    study.tell(running, 0.25)
    assert h.states.tolist() == [2, 4, 3, 2, 2]
    assert h.values[4, 0] == 0.25
    assert [t.number for t in h.trials] == [0, 1, 2, 3, 4]


def test_values_have_one_column_per_objective() -> None:
    study = tunesmith.create_study(directions=["minimize", "maximize"], seed=0)
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), 2.0), n_trials=3)
    values = study.history.values
    assert values.shape == (3, 2)
    np.testing.assert_allclose(values[:, 0], [t.params["x"] for t in study.trials])
    assert (values[:, 1] == 2.0).all()


def test_n_enqueued_before() -> None:
    study = tunesmith.create_study(seed=0)
    assert study.enqueue({"x": 0.1}) == 0
    assert study.enqueue({"x": 0.2}) == 1
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=4)  # 0, 1 enqueued; 2, 3 sampled
    assert study.enqueue({"x": 0.3}) == 4
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)  # 4 enqueued; 5 sampled
    h = study.history
    h.mark_stale()
    got = [h.n_enqueued_before(n) for n in range(8)]
    assert got == [0, 1, 2, 2, 2, 3, 3, 3]
    assert h.n_enqueued_before(1000) == 3
    assert [t.params["x"] for t in study.trials if t.number in (0, 1, 4)] == [0.1, 0.2, 0.3]


def test_waiting_enqueued_trials_are_counted_before_they_run() -> None:
    study = tunesmith.create_study(seed=0)
    study.enqueue({"x": 0.5})
    study.enqueue({"x": 0.5})
    h = study.history
    h.mark_stale()
    assert h.states.tolist() == [int(TrialState.WAITING)] * 2
    assert h.n_enqueued_before(2) == 2
    assert np.isnan(h.values).all()


def test_sync_fetches_only_what_changed() -> None:
    trials = [FrozenTrial(i, TrialState.COMPLETE, values=[float(i)], internal_params={"x": i / 40})
              for i in range(40)]
    calls: list[int] = []
    feed = {"upto": 10}

    def fetch(since: int) -> tuple[list[FrozenTrial], int]:
        calls.append(since)
        return trials[since:feed["upto"]], feed["upto"]

    h = History(fetch)
    assert calls == []  # nothing is fetched until the history is read
    assert len(h) == 10
    assert len(h) == 10 and calls == [0]  # not stale: no second fetch
    feed["upto"] = 40
    h.mark_stale()
    np.testing.assert_allclose(h.params_unit({"x": FloatDistribution(0.0, 1.0)})[:, 0], [i / 40 for i in range(40)])
    assert calls == [0, 10]
    np.testing.assert_array_equal(h.values[:, 0], np.arange(40.0))
    # An update to a known trial overwrites its row instead of appending one.
    h.ingest([trials[3].evolve(state=TrialState.FAILED, values=None, internal_params={"x": 0.5})])
    assert len(h) == 40
    assert h.states[3] == int(TrialState.FAILED)
    assert h.params_unit({"x": FloatDistribution(0.0, 1.0)})[3, 0] == 0.5
