"""What a worker loop needs of a study: ask/tell, its record, and its supervisor's extra trials.

:class:`~tunesmith.study.Study` is the implementation; the loop and the recovery of
lost trials are written against this protocol, not against the facade.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from tunesmith.history import History
from tunesmith.record import FrozenTrial, TrialState
from tunesmith.storage import Storage
from tunesmith.trial import Trial

__all__ = ["AskTell", "ExtraTrials"]


class ExtraTrials(Protocol):
    """Trials a scheduler adds outside the trial budget: PBT's continuations, ASHA's promotions."""

    def take_continuation(self) -> bool: ...

    def resume_promotable(self, final: bool = False) -> bool: ...

    def promotions_pending(self) -> bool: ...


class AskTell(Protocol):
    """A study as a worker loop drives it."""

    storage: Storage

    @property
    def study_id(self) -> int: ...

    @property
    def history(self) -> History: ...

    @property
    def stop_requested(self) -> bool: ...

    @property
    def supervisor(self) -> ExtraTrials: ...

    def ask(self) -> Trial: ...

    def tell(
        self, trial: Trial, values: Any = None, *, state: TrialState | None = None, error: str | None = None,
    ) -> FrozenTrial: ...

    def get_trials(self, deepcopy: bool = False, states: Iterable[TrialState] | None = None) -> list[FrozenTrial]: ...

    def record_changed(self, raw: Iterable[FrozenTrial]) -> list[FrozenTrial]: ...
