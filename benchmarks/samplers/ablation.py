"""Ablations: variants of one tunesmith sampler, run side by side on the suite's problems and compared.

A variant is a name and a factory ``seed -> sampler`` (a module-level function or a
``functools.partial`` of one, so that worker processes can receive it). Runs go to their
own results folder, stored as the suite stores its own (``store.py``: a stopped run
continues), never next to the suite's runs, whose rank tables would count them.

Every variant, the shipped one included, is run on the same machine in the same
session: a seeded GP run differs from machine to machine after its first model fit
(``benchmarks/RESULTS.md``), so runs from the suite's cache are not a fair baseline.
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import multiprocessing as mp
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks.samplers import report, store
from benchmarks.samplers.problems import get_problem
from benchmarks.samplers.runners import RANDOM, limit_threads, run_tunesmith, tunesmith_fingerprint


@dataclass(frozen=True)
class Variant:
    name: str  # stored as the sampler's name, e.g. "tunesmith-auto-quarter"
    base: str  # the sampler it varies ("tunesmith-auto"), whose sources' fingerprint its runs record
    factory: Callable[[int], Any]  # seed -> sampler
    setup: Callable[[], None] | None = None  # run in the worker process before the variant's runs


def run_variant(results_dir: str, suite: str, problem_name: str, variant: Variant, seeds: Sequence[int],
                n_trials: int, workers: int = 1) -> str:
    """Run the seeds of one problem x variant not yet recorded; one line of news back."""
    limit_threads()
    if variant.setup is not None:
        variant.setup()
    key = store.Key(suite, problem_name, variant.name)
    problem = get_problem(problem_name)
    source = tunesmith_fingerprint(variant.base)
    t0, ran = time.perf_counter(), 0
    for seed in seeds:
        if store.done(results_dir, key, seed, n_trials, workers, source):
            continue
        result = run_tunesmith(variant.factory(seed), problem, n_trials, workers)
        store.append(results_dir, key, {
            "seed": seed, "n_trials": n_trials, "workers": workers, "family": problem.family,
            "optimum": problem.optimum, "tunesmith_samplers": source, "values": result.values,
            "seconds": round(result.seconds, 4)})
        ran += 1
    return f"{suite}/{problem_name}/{variant.name}: {ran} run(s) in {time.perf_counter() - t0:.0f} s"


def execute(results_dir: str, suite: str, problems: Sequence[str], variants: Sequence[Variant], seeds: int,
            n_trials: int, jobs: int, workers: int = 1) -> None:
    map_tasks(run_variant, [(results_dir, suite, p, v, tuple(range(seeds)), n_trials, workers)
                            for p in problems for v in variants], jobs)


def map_tasks(fn: Callable[..., str], tasks: Sequence[tuple[Any, ...]], jobs: int) -> None:
    """``fn(*task)`` for every task in ``jobs`` spawned processes, printing each one's line of news."""
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as pool:
        futures = [pool.submit(fn, *t) for t in tasks]
        for i, future in enumerate(cf.as_completed(futures), 1):
            print(f"[{i}/{len(tasks)}] {future.result()}", file=sys.stderr, flush=True)


def compare(
    results_dir: str, suite: str, variants: Sequence[Variant], groups: Mapping[str, Callable[[str], bool]],
    budgets: Sequence[int], kind: str = "regret", baseline_dir: str | None = None, source: str | None = None,
) -> str:
    """A markdown table: each variant against ``names[0]``, per group of problems and budget.

    Columns: problems better/worse by median (ties count as neither), the mean log10 ratio
    of the medians (each capped at 100x; values below 1e-8 taken as 1e-8) and the mean
    rank of every variant. Only runs of one sampler source count: ``source``, by default
    the current one of the variants' base sampler. ``kind`` is "regret" or "normalised";
    for "normalised" the random-search runs that set the scale are read from
    ``baseline_dir`` (the suite's cache).
    """
    names = [v.name for v in variants]
    source = source or tunesmith_fingerprint(variants[0].base)
    runs = {k: [r for r in recs if r.get("tunesmith_samplers") == source]
            for k, recs in store.load(results_dir, suite).items() if k.sampler in names}
    if kind == "normalised" and baseline_dir is not None:
        runs.update({k: recs for k, recs in store.load(baseline_dir, suite).items() if k.sampler in RANDOM})
    base, others = names[0], list(names[1:])
    head = ["group", "problems x seeds", *(f"{v}: better/worse" for v in others),
            *(f"{v}: mean log10 ratio" for v in others), *(f"mean rank {v}" for v in names)]
    rows = []
    for budget in budgets:
        tab = {p: {s: x for s, x in c.items() if s in names}
               for p, c in report.table(runs, budget, kind).items()}
        for group, member in groups.items():
            cells = {p: c for p, c in tab.items() if member(p) and all(n in c for n in names)}
            if not cells:
                continue
            n_seeds = min(len(recs) for k, recs in runs.items() if k.problem in cells and k.sampler in names)
            row = [f"{group} @{budget}", f"{len(cells)} x {n_seeds}"]
            pairs = {v: [(c[v], c[base]) for c in cells.values()] for v in others}
            row += [f"{sum(a < b for a, b in pairs[v])}/{sum(a > b for a, b in pairs[v])}" for v in others]
            row += [f"{statistics.mean(_log_ratio(a, b) for a, b in pairs[v]):+.2f}" for v in others]
            ranked = report.ranks(cells)
            row += [f"{statistics.mean(r[n] for r in ranked.values()):.2f}" for n in names]
            rows.append(row)
    return f"Sources {source} ({variants[0].base}):\n\n" + report.markdown(head, rows)


def _log_ratio(a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b):
        return 0.0
    return max(-2.0, min(2.0, math.log10(max(a, 1e-8) / max(b, 1e-8))))
