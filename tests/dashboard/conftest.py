"""Shared fixtures of the dashboard tests (API and browser): a small study on disk and a real server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from dashboard_support import fill_storage


@pytest.fixture
def storage_url(tmp_path: Path) -> str:
    """A SQLite file holding the studies of :func:`fill_storage`."""
    url = f"sqlite:///{tmp_path / 'dash.db'}"
    fill_storage(url)
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def serve_dashboard() -> Iterator[Callable[..., str]]:
    """``serve(storage, **create_app options) -> base URL``: a uvicorn server in a thread, stopped after the test."""
    from tunesmith.dashboard import create_app
    from tunesmith.dashboard._server import DashboardServer, server_config

    servers: list[tuple[Any, threading.Thread]] = []

    def serve(storage: Any, **options: Any) -> str:
        options.setdefault("poll_interval", 0.2)
        app = create_app(storage, **options)
        port = free_port()
        server = DashboardServer(server_config(app, "127.0.0.1", port))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the dashboard server did not start")
            time.sleep(0.02)
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}{options.get('base_url', '').rstrip('/')}"

    yield serve
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=15)
        assert not thread.is_alive(), "the dashboard server did not stop"


@pytest.fixture
def dashboard_server(storage_url: str, serve_dashboard: Callable[..., str]) -> str:
    """The base URL of a real dashboard server over ``storage_url`` (read-only, no token)."""
    return serve_dashboard(storage_url)
