"""The dashboard's ASGI app: the JSON API, the pages (when present), the token gate and one error format.

Every error is JSON ``{"error": "..."}``: 404 for an unknown study or trial, 400/422 for
a bad query value, 401 without the token, 403 for a write the server was not started to
allow, 500 (no traceback, the details in the server's log) for anything else.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tunesmith.dashboard._api import DashboardState, json_error, router
from tunesmith.dashboard._auth import TokenGate
from tunesmith.dashboard._data import Catalog
from tunesmith.dashboard._events import EventHub
from tunesmith.exceptions import StorageError, StudyNotFoundError
from tunesmith.storage import Storage, get_storage

__all__ = ["create_app", "normalize_base_url"]

log = logging.getLogger(__name__)
_TOKEN = re.compile(r"[A-Za-z0-9._~+/=-]+")


def normalize_base_url(base_url: str) -> str:
    """``""`` or ``/prefix`` (one leading slash, none trailing); ValueError for anything else."""
    base = (base_url or "").strip()
    if base in ("", "/"):
        return ""
    base = "/" + base.strip("/")
    if not re.fullmatch(r"(/[A-Za-z0-9._~-]+)+", base):
        raise ValueError(f"base_url must be a path such as '/tunesmith' (letters, digits, . _ ~ -); got {base_url!r}")
    return base


def _validation_message(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "path", "body"))
    return f"{where or 'request'}: {first.get('msg', 'invalid value')}"


def create_app(
    storage: Storage | str, *, base_url: str = "", token: str | None = None, allow_writes: bool = False,
    poll_interval: float = 0.1, heartbeat: float = 15.0, sync_interval: float = 0.5,
) -> Any:
    """The dashboard as a FastAPI app over ``storage`` (a Storage, or a URL opened read-only unless ``allow_writes``).

    Args:
        base_url: a path prefix (``"/tunesmith"``) when served behind a proxy at one.
        token: when given, every request needs it (``Authorization: Bearer``, ``?token=`` or its cookie).
        allow_writes: let the API change studies (notes, delete); otherwise such calls get 403.
        poll_interval: seconds between two reads of a watched study's changes (each one indexed query
            that finds nothing when nothing changed, so a short interval loads the storage little).
        sync_interval: seconds a request reuses its study's copy before asking the storage for changes.
        heartbeat: seconds between two keep-alive comments of an idle event stream.

    >>> app = create_app("sqlite:///example.db", token="secret")  # doctest: +SKIP
    """
    base = normalize_base_url(base_url)
    for name, value in (("poll_interval", poll_interval), ("sync_interval", sync_interval), ("heartbeat", heartbeat)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number of seconds; got {value!r}")
    if token is not None and not _TOKEN.fullmatch(token):
        raise ValueError("token must be non-empty and made of letters, digits and . _ ~ + / = -")
    store = storage if isinstance(storage, Storage) else get_storage(storage, read_only=not allow_writes)
    events = EventHub(poll_interval, heartbeat)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _warm_up()
        yield
        await events.close()

    app = FastAPI(
        title="tunesmith dashboard", summary="The study record, live: studies, trials, plots and events.",
        openapi_url=f"{base}/openapi.json", docs_url=f"{base}/docs", redoc_url=None, lifespan=lifespan,
    )
    app.state.dashboard = DashboardState(Catalog(store, sync_interval), events, allow_writes)
    app.include_router(router, prefix=base)
    _add_error_handlers(app)
    if importlib.util.find_spec("tunesmith.dashboard._pages") is not None:
        from tunesmith.dashboard._pages import mount_pages  # the browser half, when installed

        mount_pages(app, base)
    app.add_middleware(TokenGate, token=token, cookie_path=base or "/")
    return app


def _warm_up() -> None:
    """Import the plotting modules and build a tiny figure (plotly's validators load on first use): about
    0.3 s at startup, so the first page's first plot does not pay for it."""
    try:
        import plotly.graph_objects as go

        import tunesmith.visualization  # noqa: F401

        go.Figure(go.Scattergl(x=[0], y=[0])).to_plotly_json()
    except ImportError:  # pragma: no cover - plotly is in the dashboard extra; the plots say what is missing
        pass


def _add_error_handlers(app: FastAPI) -> None:
    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such page or API route: {request.url.path}"
        return JSONResponse({"error": detail}, status_code=exc.status_code, headers=exc.headers)

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return json_error(422, _validation_message(exc))

    async def not_found(request: Request, exc: Exception) -> JSONResponse:
        return json_error(404, str(exc).strip("'\""))

    async def bad_value(request: Request, exc: Exception) -> JSONResponse:
        text = str(exc).strip().splitlines()
        return json_error(400, text[0] if text else type(exc).__name__)

    async def storage_error(request: Request, exc: Exception) -> JSONResponse:
        text = str(exc).strip().splitlines()
        log.warning("dashboard: storage error on %s: %s", request.url.path, exc)
        return json_error(503, f"storage: {text[0] if text else type(exc).__name__}")

    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("dashboard: %s %s failed", request.method, request.url.path)
        return json_error(500, f"internal error ({type(exc).__name__}); see the server's log")

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StudyNotFoundError, not_found)
    app.add_exception_handler(ValueError, bad_value)
    app.add_exception_handler(StorageError, storage_error)
    app.add_exception_handler(Exception, internal)
