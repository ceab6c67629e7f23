"""The dashboard's fast paths (issue 22): the quick study answer and the light history before a study's
trials are loaded, the prefetch on the study page, the lazily converted copy, the incrementally kept
columns and the cache's single flight. Each checked against the plain path over the same SQLite file."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

import tunesmith
from tunesmith.dashboard import create_app
from tunesmith.dashboard._data import Catalog, StudyData, TrialQuery
from tunesmith.record import TrialState
from tunesmith.storage import get_storage


def _ok(resp: Any) -> Any:
    assert resp.status_code == 200, resp.text
    return resp.json()


def _app_data(client: TestClient, name: str) -> StudyData | None:
    data: StudyData | None = client.app.state.dashboard.catalog.loaded(name)  # type: ignore[attr-defined]
    return data


@pytest.fixture
def client(storage_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(storage_url), raise_server_exceptions=False) as c:
        yield c


def test_detail_says_whether_the_server_accepts_writes(storage_url: str) -> None:
    for allow in (False, True):
        with TestClient(create_app(storage_url, allow_writes=allow)) as c:
            assert _ok(c.get("/api/studies/demo"))["writable"] is allow
            assert _ok(c.get("/api/studies/demo", params={"quick": 1}))["writable"] is allow


def test_quick_detail_before_the_load_then_the_full_one(client: TestClient) -> None:
    quick = _ok(client.get("/api/studies/demo", params={"quick": "true"}))
    data = _app_data(client, "demo")
    assert data is not None and not data.loaded and len(data) == 0  # nothing read but the summaries
    assert quick["version"] is None and quick["last_activity"] is None
    full = _ok(client.get("/api/studies/demo"))
    assert data.loaded and len(data) == 12 and isinstance(full["version"], int) and full["version"] > 0
    for key in ("name", "directions", "metric_names", "n_trials", "counts", "best_value", "params", "best_trial",
                "user_attrs", "created_at"):
        assert quick[key] == full[key], key
    assert quick["best_trial"]["params"]["opt"] in ("adam", "sgd") or "img" in quick["best_trial"]["params"]["opt"]
    # Once loaded, quick answers in full (with the cursor).
    again = _ok(client.get("/api/studies/demo", params={"quick": 1}))
    assert again["version"] == full["version"] and again["last_activity"] == full["last_activity"]


def test_quick_detail_of_an_unknown_study_is_404(client: TestClient) -> None:
    resp = client.get("/api/studies/nope", params={"quick": 1})
    assert resp.status_code == 404 and "nope" in resp.json()["error"]


@pytest.mark.parametrize("query", [{}, {"max_trials": 3}, {"target": "loss"}, {"target": "val_loss"}])
def test_light_history_is_the_loaded_history(storage_url: str, query: dict[str, Any]) -> None:
    with TestClient(create_app(storage_url)) as c:
        light = _ok(c.get("/api/studies/demo/plot/history", params=query))
        data = _app_data(c, "demo")
        assert data is not None and not data.loaded  # drawn from the storage's light read
    with TestClient(create_app(storage_url)) as c:
        _ok(c.get("/api/studies/demo"))  # load the copy first
        loaded = _ok(c.get("/api/studies/demo/plot/history", params=query))
    assert light == loaded


def test_light_history_of_two_objectives_needs_a_target(client: TestClient) -> None:
    resp = client.get("/api/studies/multi/plot/history")
    assert resp.status_code == 400 and "target" in resp.json()["error"]
    fig = _ok(client.get("/api/studies/multi/plot/history", params={"target": "value_1"}))
    assert len(fig["data"]) >= 2


def test_light_history_shows_running_trials_at_their_last_report(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'run.db'}"
    study = tunesmith.create_study("s", url, metric="loss")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    storage = get_storage(url)
    sid = storage.get_study("s").study_id
    running = storage.start_trial(sid)
    storage.append_report(sid, running.trial_id, 2, {"loss": 0.125}, attempt=running.attempt)
    with TestClient(create_app(url)) as c:
        light = _ok(c.get("/api/studies/s/plot/history"))
        _ok(c.get("/api/studies/s"))
        loaded = _ok(c.get("/api/studies/s/plot/history"))
    assert light == loaded
    names = [t["name"] for t in light["data"]]
    assert "Running" in names


def test_study_page_prefetches_the_page_history(client: TestClient) -> None:
    from tunesmith.dashboard._api import PAGE_HISTORY_POINTS

    page = client.get("/studies/demo")
    assert page.status_code == 200 and 'rel="preload"' in page.text and "plotly.min.js" in page.text
    data = _app_data(client, "demo")
    assert data is not None and not data.loaded
    key = ("plot", "history", (), None, (), PAGE_HISTORY_POINTS)
    assert key in data._cache  # made while the page was sent (TestClient runs the background task first)
    made = data._cache[key]
    fig = client.get("/api/studies/demo/plot/history", params={"max_trials": PAGE_HISTORY_POINTS})
    assert fig.text == made
    # The list of studies has no plot: no preload there; an unknown study's page is still the page.
    assert 'rel="preload"' not in client.get("/").text
    assert client.get("/studies/nope").status_code == 200


def test_copy_converts_parameters_only_when_read(storage_url: str) -> None:
    data = Catalog(get_storage(storage_url, read_only=True)).get("demo")
    assert not data._external.any()  # the first load converted nothing
    page = data.rows(data.query(TrialQuery(sort="number"))[:2])
    assert int(data._external.sum()) == 2
    assert page[0].params["opt"] in ("adam", "sgd") or "img" in page[0].params["opt"]
    stored = data.stored_trials
    assert stored[5].params == {} and stored[5].internal_params  # as decoded (rows 0 and 1 converted above)
    trials = data.trials
    assert data._external.all() and [t.number for t in trials] == list(range(12))
    study = tunesmith.load_study("demo", storage_url)
    for mine, theirs in zip(trials, study.trials, strict=True):
        assert mine.params == theirs.params and mine.distributions == theirs.distributions
        assert mine.values == theirs.values and mine.state == theirs.state


def test_columns_kept_in_step_with_live_changes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    study = tunesmith.create_study("s", url, metric="loss")
    study.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_int("n", 0, 3), n_trials=20)
    storage = get_storage(url)
    data = Catalog(storage, min_interval=0.0).get("s")
    sid = data.study_id
    sorts = ("number", "state", "value", "duration", "values.loss", "params.x")
    for sort in sorts:
        data.query(TrialQuery(sort=sort))  # build and cache each column
    running = storage.start_trial(sid)
    done = storage.start_trial(sid)
    storage.finish_trial(sid, done.trial_id, TrialState.COMPLETE, [-5.0], None, {}, {}, attempt=done.attempt)
    assert data.sync()
    assert data.best_trial() is not None and data.best_trial().number == done.number  # type: ignore[union-attr]
    assert data.counts()["RUNNING"] == 1 and data.counts()["COMPLETE"] == 21
    fresh = Catalog(get_storage(url, read_only=True)).get("s")
    for sort in sorts:
        for descending in (False, True):
            q = TrialQuery(sort=sort, descending=descending)
            assert [t.number for t in data.rows(data.query(q))] == [t.number for t in fresh.rows(fresh.query(q))]
    for key in ("number", "state", "value", "duration", "values.loss"):
        assert np.array_equal(data._column(key)[0], fresh._column(key)[0], equal_nan=True), key
    assert running.number in [t.number for t in data.changed_since(0)]


def test_cache_makes_each_key_once_for_concurrent_callers(storage_url: str) -> None:
    data = Catalog(get_storage(storage_url, read_only=True)).get("demo")
    calls: list[int] = []
    gate = threading.Event()

    def make() -> str:
        calls.append(1)
        gate.wait(5)
        return "figure"

    out: list[str] = []
    threads = [threading.Thread(target=lambda: out.append(data.cached("k", make))) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join(5)
    assert out == ["figure"] * 4 and len(calls) == 1


def test_cache_failure_lets_the_next_caller_try_again(storage_url: str) -> None:
    data = Catalog(get_storage(storage_url, read_only=True)).get("demo")

    def fail() -> str:
        raise ValueError("no")

    with pytest.raises(ValueError):
        data.cached("k", fail)
    assert data.cached("k", lambda: "ok") == "ok" and data.cached("k", fail) == "ok"


@pytest.mark.parametrize("bad", [{"poll_interval": 0}, {"sync_interval": -1.0}, {"heartbeat": float("nan")}])
def test_intervals_must_be_positive(storage_url: str, bad: dict[str, float]) -> None:
    name = next(iter(bad))
    with pytest.raises(ValueError, match=name):
        create_app(storage_url, **bad)  # type: ignore[arg-type]


def test_history_json_is_plotly(client: TestClient) -> None:
    fig = json.loads(client.get("/api/studies/demo/plot/history").text)
    assert {t["type"] for t in fig["data"]} <= {"scatter", "scattergl"} and fig["layout"]["xaxis"]["title"]


def test_a_big_sync_converts_every_trial_on_a_thread(storage_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tunesmith.dashboard import _data

    monkeypatch.setattr(_data, "_CONVERT_AHEAD", 5)
    monkeypatch.setattr(_data, "_CONVERT_CHUNK", 4)
    data = Catalog(get_storage(storage_url, read_only=True)).get("demo")
    assert data._converter is not None
    data._converter.join(10)
    assert data._external.all()
    assert [t.params for t in data.trials] == [t.params for t in tunesmith.load_study("demo", storage_url).trials]


def test_quick_answer_follows_a_study_deleted_and_created_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'again.db'}"
    tunesmith.create_study("s", url).optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    with TestClient(create_app(url)) as c:
        assert _ok(c.get("/api/studies/s", params={"quick": 1}))["n_trials"] == 3
        tunesmith.delete_study("s", url)
        assert c.get("/api/studies/s", params={"quick": 1}).status_code == 404
        tunesmith.create_study("s", url).optimize(lambda t: t.suggest_float("y", 0, 1), n_trials=2)
        again = _ok(c.get("/api/studies/s", params={"quick": 1}))
        assert again["n_trials"] == 2 and [p["name"] for p in again["params"]] == ["y"]
