"""The dashboard's JSON API over a real SQLite file (FastAPI's TestClient)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from dashboard_support import XSS

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from tunesmith.dashboard import create_app


@pytest.fixture
def client(storage_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(storage_url), raise_server_exceptions=False) as c:
        yield c


def _ok(resp: Any) -> Any:
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_studies_list(client: TestClient) -> None:
    studies = {s["name"]: s for s in _ok(client.get("/api/studies"))["studies"]}
    assert set(studies) == {"demo", "multi"}
    demo = studies["demo"]
    assert demo["directions"] == ["minimize"] and demo["metric_names"] == ["loss"]
    assert demo["n_trials"] == 12 and demo["counts"]["FAILED"] == 1 and demo["counts"]["COMPLETE"] == 11
    assert set(demo["counts"]) == {"WAITING", "RUNNING", "COMPLETE", "PRUNED", "FAILED", "PAUSED"}
    assert isinstance(demo["best_value"], float) and demo["created_at"].endswith("+00:00")
    # Known before the study is loaded (the list page is the first one a user sees).
    assert demo["last_activity"] is not None and demo["last_activity"] >= demo["created_at"]


def test_study_detail(client: TestClient) -> None:
    d = _ok(client.get("/api/studies/demo"))
    params = {p["name"]: p for p in d["params"]}
    assert params["lr"] == {"name": "lr", "distribution": params["lr"]["distribution"], "kind": "float",
                            "low": 1e-4, "high": 1e-1, "log": True, "choices": None}
    assert params["opt"]["kind"] == "categorical" and params["opt"]["choices"] == ["adam", "sgd", XSS]
    assert params["layers"]["kind"] == "int"
    assert d["version"] > 0 and d["user_attrs"] == {} and d["last_activity"] is not None
    assert d["best_trial"]["values"]["loss"] == d["best_value"]


def test_trials_page_sort_filter(client: TestClient) -> None:
    page = _ok(client.get("/api/studies/demo/trials", params={"limit": 5}))
    assert page["total"] == 12 and page["offset"] == 0 and page["limit"] == 5
    assert [t["number"] for t in page["trials"]] == [0, 1, 2, 3, 4]
    failed = page["trials"][3]
    assert failed["state"] == "FAILED" and failed["error"] == "second line"  # one line in lists
    assert set(failed) >= {"values", "params", "last_step", "metrics", "user_attrs", "started_at", "duration"}
    by_value = _ok(client.get("/api/studies/demo/trials", params={"sort": "value", "limit": 100}))["trials"]
    values = [t["values"]["loss"] for t in by_value]
    assert values[-1] is None and values[:-1] == sorted(values[:-1])  # missing last
    desc = _ok(client.get("/api/studies/demo/trials", params={"sort": "value", "order": "desc"}))["trials"]
    assert [t["values"]["loss"] for t in desc][:-1] == sorted(values[:-1], reverse=True)
    assert desc[-1]["values"]["loss"] is None
    by_lr = _ok(client.get("/api/studies/demo/trials", params={"sort": "params.lr"}))["trials"]
    assert [t["params"]["lr"] for t in by_lr] == sorted(t["params"]["lr"] for t in by_lr)
    states = _ok(client.get("/api/studies/demo/trials", params={"state": "FAILED"}))
    assert states["total"] == 1 and states["trials"][0]["number"] == 3
    ranged = _ok(client.get("/api/studies/demo/trials", params=[("range", "lr:0.001:0.1"), ("range", "layers:2:4")]))
    assert ranged["trials"] and all(0.001 <= t["params"]["lr"] <= 0.1 and t["params"]["layers"] >= 2
                                    for t in ranged["trials"])
    chosen = _ok(client.get("/api/studies/demo/trials", params={"choice": "opt:adam,sgd", "limit": 100}))
    assert all(t["params"]["opt"] in ("adam", "sgd") for t in chosen["trials"])
    xss = _ok(client.get("/api/studies/demo/trials", params={"choice": f"opt:{XSS}", "limit": 100}))
    assert all(t["params"]["opt"] == XSS for t in xss["trials"])
    assert chosen["total"] + xss["total"] == 12
    page2 = _ok(client.get("/api/studies/demo/trials", params={"offset": 10, "limit": 5}))
    assert [t["number"] for t in page2["trials"]] == [10, 11]


@pytest.mark.parametrize("query", [
    {"sort": "bogus"}, {"state": "DONE"}, {"range": "lr:a:b"}, {"range": "nope:1:2"}, {"order": "up"},
    {"limit": 0}, {"offset": -1}, {"format": "xml"},
])
def test_bad_trial_queries(client: TestClient, query: dict[str, Any]) -> None:
    resp = client.get("/api/studies/demo/trials", params=query)
    assert resp.status_code in (400, 422)
    assert set(resp.json()) == {"error"} and "Traceback" not in resp.text


def test_trials_csv(client: TestClient) -> None:
    resp = client.get("/api/studies/demo/trials", params={"format": "csv", "state": "COMPLETE"})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    assert "attachment" in resp.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert len(rows) == 11 and "params_lr" in rows[0] and "values_loss" in rows[0]


def test_trial_detail(client: TestClient) -> None:
    t = _ok(client.get("/api/studies/demo/trials/3"))
    assert t["state"] == "FAILED" and "boom" in t["error"] and "second line" in t["error"]
    t = _ok(client.get("/api/studies/demo/trials/0"))
    assert [r["step"] for r in t["reports"]] == [0, 1, 2, 3, 4]
    assert set(t["reports"][0]["metrics"]) == {"loss", "val_loss"}
    assert t["checkpoints"] == [] and t["retries"] == 0 and t["attempt"] == 1 and t["restore"] is None
    assert t["user_attrs"] == {"note": XSS}


@pytest.mark.parametrize("path", [
    "/api/studies/nope", "/api/studies/nope/trials", "/api/studies/demo/trials/999",
    "/api/studies/nope/trials/0", "/api/studies/demo/plot/nope", "/api/studies/nope/events",
    "/api/compare?studies=demo,nope", "/api/nothing",
])
def test_not_found(client: TestClient, path: str) -> None:
    resp = client.get(path)
    assert resp.status_code == 404, resp.text
    assert set(resp.json()) == {"error"} and "Traceback" not in resp.text


def test_non_integer_trial_number(client: TestClient) -> None:
    resp = client.get("/api/studies/demo/trials/abc")
    assert resp.status_code in (404, 422) and set(resp.json()) == {"error"}


def test_xss_names_come_back_as_plain_json_text(client: TestClient) -> None:
    resp = client.get("/api/studies/demo")
    assert resp.headers["content-type"] == "application/json"
    assert XSS in [p["name"] for p in resp.json()["params"]]
    trial = _ok(client.get("/api/studies/demo/trials/0"))
    assert XSS in trial["params"] and trial["user_attrs"]["note"] == XSS


@pytest.mark.parametrize("kind", ["history", "parallel", "slice", "contour", "importance", "intermediate", "edf",
                                  "rank", "timeline"])
def test_plots(client: TestClient, kind: str) -> None:
    fig = _ok(client.get(f"/api/studies/demo/plot/{kind}"))
    assert isinstance(fig["data"], list) and isinstance(fig["layout"], dict)
    assert fig["data"], kind


def test_plot_options_and_errors(client: TestClient) -> None:
    fig = _ok(client.get("/api/studies/demo/plot/intermediate", params={"trials": "0,1"}))
    assert 1 <= len(fig["data"]) <= 4
    fig = _ok(client.get("/api/studies/demo/plot/slice", params={"params": "lr,layers"}))
    assert fig["data"]
    resp = client.get("/api/studies/demo/plot/pareto")
    assert resp.status_code == 400 and resp.json()["error"]
    assert _ok(client.get("/api/studies/multi/plot/pareto"))["data"]
    assert _ok(client.get("/api/studies/multi/plot/hypervolume"))["data"]
    assert client.get("/api/studies/multi/plot/history").status_code == 400
    assert _ok(client.get("/api/studies/multi/plot/history", params={"target": "value_0"}))["data"]
    assert client.get("/api/studies/demo/plot/history", params={"trials": "x"}).status_code == 400


def test_importance(client: TestClient) -> None:
    for evaluator in ("ped_anova", "fanova", "mdi"):
        got = _ok(client.get("/api/studies/demo/importance", params={"evaluator": evaluator}))
        assert got["evaluator"] == evaluator and got["target"] is None
        assert {e["param"] for e in got["importances"]} == {"lr", "layers", "opt", XSS}
    assert client.get("/api/studies/demo/importance", params={"evaluator": "x"}).status_code == 422
    assert client.get("/api/studies/multi/importance").status_code == 400
    got = _ok(client.get("/api/studies/multi/importance", params={"target": "value_1"}))
    assert {e["param"] for e in got["importances"]} == {"x", "y"}


def test_diagnosis(client: TestClient) -> None:
    got = _ok(client.get("/api/studies/demo/diagnosis"))
    assert isinstance(got["summary"], dict) and isinstance(got["findings"], list)
    for f in got["findings"]:
        assert set(f) == {"kind", "trial", "steps", "message", "advice"}


def test_compare(client: TestClient) -> None:
    got = _ok(client.get("/api/compare", params={"studies": "demo,multi"}))
    demo, multi = got["studies"]
    assert demo["name"] == "demo" and multi["name"] == "multi"
    best = [p["best_value"] for p in demo["history"]]
    assert best == sorted(best, reverse=True) and best[-1] == demo["best_value"]


def test_writes_refused_without_allow_writes(client: TestClient) -> None:
    resp = client.put("/api/studies/demo/notes", json={"notes": "x"})
    assert resp.status_code == 403 and "allow-writes" in resp.json()["error"]
    assert client.delete("/api/studies/demo").status_code == 403
    assert _ok(client.get("/api/studies/demo"))["user_attrs"] == {}


def test_writes_with_allow_writes(storage_url: str) -> None:
    with TestClient(create_app(storage_url, allow_writes=True), raise_server_exceptions=False) as c:
        got = _ok(c.put("/api/studies/demo/notes", json={"notes": f"try {XSS}"}))
        assert got["user_attrs"] == {"notes": f"try {XSS}"}
        assert _ok(c.get("/api/studies/demo"))["user_attrs"]["notes"] == f"try {XSS}"
        assert c.put("/api/studies/demo/notes", json={"nope": 1}).status_code == 422
        assert c.delete("/api/studies/multi").status_code == 204
        assert c.get("/api/studies/multi").status_code == 404
        assert [s["name"] for s in _ok(c.get("/api/studies"))["studies"]] == ["demo"]


def test_read_only_by_default_writes_nothing(storage_url: str) -> None:
    app = create_app(storage_url)
    assert app.state.dashboard.catalog.storage.read_only


def test_token(storage_url: str) -> None:
    with TestClient(create_app(storage_url, token="s3cret"), raise_server_exceptions=False) as c:
        for path in ("/api/studies", "/api/studies/demo", "/openapi.json", "/api/studies/nope"):
            resp = c.get(path)
            assert resp.status_code == 401 and set(resp.json()) == {"error"}
        assert c.get("/api/studies", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/api/studies", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        resp = c.get("/api/studies?token=s3cret")
        assert resp.status_code == 200
        cookie = resp.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert c.get("/api/studies").status_code == 200  # the cookie carries it now
        c.cookies.clear()
        assert c.get("/api/studies").status_code == 401
    with pytest.raises(ValueError, match="token"):
        create_app(storage_url, token="bad token;")


def test_base_url(storage_url: str) -> None:
    with TestClient(create_app(storage_url, base_url="/tune/"), raise_server_exceptions=False) as c:
        assert _ok(c.get("/tune/api/studies"))["studies"]
        assert "/tune/api/studies" in _ok(c.get("/tune/openapi.json"))["paths"]
        assert c.get("/api/studies").status_code == 404


def test_nan_values_are_null(tmp_path: Any) -> None:
    import tunesmith

    url = f"sqlite:///{tmp_path / 'nan.db'}"
    study = tunesmith.create_study("nan", url)
    study.optimize(lambda t: float("nan") if t.suggest_int("i", 0, 1) else float("inf"), n_trials=3)
    with TestClient(create_app(url), raise_server_exceptions=False) as c:
        page = _ok(c.get("/api/studies/nan/trials"))
        assert all(t["values"]["value"] is None for t in page["trials"])
        assert _ok(c.get("/api/studies/nan"))["best_value"] is None


def test_importing_tunesmith_does_not_import_the_server() -> None:
    code = ("import sys, tunesmith, tunesmith.cli; "
            "print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette', 'tunesmith.dashboard') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out.replace("'", '"')) == []
