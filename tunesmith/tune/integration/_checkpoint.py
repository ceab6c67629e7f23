"""What the checkpointing callbacks share: save the model into the running trial's checkpoint at a step."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any

from tunesmith.trial import Trial, current_trial


def check_frequency(frequency: int, who: str) -> int:
    if isinstance(frequency, bool) or not isinstance(frequency, int) or frequency < 1:
        raise ValueError(f"{who}: frequency must be a positive integer (save every N rounds), got {frequency!r}")
    return frequency


def save_at(trial: Trial | None, step: int, filename: str, write: Callable[[str], None], who: str) -> None:
    """``write(path)`` the model into the trial's checkpoint at ``step``, as ``<checkpoint>/<filename>``."""
    trial = trial or current_trial()
    if trial is None:
        raise RuntimeError(f"{who} saves into the running tunesmith trial's checkpoint, and none runs in this thread")
    with trial.checkpoint_dir(step) as d:
        write(os.path.join(d, filename))


def lazy_names(module: str, base: str, build: Callable[[], type]) -> Callable[[str], Any]:
    """A module ``__getattr__`` giving ``TuneReportCallback`` from ``base`` (tunesmith's callback module) and
    ``TuneReportCheckpointCallback`` built by ``build`` on first use (its parent class needs the library)."""
    built: list[type] = []

    def module_getattr(name: str) -> Any:
        if name == "TuneReportCallback":
            return importlib.import_module(base).TuneReportCallback
        if name == "TuneReportCheckpointCallback":
            if not built:
                built.append(build())
            return built[0]
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return module_getattr
