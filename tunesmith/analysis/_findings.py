"""What a diagnosis finds: :class:`Finding` (one problem of one trial) and :class:`Diagnosis`.

>>> f = Finding("still_improving", 3, (80, 90, 100), "val_loss still falls at the end", "train longer")
>>> d = Diagnosis([f], n_trials=5)
>>> len(d), d.summary["still_improving"], d.for_trial(3) == [f]
(1, 1, True)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import overload

__all__ = ["KINDS", "STUDY_KINDS", "Diagnosis", "Finding"]

#: every kind of finding, in the order they are reported: the first ones explain the later ones
KINDS = (
    "diverging",
    "not_learning",
    "decayed_too_early",
    "overfitting",
    "underfitting",
    "still_improving",
    "unstable",
    "boundary_best",
)
#: kinds about the study as a whole rather than one trial's curves
STUDY_KINDS = ("boundary_best",)


@dataclass(frozen=True)
class Finding:
    """One problem seen in one trial's curves (or, for study-level kinds, in the study).

    Attributes:
        kind: one of :data:`KINDS`.
        trial: the trial's number; None for plain curves and study-level findings.
        steps: the reported steps that show it (empty for study-level findings).
        message: what was seen, in one line.
        advice: what to try, in one line.
    """

    kind: str
    trial: int | None
    steps: tuple[int, ...]
    message: str
    advice: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {self.kind!r}")

    def __str__(self) -> str:
        where = "study" if self.trial is None and self.kind in STUDY_KINDS else (
            "curves" if self.trial is None else f"trial {self.trial}")
        return f"{where}: {self.kind}: {self.message} -> {self.advice}"


class Diagnosis(Sequence[Finding]):
    """The findings of a diagnosis, in trial order, and how many trials show each kind.

    A read-only list of :class:`Finding`; ``summary`` counts trials per kind (each
    study-level finding counts once); ``str()`` prints what ``tunesmith diagnose`` does.
    """

    def __init__(self, findings: Iterable[Finding], n_trials: int) -> None:
        self._findings = tuple(findings)
        #: how many trials (or runs of curves) were looked at
        self.n_trials = n_trials

    @overload
    def __getitem__(self, index: int) -> Finding: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Finding]: ...

    def __getitem__(self, index: int | slice) -> Finding | Sequence[Finding]:
        return self._findings[index]

    def __len__(self) -> int:
        return len(self._findings)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self._findings)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Diagnosis):
            return self._findings == other._findings and self.n_trials == other.n_trials
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={v}" for k, v in self.summary.items() if v)
        return f"Diagnosis({len(self)} findings in {self.n_trials} trials{': ' + counts if counts else ''})"

    def __str__(self) -> str:
        from tunesmith.analysis._format import format_findings

        return "\n".join(format_findings(self))

    @property
    def summary(self) -> dict[str, int]:
        """Kind -> number of trials showing it (study-level findings: their count), every kind present."""
        trials: dict[str, set[int]] = {k: set() for k in KINDS}
        others: dict[str, int] = dict.fromkeys(KINDS, 0)
        for f in self._findings:
            if f.trial is None:
                others[f.kind] += 1
            else:
                trials[f.kind].add(f.trial)
        return {k: len(trials[k]) + others[k] for k in KINDS}

    @property
    def kinds(self) -> set[str]:
        """The kinds found."""
        return {f.kind for f in self._findings}

    def of_kind(self, kind: str) -> list[Finding]:
        """The findings of one kind."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
        return [f for f in self._findings if f.kind == kind]

    def for_trial(self, number: int) -> list[Finding]:
        """The findings of one trial."""
        return [f for f in self._findings if f.trial == number]

    @property
    def healthy(self) -> int:
        """How many of the trials looked at show no trial-level finding."""
        flagged = {f.trial for f in self._findings if f.kind not in STUDY_KINDS}  # None: one run of curves
        return max(0, self.n_trials - len(flagged))


def sort_findings(findings: Sequence[Finding]) -> list[Finding]:
    """Study-level findings last; the rest by trial, then in the order of :data:`KINDS`."""
    order = {k: i for i, k in enumerate(KINDS)}
    return sorted(findings, key=lambda f: (f.trial is None and f.kind in STUDY_KINDS, f.trial or 0, order[f.kind]))
