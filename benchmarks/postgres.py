"""Throughput (trials/s) on PostgreSQL: tunesmith vs Optuna's RDBStorage, same server, same run.

Run from the repository root (a PostgreSQL server with a ``test`` database is needed)::

    python benchmarks/postgres.py                      # 1,000 trials, 3 repeats
    python benchmarks/postgres.py --trials 200 --repeats 1 --markdown-out /tmp/pg.md
    python benchmarks/postgres.py --server postgresql://user@host:5432/test

Every configuration runs the same define-by-run objective (RandomSampler on both
libraries) for the same number of trials, each configuration and repeat in a fresh
database (``CREATE DATABASE bench_<random>``, dropped afterwards), with the server's
own settings. The reported number is the median over the repeats of
``n_trials / wall time`` (study creation excluded; for several workers, from the
launch of the worker processes until all of them exited, so their start-up is
included). For the parallel configurations the steady-state rate,
``(n - 1) / (last finish - first finish)`` from the trials' finish timestamps, is
also reported; it excludes start-up.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import optuna
import psycopg
from _common import Run, emit, git_commit, objective, rate_table, steady_rate
from sqlalchemy.engine import make_url

import tunesmith
from tunesmith.samplers import RandomSampler as TsRandomSampler
from tunesmith.storage.sql import SQLStorage

STUDY = "b"
WORKERS = 4
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
# Optuna's SQLAlchemy URL uses psycopg 3, the driver tunesmith uses too (psycopg is needed
# here anyway, to create and drop the databases).
OPTUNA_DRIVER = "postgresql+psycopg"

OBJECTIVE_MODULE = '''\
def objective(trial):
    x = trial.suggest_float("x", -10, 10)
    y = trial.suggest_int("y", 0, 10)
    return x**2 + y
'''


@dataclass
class Database:
    """A fresh database on the server: the URL for tunesmith and the one for Optuna's SQLAlchemy."""

    name: str
    url: str  # postgresql://... (tunesmith picks psycopg 3 itself)
    optuna_url: str  # postgresql+<driver>://...


def _split(n: int, k: int) -> list[int]:
    """n trials over k workers, as evenly as possible (the first ones take the remainder)."""
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


@contextmanager
def fresh_database(server: str) -> Iterator[Database]:
    """CREATE DATABASE bench_<random> on ``server``; DROP ... WITH (FORCE) on exit."""
    name = f"bench_{secrets.token_hex(6)}"
    base = make_url(server)
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        db = base.set(database=name)
        url = db.set(drivername="postgresql").render_as_string(hide_password=False)
        optuna_url = db.set(drivername=OPTUNA_DRIVER).render_as_string(hide_password=False)
        yield Database(name, url, optuna_url)
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- tunesmith -------------------------------------------------------------------------
def _ts_check(run: Run, study: tunesmith.Study, n: int, exitcodes: list[int] | None = None) -> None:
    """Trials == n, numbers exactly 0..n-1, none FAILED, no trial errors (and workers exited 0)."""
    trials = study.trials
    numbers = [t.number for t in trials]
    failed = sum(t.state == tunesmith.TrialState.FAILED for t in trials)
    complete = sum(t.state == tunesmith.TrialState.COMPLETE for t in trials)
    errors = sum(t.error is not None for t in trials)
    ok = (len(trials) == n and sorted(numbers) == list(range(n)) and failed == 0 and errors == 0
          and complete == n and all(c == 0 for c in exitcodes or []))
    codes = f" worker_exit_codes={exitcodes}" if exitcodes is not None else ""
    run.notes.append(
        f"trials={len(trials)}/{n} complete={complete} numbers_0..n-1={sorted(numbers) == list(range(n))} "
        f"duplicated_numbers={len(numbers) - len(set(numbers))} failed={failed} errors={errors}{codes} "
        f"-> {'OK' if ok else 'PROBLEM'}"
    )
    if not ok:
        run.notes.extend(sorted({t.error for t in trials if t.error})[:3])
    run.steady = steady_rate([t.finished_at for t in trials if t.finished_at is not None])


def _ts_create(db: Database) -> tunesmith.Study:
    return tunesmith.create_study(name=STUDY, storage=db.url, sampler=TsRandomSampler())


def _close(study: tunesmith.Study) -> None:
    """Close this process's connections before the database is dropped."""
    assert isinstance(study.storage, SQLStorage)
    study.storage.close()


def ts_1w(n: int, db: Database, tmp: str) -> Run:
    study = _ts_create(db)
    t0 = time.perf_counter()
    study.optimize(objective, n_trials=n)
    run = Run(time.perf_counter() - t0)
    trials = study.trials
    if len(trials) != n or any(t.state != tunesmith.TrialState.COMPLETE for t in trials):
        run.notes.append(f"trials={len(trials)}/{n}, not all COMPLETE -> PROBLEM")
    _close(study)
    return run


def ts_4w_inprocess(n: int, db: Database, tmp: str) -> Run:
    """``study.optimize(obj, n_trials=N, n_workers=4)``: tunesmith starts the worker processes."""
    study = _ts_create(db)
    t0 = time.perf_counter()
    study.optimize(objective, n_trials=n, n_workers=WORKERS)
    run = Run(time.perf_counter() - t0)
    _ts_check(run, study, n)
    _close(study)
    return run


def ts_4w_cli(n: int, db: Database, tmp: str) -> Run:
    """4 independent ``python -m tunesmith worker`` processes, launch to all exited."""
    study = _ts_create(db)
    with open(os.path.join(tmp, "bench_objective.py"), "w", encoding="utf-8") as f:
        f.write(OBJECTIVE_MODULE)
    cmds = [
        [sys.executable, "-m", "tunesmith", "worker", "--study", STUDY, "--storage", db.url,
         "--objective", "bench_objective:objective", "--n-trials", str(k)]
        for k in _split(n, WORKERS)
    ]
    t0 = time.perf_counter()
    procs = [subprocess.Popen(cmd, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for cmd in cmds]
    outputs = [p.communicate()[0] for p in procs]
    run = Run(time.perf_counter() - t0)
    _ts_check(run, study, n, [p.returncode for p in procs])
    if any(p.returncode != 0 for p in procs):
        run.notes.extend(out.strip()[-500:] for p, out in zip(procs, outputs, strict=True) if p.returncode != 0)
    _close(study)
    return run


# -- Optuna ----------------------------------------------------------------------------
@contextmanager
def _optuna_storage(db: Database) -> Iterator[optuna.storages.RDBStorage]:
    storage = optuna.storages.RDBStorage(db.optuna_url)
    try:
        yield storage
    finally:
        storage.engine.dispose()


def optuna_1w(n: int, db: Database, tmp: str) -> Run:
    with _optuna_storage(db) as storage:
        study = optuna.create_study(study_name=STUDY, storage=storage, sampler=optuna.samplers.RandomSampler())
        t0 = time.perf_counter()
        study.optimize(objective, n_trials=n)
        run = Run(time.perf_counter() - t0)
        if len(study.trials) != n:
            run.notes.append(f"trials={len(study.trials)}/{n} -> PROBLEM")
    return run


def _optuna_worker(url: str, n: int) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(url)
    study = optuna.load_study(study_name=STUDY, storage=storage, sampler=optuna.samplers.RandomSampler())
    study.optimize(objective, n_trials=n)
    storage.engine.dispose()


def optuna_4w(n: int, db: Database, tmp: str) -> Run:
    """Four spawned processes (fresh interpreters) on one study created first, N/4 trials each."""
    with _optuna_storage(db) as storage:
        optuna.create_study(study_name=STUDY, storage=storage, sampler=optuna.samplers.RandomSampler())
        ctx = mp.get_context("spawn")
        t0 = time.perf_counter()
        procs = [ctx.Process(target=_optuna_worker, args=(db.optuna_url, k)) for k in _split(n, WORKERS)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        run = Run(time.perf_counter() - t0)
        trials = optuna.load_study(study_name=STUDY, storage=storage).trials
        run.steady = steady_rate([t.datetime_complete.timestamp() for t in trials if t.datetime_complete])
        numbers = [t.number for t in trials]
        complete = sum(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
        ok = len(trials) == n and len(set(numbers)) == n and complete == n and all(p.exitcode == 0 for p in procs)
        run.notes.append(f"trials={len(trials)}/{n} complete={complete} -> {'OK' if ok else 'PROBLEM'}")
    return run


TS_1W = "tunesmith PostgreSQL, 1 worker"
TS_4W_CLI = "tunesmith PostgreSQL, 4 workers (4 x `tunesmith worker`)"
TS_4W_INPROC = "tunesmith PostgreSQL, 4 workers (optimize(n_workers=4))"
OPTUNA_1W = "Optuna RDB-PostgreSQL, 1 worker"
OPTUNA_4W = "Optuna RDB-PostgreSQL, 4 workers"

# config name -> runner(n_trials, fresh database, tmpdir)
CONFIGS: dict[str, Callable[[int, Database, str], Run]] = {
    TS_1W: ts_1w,
    TS_4W_CLI: ts_4w_cli,
    TS_4W_INPROC: ts_4w_inprocess,
    OPTUNA_1W: optuna_1w,
    OPTUNA_4W: optuna_4w,
}
# Each tunesmith row is compared with the Optuna row of the same worker count.
RATIOS: dict[str, tuple[str, ...]] = {
    TS_1W: (OPTUNA_1W,),
    TS_4W_CLI: (OPTUNA_4W,),
    TS_4W_INPROC: (OPTUNA_4W,),
}
COLUMNS = (OPTUNA_1W, OPTUNA_4W)
# (tunesmith config, Optuna config, required ratio)
TARGETS = (
    (TS_4W_CLI, OPTUNA_4W, 5.0),
    (TS_4W_INPROC, OPTUNA_4W, 5.0),
)


def _server_version(server: str) -> str:
    with psycopg.connect(server, autocommit=True) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        sync = conn.execute("SHOW synchronous_commit").fetchone()
    return f"PostgreSQL {row[0] if row else '?'} (synchronous_commit={sync[0] if sync else '?'})"


def _environment(server: str) -> str:
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, optuna {optuna.__version__}, "
        f"tunesmith {tunesmith.__version__} (commit {git_commit()}), {_server_version(server)}, "
        f"Optuna URL {OPTUNA_DRIVER}://, {platform.platform()}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=1000, help="trials per run (default 1000)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per config; the median is reported")
    parser.add_argument("--markdown-out", metavar="FILE", help="also write the table to FILE")
    parser.add_argument("--only", nargs="*", choices=list(CONFIGS), help="run only these configs")
    parser.add_argument("--server", default=DEFAULT_SERVER,
                        help=f"an existing database on the server, used to create and drop the benchmark "
                             f"databases (default {DEFAULT_SERVER})")
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    names = args.only or list(CONFIGS)
    rates: dict[str, list[float]] = {name: [] for name in names}
    steady: dict[str, list[float]] = {name: [] for name in names}
    load0 = os.getloadavg()[0]
    env = _environment(args.server)
    print(f"# {env}", file=sys.stderr)
    for rep in range(args.repeats):  # interleaved, so drift hits every config alike
        for name in names:
            with tempfile.TemporaryDirectory(prefix="tunesmith-bench-") as tmp, fresh_database(args.server) as db:
                run = CONFIGS[name](args.trials, db, tmp)
            rates[name].append(args.trials / run.seconds)
            if run.steady is not None:
                steady[name].append(run.steady)
            extra = f", steady {run.steady:,.0f}/s" if run.steady else ""
            print(f"[{rep + 1}/{args.repeats}] {name}: {args.trials / run.seconds:,.0f} trials/s{extra} "
                  f"({run.seconds:.1f} s)", file=sys.stderr)
            for note in run.notes:
                print(f"    {note}", file=sys.stderr)
    table = rate_table(args.trials, args.repeats, rates, steady, load0, env, COLUMNS, RATIOS, TARGETS)
    emit(table, args.markdown_out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
