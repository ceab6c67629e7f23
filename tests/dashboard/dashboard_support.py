"""The dashboard tests' study data, importable by name (``conftest`` is not: other test folders have one too)."""

from __future__ import annotations

import tunesmith
from tunesmith.samplers import RandomSampler

XSS = "<img src=x onerror=alert(1)>"


def _objective(trial: tunesmith.Trial) -> float:
    lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    layers = trial.suggest_int("layers", 1, 4)
    opt = trial.suggest_categorical("opt", ["adam", "sgd", XSS])
    trial.suggest_float(XSS, 0.0, 1.0)
    if trial.number == 3:
        raise RuntimeError(f"boom {XSS}\nsecond line")
    loss = 1.0
    for step in range(5):
        loss = loss * (0.5 + lr * 3) + layers * 0.01 + (0.1 if opt == "sgd" else 0.0)
        trial.report(step, loss=loss, val_loss=loss * 1.1)
    trial.set_user_attr("note", XSS)
    return loss


def fill_storage(url: str, n_trials: int = 12) -> None:
    """Study ``demo`` (one objective, reports, a failed trial, an XSS-named parameter) and ``multi`` (two)."""
    study = tunesmith.create_study("demo", url, direction="minimize", metric="loss",
                                   sampler=RandomSampler(seed=0))
    study.optimize(_objective, n_trials=n_trials, catch=(RuntimeError,))
    multi = tunesmith.create_study("multi", url, directions=["minimize", "maximize"], sampler=RandomSampler(seed=1))
    multi.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)), n_trials=8)
