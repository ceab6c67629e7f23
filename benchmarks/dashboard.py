"""The web dashboard at 100k trials (issue 22): ``tunesmith dashboard`` vs optuna-dashboard, same trials.

Run from the repository root (PostgreSQL with trust auth on 127.0.0.1:5432, Chromium at
/usr/bin/chromium)::

    python benchmarks/dashboard.py                              # 100k trials, SQLite and PostgreSQL
    python benchmarks/dashboard.py --trials 2000 --load-seconds 5 --backends sqlite   # a quick check
    python benchmarks/dashboard.py --regenerate                 # write the studies again

The same generated trials (8 parameters: floats, log floats, an int, a categorical; one
objective; 5 intermediate reports on 10% of the trials, a quarter of those PRUNED after 3;
1% FAILED; 4 RUNNING at the end) are written into

- a tunesmith SQLite study and a tunesmith PostgreSQL study, through the storage API
  (``start_trial`` / ``append_report`` / ``finish_trial``, one call per write, as workers do);
- an Optuna RDB storage (SQLite, and with ``--optuna-postgres`` PostgreSQL too): the first
  200 trials through ``study.add_trials([create_trial(...)])``, the rest as the same rows
  inserted in bulk into Optuna's own tables (``add_trials`` costs ~5 ms a trial here, 8 min
  for 100k); the bulk rows are checked against ``create_trial`` on a sample read back
  through ``optuna.load_study``.

The studies are cached (``--cache-dir`` for the SQLite files, database ``tsbench_dashboard``
on the PostgreSQL server, dropped with ``--drop-postgres``), so reruns skip generation.

Each server runs as a subprocess on loopback (``tunesmith dashboard --storage URL --port P``;
``optuna-dashboard URL --port P``, its default threaded wsgiref server) and is measured with
httpx, Chromium (Playwright, Debian's /usr/bin/chromium) and locust:

1. first useful paint: a fresh server; from the moment it answers to the study page's
   history plot holding data (tunesmith: the page's history plot element; optuna-dashboard:
   its ``#plot-history``), browser already started;
2. cold study load over the API, on another fresh server (tunesmith: the study, the first
   trials page and the history plot; optuna-dashboard: ``/api/studies/{id}``, which returns
   every trial), time and bytes on the wire (httpx, gzip/br accepted as a browser does);
3. importance (tunesmith ``/importance?evaluator=ped_anova``; optuna-dashboard
   ``/param_importances``, PED-ANOVA too), first call and a second one;
4. live update: a writer process appends trials at ``--live-rate``/s; tunesmith: the delay
   from each finish's commit to its arrival on the SSE stream, bytes per event;
   optuna-dashboard has no push: its refresh call (``/api/studies/{id}?after=N``, what its
   page polls) is made every second, its time and bytes reported, and the delay from a
   finish to the first poll that shows it;
5. server memory: RSS of the server process tree (psutil), after the cold load and the peak
   over the whole session;
6. viewers: locust headless (``benchmarks/locustfile_dashboard.py``), 1 then 10 users,
   p95 of each call (tunesmith: study, trials page, history plot; optuna-dashboard: its
   study poll and the study list);
7. (``--watch-check``) trials/s of ``optimize(n_workers=4)`` on a small SQLite study, with
   and without a dashboard subscribed to it over SSE.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from _common import git_commit, table_lines  # noqa: E402

STUDY = "bench"
N_RUNNING = 4
PG_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
PG_DB = "tsbench_dashboard"
CHROMIUM = "/usr/bin/chromium"
BIN = os.path.dirname(sys.executable)
# locust from this environment, or one named by $LOCUST (its own virtualenv: it pins gevent and flask)
LOCUST = os.environ.get("LOCUST") or os.path.join(BIN, "locust")
MB = 1024 * 1024

PARAMS = ("x0", "x1", "x2", "x3", "lr", "wd", "layers", "opt")
CHOICES = ("sgd", "adam", "rmsprop")


# -- the trials ----------------------------------------------------------------------------
def ts_dists() -> dict[str, Any]:
    from tunesmith.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    return {
        "x0": FloatDistribution(-5.0, 5.0), "x1": FloatDistribution(-5.0, 5.0), "x2": FloatDistribution(0.0, 1.0),
        "x3": FloatDistribution(0.0, 1.0), "lr": FloatDistribution(1e-5, 1e-1, log=True),
        "wd": FloatDistribution(1e-6, 1e-2, log=True), "layers": IntDistribution(1, 8),
        "opt": CategoricalDistribution(CHOICES),
    }


def optuna_dists() -> dict[str, Any]:
    from optuna import distributions as d

    return {
        "x0": d.FloatDistribution(-5.0, 5.0), "x1": d.FloatDistribution(-5.0, 5.0), "x2": d.FloatDistribution(0.0, 1.0),
        "x3": d.FloatDistribution(0.0, 1.0), "lr": d.FloatDistribution(1e-5, 1e-1, log=True),
        "wd": d.FloatDistribution(1e-6, 1e-2, log=True), "layers": d.IntDistribution(1, 8),
        "opt": d.CategoricalDistribution(list(CHOICES)),
    }


@dataclass
class Row:
    params: dict[str, Any]
    state: str  # COMPLETE, PRUNED, FAILED, RUNNING
    value: float | None
    reports: list[tuple[int, float]]
    start: float


def generate(n: int, seed: int = 0) -> list[Row]:
    """The trials, deterministic in ``seed``; the last ``N_RUNNING`` are RUNNING."""
    rng = np.random.default_rng(seed)
    cols = {
        "x0": rng.uniform(-5, 5, n), "x1": rng.uniform(-5, 5, n), "x2": rng.random(n), "x3": rng.random(n),
        "lr": 10 ** rng.uniform(-5, -1, n), "wd": 10 ** rng.uniform(-6, -2, n), "layers": rng.integers(1, 9, n),
        "opt": rng.integers(0, 3, n),
    }
    value = cols["x0"] ** 2 + cols["x1"] + np.log10(cols["lr"]) ** 2 / 10 + 0.1 * cols["opt"] + rng.normal(0, 0.1, n)
    noise = rng.normal(0, 0.05, (n, 5))
    rows = []
    for i in range(n):
        params = {k: (CHOICES[int(v[i])] if k == "opt" else int(v[i]) if k == "layers" else float(v[i]))
                  for k, v in cols.items()}
        v = float(value[i])
        reports: list[tuple[int, float]] = []
        if i >= n - N_RUNNING:
            state = "RUNNING"
            reports = [(s, v + (5 - s) * 0.3 + float(noise[i, s])) for s in range(2)]
        elif i % 100 == 37:
            state = "FAILED"
        elif i % 10 == 3:
            state = "PRUNED" if i % 40 == 3 else "COMPLETE"
            steps = 3 if state == "PRUNED" else 5
            reports = [(s, v + (4 - s) * 0.3 + float(noise[i, s])) for s in range(steps)]
        else:
            state = "COMPLETE"
        rows.append(Row(params, state, v if state == "COMPLETE" else None, reports, 1.7e9 + i))
    return rows


def fill_tunesmith(url: str, rows: list[Row]) -> None:
    """Write ``rows`` into study ``STUDY`` at ``url`` through the storage API, one call per write."""
    from tunesmith.storage.sql import SQLStorage
    from tunesmith.trial import TrialState

    dists = ts_dists()
    storage = SQLStorage(url)
    sid = storage.create_study(STUDY, ["minimize"], ["value"]).study_id
    states = {"COMPLETE": TrialState.COMPLETE, "PRUNED": TrialState.PRUNED, "FAILED": TrialState.FAILED}
    t0 = time.perf_counter()
    for i, row in enumerate(rows):
        t = storage.start_trial(sid)
        internal = {k: dists[k].to_internal(v) for k, v in row.params.items()}
        for step, v in row.reports:
            storage.append_report(sid, t.trial_id, step, {"value": v}, attempt=t.attempt)
        if row.state == "RUNNING":
            storage.update_trial(sid, t.trial_id, internal, dists, {}, attempt=t.attempt)
        else:
            storage.finish_trial(
                sid, t.trial_id, states[row.state], None if row.value is None else [row.value],
                "ValueError: the loss diverged" if row.state == "FAILED" else None, internal, dists, {},
                attempt=t.attempt,
            )
        if (i + 1) % 20000 == 0:
            print(f"  tunesmith {url.split(':')[0]}: {i + 1} trials, {time.perf_counter() - t0:.0f} s", flush=True)
    storage.close()


def _optuna_trial(row: Row, dists: dict[str, Any]) -> Any:
    import optuna

    state = {"COMPLETE": optuna.trial.TrialState.COMPLETE, "PRUNED": optuna.trial.TrialState.PRUNED,
             "FAILED": optuna.trial.TrialState.FAIL, "RUNNING": optuna.trial.TrialState.RUNNING}[row.state]
    t = optuna.trial.create_trial(
        state=state, params=row.params, distributions=dists, value=row.value,
        intermediate_values=dict(row.reports) or None,
    )
    t.datetime_start = dt.datetime.fromtimestamp(row.start)
    t.datetime_complete = None if row.state == "RUNNING" else dt.datetime.fromtimestamp(row.start + 0.5)
    return t


def fill_optuna(url: str, rows: list[Row], head: int = 200) -> None:
    """Write ``rows`` into Optuna study ``STUDY`` at ``url``: ``add_trials`` for the first ``head``, bulk rows after."""
    import optuna
    from optuna.distributions import distribution_to_json
    from optuna.storages._rdb import models

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists = optuna_dists()
    storage = optuna.storages.RDBStorage(url)
    study = optuna.create_study(storage=storage, study_name=STUDY, direction="minimize")
    study.add_trials([_optuna_trial(r, dists) for r in rows[:head]])
    dist_json = {k: distribution_to_json(d) for k, d in dists.items()}
    T, P, V, IV = (models.TrialModel.__table__, models.TrialParamModel.__table__, models.TrialValueModel.__table__,
                   models.TrialIntermediateValueModel.__table__)
    sid = study._study_id
    batch = 5000
    for lo in range(head, len(rows), batch):
        chunk = rows[lo:lo + batch]
        trows = []
        for j, r in enumerate(chunk):
            t = _optuna_trial(r, dists)
            trows.append({"number": lo + j, "study_id": sid, "state": t.state, "datetime_start": t.datetime_start,
                          "datetime_complete": t.datetime_complete})
        with storage.engine.begin() as conn:
            ids = [row[0] for row in conn.execute(
                T.insert().returning(T.c.trial_id, sort_by_parameter_order=True), trows)]
            prows, vrows, irows = [], [], []
            for tid, r in zip(ids, chunk, strict=True):
                for k, v in r.params.items():
                    prows.append({"trial_id": tid, "param_name": k, "param_value": dists[k].to_internal_repr(v),
                                  "distribution_json": dist_json[k]})
                if r.value is not None:
                    val, vtype = models.TrialValueModel.value_to_stored_repr(r.value)
                    vrows.append({"trial_id": tid, "objective": 0, "value": val, "value_type": vtype})
                for step, v in r.reports:
                    iv, itype = models.TrialIntermediateValueModel.intermediate_value_to_stored_repr(v)
                    irows.append({"trial_id": tid, "step": step, "intermediate_value": iv,
                                  "intermediate_value_type": itype})
            conn.execute(P.insert(), prows)
            if vrows:
                conn.execute(V.insert(), vrows)
            if irows:
                conn.execute(IV.insert(), irows)
    # The bulk rows must read back as create_trial's would.
    got = optuna.load_study(study_name=STUDY, storage=storage).get_trials(deepcopy=False)
    assert len(got) == len(rows), (len(got), len(rows))
    for i in sorted({0, head - 1, head, head + 3, head + 37, len(rows) // 2, len(rows) - N_RUNNING - 1,
                     len(rows) - 1} & set(range(len(rows)))):
        want, have = _optuna_trial(rows[i], dists), got[i]
        assert (have.number, have.state, have.params, have.value, have.intermediate_values) == (
            i, want.state, want.params, want.value, want.intermediate_values), (i, have, want)
    storage.engine.dispose()


# -- the cached studies ----------------------------------------------------------------------
@dataclass
class Stores:
    ts_sqlite: str
    ts_postgres: str | None
    op_sqlite: str
    op_postgres: str | None


def _pg_url(server: str, db: str, driver: str = "postgresql") -> str:
    from sqlalchemy.engine import make_url

    return make_url(server).set(database=db, drivername=driver).render_as_string(hide_password=False)


def _pg_admin(server: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql)


def _pg_db_exists(server: str, db: str) -> bool:
    import psycopg

    with psycopg.connect(server, autocommit=True) as admin:
        return admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone() is not None


def _ts_count(url: str) -> int:
    from tunesmith.storage.sql import SQLStorage

    try:
        s = SQLStorage(url, read_only=True)
        sid = s.get_study(STUDY).study_id
        n = sum(s.count_trials(sid).values())
        s.close()
        return n
    except Exception:
        return -1


def _op_count(url: str) -> int:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        storage = optuna.storages.RDBStorage(url, skip_compatibility_check=True)
        n = len(optuna.load_study(study_name=STUDY, storage=storage).get_trials(deepcopy=False))
        storage.engine.dispose()
        return n
    except Exception:
        return -1


def _run_fill(kind: str, url: str, n: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, os.path.abspath(__file__), "_fill", kind, url, str(n)])


def prepare(args: argparse.Namespace) -> Stores:
    """The four (or three) studies, generated unless the cache holds them with ``args.trials`` trials.

    Optuna's studies only when ``--servers`` names optuna.
    """
    n = args.trials
    optuna = "optuna" in args.servers
    os.makedirs(args.cache_dir, exist_ok=True)
    ts_path = os.path.join(args.cache_dir, f"tunesmith-{n}.db")
    op_path = os.path.join(args.cache_dir, f"optuna-{n}.db")
    pg = "postgres" in args.backends
    pg_db = f"{PG_DB}_{n}"
    stores = Stores(f"sqlite:///{ts_path}", _pg_url(args.pg_server, pg_db) if pg else None,
                    f"sqlite:///{op_path}", None)
    jobs: list[tuple[str, str, Callable[[], None]]] = []  # (kind, url, reset)

    def reset_file(path: str) -> Callable[[], None]:
        def reset() -> None:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path + suffix)
        return reset

    if args.regenerate or _ts_count(stores.ts_sqlite) != n:
        jobs.append(("tunesmith", stores.ts_sqlite, reset_file(ts_path)))
    if optuna and (args.regenerate or _op_count(stores.op_sqlite) != n):
        jobs.append(("optuna", stores.op_sqlite, reset_file(op_path)))
    if pg or (optuna and args.optuna_postgres):
        if args.regenerate or not _pg_db_exists(args.pg_server, pg_db):
            _pg_admin(args.pg_server, f'DROP DATABASE IF EXISTS "{pg_db}" WITH (FORCE)')
            _pg_admin(args.pg_server, f'CREATE DATABASE "{pg_db}"')
    if pg:
        assert stores.ts_postgres is not None
        if _ts_count(stores.ts_postgres) != n:
            jobs.append(("tunesmith", stores.ts_postgres, lambda: _drop_ts_tables(args.pg_server, pg_db)))
    if optuna and args.optuna_postgres:
        # Optuna's tables in their own database (its schema and tunesmith's would share a namespace otherwise).
        op_db = f"{PG_DB}_optuna_{n}"
        stores.op_postgres = _pg_url(args.pg_server, op_db, "postgresql+psycopg")
        if args.regenerate or not _pg_db_exists(args.pg_server, op_db) or _op_count(stores.op_postgres) != n:
            def reset_op() -> None:
                _pg_admin(args.pg_server, f'DROP DATABASE IF EXISTS "{op_db}" WITH (FORCE)')
                _pg_admin(args.pg_server, f'CREATE DATABASE "{op_db}"')
            jobs.append(("optuna", stores.op_postgres, reset_op))
    if jobs:
        t0 = time.perf_counter()
        print(f"generating {n} trials into: {', '.join(k + ' ' + u.split(':')[0] for k, u, _ in jobs)}", flush=True)
        running: list[subprocess.Popen[bytes]] = []
        for kind, url, reset in jobs:  # two at a time (2 cores)
            reset()
            running.append(_run_fill(kind, url, n))
            if len(running) == 2:
                if running.pop(0).wait() != 0:
                    raise SystemExit("generation failed")
        for p in running:
            if p.wait() != 0:
                raise SystemExit("generation failed")
        print(f"generated in {time.perf_counter() - t0:.0f} s", flush=True)
    return stores


@contextlib.contextmanager
def scratch(url: str, server: str) -> Iterator[str]:
    """A throwaway copy of the study at ``url`` (the live writer adds trials; the cache stays as generated)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        src = parsed.database or ""
        dst = src[: -len(".db")] + "-scratch.db"
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(dst + suffix)
        for suffix in ("", "-wal"):
            if os.path.exists(src + suffix):
                shutil.copyfile(src + suffix, dst + suffix)
        try:
            yield parsed.set(database=dst).render_as_string(hide_password=False)
        finally:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(dst + suffix)
    else:
        db = f"{parsed.database}_scratch"
        _pg_admin(server, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        _pg_admin(server, f'CREATE DATABASE "{db}" TEMPLATE "{parsed.database}"')
        try:
            yield parsed.set(database=db).render_as_string(hide_password=False)
        finally:
            _pg_admin(server, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def _drop_ts_tables(server: str, db: str) -> None:
    _pg_admin(server, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    _pg_admin(server, f'CREATE DATABASE "{db}"')


# -- servers --------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RssWatch:
    """The peak RSS of a process and its children, sampled every 50 ms on a thread."""

    def __init__(self, pid: int) -> None:
        import psutil

        self._proc = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def now(self) -> int:
        import psutil

        try:
            procs = [self._proc, *self._proc.children(recursive=True)]
            return sum(p.memory_info().rss for p in procs)
        except psutil.Error:
            return 0

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.now())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Server:
    kind: str  # "tunesmith" or "optuna"
    url: str  # storage URL
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    rss: RssWatch | None = None
    started: float = 0.0
    ready_s: float = 0.0
    log: str = ""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def study_api(self) -> str:
        return f"/api/studies/{STUDY}" if self.kind == "tunesmith" else "/api/studies/1"

    @property
    def page(self) -> str:
        return f"/studies/{STUDY}" if self.kind == "tunesmith" else "/dashboard/studies/1"


@contextlib.contextmanager
def serve(kind: str, url: str, timeout: float = 120.0) -> Iterator[Server]:
    """A fresh server subprocess, yielded once it answers ``/api/studies``."""
    import httpx

    srv = Server(kind, url, free_port())
    if kind == "tunesmith":
        cmd = [os.path.join(BIN, "tunesmith"), "dashboard", "--storage", url, "--port", str(srv.port)]
    else:
        cmd = [os.path.join(BIN, "optuna-dashboard"), url, "--port", str(srv.port), "--host", "127.0.0.1", "--quiet"]
    fd, srv.log = tempfile.mkstemp(prefix=f"dash-{kind}-", suffix=".log")
    srv.started = time.perf_counter()
    srv.proc = subprocess.Popen(cmd, stdout=fd, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
    os.close(fd)
    srv.rss = RssWatch(srv.proc.pid)
    try:
        deadline = time.perf_counter() + timeout
        while True:
            if srv.proc.poll() is not None:
                raise RuntimeError(f"{kind} server exited {srv.proc.returncode}: {open(srv.log).read()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(srv.base + "/api/studies", timeout=timeout).status_code == 200:
                    break
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{kind} server did not answer in {timeout:.0f} s")
            time.sleep(0.05)
        srv.ready_s = time.perf_counter() - srv.started
        yield srv
    finally:
        srv.rss.stop()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(srv.proc.pid, signal.SIGTERM)
        try:
            srv.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(srv.proc.pid, signal.SIGKILL)
            srv.proc.wait()
        with contextlib.suppress(OSError):
            os.remove(srv.log)


@dataclass
class Call:
    path: str
    seconds: float
    wire_bytes: int
    body_bytes: int
    status: int
    json: Any = None


def get(srv: Server, path: str, timeout: float = 300.0) -> Call:
    import httpx

    t0 = time.perf_counter()
    try:
        r = httpx.get(srv.base + path, timeout=timeout)
    except httpx.TimeoutException:
        return Call(path, math.inf, 0, 0, 0)
    secs = time.perf_counter() - t0
    try:
        body = r.json()
    except ValueError:
        body = None
    return Call(path, secs, r.num_bytes_downloaded, len(r.content), r.status_code, body)


# -- measurements -----------------------------------------------------------------------------
TS_HISTORY_JS = """() => {
  const els = [...document.querySelectorAll('[id*="history"]')];
  return els.some(e => Array.isArray(e.data) && e.data.some(t => (t.x && t.x.length) || (t.y && t.y.length)));
}"""
OP_HISTORY_JS = """() => {
  const e = document.getElementById('plot-history');
  return !!(e && Array.isArray(e.data) && e.data.some(t => (t.x && t.x.length) || (t.y && t.y.length)));
}"""


def first_paint(kind: str, url: str, browser: Any, timeout: float) -> dict[str, Any]:
    """A fresh server, then the study page in a fresh browser context until its history plot holds data."""
    out: dict[str, Any] = {}
    with serve(kind, url) as srv:
        out["ready_s"] = srv.ready_s
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = ctx.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        t0 = time.perf_counter()
        try:
            page.goto(srv.base + srv.page, wait_until="commit", timeout=timeout * 1000)
            page.wait_for_function(TS_HISTORY_JS if kind == "tunesmith" else OP_HISTORY_JS,
                                   timeout=timeout * 1000, polling=50)
            out["paint_s"] = time.perf_counter() - t0
        except Exception as e:  # playwright's TimeoutError
            out["paint_s"] = math.inf
            out["paint_error"] = str(e).splitlines()[0]
        out["console_errors"] = errors[:5]
        out["rss_peak"] = srv.rss.peak if srv.rss else 0
        with contextlib.suppress(Exception):
            ctx.close()
    return out


def api_session(kind: str, url: str, n: int, args: argparse.Namespace) -> dict[str, Any]:
    """One fresh server: cold study load, importance, memory, live updates, viewers."""
    out: dict[str, Any] = {}
    with serve(kind, url) as srv:
        assert srv.rss is not None
        out["ready_s"] = srv.ready_s
        out["rss_idle"] = srv.rss.now()
        # cold study load
        if kind == "tunesmith":
            calls = [get(srv, srv.study_api), get(srv, srv.study_api + "/trials?offset=0&limit=50"),
                     get(srv, srv.study_api + "/plot/history")]
        else:
            calls = [get(srv, srv.study_api, timeout=args.optuna_timeout)]
        out["load_calls"] = [(c.path, c.seconds, c.wire_bytes, c.body_bytes, c.status) for c in calls]
        out["load_s"] = sum(c.seconds for c in calls)
        out["load_bytes"] = sum(c.wire_bytes for c in calls)
        out["load_body_bytes"] = sum(c.body_bytes for c in calls)
        out["load_ok"] = all(c.status == 200 for c in calls)
        out["rss_loaded"] = srv.rss.now()
        version = calls[0].json.get("version") if kind == "tunesmith" and isinstance(calls[0].json, dict) else None
        # importance
        imp = srv.study_api + ("/importance?evaluator=ped_anova" if kind == "tunesmith" else "/param_importances")
        first = get(srv, imp, timeout=args.optuna_timeout)
        second = get(srv, imp, timeout=args.optuna_timeout) if math.isfinite(first.seconds) else first
        out["importance"] = (first.seconds, second.seconds, first.status, first.wire_bytes)
        out["rss_after_importance"] = srv.rss.now()
        # live
        out["live"] = live(srv, n, args, version)
        # viewers
        if args.load_seconds > 0:
            out["viewers"] = {u: locust(srv, n, u, args.load_seconds) for u in (1, 10)}
        out["rss_end"] = srv.rss.now()
        out["rss_peak"] = srv.rss.peak
    return out


def _writer_cmd(kind: str, url: str, count: int, rate: float, out: str) -> list[str]:
    return [sys.executable, os.path.abspath(__file__), "_write", kind, url, str(count), str(rate), out]


def write_live(kind: str, url: str, count: int, rate: float, out: str) -> None:
    """The writer process: ``count`` trials at ``rate``/s; each finish's number and commit time to ``out``."""
    done: list[tuple[int, float]] = []
    if kind == "tunesmith":
        from tunesmith.storage.sql import SQLStorage
        from tunesmith.trial import TrialState

        dists = ts_dists()
        storage = SQLStorage(url)
        sid = storage.get_study(STUDY).study_id
        rng = np.random.default_rng(1)
        t_next = time.perf_counter()
        for _ in range(count):
            t = storage.start_trial(sid)
            params = {k: dists[k].to_internal(dists[k].sample(rng)) for k in PARAMS}
            storage.finish_trial(sid, t.trial_id, TrialState.COMPLETE, [float(rng.random())], None, params, dists, {},
                                 attempt=t.attempt)
            done.append((t.number, time.time()))
            t_next += 1.0 / rate
            time.sleep(max(0.0, t_next - time.perf_counter()))
        storage.close()
    else:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        storage = optuna.storages.RDBStorage(url, skip_compatibility_check=True)
        study = optuna.load_study(study_name=STUDY, storage=storage)
        dists = optuna_dists()
        t_next = time.perf_counter()
        for _ in range(count):
            trial = study.ask(dists)
            study.tell(trial, float(np.random.random()))
            done.append((trial.number, time.time()))
            t_next += 1.0 / rate
            time.sleep(max(0.0, t_next - time.perf_counter()))
        storage.engine.dispose()
    with open(out, "w") as f:
        json.dump(done, f)


def _pct(xs: list[float], q: float) -> float:
    if not xs:
        return math.nan
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, math.ceil(q / 100 * len(xs)) - 1))]


def live(srv: Server, n: int, args: argparse.Namespace, version: Any) -> dict[str, Any]:
    """Trials written by another process, as the server's viewers get them."""
    import httpx

    seen: dict[int, float] = {}
    sizes: list[int] = []
    polls: list[tuple[float, int]] = []
    stop = threading.Event()
    errors: list[str] = []
    ready = threading.Event()

    def sse() -> None:
        path = srv.study_api + (f"/events?since={version}" if version is not None else "/events")
        try:
            with httpx.stream("GET", srv.base + path, timeout=httpx.Timeout(5.0, read=None)) as r:
                ready.set()
                data: list[str] = []
                raw = 0
                for line in r.iter_lines():
                    if stop.is_set():
                        return
                    raw += len(line.encode()) + 1
                    if line.startswith("event:"):
                        pass  # only `trials` events carry data
                    elif line.startswith("data:"):
                        data.append(line[5:].lstrip())
                    elif line == "":
                        if data:
                            now = time.time()
                            sizes.append(raw)
                            with contextlib.suppress(ValueError):
                                payload = json.loads("\n".join(data))
                                for t in (payload.get("trials") or []) if isinstance(payload, dict) else []:
                                    num, state = t.get("number"), str(t.get("state", "")).upper()
                                    if isinstance(num, int) and num >= n and state == "COMPLETE":
                                        seen.setdefault(num, now)
                        data, raw = [], 0
        except Exception as e:
            if not stop.is_set():
                errors.append(f"{type(e).__name__}: {e}")
            ready.set()

    def poll() -> None:
        after = n - N_RUNNING  # the frontend asks from its first unfinished trial
        ready.set()
        while not stop.is_set():
            t0 = time.perf_counter()
            c = get(srv, f"{srv.study_api}?after={after}", timeout=args.optuna_timeout)
            now = time.time()
            polls.append((c.seconds, c.wire_bytes))
            if isinstance(c.json, dict):
                for t in c.json.get("trials", []):
                    if t.get("number", -1) >= n and t.get("state") == "Complete":
                        seen.setdefault(t["number"], now)
            stop.wait(max(0.0, 1.0 - (time.perf_counter() - t0)))

    th = threading.Thread(target=sse if srv.kind == "tunesmith" else poll, daemon=True)
    th.start()
    ready.wait(30)
    time.sleep(0.5)
    fd, out_path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    w = subprocess.run(_writer_cmd(srv.kind, srv.url, args.live_trials, args.live_rate, out_path), cwd=ROOT)
    done = json.load(open(out_path)) if w.returncode == 0 else []
    os.remove(out_path)
    # Wait for the last ones (optuna-dashboard caches trials up to 10 s).
    deadline = time.perf_counter() + (25 if srv.kind == "optuna" else 5)
    while time.perf_counter() < deadline and not all(num in seen for num, _ in done):
        time.sleep(0.1)
    stop.set()
    lat = [seen[num] - at for num, at in done if num in seen]
    res: dict[str, Any] = {
        "written": len(done), "arrived": len(lat), "p50": _pct(lat, 50), "p95": _pct(lat, 95),
        "max": max(lat) if lat else math.nan, "errors": errors,
    }
    if srv.kind == "tunesmith":
        res.update(events=len(sizes), bytes_p50=_pct([float(s) for s in sizes], 50),
                   bytes_max=max(sizes) if sizes else 0)
    else:
        res.update(polls=len(polls), poll_p50=_pct([p[0] for p in polls], 50), poll_p95=_pct([p[0] for p in polls], 95),
                   bytes_p50=_pct([float(p[1]) for p in polls], 50), bytes_max=max((p[1] for p in polls), default=0))
    return res


def locust(srv: Server, n: int, users: int, seconds: int) -> dict[str, Any]:
    """locust headless against ``srv``: p95 (ms) per call name and overall."""
    import csv

    prefix = os.path.join(tempfile.mkdtemp(prefix="locust-"), "run")
    env = {**os.environ, "DASH_KIND": srv.kind, "DASH_STUDY": STUDY, "DASH_TRIALS": str(n),
           "DASH_AFTER": str(n - N_RUNNING)}
    cmd = [LOCUST, "-f", os.path.join(HERE, "locustfile_dashboard.py"), "--headless",
           "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host", srv.base, "--csv", prefix,
           "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "30"]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    out: dict[str, Any] = {}
    try:
        with open(prefix + "_stats.csv") as f:
            for row in csv.DictReader(f):
                out[row["Name"]] = {"p95": float(row["95%"] or "nan"), "p50": float(row["50%"] or "nan"),
                                    "requests": int(row["Request Count"]), "failures": int(row["Failure Count"])}
    except (OSError, KeyError, ValueError) as e:
        out["error"] = f"{e}: {p.stderr[-500:]}"
    shutil.rmtree(os.path.dirname(prefix), ignore_errors=True)
    return out


def watch_check(args: argparse.Namespace) -> dict[str, Any]:
    """optimize(n_workers=4) trials/s on a fresh SQLite study, alone and watched by a dashboard over SSE."""
    import httpx

    res: dict[str, list[float]] = {"alone": [], "watched": []}
    tmp = tempfile.mkdtemp(prefix="dash-watch-")
    code = (
        "import sys, time, tunesmith\n"
        "def obj(t):\n    return t.suggest_float('x', -10, 10) ** 2 + t.suggest_int('y', 0, 10)\n"
        "s = tunesmith.create_study(name='w', storage=sys.argv[1], load_if_exists=True)\n"
        "t0 = time.perf_counter(); s.optimize(obj, n_trials=int(sys.argv[2]), n_workers=4)\n"
        "print(int(sys.argv[2]) / (time.perf_counter() - t0))\n"
    )
    for rep in range(args.watch_repeats):
        for mode in ("alone", "watched"):
            url = f"sqlite:///{tmp}/w-{mode}-{rep}.db"
            subprocess.run([sys.executable, "-c", "import sys, tunesmith; tunesmith.create_study(name='w', "
                            "storage=sys.argv[1])", url], check=True, cwd=ROOT)
            stack = contextlib.ExitStack()
            stop = threading.Event()
            if mode == "watched":
                srv = stack.enter_context(serve("tunesmith", url))
                ver = get(srv, "/api/studies/w").json.get("version", 0)

                def follow(srv: Server = srv, ver: Any = ver, stop: threading.Event = stop) -> None:
                    with contextlib.suppress(Exception), httpx.stream(
                        "GET", srv.base + f"/api/studies/w/events?since={ver}", timeout=httpx.Timeout(5.0, read=None)
                    ) as r:
                        for _ in r.iter_lines():
                            if stop.is_set():
                                return

                threading.Thread(target=follow, daemon=True).start()
                time.sleep(0.5)
            with stack:
                p = subprocess.run([sys.executable, "-c", code, url, str(args.watch_trials)], capture_output=True,
                                   text=True, cwd=ROOT)
                stop.set()
            try:
                res[mode].append(float(p.stdout.strip().splitlines()[-1]))
            except (ValueError, IndexError):
                print(f"watch check ({mode}) failed: {p.stderr[-800:]}", flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    return {k: statistics.median(v) if v else math.nan for k, v in res.items()}


# -- the report -------------------------------------------------------------------------------
def _s(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if math.isinf(x):
        return "timeout"
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


def _b(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x / MB:.1f} MB" if x >= 100 * 1024 else f"{x / 1024:.1f} kB"


def _ratio(op: float | None, ts: float | None) -> str:
    if op is None or ts is None or not ts or any(isinstance(v, float) and (math.isnan(v)) for v in (op, ts)):
        return ""
    if math.isinf(op):
        return "ts finished, op timed out"
    if math.isinf(ts):
        return ""
    return f"{op / ts:.1f}x"


def _viewer_p95(v: dict[str, Any] | None, users: int) -> float | None:
    if not v or users not in v or "Aggregated" not in v[users]:
        return None
    return float(v[users]["Aggregated"]["p95"]) / 1000


def report(
    results: dict[str, dict[str, dict[str, Any]]], args: argparse.Namespace, watch: dict[str, Any] | None,
) -> str:
    lines = [
        f"{args.trials:,} trials (8 params, 10% with 5 reports, {N_RUNNING} running); commit {git_commit()}; "
        f"{platform.machine()}, {os.cpu_count()} cores; 1-min load {os.getloadavg()[0]:.1f} at the end; "
        f"tunesmith = `tunesmith dashboard`, optuna-dashboard {_version('optuna_dashboard')} (wsgiref, threaded) "
        f"on optuna {_version('optuna')}",
        "",
    ]
    targets: list[str] = []
    for backend, by in results.items():
        ts, op = by.get("tunesmith", {}), by.get("optuna", {})
        head = ["", "tunesmith", "optuna-dashboard", "optuna / tunesmith"]
        rows: list[list[str]] = []

        def add(name: str, t: Any, o: Any, fmt: Callable[[Any], str] = _s, ratio: bool = True,
                rows: list[list[str]] = rows) -> None:
            rows.append([name, fmt(t) if t is not None else "n/a", fmt(o) if o is not None else "n/a",
                         _ratio(o, t) if ratio and t is not None and o is not None else ""])

        add("server ready (start to first answer)", ts.get("ready_s"), op.get("ready_s"))
        add("first useful paint (history plot drawn)", ts.get("paint_s"), op.get("paint_s"))
        add("cold study load, API time", ts.get("load_s"), op.get("load_s"))
        add("cold study load, bytes on the wire", ts.get("load_bytes"), op.get("load_bytes"), _b)
        add("cold study load, JSON bytes", ts.get("load_body_bytes"), op.get("load_body_bytes"), _b)
        ti, oi = ts.get("importance"), op.get("importance")
        add("importance (PED-ANOVA), first call", ti and ti[0], oi and oi[0])
        add("importance, second call", ti and ti[1], oi and oi[1])
        tl, ol = ts.get("live") or {}, op.get("live") or {}
        add("live: finish to viewer, p50 (op: 1-s poll)", tl.get("p50"), ol.get("p50"))
        add("live: finish to viewer, p95 (op: 1-s poll)", tl.get("p95"), ol.get("p95"))
        add("live: bytes per update, max (op: per poll)", tl.get("bytes_max"), ol.get("bytes_max"), _b)
        add("op refresh call (`?after=N`), p95", None, ol.get("poll_p95"))
        add("server RSS after the cold load", ts.get("rss_loaded"), op.get("rss_loaded"), _b)
        add("server RSS, peak of the session", _peak(ts), _peak(op), _b)
        tv, ov = ts.get("viewers"), op.get("viewers")
        add("viewers: p95, 1 user", _viewer_p95(tv, 1), _viewer_p95(ov, 1))
        add("viewers: p95, 10 users", _viewer_p95(tv, 10), _viewer_p95(ov, 10))
        lines += [f"**{backend}**", "", *table_lines(head, rows), ""]
        if tv:
            per = []
            for name in sorted(k for k in (tv.get(1) or {}) if k not in ("Aggregated", "error")):
                a, b = tv[1].get(name, {}).get("p95"), (tv.get(10) or {}).get(name, {}).get("p95")
                per.append(f"`{name}` {a:.0f} -> {b:.0f} ms" if a is not None and b is not None else name)
            lines += ["tunesmith p95 per call, 1 -> 10 users: " + "; ".join(per), ""]
        if ov:
            per = []
            for name in sorted(k for k in (ov.get(1) or {}) if k not in ("Aggregated", "error")):
                a, b = ov[1].get(name, {}).get("p95"), (ov.get(10) or {}).get(name, {}).get("p95")
                per.append(f"`{name}` {a:.0f} -> {b:.0f} ms" if a is not None and b is not None else name)
            lines += ["optuna-dashboard p95 per call, 1 -> 10 users: " + "; ".join(per), ""]
        # targets (tunesmith)

        def verdict(ok: bool | None) -> str:
            return "n/a" if ok is None else ("met" if ok else "NOT met")

        paint = ts.get("paint_s")
        paint_ok = None if paint is None else paint <= 2
        targets.append(f"- {backend}: first useful paint <= 2 s: {_s(paint)} -> {verdict(paint_ok)}")
        p95, bmax = tl.get("p95"), tl.get("bytes_max")
        ok = None if p95 is None or bmax is None or math.isnan(p95) else (p95 <= 0.2 and bmax <= MB
                                                                          and tl.get("arrived") == tl.get("written"))
        targets.append(f"- {backend}: live update <= 200 ms p95 and <= 1 MB: {_s(p95)}, {_b(bmax)} "
                       f"({tl.get('arrived')}/{tl.get('written')} arrived) -> {verdict(ok)}")
        peak = _peak(ts)
        peak_ok = None if not peak else peak <= 500 * MB
        targets.append(f"- {backend}: server memory <= 500 MB: peak {_b(peak)} -> {verdict(peak_ok)}")
        imp = ti and ti[0]
        imp_ok = None if imp is None else imp <= 1 and ti[2] == 200
        targets.append(f"- {backend}: importance <= 1 s: {_s(imp)} -> {verdict(imp_ok)}")
        v1, v10 = _viewer_p95(tv, 1), _viewer_p95(tv, 10)
        targets.append(f"- {backend}: 10 viewers, p95 not doubled: {_s(v1)} -> {_s(v10)} "
                       f"({(v10 / v1) if v1 and v10 else math.nan:.2f}x) -> "
                       f"{verdict(None if not v1 or not v10 else v10 <= 2 * v1)}")
    lines += ["Targets (tunesmith):", "", *targets, ""]
    if watch:
        a, w = watch.get("alone"), watch.get("watched")
        lines += [f"optimize(n_workers=4), {args.watch_trials} trials on SQLite: {a:,.0f} trials/s alone, {w:,.0f} "
                  f"watched over SSE ({w / a:.2f}x)", ""]
    return "\n".join(lines)


def _peak(r: dict[str, Any]) -> int | None:
    peaks = [r.get("rss_peak"), r.get("paint_rss_peak")]
    peaks = [p for p in peaks if p]
    return max(peaks) if peaks else None


def _version(mod: str) -> str:
    from importlib.metadata import version

    try:
        return version(mod.replace("_", "-"))
    except Exception:
        return "?"


def measure(
    kind: str, backend: str, url: str, browser: Any, args: argparse.Namespace, t_start: float,
) -> dict[str, Any]:
    """Everything about one server on one study copy."""
    n = _ts_count(url) if kind == "tunesmith" else _op_count(url)
    print(f"[{time.perf_counter() - t_start:5.0f} s] {kind} on {backend} ({n} trials)", flush=True)
    res: dict[str, Any] = {"trials": n}
    if browser is not None:
        fp = first_paint(kind, url, browser, args.paint_timeout)
        res["paint_s"], res["paint_rss_peak"] = fp["paint_s"], fp["rss_peak"]
        res["paint_detail"] = fp
        print(f"    paint {_s(fp['paint_s'])} {fp.get('paint_error', '')} errors={fp['console_errors']}", flush=True)
    res.update(api_session(kind, url, n, args))
    print(f"    load {_s(res['load_s'])} {_b(res['load_bytes'])} {res['load_calls']}; importance {res['importance']}; "
          f"live {res['live']}; viewers {res.get('viewers')}; peak {_b(res['rss_peak'])}", flush=True)
    return res


# -- main -----------------------------------------------------------------------------------
def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_fill":
        kind, url, n = sys.argv[2], sys.argv[3], int(sys.argv[4])
        rows = generate(n)
        t0 = time.perf_counter()
        (fill_tunesmith if kind == "tunesmith" else fill_optuna)(url, rows)
        print(f"  {kind} {url.split(':')[0]}: {n} trials written in {time.perf_counter() - t0:.0f} s", flush=True)
        return
    if len(sys.argv) > 1 and sys.argv[1] == "_write":
        write_live(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), sys.argv[6])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=100_000)
    ap.add_argument("--backends", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    ap.add_argument("--servers", default="tunesmith,optuna", help="comma-separated: tunesmith, optuna")
    ap.add_argument("--regenerate", action="store_true", help="write the studies again even if cached")
    ap.add_argument("--cache-dir", default="/tmp/tunesmith-dashboard-bench")
    ap.add_argument("--pg-server", default=PG_SERVER)
    ap.add_argument("--optuna-postgres", action="store_true",
                    help="also optuna-dashboard on an Optuna PostgreSQL study")
    ap.add_argument("--drop-postgres", action="store_true", help="drop the cached PostgreSQL databases and exit")
    ap.add_argument("--generate-only", action="store_true")
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--paint-timeout", type=float, default=180.0)
    ap.add_argument("--optuna-timeout", type=float, default=180.0,
                    help="seconds before an optuna-dashboard call is given up")
    ap.add_argument("--live-trials", type=int, default=40)
    ap.add_argument("--live-rate", type=float, default=4.0, help="trials/s the live writer finishes")
    ap.add_argument("--load-seconds", type=int, default=30, help="locust run length per user count (0: skip)")
    ap.add_argument("--watch-check", action="store_true", help="optimize(n_workers=4) with and without a viewer")
    ap.add_argument("--watch-trials", type=int, default=1000)
    ap.add_argument("--watch-repeats", type=int, default=2)
    ap.add_argument("--markdown-out", default=None)
    ap.add_argument("--json-out", default=None)
    args = ap.parse_args()
    args.backends = [b for b in args.backends.split(",") if b]
    servers = args.servers = [s for s in args.servers.split(",") if s]
    if args.drop_postgres:
        for db in (f"{PG_DB}_{args.trials}", f"{PG_DB}_optuna_{args.trials}"):
            _pg_admin(args.pg_server, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        print("dropped")
        return
    t_start = time.perf_counter()
    stores = prepare(args)
    if args.generate_only:
        return
    # The studies may have grown by earlier live writes: measure what is there.
    results: dict[str, dict[str, dict[str, Any]]] = {}
    plan = []
    for backend in args.backends:
        for kind in servers:
            url = {("sqlite", "tunesmith"): stores.ts_sqlite, ("postgres", "tunesmith"): stores.ts_postgres,
                   ("sqlite", "optuna"): stores.op_sqlite, ("postgres", "optuna"): stores.op_postgres}[(backend, kind)]
            if url is not None:
                plan.append((backend, kind, url))
    pw = browser = None
    if not args.no_browser:
        from playwright.sync_api import sync_playwright

        pw = sync_playwright().start()
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--headless", "--no-sandbox", "--disable-gpu"])
    try:
        for backend, kind, cached in plan:
            with scratch(cached, args.pg_server) as url:
                results.setdefault(backend, {})[kind] = measure(kind, backend, url, browser, args, t_start)
    finally:
        if browser is not None:
            browser.close()
        if pw is not None:
            pw.stop()
    watch = watch_check(args) if args.watch_check else None
    text = report(results, args, watch)
    text += f"\n(total {time.perf_counter() - t_start:.0f} s)\n"
    print(text)
    if args.markdown_out:
        with open(args.markdown_out, "w") as f:
            f.write(text)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"results": results, "watch": watch}, f, default=str, indent=1)


if __name__ == "__main__":
    main()
