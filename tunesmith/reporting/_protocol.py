"""What ``Study.optimize`` tells a reporter: the run starts, trials finish, the run ends.

Any object with these three methods reports a run (:class:`ConsoleReporter` is one);
``update`` is called from the thread that runs the loop after each finished trial.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from tunesmith.study import Study

__all__ = ["Reporter"]


class Reporter(Protocol):
    """Hears a run's progress."""

    def start(self, study: Study, n_trials: int | None, timeout: float | None) -> None: ...

    def update(self, study: Study) -> None: ...

    def finish(self, study: Study) -> None: ...
