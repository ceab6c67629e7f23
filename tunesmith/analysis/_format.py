"""The lines ``tunesmith diagnose`` prints for a :class:`~tunesmith.analysis.Diagnosis`.

>>> from tunesmith.analysis._findings import Diagnosis, Finding
>>> d = Diagnosis([Finding("still_improving", 3, (90, 100), "val_loss still improves", "train longer")], 4)
>>> print("\\n".join(format_findings(d)))
4 trials diagnosed: 1 still_improving; 3 without findings
trial 3  still_improving  val_loss still improves
                          -> train longer
"""

from __future__ import annotations

from tunesmith.analysis._findings import STUDY_KINDS, Diagnosis, Finding, sort_findings

__all__ = ["format_findings"]


def _where(f: Finding) -> str:
    if f.trial is not None:
        return f"trial {f.trial}"
    return "study" if f.kind in STUDY_KINDS else "curves"


def format_findings(diagnosis: Diagnosis) -> list[str]:
    """A summary line, then each finding as its message and, indented below, its advice.

    Findings come by trial, each trial's in the order of :data:`~tunesmith.analysis.KINDS`,
    study-level ones last.
    """
    n = diagnosis.n_trials
    what = f"{n} trial{'s' if n != 1 else ''}"
    if n == 1 and all(f.trial is None for f in diagnosis):
        what = "1 run"
    counts = [f"{c} {kind}" for kind, c in diagnosis.summary.items() if c]
    if not counts:
        return [f"{what} diagnosed: no findings"]
    lines = [f"{what} diagnosed: {', '.join(counts)}; {diagnosis.healthy} without findings"]
    findings = sort_findings(list(diagnosis))
    where_width = max(len(_where(f)) for f in findings)
    kind_width = max(len(f.kind) for f in findings)
    indent = " " * (where_width + kind_width + 4)
    for f in findings:
        lines.append(f"{_where(f):<{where_width}}  {f.kind:<{kind_width}}  {f.message}")
        lines.append(f"{indent}-> {f.advice}")
    return lines
