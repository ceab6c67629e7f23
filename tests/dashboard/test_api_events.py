"""The event stream of a real server, while another process writes the study."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

pytest.importorskip("fastapi")

_WRITER = """
import sys, tunesmith
study = tunesmith.load_study("demo", sys.argv[1])
study.optimize(lambda t: t.suggest_float("lr", 1e-4, 1e-1, log=True), n_trials=2)
"""


def _events(resp: httpx.Response) -> Iterator[tuple[str, Any]]:
    event, data = None, None
    for line in resp.iter_lines():
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            data = json.loads(line.split(":", 1)[1])
        elif line == "" and event is not None:
            yield event, data
            event, data = None, None


def _watch_while_writing(base: str, url: str) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        detail = client.get("/api/studies/demo").json()
        version, n = detail["version"], detail["n_trials"]
        with client.stream("GET", "/api/studies/demo/events", params={"since": version}) as resp:
            assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
            writer = subprocess.Popen([sys.executable, "-c", _WRITER, url])
            seen: dict[int, str] = {}
            deadline = time.monotonic() + 60
            for event, data in _events(resp):
                assert event == "trials" and data["version"] > version
                version = data["version"]
                for t in data["trials"]:
                    assert t["number"] >= n  # only what changed since the cursor
                    seen[t["number"]] = t["state"]
                if seen == {n: "COMPLETE", n + 1: "COMPLETE"} or time.monotonic() > deadline:
                    assert data["counts"]["COMPLETE"] >= n
                    break
            assert writer.wait(timeout=60) == 0
        assert seen == {n: "COMPLETE", n + 1: "COMPLETE"}


def test_event_stream_sqlite(dashboard_server: str, storage_url: str) -> None:
    _watch_while_writing(dashboard_server, storage_url)


def test_event_stream_postgres(fresh_postgres_url: str, serve_dashboard: Callable[..., str]) -> None:
    from dashboard_support import fill_storage

    fill_storage(fresh_postgres_url, n_trials=4)
    _watch_while_writing(serve_dashboard(fresh_postgres_url), fresh_postgres_url)


def test_stream_catches_up_from_an_old_cursor_and_heartbeats(storage_url: str, serve_dashboard: Any) -> None:
    base = serve_dashboard(storage_url, heartbeat=0.3)
    with httpx.Client(base_url=base, timeout=30) as client:
        with client.stream("GET", "/api/studies/demo/events", params={"since": 0}) as resp:
            lines = resp.iter_lines()
            first = next(e for e in _events_from(lines))
            assert len(first["trials"]) == 12
            assert any(line.startswith(": heartbeat") for line in _take(lines, 5))


def _events_from(lines: Iterator[str]) -> Iterator[Any]:
    for line in lines:
        if line.startswith("data:"):
            yield json.loads(line.split(":", 1)[1])


def _take(lines: Iterator[str], n: int) -> list[str]:
    out = []
    for line in lines:
        if line:
            out.append(line)
            if len(out) >= n or line.startswith(": heartbeat"):
                break
    return out


def test_server_stops_with_a_stream_open(storage_url: str, serve_dashboard: Any) -> None:
    # The fixture's teardown asserts the server thread ends although this stream is still open.
    base = serve_dashboard(storage_url)
    client = httpx.Client(base_url=base, timeout=30)
    resp = client.send(client.build_request("GET", "/api/studies/demo/events"), stream=True)
    assert resp.status_code == 200
