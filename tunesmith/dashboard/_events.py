"""Live updates: one poller per watched study, its changes fanned out to every viewer as server-sent events.

A study's poller syncs its in-memory copy (:class:`~._data.StudyData`) every ``interval``
seconds (0.1 by default) while someone watches it, and wakes the viewers when something
changed. A poll that finds nothing is one indexed query (trials with a newer version):
cheap enough to ask often, so a finished trial reaches the page about 0.1 s after its
commit. Each poll that finds changes updates the copy's cached columns in place, so
an event at 100k trials costs about a millisecond to build. Each viewer keeps its own
cursor (the version it last received) and is sent only the trials changed since, read
from memory: a slow viewer never makes the poller wait and never misses a change. A
comment line every ``heartbeat`` seconds keeps proxies from closing an idle stream.
Streams end when the client goes or the server stops.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio.to_thread

from tunesmith.dashboard._data import StudyData, clean

__all__ = ["EventHub", "event_payload"]

log = logging.getLogger(__name__)


def event_payload(data: StudyData, since: int) -> tuple[dict[str, Any], int] | None:
    """The ``trials`` event for a viewer at version ``since``: what changed, counts, best value; None if nothing did."""
    if data.version == since:
        return None
    changed = data.changed_since(since)
    best = data.best_trial()
    payload = {
        "version": data.version,
        "trials": [data.record(t) for t in changed],
        "counts": data.counts(),
        "best_value": clean(best.values[0]) if best is not None and best.values else None,
    }
    return payload, data.version


class _Watch:
    """A watched study: its poller task and the condition its viewers wait on."""

    def __init__(self, data: StudyData) -> None:
        self.data = data
        self.changed = asyncio.Condition()
        self.viewers = 0
        self.task: asyncio.Task[None] | None = None


class EventHub:
    """Every study's poller and viewers (one hub per app)."""

    def __init__(self, interval: float = 0.1, heartbeat: float = 15.0) -> None:
        self.interval = interval
        self.heartbeat = heartbeat
        self._watches: dict[tuple[str, int], _Watch] = {}
        self._closing = asyncio.Event()

    async def close(self) -> None:
        """End every stream (server shutdown) and stop the pollers."""
        self._closing.set()
        for watch in list(self._watches.values()):
            async with watch.changed:
                watch.changed.notify_all()
            if watch.task is not None:
                watch.task.cancel()

    async def _poll(self, watch: _Watch) -> None:
        while not self._closing.is_set() and watch.viewers > 0:
            try:
                changed = await anyio.to_thread.run_sync(lambda: watch.data.sync(force=True))
            except Exception as e:  # a lost connection: keep the viewers, try again later
                log.warning("dashboard: polling study %r failed: %s", watch.data.name, e)
                changed = []
            if changed:
                async with watch.changed:
                    watch.changed.notify_all()
            await asyncio.sleep(self.interval)

    async def stream(
        self, data: StudyData, since: int, disconnected: Callable[[], Any],
    ) -> AsyncIterator[str]:
        """The event stream of one viewer of ``data`` whose copy is at version ``since``."""
        key = (data.name, data.study_id)
        watch = self._watches.get(key)
        if watch is None or watch.data is not data:
            watch = self._watches[key] = _Watch(data)
        watch.viewers += 1
        if watch.task is None or watch.task.done():
            watch.task = asyncio.create_task(self._poll(watch))
        try:
            yield f"retry: 2000\n: connected at version {data.version}\n\n"
            cursor = since
            while not self._closing.is_set():
                found = await anyio.to_thread.run_sync(event_payload, data, cursor)
                if found is not None:
                    payload, cursor = found
                    yield f"id: {cursor}\nevent: trials\ndata: {json.dumps(payload, allow_nan=False)}\n\n"
                    continue
                async with watch.changed:
                    try:
                        await asyncio.wait_for(watch.changed.wait(), self.heartbeat)
                    except asyncio.TimeoutError:
                        if await disconnected():
                            return
                        yield ": heartbeat\n\n"
        finally:
            watch.viewers -= 1
            if watch.viewers <= 0 and self._watches.get(key) is watch:
                del self._watches[key]
                if watch.task is not None:
                    watch.task.cancel()
