"""Trivial trials on Ray: tunesmith's Ray executor vs Ray Tune's ``Tuner``, same machine, same run.

Run from the repository root::

    python benchmarks/ray_executor.py                     # 200 trials; 3 repeats, 1 of Ray Tune reuse_actors=False
    python benchmarks/ray_executor.py --trials 50 --repeats 1 --markdown-out /tmp/r.md

Both libraries run the same trainable, a function of ``config`` with
``x ~ uniform(-10, 10)`` and ``y ~ randint(0, 10)`` (inclusive) that reports once
``loss = x**2 + y``. Every configuration and repeat gets a fresh Ray runtime,
``ray.init(address="local", num_cpus=2, include_dashboard=False)`` before and ``ray.shutdown()``
after (tunesmith's executor uses a runtime that is already up), and a fresh
temporary directory. The time is from the call (``tunesmith.run``;
``create_study`` + ``optimize``; ``Tuner(...)`` + ``fit()``) to its return,
reported without and with the ``ray.init`` before it; the median over the repeats
is reported. Each run is checked: all trials completed, none failed, each loss
equal to ``x**2 + y`` of its config.

Ray Tune's default ``reuse_actors=False`` starts one actor per trial and takes
minutes, so it gets its own repeat count (``--slow-repeats``, default 1).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ray
from _common import emit, git_commit, objective, table_lines
from ray import tune

import tunesmith
from tunesmith.samplers import RandomSampler


# -- the trainable, identical for both ----------------------------------------------
def ts_train(config: dict[str, Any]) -> None:
    tunesmith.report(loss=config["x"] ** 2 + config["y"])


def tune_train(config: dict[str, Any]) -> None:
    tune.report({"loss": config["x"] ** 2 + config["y"]})


@dataclass
class Run:
    seconds: float  # the call to its return
    init_seconds: float  # ray.init before it
    notes: list[str] = field(default_factory=list)


def _check(notes: list[str], n: int, done: int, failed: int, bad_loss: int) -> None:
    ok = done == n and failed == 0 and bad_loss == 0
    notes.append(f"completed={done}/{n} failed={failed} wrong_loss={bad_loss} -> {'OK' if ok else 'PROBLEM'}")


def _wrong(loss: Any, config: dict[str, Any]) -> bool:
    return loss is None or not math.isclose(loss, config["x"] ** 2 + config["y"])


def _init() -> None:
    # address="local": a fresh runtime even if another Ray cluster runs on this machine
    # (a bare ray.init() would join the one in /tmp/ray/ray_current_cluster).
    ray.init(address="local", num_cpus=2, include_dashboard=False)


# -- tunesmith --------------------------------------------------------------------------
def ts_sqlite(n: int, tmp: str) -> Run:
    t0 = time.perf_counter()
    _init()
    t1 = time.perf_counter()
    try:
        result = tunesmith.run(
            ts_train, config={"x": tunesmith.uniform(-10, 10), "y": tunesmith.randint(0, 10)}, num_samples=n,
            metric="loss", mode="min", executor="ray", resources_per_trial={"cpu": 1},
            storage=os.path.join(tmp, "ts.db"), verbose=0, search_alg=RandomSampler(),  # as Ray Tune's default
        )
        run = Run(time.perf_counter() - t1, t1 - t0)
    finally:
        ray.shutdown()
    trials = result.trials
    done = sum(t.status == "TERMINATED" for t in trials)
    bad = sum(_wrong(t.last_result.get("loss"), t.config) for t in trials)
    _check(run.notes, n, done, len(result.errors), bad)
    return run


def ts_memory(n: int, tmp: str) -> Run:
    t0 = time.perf_counter()
    _init()
    t1 = time.perf_counter()
    try:
        study = tunesmith.create_study(metric="loss", mode="min")
        study.optimize(objective, n_trials=n, executor="ray")
        run = Run(time.perf_counter() - t1, t1 - t0)
    finally:
        ray.shutdown()
    trials = study.trials
    done = sum(t.state == tunesmith.TrialState.COMPLETE for t in trials)
    failed = sum(t.state == tunesmith.TrialState.FAILED for t in trials)
    bad = sum(t.values is None or _wrong(t.values[0], t.params) for t in trials)
    _check(run.notes, n, done, failed, bad)
    return run


# -- Ray Tune ---------------------------------------------------------------------------
def _tuner(n: int, tmp: str, reuse: bool) -> Run:
    t0 = time.perf_counter()
    _init()
    t1 = time.perf_counter()
    try:
        with contextlib.redirect_stdout(sys.stderr):  # Ray Tune prints its banner even with verbose=0
            results = tune.Tuner(
                tune_train, param_space={"x": tune.uniform(-10, 10), "y": tune.randint(0, 11)},  # high exclusive
                tune_config=tune.TuneConfig(num_samples=n, metric="loss", mode="min", reuse_actors=reuse),
                run_config=tune.RunConfig(storage_path=tmp, verbose=0),
            ).fit()
        run = Run(time.perf_counter() - t1, t1 - t0)
    finally:
        ray.shutdown()
    done = sum(r.error is None and "loss" in r.metrics for r in results)
    bad = sum(_wrong(r.metrics.get("loss"), r.config) for r in results)
    _check(run.notes, n, done, results.num_errors, bad)
    return run


def tune_no_reuse(n: int, tmp: str) -> Run:
    return _tuner(n, tmp, reuse=False)


def tune_reuse(n: int, tmp: str) -> Run:
    return _tuner(n, tmp, reuse=True)


TS_SQLITE = "tunesmith Ray executor, SQLite (`tunesmith.run`)"
TS_MEMORY = "tunesmith Ray executor, in-memory (`Study.optimize`)"
NO_REUSE = "Ray Tune (reuse_actors=False)"
REUSE = "Ray Tune (reuse_actors=True)"
# config name -> runner(n_trials, tmpdir)
CONFIGS: dict[str, Callable[[int, str], Run]] = {
    TS_SQLITE: ts_sqlite,
    TS_MEMORY: ts_memory,
    NO_REUSE: tune_no_reuse,
    REUSE: tune_reuse,
}
SLOW = (NO_REUSE,)  # run --slow-repeats times
COLUMNS = (NO_REUSE, REUSE)
# (tunesmith config, Ray Tune config, required speed-up)
TARGETS = ((TS_SQLITE, NO_REUSE, 5.0), (TS_MEMORY, NO_REUSE, 5.0))


def _environment() -> str:
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, ray {ray.__version__}, "
        f"tunesmith {tunesmith.__version__} (commit {git_commit()}), {platform.platform()}"
    )


def render(n: int, runs: dict[str, list[Run]], load0: float, env: str) -> str:
    sec = {name: statistics.median(r.seconds for r in v) for name, v in runs.items() if v}
    full = {name: statistics.median(r.seconds + r.init_seconds for r in v) for name, v in runs.items() if v}
    head = ["config", "runs", "seconds (median)", "seconds incl. `ray.init`", "trials/s"]
    head += [f"vs {c}" for c in COLUMNS]
    lines = [
        f"{n} trials per run; {env}; 1-min load average {load0:.1f} at start, "
        f"{os.getloadavg()[0]:.1f} at end",
        "",
        *table_lines(head, []),
    ]
    for name in sec:
        cells = [name, str(len(runs[name])), f"{sec[name]:,.1f}", f"{full[name]:,.1f}", f"{n / sec[name]:,.1f}"]
        for col in COLUMNS:
            cells.append(f"{sec[col] / sec[name]:.2f}x" if col in sec and col != name else "")
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "seconds: the call to its return, `ray.init` excluded; vs X: X's seconds / this row's seconds "
        "(higher is faster).",
        "",
        "Targets:",
        "",
    ]
    for ts, base, need in TARGETS:
        if ts in sec and base in sec:
            ratio, ratio_full = sec[base] / sec[ts], full[base] / full[ts]
            verdict = "met" if ratio >= need else "NOT met"
            lines.append(
                f"- {ts} >= {need:g}x faster than {base}: {ratio:.1f}x ({ratio_full:.1f}x with `ray.init`) "
                f"-> {verdict}"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=200, help="trials per run (default 200)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per config; the median is reported")
    parser.add_argument("--slow-repeats", type=int, default=1,
                        help="runs of Ray Tune with reuse_actors=False (default 1: it takes minutes)")
    parser.add_argument("--markdown-out", metavar="FILE", help="also write the table to FILE")
    parser.add_argument("--only", nargs="*", choices=list(CONFIGS), help="run only these configs")
    args = parser.parse_args(argv)
    names = args.only or list(CONFIGS)
    runs: dict[str, list[Run]] = {name: [] for name in names}
    load0 = os.getloadavg()[0]
    env = _environment()  # at the start: the checkout may move on during a long run
    print(f"# {env}", file=sys.stderr)
    for rep in range(max(args.repeats, args.slow_repeats)):  # interleaved, so drift hits every config alike
        for name in names:
            wanted = args.slow_repeats if name in SLOW else args.repeats
            if rep >= wanted:
                continue
            with tempfile.TemporaryDirectory(prefix="tunesmith-bench-") as tmp:
                run = CONFIGS[name](args.trials, tmp)
            runs[name].append(run)
            print(f"[{rep + 1}/{wanted}] {name}: {run.seconds:,.2f} s (+ {run.init_seconds:.2f} s ray.init), "
                  f"{args.trials / run.seconds:,.1f} trials/s", file=sys.stderr)
            for note in run.notes:
                print(f"    {note}", file=sys.stderr)
    table = render(args.trials, runs, load0, env)
    emit(table, args.markdown_out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
