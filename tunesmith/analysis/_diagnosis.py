"""Diagnose learning curves: a study's trials, one trial with its reports, or plain lists.

The tuning playbook's advice is to read the curves before tuning further. This does
that for every trial: it finds runs that diverge, never learn, had their learning rate
decayed too early, overfit, underfit, were stopped while still improving, or train
unstably, and for the study, parameters whose best values sit at a bound of their range.
It only reads the study record.

>>> d = diagnose_curves({"loss": [2.3, 1.2, 0.8, 0.7, 2.1, 40.0, 900.0, float("nan")]})
>>> [f.kind for f in d]
['diverging']
>>> print(d)
1 run diagnosed: 1 diverging; 0 without findings
curves  diverging  loss became NaN/inf at step 7 (it was 900 at step 6)
                   -> lower the learning rate (3-10x), or add warmup or gradient clipping
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from tunesmith.analysis._boundary import boundary_best
from tunesmith.analysis._curves import Curves, curves_from_lists, curves_from_reports
from tunesmith.analysis._findings import Diagnosis, Finding, sort_findings
from tunesmith.analysis._rules import Hit, Profile, diagnose_run
from tunesmith.trial import FrozenTrial, TrialState

__all__ = ["diagnose", "diagnose_curves"]

#: states whose curves are diagnosed when a whole study is (a RUNNING trial only when asked for)
DIAGNOSED_STATES = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED, TrialState.PAUSED)

Reports = Sequence[tuple[int, Mapping[str, Any]]]


class StudyLike(Protocol):
    """What :func:`diagnose` needs of a study: its trials, directions and reports (see :func:`_reports`)."""

    @property
    def trials(self) -> list[FrozenTrial]: ...

    @property
    def directions(self) -> list[str]: ...


def _reports(study: Any, trial: FrozenTrial) -> Reports:
    """A trial's reports ``[(step, {metric: value}), ...]``: the one place that reaches into the study."""
    reports: Reports = study.storage.get_reports(study.study_id, trial.trial_id)
    return reports


def _findings(hits: Sequence[Hit], trial: int | None) -> list[Finding]:
    return [Finding(h.kind, trial, h.steps, h.message, h.advice) for h in hits]


def _target(curves: Curves, target: float | None) -> float | None:
    primary = curves.primary
    if target is None or primary is None:
        return None
    return primary.to_bad(float(target))


def diagnose(
    source: StudyLike | FrozenTrial, train: str | None = None, val: str | None = None, *, lr: str | None = None,
    direction: str | None = None, reports: Reports | None = None, trial: int | None = None,
    target: float | None = None,
) -> Diagnosis:
    """Read the learning curves of a study's trials (or of one trial) and say what is wrong.

    Args:
        source: a Study (its finished and paused trials are read), or a FrozenTrial
            with ``reports``.
        train / val / lr: the metric names of the training curve, the validation curve
            and the learning rate; by default guessed from common spellings (``loss``,
            ``val_loss``, ``accuracy``, ``val_acc``, ``lr``...), else the study's metric.
        direction: ``"minimize"`` or ``"maximize"`` for the train and val metrics
            (default: from their names; losses are minimized, accuracies maximized).
        reports: the trial's ``[(step, {metric: value}), ...]`` when ``source`` is a trial.
        trial: with a study, diagnose only this trial (by number), against the others.
        target: the primary metric's value a good run reaches; underfitting is judged
            against it (default: the best end level among the study's trials).

    >>> import tunesmith
    >>> study = tunesmith.create_study(direction="minimize")
    >>> def objective(t):
    ...     lr = t.suggest_float("lr", 1e-3, 1.0, log=True)
    ...     loss = 2.0
    ...     for step in range(30):
    ...         loss = loss * (1 - lr) if lr < 0.5 else loss * 1.5
    ...         t.report(step, loss=loss)
    ...     return loss
    >>> _ = study.enqueue({"lr": 0.9})
    >>> study.optimize(objective, n_trials=1)
    >>> [(f.trial, f.kind) for f in diagnose(study)]
    [(0, 'diverging')]
    """
    if isinstance(source, FrozenTrial):
        if reports is None:
            raise TypeError("diagnose(trial) needs the trial's reports: diagnose(trial, reports=[(step, {...}), ...])")
        if trial is not None:
            raise TypeError("trial= picks a trial of a study; with a FrozenTrial, pass that trial alone")
        curves = curves_from_reports(reports, train, val, lr, direction)
        if curves.primary is None:
            names = sorted({n for _, m in reports for n in m})
            raise ValueError(
                f"trial {source.number} reports no training or validation curve among {names or 'no metrics'}; "
                "name them with train= / val="
            )
        hits = diagnose_run(curves, _target(curves, target), still_improving_applies=_may_go_on(source))
        return Diagnosis(_findings(hits, source.number), 1)
    if not (hasattr(source, "trials") and hasattr(source, "directions")):
        raise TypeError(
            f"diagnose() takes a Study or a FrozenTrial with reports=, got {type(source).__name__}; "
            "for plain lists of values use diagnose_curves()"
        )
    if reports is not None:
        raise TypeError("reports= is for one FrozenTrial; a study's reports are read from its storage")
    return _diagnose_study(source, train, val, lr, direction, trial, target)


def _may_go_on(trial: FrozenTrial) -> bool:
    """Whether "train longer" is advice for this trial: not for one a scheduler stopped, nor one still running."""
    return trial.state not in (TrialState.PRUNED, TrialState.RUNNING)


def _diagnose_study(
    study: StudyLike, train: str | None, val: str | None, lr: str | None, direction: str | None,
    only: int | None, target: float | None,
) -> Diagnosis:
    everyone = study.trials
    if only is not None:
        numbers = [t.number for t in everyone]
        if only not in numbers:
            have = f"it has trials 0-{max(numbers)}" if numbers else "it has no trials"
            raise ValueError(f"trial={only!r}: the study has no trial of that number; {have}")
    chosen = [t for t in everyone if t.state in DIAGNOSED_STATES or t.number == only]
    names = list(getattr(study, "metric_names", None) or [])
    objective = (names[0], study.directions[0]) if len(study.directions) == 1 and names else None
    runs: dict[int, Curves] = {}
    for t in chosen:
        curves = curves_from_reports(_reports(study, t), train, val, lr, direction, objective)
        if curves.primary is not None:
            runs[t.number] = curves
    references = _study_references(runs.values())
    findings: list[Finding] = []
    by_number = {t.number: t for t in chosen}
    for number, curves in runs.items():
        if only is not None and number != only:
            continue
        primary = curves.primary
        assert primary is not None
        reference = _target(curves, target)
        if reference is None:
            reference = references.get((primary.name, primary.maximize))
        hits = diagnose_run(curves, reference, still_improving_applies=_may_go_on(by_number[number]))
        findings.extend(_findings(hits, number))
    if only is None:
        findings.extend(boundary_best(everyone, study.directions))
    n = 1 if only is not None and only in runs else (0 if only is not None else len(runs))
    return Diagnosis(sort_findings(findings), n)


def _study_references(runs: Any) -> dict[tuple[str, bool], float]:
    """Per primary metric (name, direction): the best end level (badness) among the trials,
    when at least two trials report it and their curves are finite."""
    ends: dict[tuple[str, bool], list[float]] = {}
    for curves in runs:
        primary = curves.primary
        if primary is None or not np.all(np.isfinite(primary.bad)):
            continue
        profile = Profile(primary)
        if profile.n:
            ends.setdefault((primary.name, primary.maximize), []).append(profile.end)
    return {key: min(values) for key, values in ends.items() if len(values) >= 2}


def diagnose_curves(
    curves: Mapping[str, Sequence[float | None]], steps: Sequence[int] | None = None, *, train: str | None = None,
    val: str | None = None, lr: str | None = None, direction: str | None = None, target: float | None = None,
) -> Diagnosis:
    """Diagnose one run from plain lists: ``{"loss": [...], "val_loss": [...], "lr": [...]}``.

    Each list holds one value per step (None where that metric was not reported);
    ``steps`` default to 0, 1, 2, ... The names, ``direction`` and ``target`` work as in
    :func:`diagnose`; without a target, underfitting is only judged for accuracy-like
    curves (against chance).

    >>> loss = [2.3 * 0.97**i for i in range(40)]
    >>> [f.kind for f in diagnose_curves({"loss": loss})]
    ['still_improving']
    """
    parsed = curves_from_lists(curves, steps, train, val, lr, direction)
    if parsed.primary is None:
        raise ValueError(
            f"found no training or validation curve among {sorted(curves)}; name them with train= / val="
        )
    return Diagnosis(_findings(diagnose_run(parsed, _target(parsed, target)), None), 1)
