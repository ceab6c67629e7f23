"""Throughput (trials/s) on a trivial objective: tunesmith vs Optuna, random sampler on both.

Run from the repository root::

    python benchmarks/throughput.py                      # 2,000 trials, 3 repeats
    python benchmarks/throughput.py --trials 500 --repeats 1 --markdown-out /tmp/t.md

Every configuration runs the same define-by-run objective for the same number of
trials, in a fresh temporary directory per configuration and repeat; the reported
number is the median over the repeats of ``n_trials / wall time of optimize()``
(study creation excluded, worker process start-up included). For the parallel
configurations the steady-state rate, ``(n - 1) / (last finish - first finish)``
from the trials' finish timestamps, is also reported; it excludes start-up.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import optuna
from _common import Run, emit, git_commit, objective, rate_table, steady_rate

import tunesmith
from tunesmith.samplers import RandomSampler as TsRandomSampler

STUDY = "throughput"


# -- tunesmith -------------------------------------------------------------------------
def _ts_run(n: int, tmp: str, storage: bool, workers: int) -> Run:
    url = f"sqlite:///{tmp}/ts.db" if storage else None
    study = tunesmith.create_study(name=STUDY, storage=url, sampler=TsRandomSampler())
    t0 = time.perf_counter()
    study.optimize(objective, n_trials=n, n_workers=workers)
    run = Run(time.perf_counter() - t0)
    trials = study.trials
    if workers > 1:
        run.steady = steady_rate([t.finished_at for t in trials if t.finished_at is not None])
    numbers = [t.number for t in trials]
    failed = sum(t.state == tunesmith.TrialState.FAILED for t in trials)
    locked = sum("database is locked" in (t.error or "") for t in trials)
    errors = sum(t.error is not None for t in trials)
    ok = len(trials) == n and len(set(numbers)) == len(numbers) and failed == 0 and errors == 0
    run.notes.append(
        f"trials={len(trials)}/{n} duplicated_numbers={len(numbers) - len(set(numbers))} "
        f"failed={failed} errors={errors} database_is_locked={locked} -> {'OK' if ok else 'PROBLEM'}"
    )
    if not ok:
        run.notes.extend(sorted({t.error for t in trials if t.error})[:3])
    return run


def ts_memory(n: int, tmp: str) -> Run:
    return _ts_run(n, tmp, storage=False, workers=1)


def ts_sqlite(n: int, tmp: str) -> Run:
    return _ts_run(n, tmp, storage=True, workers=1)


def ts_sqlite_2w(n: int, tmp: str) -> Run:
    return _ts_run(n, tmp, storage=True, workers=2)


# -- Optuna ----------------------------------------------------------------------------
def _journal(tmp: str) -> optuna.storages.JournalStorage:
    return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(os.path.join(tmp, "optuna.log")))


def _optuna_run(n: int, storage: Any) -> Run:
    study = optuna.create_study(study_name=STUDY, storage=storage, sampler=optuna.samplers.RandomSampler())
    t0 = time.perf_counter()
    study.optimize(objective, n_trials=n)
    run = Run(time.perf_counter() - t0)
    if len(study.trials) != n:
        run.notes.append(f"trials={len(study.trials)}/{n} -> PROBLEM")
    return run


def optuna_memory(n: int, tmp: str) -> Run:
    return _optuna_run(n, optuna.storages.InMemoryStorage())


def optuna_rdb(n: int, tmp: str) -> Run:
    return _optuna_run(n, f"sqlite:///{tmp}/optuna.db")


def optuna_journal(n: int, tmp: str) -> Run:
    return _optuna_run(n, _journal(tmp))


def _optuna_worker(tmp: str, n: int) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=STUDY, storage=_journal(tmp), sampler=optuna.samplers.RandomSampler())
    study.optimize(objective, n_trials=n)


def optuna_journal_2p(n: int, tmp: str) -> Run:
    """Two spawned processes (fresh interpreters, like tunesmith's workers), N//2 trials each."""
    optuna.create_study(study_name=STUDY, storage=_journal(tmp), sampler=optuna.samplers.RandomSampler())
    ctx = mp.get_context("spawn")
    t0 = time.perf_counter()
    procs = [ctx.Process(target=_optuna_worker, args=(tmp, k)) for k in (n // 2, n - n // 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    run = Run(time.perf_counter() - t0)
    trials = optuna.load_study(study_name=STUDY, storage=_journal(tmp)).trials
    run.steady = steady_rate([t.datetime_complete.timestamp() for t in trials if t.datetime_complete])
    numbers = [t.number for t in trials]
    ok = len(trials) == n and len(set(numbers)) == n and all(p.exitcode == 0 for p in procs)
    run.notes.append(f"trials={len(trials)}/{n} -> {'OK' if ok else 'PROBLEM'}")
    return run


# config name -> runner(n_trials, tmpdir)
CONFIGS: dict[str, Callable[[int, str], Run]] = {
    "tunesmith in-memory": ts_memory,
    "tunesmith SQLite, 1 worker": ts_sqlite,
    "tunesmith SQLite, 2 workers": ts_sqlite_2w,
    "Optuna InMemoryStorage": optuna_memory,
    "Optuna RDBStorage (SQLite)": optuna_rdb,
    "Optuna JournalStorage (file)": optuna_journal,
    "Optuna JournalStorage (file), 2 processes": optuna_journal_2p,
}
RDB, JOURNAL, MEMORY, JOURNAL_2P = (
    "Optuna RDBStorage (SQLite)", "Optuna JournalStorage (file)", "Optuna InMemoryStorage",
    "Optuna JournalStorage (file), 2 processes",
)
# Which ratios are meaningful for which tunesmith row.
RATIOS: dict[str, tuple[str, ...]] = {
    "tunesmith in-memory": (MEMORY,),
    "tunesmith SQLite, 1 worker": (RDB, JOURNAL),
    "tunesmith SQLite, 2 workers": (RDB, JOURNAL, JOURNAL_2P),
}
COLUMNS = (RDB, JOURNAL, MEMORY, JOURNAL_2P)
# (tunesmith config, Optuna config, required ratio)
TARGETS = (
    ("tunesmith SQLite, 1 worker", RDB, 10.0),
    ("tunesmith SQLite, 1 worker", JOURNAL, 1.0),
    ("tunesmith in-memory", MEMORY, 1.0),
)


def _environment() -> str:
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, optuna {optuna.__version__}, "
        f"tunesmith {tunesmith.__version__} (commit {git_commit()}), {platform.platform()}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=2000, help="trials per run (default 2000)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per config; the median is reported")
    parser.add_argument("--markdown-out", metavar="FILE", help="also write the table to FILE")
    parser.add_argument("--only", nargs="*", choices=list(CONFIGS), help="run only these configs")
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    names = args.only or list(CONFIGS)
    rates: dict[str, list[float]] = {name: [] for name in names}
    steady: dict[str, list[float]] = {name: [] for name in names}
    load0 = os.getloadavg()[0]
    print(f"# {_environment()}", file=sys.stderr)
    for rep in range(args.repeats):  # interleaved, so drift hits every config alike
        for name in names:
            with tempfile.TemporaryDirectory(prefix="tunesmith-bench-") as tmp:
                run = CONFIGS[name](args.trials, tmp)
            rates[name].append(args.trials / run.seconds)
            if run.steady is not None:
                steady[name].append(run.steady)
            extra = f", steady {run.steady:,.0f}/s" if run.steady else ""
            print(f"[{rep + 1}/{args.repeats}] {name}: {args.trials / run.seconds:,.0f} trials/s{extra}",
                  file=sys.stderr)
            for note in run.notes:
                print(f"    {note}", file=sys.stderr)
    table = rate_table(args.trials, args.repeats, rates, steady, load0, _environment(), COLUMNS, RATIOS, TARGETS)
    emit(table, args.markdown_out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
