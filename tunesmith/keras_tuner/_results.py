"""What a search leaves: KerasTuner's trial view (``tuner.oracle``) and its printed summaries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tunesmith.hyperparameters import FIXED_HPS_ATTR, Hyperparameters
from tunesmith.record import FrozenTrial

if TYPE_CHECKING:
    from tunesmith.keras_tuner._tuner import Tuner

__all__ = ["Oracle", "TunerTrial", "results_summary_text", "search_space_summary_text"]

_HELPER = ":reverse_log"


@dataclass
class TunerTrial:
    """One trial as KerasTuner shows it: ``trial_id``, ``hyperparameters``, ``score``, ``status``."""

    trial_id: str
    hyperparameters: Hyperparameters
    score: float | None
    status: str
    metrics: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, trial: FrozenTrial) -> TunerTrial:
        values = {n: v for n, v in trial.params.items() if not n.endswith(_HELPER)}
        fixed = trial.user_attrs.get(FIXED_HPS_ATTR) or {}
        hp = Hyperparameters(values={**values, **fixed})
        status = {"COMPLETE": "COMPLETED", "PRUNED": "STOPPED"}.get(trial.state.name, trial.state.name)
        return cls(f"{trial.number:04d}", hp, trial.value, status, dict(trial.last_result))


class Oracle:
    """``tuner.oracle``: read access to the trials, as KerasTuner's oracle offers it."""

    def __init__(self, tuner: Tuner) -> None:
        self._tuner = tuner

    def get_best_trials(self, num_trials: int = 1) -> list[TunerTrial]:
        return [TunerTrial.of(t) for t in self._tuner._best_frozen(num_trials)]

    @property
    def trials(self) -> dict[str, TunerTrial]:
        return {f"{t.number:04d}": TunerTrial.of(t) for t in self._tuner.study.trials}

    @property
    def objective(self) -> Any:
        return self._tuner.objective

    def get_space(self) -> Hyperparameters:
        return self._tuner._space


def search_space_summary_text(space: Mapping[str, tuple[str, dict[str, Any]]]) -> str:
    lines = ["Search space summary", f"Default search space size: {len(space)}"]
    for name, (kind, config) in space.items():
        lines.append(f"{name} ({kind})")
        lines.append(repr(config))
    return "\n".join(lines)


def results_summary_text(tuner: Tuner, best: Sequence[FrozenTrial], num_trials: int) -> str:
    lines = ["Results summary", f"Results in {tuner.project_dir}", f"Showing {num_trials} best trials",
             repr(tuner.objective)]
    for t in best:
        view = TunerTrial.of(t)
        lines += ["", f"Trial {view.trial_id} summary", "Hyperparameters:"]
        lines += [f"{k}: {v}" for k, v in view.hyperparameters.values.items()]
        lines.append(f"Score: {view.score}")
    return "\n".join(lines)
