"""The JSON API under ``{base_url}/api``: studies, trials, plots, importance, diagnosis, events, writes.

A thin read layer: every answer comes from the study's in-memory copy
(:mod:`._data`) and the package's own views (``tunesmith.analysis``,
``tunesmith.visualization``, ``tunesmith.importance``). Slow answers (plots, importance,
diagnosis) are cached until the study changes.
"""

from __future__ import annotations

import datetime as _dt
import io
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from anyio.to_thread import run_sync
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from tunesmith.dashboard._data import Catalog, StudyData, TrialQuery, clean, param_info
from tunesmith.dashboard._events import EventHub
from tunesmith.dashboard._figures import PLOT_KINDS, build_figure, compute_importance, run_diagnosis
from tunesmith.dashboard._models import (
    CompareResponse,
    DiagnosisResponse,
    ErrorBody,
    ImportanceResponse,
    NotesBody,
    PlotFigure,
    StudiesResponse,
    StudyDetail,
    TrialDetail,
    TrialsPage,
)
from tunesmith.record import StudySummary, TrialState

__all__ = ["PAGE_HISTORY_POINTS", "DashboardState", "json_error", "prefetch_history", "router"]

log = logging.getLogger(__name__)

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 404, 422, 500, 503)
}
_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {**_ERRORS, 403: {"model": ErrorBody}}
_MAX_LIMIT = 1000
_HISTORY_POINTS = 1000
#: The ``max_trials`` of the study page's history plot (static/study.js asks for the same).
PAGE_HISTORY_POINTS = 1000

router = APIRouter(prefix="/api", responses=_ERRORS)


@dataclass
class DashboardState:
    """What every request of one app shares."""

    catalog: Catalog
    events: EventHub
    allow_writes: bool


def _state(request: Request) -> DashboardState:
    state: DashboardState = request.app.state.dashboard
    return state


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return _dt.datetime.fromtimestamp(ts, tz=_dt.timezone.utc).isoformat(timespec="milliseconds")


def _summary(s: StudySummary, data: StudyData | None) -> dict[str, Any]:
    return {
        "name": s.name, "directions": s.directions, "metric_names": s.metric_names, "n_trials": s.n_trials,
        "counts": {state.name: int(s.counts.get(state, 0)) for state in TrialState},
        "best_value": clean(s.best_value), "created_at": _iso(s.created_at),
        "last_activity": _iso(data.last_activity if data is not None else s.last_activity),
    }


def _data_summary(data: StudyData) -> dict[str, Any]:
    best = data.best_trial()
    return {
        "name": data.name, "directions": data.directions, "metric_names": data.metric_names,
        "n_trials": len(data), "counts": data.counts(),
        "best_value": clean(best.values[0]) if best is not None and best.values else None,
        "created_at": _iso(data.created_at), "last_activity": _iso(data.last_activity),
    }


async def _study(request: Request, name: str) -> StudyData:
    return await run_sync(_state(request).catalog.get, name)


# -- studies ------------------------------------------------------------------------------
@router.get("/studies", response_model=StudiesResponse)
async def list_studies(request: Request) -> dict[str, Any]:
    """Every study in the storage with its counts per state and best value (from the storage's summaries)."""
    catalog = _state(request).catalog
    summaries = await run_sync(catalog.storage.list_studies)
    return {"studies": [_summary(s, catalog.loaded(s.name)) for s in summaries]}


async def _study_light(request: Request, name: str) -> StudyData:
    """The study, synced if its copy is loaded; otherwise as it is (for the light reads: no trial loaded)."""
    catalog = _state(request).catalog
    data = await run_sync(lambda: catalog.get(name, sync=False))
    return data if not data.loaded else await _study(request, name)


@router.get("/studies/{name}", response_model=StudyDetail)
async def get_study(
    request: Request, name: str,
    quick: Annotated[bool, Query(description="if the server has not loaded the study's trials yet, answer from "
                                             "the storage's summaries (version null) instead of loading them")] = False,
) -> dict[str, Any]:
    """One study: its summary, parameters, user attributes (notes), best trial and the version for ``/events``."""
    data = await (_study_light(request, name) if quick else _study(request, name))
    writable = _state(request).allow_writes

    def detail() -> dict[str, Any]:
        if data.loaded:
            summary, version, best = _data_summary(data), data.version, data.best_trial()
        else:  # the light answer: counts and best trial from the storage's queries, no cursor
            counts, best = data.light_summary()
            summary = {
                "name": data.name, "directions": data.directions, "metric_names": data.metric_names,
                "n_trials": sum(counts.values()), "counts": counts,
                "best_value": clean(best.values[0]) if best is not None and best.values else None,
                "created_at": _iso(data.created_at), "last_activity": None,
            }
            version = None
        return {
            **summary, "version": version, "user_attrs": clean(data.user_attrs), "writable": writable,
            "params": [param_info(n, d) for n, d in sorted(data.distributions.items())],
            "best_trial": None if best is None else data.record(best),
        }

    return await run_sync(detail)


@router.delete("/studies/{name}", responses=_WRITE_ERRORS, status_code=204)
async def delete_study(request: Request, name: str) -> Response:
    """Delete the study with its trials and checkpoint folder (``tunesmith.delete_study``; needs --allow-writes)."""
    state = _writable(request)
    from tunesmith._delete import delete_study as delete

    await run_sync(lambda: delete(name, state.catalog.storage))
    state.catalog.forget(name)
    return Response(status_code=204)


@router.put("/studies/{name}/notes", response_model=StudyDetail, responses=_WRITE_ERRORS)
async def put_notes(request: Request, name: str, body: NotesBody) -> dict[str, Any]:
    """Store the study's notes (its user attribute ``notes``; needs --allow-writes)."""
    state = _writable(request)
    data = await _study(request, name)
    await run_sync(lambda: state.catalog.storage.set_study_user_attr(data.study_id, "notes", body.notes))
    return await get_study(request, name)


def _writable(request: Request) -> DashboardState:
    state = _state(request)
    if not state.allow_writes:
        raise HTTPException(403, "this dashboard is read-only; start it with --allow-writes to change studies")
    return state


# -- trials -------------------------------------------------------------------------------
def _param_filter(data: StudyData, raw: str, what: str, n_fields: int) -> tuple[str, list[str]]:
    """``name:rest...`` where name (a known parameter) may itself hold colons."""
    for i, ch in enumerate(raw):
        if ch == ":" and raw[:i] in data.distributions:
            rest = raw[i + 1:]
            return raw[:i], rest.split(":") if n_fields > 1 else [rest]
    shape = "<low>:<high>" if n_fields > 1 else "<a>,<b>"
    known = ", ".join(sorted(data.distributions)) or "none"
    raise HTTPException(400, f"{what}={raw!r}: expected <param>:{shape} with a parameter of the study ({known})")


def _trial_query(
    data: StudyData, sort: str, order: str, state: str | None, ranges: Sequence[str], choices: Sequence[str],
) -> TrialQuery:
    q = TrialQuery(sort=sort, descending=order == "desc")
    if not data.sort_key_ok(sort):
        raise HTTPException(400, f"sort={sort!r}: use number, state, duration, started_at, finished_at, value, "
                                 "values.<metric>, params.<name> or metrics.<name>")
    if state:
        names = [s.strip().upper() for s in state.split(",") if s.strip()]
        unknown = [s for s in names if s not in TrialState.__members__]
        if unknown:
            raise HTTPException(400, f"state={unknown[0]!r}: use {', '.join(TrialState.__members__)}")
        q.states = {TrialState[s] for s in names}
    for raw in ranges:
        name, bounds = _param_filter(data, raw, "range", 2)
        try:
            lo, hi = (float(b) for b in bounds)
        except ValueError:
            raise HTTPException(400, f"range={raw!r}: expected <param>:<low>:<high> with numbers") from None
        if math.isnan(lo) or math.isnan(hi):
            raise HTTPException(400, f"range={raw!r}: the bounds must be numbers")
        q.ranges.append((name, lo, hi))
    for raw in choices:
        name, (values,) = _param_filter(data, raw, "choice", 1)
        q.choices.append((name, set(values.split(","))))
    return q


@router.get(
    "/studies/{name}/trials", response_model=TrialsPage,
    responses={200: {"content": {"text/csv": {}}, "description": "the page, or with format=csv every matching row"}},
)
async def list_trials(
    request: Request, name: str,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=_MAX_LIMIT)] = 50,
    sort: str = "number",
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "asc",
    state: Annotated[str | None, Query(description="comma-separated states, e.g. COMPLETE,RUNNING")] = None,
    range: Annotated[list[str], Query(description="<param>:<low>:<high>, repeatable")] = [],  # noqa: B006
    choice: Annotated[list[str], Query(description="<param>:<a>,<b>, repeatable")] = [],  # noqa: B006
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Any:
    """A page of the study's trials, filtered and sorted (missing sort values last).

    ``format=csv``: every matching row (offset and limit ignored), as ``tunesmith export`` writes them.
    """
    data = await _study(request, name)
    q = _trial_query(data, sort, order, state, range, choice)
    if format == "csv":
        text = await run_sync(lambda: _csv(data, data.rows(data.query(q))))
        filename = "".join(c if c.isalnum() or c in "-_." else "_" for c in data.name) or "study"
        return Response(text, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}-trials.csv"'})

    def page() -> dict[str, Any]:
        rows = data.query(q)
        chosen = data.rows(rows[offset:offset + limit])
        return {"total": len(rows), "offset": offset, "limit": limit,
                "trials": [data.record(t) for t in chosen]}

    return await run_sync(page)


def _csv(data: StudyData, trials: Sequence[Any]) -> str:
    from tunesmith.analysis import trial_record
    from tunesmith.analysis._csv import write_csv

    out = io.StringIO()
    write_csv([trial_record(t, data.metric_names) for t in trials], data.metric_names, out)
    return out.getvalue()


@router.get("/studies/{name}/trials/{number}", response_model=TrialDetail)
async def get_trial(request: Request, name: str, number: int) -> dict[str, Any]:
    """One trial in full: its record (whole error text), reports, checkpoints (listed, never read) and attempts."""
    data = await _study(request, name)
    trial = data.trial(number)
    if trial is None:
        raise HTTPException(404, f"study {name!r} has no trial {number}")

    def detail() -> dict[str, Any]:
        from tunesmith.checkpoints import CheckpointConfig, CheckpointStore, default_artifact_root

        reports = data.storage.get_reports(data.study_id, trial.trial_id)
        record = data.storage.get_study(data.name)
        settings = record.settings
        store = CheckpointStore(settings.artifacts or default_artifact_root(data.storage.url), data.name,
                                CheckpointConfig(), key=settings.key)
        restore = trial.restore
        return {
            **data.record(trial, short_error=False), "retries": trial.retries,
            "restore": None if restore is None else clean(restore.to_json()), "continues": trial.continues,
            "attempt": trial.attempt,
            "reports": [{"step": int(s), "metrics": clean(m)} for s, m in reports],
            "checkpoints": [{"step": c.step, "path": c.path, "metrics": clean(c.metrics)} for c in store.list(number)],
        }

    return await run_sync(detail)


# -- views --------------------------------------------------------------------------------
@router.get("/studies/{name}/importance", response_model=ImportanceResponse)
async def importance(
    request: Request, name: str,
    evaluator: Annotated[str, Query(pattern="^(ped_anova|fanova|mdi)$")] = "ped_anova",
    target: str | None = None,
) -> dict[str, Any]:
    """Each parameter's importance (``tunesmith.importance``), cached until the study changes."""
    data = await _study(request, name)
    _check_target(data, target)
    found = await run_sync(lambda: data.cached(("importance", evaluator, target),
                                               lambda: compute_importance(data, evaluator, target)))
    return {"evaluator": evaluator, "target": target,
            "importances": [{"param": p, "importance": clean(v)} for p, v in found.items()]}


def _check_target(data: StudyData, target: str | None) -> None:
    if target is not None and not target:
        raise HTTPException(400, "target= must name an objective or a reported metric")


def _names(raw: str | None) -> list[str] | None:
    return None if raw is None else [p for p in raw.split(",") if p]


@router.get("/studies/{name}/plot/{kind}", response_model=PlotFigure)
async def plot(
    request: Request, name: str, kind: str,
    params: Annotated[str | None, Query(description="comma-separated parameter names")] = None,
    target: str | None = None,
    trials: Annotated[str | None, Query(description="comma-separated trial numbers (intermediate)")] = None,
    max_trials: Annotated[int | None, Query(ge=1, le=100_000)] = None,
) -> Response:
    """A plotly figure (``fig.to_plotly_json()``) from ``tunesmith.visualization``; 400 where it does not apply."""
    if kind not in PLOT_KINDS:
        raise HTTPException(404, f"no plot {kind!r}; plots: {', '.join(PLOT_KINDS)}")
    # The history reads the values alone: before the study's trials are loaded, from the storage's light read.
    data = await (_study_light(request, name) if kind == "history" else _study(request, name))
    _check_target(data, target)
    numbers: list[int] | None = None
    if trials is not None:
        try:
            numbers = [int(n) for n in trials.split(",") if n.strip()]
        except ValueError:
            raise HTTPException(400, f"trials={trials!r}: expected comma-separated trial numbers") from None
    names = _names(params)
    text = await run_sync(lambda: _figure(data, kind, names, target, numbers, max_trials))
    return Response(text, media_type="application/json")


def _figure(
    data: StudyData, kind: str, names: list[str] | None, target: str | None, numbers: list[int] | None,
    max_trials: int | None,
) -> str:
    key = ("plot", kind, tuple(names or ()), target, tuple(numbers or ()), max_trials)
    return str(data.cached(key, lambda: build_figure(data, kind, names, target, numbers, max_trials)))


def prefetch_history(state: DashboardState, name: str) -> None:
    """Make the history plot a study page asks for first (``max_trials`` :data:`PAGE_HISTORY_POINTS`) while
    the browser is still loading the page's scripts; nothing happens for an unknown study or one with
    several objectives (the page names a target), and errors are left for the page's own request."""
    try:
        data = state.catalog.get(name, sync=False)
        if len(data.directions) == 1 and not data.loaded:
            _figure(data, "history", None, None, None, PAGE_HISTORY_POINTS)
    except Exception as e:  # the page's own request reports it
        log.debug("dashboard: prefetching the history of %r failed: %s", name, e)


@router.get("/studies/{name}/diagnosis", response_model=DiagnosisResponse)
async def diagnosis(request: Request, name: str) -> dict[str, Any]:
    """Learning-curve findings of the study (``tunesmith.analysis.diagnose``), cached until it changes."""
    data = await _study(request, name)
    found = await run_sync(lambda: data.cached(("diagnosis",), lambda: run_diagnosis(data)))
    return {
        "summary": {k: int(v) for k, v in found.summary.items()},
        "findings": [{"kind": f.kind, "trial": f.trial, "steps": list(f.steps), "message": f.message,
                      "advice": f.advice} for f in found],
    }


@router.get(
    "/studies/{name}/events",
    responses={200: {"content": {"text/event-stream": {}}, "description": "a `trials` event per change"}},
)
async def events(request: Request, name: str, since: Annotated[int | None, Query(ge=0)] = None) -> StreamingResponse:
    """Server-sent events: ``trials`` with ``{version, trials, counts, best_value}`` each time the study changes.

    ``since``: the ``version`` of the client's copy (from ``GET /studies/{name}``); default: now.
    """
    data = await _study(request, name)
    stream = _state(request).events.stream(data, data.version if since is None else since, request.is_disconnected)
    return StreamingResponse(stream, media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/compare", response_model=CompareResponse)
async def compare(
    request: Request,
    studies: Annotated[str, Query(description="comma-separated study names", min_length=1, pattern="[^,]")],
) -> dict[str, Any]:
    """Each study's summary and best-so-far history (first objective, downsampled) for one overlay chart."""
    names = [n for n in studies.split(",") if n]
    if not names:
        raise HTTPException(400, "studies= needs at least one study name")
    out = []
    for n in dict.fromkeys(names):
        out.append(await run_sync(_compared, await _study(request, n)))
    return {"studies": out}


def _compared(data: StudyData) -> dict[str, Any]:
    return {**_data_summary(data), "history": data.cached(("history",), lambda: _best_history(data))}


def _best_history(data: StudyData) -> list[dict[str, Any]]:
    """The best first objective so far, at each trial that improved it (at most ~1000 points, the last kept)."""
    if not data.directions:
        return []
    trials = [t for t in data.stored_trials if t.state == TrialState.COMPLETE and t.values]
    if not trials:
        return []
    v = np.array([t.values[0] if t.values else np.nan for t in trials], dtype=float)
    sign = -1.0 if data.directions[0] == "maximize" else 1.0
    loss = np.where(np.isnan(v), np.inf, sign * v)
    best = np.minimum.accumulate(loss)
    changed = np.flatnonzero(np.r_[True, best[1:] < best[:-1]])
    if len(changed) > _HISTORY_POINTS:
        changed = changed[np.linspace(0, len(changed) - 1, _HISTORY_POINTS).astype(int)]
    keep = np.unique(np.r_[changed, len(trials) - 1])
    return [{"number": trials[i].number, "best_value": clean(float(sign * best[i]))} for i in keep]


def json_error(status: int, message: str) -> JSONResponse:
    """The API's error body."""
    return JSONResponse({"error": message}, status_code=status)

