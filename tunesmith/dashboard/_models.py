"""The JSON API's response bodies, as pydantic models: they make ``/openapi.json`` exact.

Non-finite numbers (NaN, infinities) have no JSON spelling: the API sends them as null.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "CompareEntry", "CompareResponse", "Counts", "DiagnosisResponse", "ErrorBody", "FindingBody", "HistoryPoint",
    "ImportanceEntry", "ImportanceResponse", "NotesBody", "ParamInfo", "PlotFigure", "StudiesResponse",
    "StudyDetail", "StudySummaryBody", "TrialDetail", "TrialSummary", "TrialsPage",
]


class ErrorBody(BaseModel):
    """Every error: one line saying what went wrong (never a traceback)."""

    error: str


class Counts(BaseModel):
    """Trials per state."""

    WAITING: int = 0
    RUNNING: int = 0
    COMPLETE: int = 0
    PRUNED: int = 0
    FAILED: int = 0
    PAUSED: int = 0


class StudySummaryBody(BaseModel):
    name: str
    directions: list[str]
    metric_names: list[str]
    n_trials: int
    counts: Counts
    best_value: float | None = Field(description="best first objective of a COMPLETE trial")
    created_at: str = Field(description="ISO 8601, UTC")
    last_activity: str | None = Field(
        description="ISO 8601, UTC: the latest start, finish or heartbeat seen (null until the study is opened)",
    )


class StudiesResponse(BaseModel):
    studies: list[StudySummaryBody]


class ParamInfo(BaseModel):
    name: str
    distribution: str
    kind: str = Field(description="float, int, categorical, normal or derived")
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: list[Any] | None = None


class TrialSummary(BaseModel):
    """A trial's export record (``tunesmith.analysis.trial_record``); in lists, the error's last line only."""

    number: int
    state: str
    values: dict[str, float | None]
    params: dict[str, Any]
    last_step: int | None
    metrics: dict[str, Any]
    user_attrs: dict[str, Any]
    started_at: str | None
    finished_at: str | None
    duration: float | None
    error: str | None


class StudyDetail(StudySummaryBody):
    params: list[ParamInfo]
    version: int | None = Field(description="the cursor for /events?since= (null: a ?quick answer given before "
                                             "the server loaded the trials; ask again without quick for it)")
    user_attrs: dict[str, Any] = Field(description="notes live in user_attrs['notes']")
    best_trial: TrialSummary | None
    writable: bool = Field(description="whether this server accepts writes (notes, delete): --allow-writes")


class TrialsPage(BaseModel):
    total: int = Field(description="trials matching the filters")
    offset: int
    limit: int
    trials: list[TrialSummary]


class ReportBody(BaseModel):
    step: int
    metrics: dict[str, Any]


class CheckpointBody(BaseModel):
    step: int
    path: str
    metrics: dict[str, Any]


class TrialDetail(TrialSummary):
    retries: int
    restore: dict[str, Any] | None
    continues: int | None
    attempt: int
    reports: list[ReportBody]
    checkpoints: list[CheckpointBody]


class ImportanceEntry(BaseModel):
    param: str
    importance: float | None


class ImportanceResponse(BaseModel):
    evaluator: str
    target: str | None
    importances: list[ImportanceEntry]


class PlotFigure(BaseModel):
    """A plotly figure (``fig.to_plotly_json()``) for ``Plotly.react``."""

    data: list[dict[str, Any]]
    layout: dict[str, Any]


class FindingBody(BaseModel):
    kind: str
    trial: int | None
    steps: list[int]
    message: str
    advice: str


class DiagnosisResponse(BaseModel):
    summary: dict[str, int] = Field(description="trials per kind of finding")
    findings: list[FindingBody]


class HistoryPoint(BaseModel):
    number: int
    best_value: float | None


class CompareEntry(StudySummaryBody):
    history: list[HistoryPoint] = Field(description="best value so far (first objective) where it changed, downsampled")


class CompareResponse(BaseModel):
    studies: list[CompareEntry]


class NotesBody(BaseModel):
    notes: str
