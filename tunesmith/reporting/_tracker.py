"""What ConsoleReporter knows of a study's trials, kept up to date in O(changes) per listing."""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Sequence

from tunesmith.multi_objective import is_feasible
from tunesmith.trial import FrozenTrial, TrialState


class Tracker:
    """What the reporter knows of a study's trials, updated from each new listing in O(changes)."""

    def __init__(self, directions: Sequence[str], keep: int) -> None:
        self.maximize = directions[0] == "maximize" if len(directions) == 1 else None
        self.keep = keep
        self.cursor = 0  # trials[:cursor] are finished and ingested
        self.cursor_number = -1  # number of trials[cursor - 1], to notice a reordered listing
        self.seen: set[int] = set()  # numbers of the finished trials ingested
        self.paused_at: dict[int, int | None] = {}  # number -> step of the pause already shown
        self.finished: dict[TrialState, int] = {}
        self.active: list[FrozenTrial] = []  # not finished, as of the last scan
        self.recent: deque[FrozenTrial] = deque(maxlen=keep)
        self.failed: deque[FrozenTrial] = deque(maxlen=max(1, keep // 4))
        self.top: list[tuple[float, int, FrozenTrial]] = []  # (sort key, number, trial), best first
        self.best: FrozenTrial | None = None
        self.param_names: dict[str, None] = {}
        self.result_keys: dict[str, None] = {}
        self.has_step = False

    @property
    def n_finished(self) -> int:
        """Finished trials, and PAUSED ones (done unless a scheduler resumes them)."""
        return sum(self.finished.values()) + sum(1 for t in self.active if t.state == TrialState.PAUSED)

    def counts(self) -> dict[TrialState, int]:
        out = dict(self.finished)
        for t in self.active:
            out[t.state] = out.get(t.state, 0) + 1
        return out

    def scan(self, trials: Sequence[FrozenTrial]) -> list[tuple[FrozenTrial, bool]]:
        """Ingest a listing (by number); returns newly finished trials and whether each improved the best."""
        if self.cursor > len(trials) or (self.cursor and trials[self.cursor - 1].number != self.cursor_number):
            self.cursor = 0  # not the listing we scanned before: start over (``seen`` avoids repeats)
        new: list[tuple[FrozenTrial, bool]] = []
        active: list[FrozenTrial] = []
        for i in range(self.cursor, len(trials)):
            t = trials[i]
            if t.state.is_finished():
                if t.number not in self.seen:
                    self.seen.add(t.number)
                    new.append((t, self._add(t)))
                if not active:
                    self.cursor, self.cursor_number = i + 1, t.number
            else:
                active.append(t)
                self._note_columns(t)
                if t.state == TrialState.PAUSED and self.paused_at.get(t.number, -1) != t.last_step:
                    self.paused_at[t.number] = t.last_step
                    new.append((t, False))  # a line for each pause; it is counted when it finishes
        self.active = active
        return new

    def _add(self, t: FrozenTrial) -> bool:
        self.finished[t.state] = self.finished.get(t.state, 0) + 1
        self.recent.append(t)
        self._note_columns(t)
        if t.state == TrialState.FAILED:
            self.failed.append(t)
        if self.maximize is None or t.state != TrialState.COMPLETE or not t.values or not is_feasible(t):
            return False  # a trial that breaks a constraint is never the best
        value = float(t.values[0])
        if math.isnan(value):
            return False
        key = -value if self.maximize else value
        top = self.top
        if len(top) >= self.keep and key >= top[-1][0]:
            return False
        improved = not top or key < top[0][0]
        bisect.insort(top, (key, t.number, t))  # numbers are unique: trials are never compared
        del top[self.keep:]
        if improved:
            self.best = t
        return improved

    def _note_columns(self, t: FrozenTrial) -> None:
        for k in t.params:
            if k not in self.param_names:
                self.param_names[k] = None
        for k in t.last_result:
            if k not in self.result_keys:
                self.result_keys[k] = None
        self.has_step = self.has_step or t.last_step is not None

    def rows(self, max_rows: int, sort_by_metric: bool) -> tuple[list[FrozenTrial], dict[TrialState, int]]:
        """Running then paused trials, the best, failed and latest finished ones; and the active ones left out."""
        active = [t for t in self.active if t.state == TrialState.RUNNING]
        active += [t for t in self.active if t.state == TrialState.PAUSED]
        best = [e[2] for e in self.top]
        finished = {t.number: t for t in (*best, *self.failed, *self.recent)}
        n_fin = min(len(finished), max(max_rows - len(active), min(3, max_rows // 2)))
        shown_active = active[: max_rows - n_fin]
        hidden: dict[TrialState, int] = {}
        for t in active[len(shown_active):]:
            hidden[t.state] = hidden.get(t.state, 0) + 1
        n_best = n_fin if sort_by_metric else min(len(best), max(1, n_fin // 4))
        chosen = {t.number: t for t in best[:n_best]}
        for t in list(self.failed)[-max(1, n_fin // 4):]:
            if len(chosen) < n_fin:
                chosen.setdefault(t.number, t)
        for t in reversed(self.recent):
            if len(chosen) >= n_fin:
                break
            chosen.setdefault(t.number, t)
        if sort_by_metric:
            ranked = [t for t in best if t.number in chosen]
            others = sorted((t for t in chosen.values() if t not in ranked), key=lambda t: t.number)
            return [*shown_active, *ranked, *others], hidden
        return sorted([*shown_active, *chosen.values()], key=lambda t: t.number), hidden
