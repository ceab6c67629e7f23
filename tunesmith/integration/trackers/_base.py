"""What every tracker does alike: names, final values, states, scalar parameters, lazy imports."""

from __future__ import annotations

import importlib
import math
import os
import re
from typing import TYPE_CHECKING, Any

from tunesmith.record import FrozenTrial, TrialState

if TYPE_CHECKING:
    from tunesmith.study import Study

#: the key (tag, summary entry, hparam) under which each tracker records a trial's final state
STATE_KEY = "state"


def require(module: str, extra: str, who: str) -> Any:
    """Import an optional tracker library, or say which package to install."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(f"{who} needs {extra}: pip install {extra}") from e


def state_name(trial: FrozenTrial) -> str:
    """COMPLETE, PRUNED or FAILED; INTERRUPTED for a trial a stopped run left unfinished."""
    return trial.state.name if trial.state.is_finished() else "INTERRUPTED"


def final_values(study: Study, trial: FrozenTrial) -> dict[str, float]:
    """The trial's final value(s) by the study's metric names (``value`` when it has none)."""
    if not trial.values:
        return {}
    names = list(study.metric_names) or ["value"]
    if len(names) < len(trial.values):
        names = [f"value_{i}" for i in range(len(trial.values))]
    return {n: float(v) for n, v in zip(names, trial.values, strict=False) if v is not None}


def numeric(metrics: dict[str, Any]) -> dict[str, float]:
    """The reported metrics a tracker can plot: finite-or-not numbers, bools as 0/1; the rest left out."""
    out: dict[str, float] = {}
    for k, v in metrics.items():
        if isinstance(v, (int, float)) or (hasattr(v, "__float__") and not isinstance(v, str)):
            try:
                out[k] = float(v)
            except (TypeError, ValueError):
                continue
    return out


def scalar(v: Any) -> Any:
    """A parameter value as a tracker stores it: numbers, strings and bools as they are, else its text."""
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    return str(v)


def flat_params(trial: FrozenTrial) -> dict[str, Any]:
    return {k: scalar(v) for k, v in trial.params.items()}


def trial_run_name(study: Study, trial: FrozenTrial) -> str:
    return f"{study.name}-trial-{trial.number}"


def safe_dirname(name: str) -> str:
    """A study name as a folder name."""
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", name) or "study"


def trial_dir(root: str, study: Study, trial: FrozenTrial) -> str:
    path = os.path.join(root, safe_dirname(study.name), f"trial_{trial.number}")
    os.makedirs(path, exist_ok=True)
    return path


def finished_ok(trial: FrozenTrial) -> bool:
    return trial.state in (TrialState.COMPLETE, TrialState.PRUNED)


def flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    """A nested config dict as ``{"a/b": value}``, values as :func:`scalar` makes them."""
    out: dict[str, Any] = {}
    if not isinstance(config, dict):
        return {prefix or "value": scalar(config)}
    for k, v in config.items():
        key = f"{prefix}/{k}" if prefix else str(k)
        if isinstance(v, dict):
            out.update(flatten(v, key))
        else:
            out[key] = scalar(v)
    return out


def running_trial(who: str) -> Any:
    """The trial running in this thread, or None with a warning that ``who`` makes a plain run."""
    import warnings

    from tunesmith.trial import current_trial

    trial = current_trial()
    if trial is None:
        warnings.warn(f"{who} was called outside a tunesmith trial: it starts a plain run, not one of a study",
                      stacklevel=3)
    return trial


def study_name_of(trial: Any) -> str:
    study = getattr(trial, "study", None)
    return str(study.name) if study is not None else "tunesmith"
