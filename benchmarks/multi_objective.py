"""Multi-objective samplers: tunesmith NSGA-II against Optuna 5's NSGAIISampler and random search.

Run from the repository root::

    python benchmarks/multi_objective.py --jobs 2                 # ZDT1, ZDT2; d=10, 200 trials, 5 seeds
    python benchmarks/multi_objective.py --trials 1000 --checkpoints 200 300 500 1000 --seeds 3 \\
        --samplers tunesmith-nsga2 tunesmith-tpe tunesmith-auto --timing-trials 0 --jobs 2

Problems (Zitzler, Deb and Thiele 2000), both minimised over [0, 1]^d, with
``g = 1 + 9 mean(x_1 .. x_{d-1})``: ZDT1 ``f1 = x_0, f2 = g (1 - sqrt(f1 / g))`` (convex front),
ZDT2 ``f2 = g (1 - (f1 / g)^2)`` (concave front). Every sampler gets the same define-by-run
objective, budget and seeds 0 .. seeds-1, with its defaults.

Quality: the hypervolume of all trials' values with reference point (1.1, 11). Anywhere in the
box f1 <= 1 and f2 <= g <= 10, so every trial counts from the first; the customary (1.1, 1.1)
bounds only points near the true front, which at d = 10 and a few hundred trials few samplers
reach (it is reported too, in brackets). The true fronts' hypervolumes are 11.767 (ZDT1) and
11.433 (ZDT2) with (1.1, 11), 0.877 and 0.543 with (1.1, 1.1).

Cost: milliseconds per suggestion on ZDT1: the wall time from the end of one evaluation to the
last ``suggest_*`` of the next (tell, storage and sampler work), mean over the 20 trials before
``--timing-trials``, median over ``--timing-seeds``; in-memory storage for both libraries; the
timing runs go one at a time, after the quality runs.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import math
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from _common import emit, git_commit, table_lines

from tunesmith.multi_objective import hypervolume

SAMPLERS = ("tunesmith-nsga2", "optuna-nsga2", "tunesmith-random", "tunesmith-tpe", "tunesmith-auto",
            "optuna-random", "optuna-tpe")
DEFAULT_SAMPLERS = ("tunesmith-nsga2", "optuna-nsga2", "tunesmith-random")
TIMING_SAMPLERS = ("tunesmith-nsga2", "optuna-nsga2")
REF, REF_NEAR = (1.1, 11.0), (1.1, 1.1)
TRUE_HV = {"zdt1": (12.1 - 1 / 3, 0.1 + 2 / 3 + 0.11), "zdt2": (12.1 - 2 / 3, 0.1 + 1 / 3 + 0.11)}


def zdt(problem: str, x: Sequence[float]) -> tuple[float, float]:
    """ZDT1 or ZDT2 at ``x`` (any dimension >= 2)."""
    g = 1.0 + 9.0 * sum(x[1:]) / (len(x) - 1)
    f1 = x[0]
    return f1, g * (1.0 - (math.sqrt(f1 / g) if problem == "zdt1" else (f1 / g) ** 2))


def make_sampler(name: str, seed: int) -> Any:
    library, _, algorithm = name.partition("-")
    if library == "tunesmith":
        from tunesmith import samplers

        classes = {"nsga2": samplers.NSGAIISampler, "random": samplers.RandomSampler,
                   "tpe": samplers.TPESampler, "auto": samplers.AutoSampler}
        return classes[algorithm](seed=seed)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    classes_op = {"nsga2": optuna.samplers.NSGAIISampler, "random": optuna.samplers.RandomSampler,
                  "tpe": optuna.samplers.TPESampler}
    return classes_op[algorithm](seed=seed)


def run(sampler: str, problem: str, d: int, n_trials: int, seed: int) -> tuple[np.ndarray, list[float]]:
    """(n, 2) values in trial order, and per trial the overhead before its evaluation (see the module doc)."""
    overheads: list[float] = []
    last_end: list[float] = []

    def objective(trial: Any) -> tuple[float, float]:
        x = [trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(d)]
        if last_end:
            overheads.append(time.perf_counter() - last_end[0])
        try:
            return zdt(problem, x)
        finally:
            last_end[:] = [time.perf_counter()]

    directions = ["minimize", "minimize"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna's experimental-feature warnings
        if sampler.startswith("tunesmith-"):
            import tunesmith

            ts_study = tunesmith.create_study(directions=directions, sampler=make_sampler(sampler, seed))
            ts_study.optimize(objective, n_trials=n_trials)
            values = [t.values for t in sorted(ts_study.trials, key=lambda t: t.number)]
        else:
            import optuna

            op_study = optuna.create_study(directions=directions, sampler=make_sampler(sampler, seed))
            op_study.optimize(objective, n_trials=n_trials)
            values = [t.values for t in sorted(op_study.trials, key=lambda t: t.number)]
    return np.array(values, dtype=float), overheads


def quality_task(args: tuple[str, str, int, int, int, Sequence[int]]) -> tuple[str, str, int, list[list[float]]]:
    sampler, problem, d, n_trials, seed, checkpoints = args
    values, _ = run(sampler, problem, d, n_trials, seed)
    hv = [[hypervolume(values[:c], REF), hypervolume(values[:c], REF_NEAR)] for c in checkpoints]
    return sampler, problem, seed, hv


def timing_task(args: tuple[str, int, int, int]) -> tuple[str, int, float]:
    sampler, d, n_trials, seed = args
    _, overheads = run(sampler, "zdt1", d, n_trials, seed)
    return sampler, seed, 1000.0 * statistics.fmean(overheads[-20:])


def _limit_threads() -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def _map(fn: Callable[[Any], Any], tasks: list[Any], jobs: int) -> list[Any]:
    if jobs <= 1:
        return [fn(t) for t in tasks]
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn"),
                                initializer=_limit_threads) as pool:
        return list(pool.map(fn, tasks))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=["zdt1", "zdt2"], choices=sorted(TRUE_HV))
    parser.add_argument("--samplers", nargs="+", default=list(DEFAULT_SAMPLERS), choices=SAMPLERS)
    parser.add_argument("--dims", type=int, default=10)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--checkpoints", type=int, nargs="+", default=[100, 200],
                        help="trial counts at which the hypervolume is reported (default 100 200)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--timing-trials", type=int, default=500, help="0 skips the timing")
    parser.add_argument("--timing-seeds", type=int, default=3)
    parser.add_argument("--timing-samplers", nargs="+", default=list(TIMING_SAMPLERS), choices=SAMPLERS)
    parser.add_argument("--jobs", type=int, default=1, help="runs side by side, one process each")
    parser.add_argument("--markdown-out")
    args = parser.parse_args(argv)
    _limit_threads()
    checkpoints = sorted({c for c in args.checkpoints if c <= args.trials} | {args.trials})
    load0, t0 = os.getloadavg()[0], time.perf_counter()

    tasks = [(s, p, args.dims, args.trials, seed, checkpoints)
             for s in args.samplers for p in args.problems for seed in range(args.seeds)]
    hv: dict[tuple[str, str], list[list[list[float]]]] = {}
    for sampler, problem, _, per_checkpoint in _map(quality_task, tasks, args.jobs):
        hv.setdefault((sampler, problem), []).append(per_checkpoint)
    head = ["sampler"] + [f"{p.upper()} HV @{c}" for p in args.problems for c in checkpoints]
    rows = []
    for s in args.samplers:
        row = [s]
        for p in args.problems:
            runs = np.array(hv[(s, p)])  # (seeds, checkpoints, 2)
            for k in range(len(checkpoints)):
                med = np.median(runs[:, k, :], axis=0)
                row.append(f"{med[0]:.3f} [{runs[:, k, 0].min():.2f}, {runs[:, k, 0].max():.2f}] ({med[1]:.3f})")
        rows.append(row)
    lines = [
        f"ZDT d={args.dims}, {args.trials} trials, seeds 0..{args.seeds - 1}. Cells: median hypervolume with "
        f"reference point {REF} [min, max over seeds] (median with reference point {REF_NEAR}). True fronts: "
        + ", ".join(f"{p.upper()} {TRUE_HV[p][0]:.3f} ({TRUE_HV[p][1]:.3f})" for p in args.problems) + ".",
        "", *table_lines(head, rows), "",
    ]
    if args.timing_trials > 0 and args.timing_samplers:
        tasks_t = [(s, args.dims, args.timing_trials, seed)
                   for s in args.timing_samplers for seed in range(args.timing_seeds)]
        ms: dict[str, list[float]] = {}
        for sampler, _, value in map(timing_task, tasks_t):  # one at a time: timings do not share the CPU
            ms.setdefault(sampler, []).append(value)
        lines += [
            f"Milliseconds per suggestion on ZDT1 (d={args.dims}), trials {args.timing_trials - 20}.."
            f"{args.timing_trials - 1}, median of {args.timing_seeds} seeds:", "",
            *table_lines(["sampler", f"ms @{args.timing_trials}", "per seed"],
                         [[s, f"{statistics.median(v):.3f}", " / ".join(f"{x:.3f}" for x in v)]
                          for s, v in ms.items()]),
            "",
        ]
    import optuna

    lines.append(
        f"{os.cpu_count()} cores, Python {platform.python_version()}, optuna {optuna.__version__}, "
        f"tunesmith at commit {git_commit()} (plus uncommitted changes, if any); {args.jobs} job(s); "
        f"1-min load average {load0:.1f} at start, {os.getloadavg()[0]:.1f} at end; "
        f"{time.perf_counter() - t0:.0f} s in all"
    )
    emit("\n".join(lines) + "\n", args.markdown_out)


if __name__ == "__main__":
    sys.exit(main())
