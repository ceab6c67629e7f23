"""What the checkpointing callbacks share: save the model into the running trial's checkpoint at a step."""

from __future__ import annotations

import os
from collections.abc import Callable

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
