"""A run with a pausing scheduler (ASHA with checkpoints) ends with no trial left PAUSED.

Trials that miss a rung's cut pause, waiting for a promotion; once the run ends no
promotion will come, so they end PRUNED (stopped early), their reports kept.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import tunesmith
from tunesmith.schedulers import ASHAScheduler
from tunesmith.trial import Trial, TrialState

_MAX_T = 9


def _objective(trial: Trial) -> float | None:
    x = trial.suggest_float("x", 0.0, 1.0)
    ckpt = trial.get_checkpoint()
    for step in range(0 if ckpt is None else ckpt.step + 1, _MAX_T):
        with trial.checkpoint_dir(step) as d, open(os.path.join(d, "state"), "w") as f:
            f.write(str(step))
        trial.report(step, loss=x / (step + 1))
        if trial.should_stop():
            return None
    return x / _MAX_T


def _study(tmp_path: Path, storage: str | None) -> tunesmith.Study:
    return tunesmith.create_study(
        metric="loss", artifact_dir=tmp_path / "artifacts", storage=storage, seed=0,
        scheduler=ASHAScheduler(max_t=_MAX_T, grace_period=1, reduction_factor=3),
    )


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_asha_run_leaves_no_trial_paused(tmp_path: Path, backend: str) -> None:
    study = _study(tmp_path, None if backend == "memory" else f"sqlite:///{tmp_path}/s.db")
    study.optimize(_objective, n_trials=12)
    counts = study.count()
    assert counts[TrialState.PAUSED] == 0
    assert sum(counts.values()) == 12 and counts[TrialState.COMPLETE] >= 1
    assert counts[TrialState.PRUNED] == 12 - counts[TrialState.COMPLETE]
    for t in study.get_trials(states=[TrialState.PRUNED]):  # stopped at a rung, with what it reported there
        assert t.last_step is not None and t.last_step < _MAX_T - 1
        assert t.values == [t.last_result["loss"]] and t.finished_at is not None
    assert study.best_trial.state == TrialState.COMPLETE


def test_a_run_that_fails_leaves_paused_trials_to_the_next(tmp_path: Path) -> None:
    """Only a run that ends normally ends its paused trials: after an error a next run may promote them."""
    study = _study(tmp_path, f"sqlite:///{tmp_path}/s.db")
    calls = []

    def objective(trial: Trial) -> float | None:
        calls.append(trial.number)
        if len(calls) == 6:
            raise RuntimeError("the run breaks")
        return _objective(trial)

    with pytest.raises(RuntimeError, match="the run breaks"):
        study.optimize(objective, n_trials=12, catch=())
    assert study.count()[TrialState.PAUSED] > 0
