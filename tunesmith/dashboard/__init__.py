"""A live web dashboard over any study storage: ``tunesmith dashboard`` or :func:`run_server`.

An ASGI app (FastAPI on uvicorn, ``pip install "tunesmith[dashboard]"``) serving a JSON
API under ``/api`` (spec at ``/openapi.json``), server-sent events for live updates and
the browser pages. ``import tunesmith`` does not import it.

>>> from tunesmith.dashboard import run_server
>>> run_server("sqlite:///tunesmith.db")  # doctest: +SKIP
"""

from __future__ import annotations

try:
    import fastapi  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as _e:  # pragma: no cover - depends on the environment
    raise ImportError(
        f'the dashboard needs FastAPI and uvicorn ({_e.name} is missing): pip install "tunesmith[dashboard]"'
    ) from _e

from tunesmith.dashboard._app import create_app
from tunesmith.dashboard._server import run_server

__all__ = ["create_app", "run_server"]
