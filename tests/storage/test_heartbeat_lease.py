"""The heartbeat renews its own attempt's lease only: a worker that stalled cannot keep its successor alive."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tunesmith.execution._heartbeat import Heartbeat
from tunesmith.storage import InMemoryStorage, SQLStorage, Storage


@pytest.fixture(params=["memory", "sqlite"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    return InMemoryStorage() if request.param == "memory" else SQLStorage(f"sqlite:///{tmp_path}/s.db")


def _heartbeat_at(storage: Storage, sid: int, trial_id: int) -> float | None:
    return next(t.heartbeat_at for t in storage.get_trials(sid)[0] if t.trial_id == trial_id)


def _wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize("told_attempt", [True, False], ids=["attempt given", "attempt read"])
def test_stalled_worker_heartbeat_stops_at_the_lost_lease(storage: Storage, told_attempt: bool) -> None:
    sid = storage.create_study("s", ["minimize"], ["loss"]).study_id
    mine = storage.start_trial(sid)
    # grace is long: nothing here is taken back by the heartbeat's own recovery
    with Heartbeat(storage, sid, interval=0.05, grace=3600.0, max_retries=1) as beat:
        beat.running(mine.trial_id, mine.attempt if told_attempt else None)
        first = _heartbeat_at(storage, sid, mine.trial_id)
        assert _wait_for(lambda: _heartbeat_at(storage, sid, mine.trial_id) != first)  # renewing
        # This worker stalls; its trial is taken back and another worker starts it.
        storage.recover_trials(sid, trial_ids=[mine.trial_id], max_retries=1)
        successor = storage.start_trial(sid)
        assert successor.attempt == mine.attempt + 1
        assert _wait_for(lambda: beat._lease is None)  # refused once, then renews it no more
        leased = _heartbeat_at(storage, sid, successor.trial_id)
        time.sleep(0.3)  # six intervals
        assert _heartbeat_at(storage, sid, successor.trial_id) == leased
