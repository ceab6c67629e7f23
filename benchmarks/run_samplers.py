"""Sampler quality and cost: tunesmith against Optuna 5, Hyperopt (and HEBO where it installs).

Run from the repository root::

    python benchmarks/run_samplers.py --jobs 2                 # everything, 10 seeds (days on 2 cores)
    python benchmarks/run_samplers.py --suites classic timing --seeds 5 --markdown-out /tmp/s.md
    python benchmarks/run_samplers.py --report-only --markdown-out /tmp/s.md   # tables from the cache

Suites (``--suites``): ``classic`` (Branin, Hartmann-6, Rosenbrock-10, Ackley-10, a mixed
integer/categorical Rosenbrock-4 and a conditional space), ``bbob`` (the 24 BBOB functions
through ``ioh``: ``--bbob-functions/--bbob-dims/--bbob-instances``), ``bayesmark`` (the
port in ``samplers/bayesmark.py``: ``--bayesmark-tasks``), ``batch`` (the classic problems
with ``--batch-workers`` parallel workers: tunesmith processes on a SQLite file, Optuna
``n_jobs`` threads) and ``timing`` (milliseconds per suggestion on a 10-D sphere).

Every run (suite x problem x sampler x seed) is appended as a JSON line under
``--results-dir`` as soon as it finishes, and skipped when the runner is started again
(see ``samplers/store.py``): a long run can be stopped and continued, or extended with
more seeds or trials. ``--jobs`` runs that many suite x problem x sampler tasks side by
side, each in its own process, with one BLAS/torch thread each. Same objective, budget
and seeds (0 .. seeds-1) for every sampler.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# One BLAS/OpenMP thread per process, set before numpy is imported: OpenBLAS reads it when it loads.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # `python benchmarks/run_samplers.py` puts benchmarks/, not the root, on the path
    sys.path.insert(0, ROOT)

from benchmarks.samplers import report, store  # noqa: E402
from benchmarks.samplers.bayesmark import task_names  # noqa: E402
from benchmarks.samplers.problems import CLASSIC, bbob_name, get_problem, sphere  # noqa: E402
from benchmarks.samplers.runners import (  # noqa: E402
    DEFAULT_SAMPLERS,
    SAMPLERS,
    UnavailableError,
    limit_threads,
    run,
    tunesmith_fingerprint,
)

SUITES = ("classic", "bbob", "bayesmark", "batch", "timing")
BATCH_SAMPLERS = ("tunesmith-auto", "tunesmith-tpe", "tunesmith-gp", "tunesmith-cmaes",
                  "optuna-tpe", "optuna-gp", "optuna-cmaes")
DEFAULT = "tunesmith-auto"  # the sampler the targets and the head-to-head tables are about
TIMING_SAMPLERS = ("tunesmith-tpe", "tunesmith-gp", "tunesmith-auto", "optuna-tpe", "optuna-gp", "hyperopt-tpe")
TIMING_PROBLEM = "sphere10"
EXPENSIVE = ("gp", "auto", "bayesmark")  # scheduled first, so the slowest tasks do not finish last

# Issue 4's references, measured earlier on this machine (median of 5 seeds, best after 100 trials).
REFERENCE_MS = {"optuna-tpe @1000": 14.0, "hyperopt-tpe @1000": 17.0, "optuna-gp @300": 190.0}
REFERENCE_BEST = {
    "optuna-gp": {"branin": 0.398, "hartmann6": -3.322, "rosenbrock10": 2890, "ackley10": 6.7},
    "optuna-tpe": {"branin": 0.417, "hartmann6": -3.153, "rosenbrock10": 2779, "ackley10": 12.8},
    "CMA-ES": {"branin": 0.444, "hartmann6": -3.051, "rosenbrock10": 2513, "ackley10": 10.9},
}


@dataclass(frozen=True)
class Task:
    suite: str
    problem: str
    sampler: str
    seeds: tuple[int, ...]
    n_trials: int
    workers: int
    results_dir: str
    rerun_changed: bool = False


def run_task(task: Task) -> str:
    """Run the seeds of one suite x problem x sampler not yet recorded; one line of news back."""
    limit_threads()
    key = store.Key(task.suite, task.problem, task.sampler)
    problem = sphere(10) if task.problem == TIMING_PROBLEM else get_problem(task.problem)
    ran, t0 = 0, time.perf_counter()
    source = tunesmith_fingerprint(task.sampler) if task.sampler.startswith("tunesmith-") else None
    for seed in task.seeds:
        if store.done(task.results_dir, key, seed, task.n_trials, task.workers,
                      source if task.rerun_changed else None):
            continue
        record: dict[str, Any] = {"seed": seed, "n_trials": task.n_trials, "workers": task.workers,
                                  "family": problem.family, "optimum": problem.optimum}
        if source is not None:
            record["tunesmith_samplers"] = source
        try:
            result = run(task.sampler, problem, task.n_trials, seed, task.workers)
        except UnavailableError as e:
            store.append(task.results_dir, key, {**record, "unavailable": str(e)})
            return f"{task.suite}/{task.problem}/{task.sampler}: unavailable: {e}"
        except Exception as e:  # a sampler under construction: note it, go on with the others
            reason = f"{type(e).__name__}: {e} ({traceback.format_exc(limit=-3).strip().splitlines()[-3:]})"
            store.append(task.results_dir, key, {**record, "unavailable": f"failed: {reason}"})
            return f"{task.suite}/{task.problem}/{task.sampler}: FAILED seed {seed}: {reason}"
        record.update(values=result.values, seconds=round(result.seconds, 4))
        if task.suite == "timing":
            record["overheads"] = [round(x, 6) for x in result.overheads]
        store.append(task.results_dir, key, record)
        ran += 1
    return f"{task.suite}/{task.problem}/{task.sampler}: {ran} run(s) in {time.perf_counter() - t0:.1f} s"


def _seed_caps(specs: Sequence[str]) -> dict[str, int]:
    caps = {}
    for spec in specs:
        name, _, n = spec.partition("=")
        if name not in SAMPLERS or not n.isdigit():
            raise SystemExit(f"--sampler-seeds takes NAME=N with NAME in {SAMPLERS}; got {spec!r}")
        caps[name] = int(n)
    return caps


def _bayesmark_names(args: argparse.Namespace) -> list[str]:
    return [t if t.startswith("bayesmark-") else f"bayesmark-{t}" for t in args.bayesmark_tasks]


def tasks(args: argparse.Namespace) -> list[Task]:
    caps = _seed_caps(args.sampler_seeds)
    out: list[Task] = []

    def add(suite: str, problems: Sequence[str], samplers: Sequence[str], n_seeds: int, n_trials: int,
            workers: int = 1) -> None:
        for problem in problems:
            for sampler in samplers:
                n = min(n_seeds, caps.get(sampler, n_seeds))
                out.append(Task(suite, problem, sampler, tuple(range(n)), n_trials, workers, args.results_dir,
                                args.rerun_changed))

    samplers = args.samplers
    if "classic" in args.suites:
        add("classic", args.classic_problems, samplers, args.seeds, args.classic_trials)
    if "bbob" in args.suites:
        names = [bbob_name(f, d, i) for d in args.bbob_dims for f in args.bbob_functions for i in args.bbob_instances]
        add("bbob", names, samplers, args.bbob_seeds or args.seeds, args.bbob_trials)
    if "bayesmark" in args.suites:
        add("bayesmark", _bayesmark_names(args), samplers, args.bayesmark_seeds or args.seeds, args.bayesmark_trials)
    if "batch" in args.suites:
        add("batch", args.batch_problems, [s for s in BATCH_SAMPLERS if s in samplers],
            args.batch_seeds or args.seeds, args.batch_trials, args.batch_workers)
    if "timing" in args.suites:
        for sampler in [s for s in TIMING_SAMPLERS if s in samplers]:
            n = args.timing_gp_trials if sampler.endswith("-gp") else args.timing_trials
            add("timing", [TIMING_PROBLEM], [sampler], args.timing_seeds, n)
    # Expensive first (GP, Auto, Bayesmark, batch), then the rest in order.
    return sorted(out, key=lambda t: not (t.suite == "batch" or any(e in t.sampler or e in t.suite
                                                                         for e in EXPENSIVE)))


def execute(todo: list[Task], jobs: int) -> None:
    if jobs <= 1:
        for i, task in enumerate(todo, 1):
            print(f"[{i}/{len(todo)}] {run_task(task)}", file=sys.stderr, flush=True)
        return
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as pool:
        futures = [pool.submit(run_task, task) for task in todo]
        for i, future in enumerate(cf.as_completed(futures), 1):
            print(f"[{i}/{len(todo)}] {future.result()}", file=sys.stderr, flush=True)


# -- the report --------------------------------------------------------------------------
def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT,
                             check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def _versions() -> str:
    import importlib.metadata as md

    parts = []
    for dist in ("tunesmith", "optuna", "hyperopt", "ioh", "scikit-learn", "numpy", "scipy", "torch", "cmaes"):
        try:
            parts.append(f"{dist} {md.version(dist)}")
        except md.PackageNotFoundError:
            parts.append(f"{dist} not installed")
    return ", ".join(parts)


def _environment() -> str:
    return (f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}; "
            f"{_versions()}; repository at commit {_commit()} when this report was written")


def _budgets(runs: report.Runs, budgets: Sequence[int]) -> list[int]:
    longest = max((len(r["values"]) for recs in runs.values() for r in recs if "values" in r), default=0)
    return [b for b in budgets if b <= longest] or ([longest] if longest else [])


def _seed_line(runs: report.Runs, budget: int, samplers: Sequence[str]) -> str:
    counts = report.seeds(runs, budget)
    return "Seeds per sampler (fewest over problems): " + ", ".join(
        f"{report.short(s)} {counts[s]}" for s in samplers if s in counts)


def _head_to_head(per_budget: Mapping[int, tuple[report.Table, Mapping[str, str]]], samplers: Sequence[str],
                  unit: str) -> list[str]:
    """The default sampler against every other one that ran, as markdown lines (none without the default)."""
    ran = {s for tab, _ in per_budget.values() for cells in tab.values() for s in cells}
    if DEFAULT not in ran:
        return []
    others = [s for s in samplers if s in ran and s != DEFAULT]
    return [f"#### {report.short(DEFAULT)} against each sampler, {unit} by {unit} (better/worse by median; "
            "ties count as neither)", "", report.head_to_head(per_budget, DEFAULT, others), ""]


def _notes(runs_by_suite: Mapping[str, report.Runs]) -> list[str]:
    """Samplers that did not run, and which tunesmith sampler sources the tunesmith runs used."""
    why_not: dict[str, str] = {}
    sources: dict[str, set[str]] = {}
    for runs in runs_by_suite.values():
        why_not.update(report.unavailable(runs))
        for key, recs in runs.items():
            for r in recs:
                if "tunesmith_samplers" in r:
                    sources.setdefault(key.sampler, set()).add(r["tunesmith_samplers"])
    lines = [f"- {report.short(s)} did not run: {why}" for s, why in sorted(why_not.items())]
    if sources:
        current = {s: tunesmith_fingerprint(s) for s in sources}
        used = ", ".join(f"{report.short(s)} {'/'.join(sorted(v))}" for s, v in sorted(sources.items()))
        now = ", ".join(f"{report.short(s)} {current[s]}" for s in sorted(sources))
        lines.append("- tunesmith sampler sources (hash of the tunesmith/samplers modules each sampler runs) of the "
                     f"runs shown: {used}; current: {now}")
        mixed = [report.short(s) for s, v in sorted(sources.items()) if len(v) > 1 or current[s] not in v]
        if mixed:
            lines.append(f"- NOTE: {', '.join(mixed)} include runs of other sampler sources than the current ones; "
                         "`--rerun-changed` redoes them")
    return lines


def _batch_wall_ms(runs: report.Runs) -> dict[str, dict[str, float]]:
    """problem -> sampler -> median over seeds of 1000 x wall seconds / trials."""
    out: dict[str, dict[str, float]] = {}
    for key, recs in runs.items():
        per_seed = sorted(1000 * r["seconds"] / len(r["values"]) for r in recs if r.get("values") and "seconds" in r)
        if per_seed:
            out.setdefault(key.problem, {})[key.sampler] = per_seed[len(per_seed) // 2]
    return out


def _timing(runs: report.Runs, checkpoints: Sequence[int]) -> dict[str, dict[int, float]]:
    """sampler -> checkpoint -> ms per suggestion: mean overhead of the suggestions made with
    c - w .. c - 1 trials complete (w = max(10, c / 10)), median over seeds."""
    out: dict[str, dict[int, float]] = {}
    for key, recs in runs.items():
        for c in checkpoints:
            w = max(10, c // 10)
            per_seed = []
            for r in recs:
                overheads = r.get("overheads", [])
                # overheads[i] belongs to trial i + 1, suggested with i + 1 trials complete
                if len(overheads) >= c - 1:
                    window = overheads[c - w - 1: c - 1]
                    per_seed.append(1000 * sum(window) / len(window))
            if per_seed:
                out.setdefault(key.sampler, {})[c] = float(sorted(per_seed)[len(per_seed) // 2])
    return out


def render(args: argparse.Namespace) -> str:
    runs_by_suite = {suite: store.merge(*(store.load(d, suite, args.report_seeds)
                                          for d in [args.results_dir, *args.also_results_dir])) for suite in SUITES}
    chosen = set(_bayesmark_names(args))  # all 90 unless --bayesmark-tasks names some
    runs_by_suite["bayesmark"] = {k: v for k, v in runs_by_suite["bayesmark"].items() if k.problem in chosen}
    samplers = [s for s in SAMPLERS if s in args.samplers or s in TIMING_SAMPLERS]
    out: list[str] = [f"Environment: {_environment()}. BLAS, OpenMP and torch limited to one thread per process.", ""]
    out += [
        "Columns: `ts-` = tunesmith, `op-` = Optuna; each sampler with its defaults and `seed=s`; "
        "hyperopt-tpe = `hyperopt.fmin(algo=tpe.suggest, rstate=np.random.default_rng(s))`. "
        "Best per row in bold.", "",
    ]
    out += _notes(runs_by_suite)
    per_budget_rank: dict[int, tuple[report.Table, dict[str, str]]] = {}
    rank_budgets = sorted(set(args.rank_budgets))

    def add_ranks(runs: report.Runs, kind: str) -> None:
        family_of = report.families(runs)
        for b in rank_budgets:
            tab = report.table(runs, b, kind)
            if tab:
                base, fams = per_budget_rank.setdefault(b, ({}, {}))
                base.update(tab)
                fams.update(family_of)

    # classic
    classic = runs_by_suite["classic"]
    if classic:
        out += ["", "### Classic problems: median best value over seeds", ""]
        optima = {p: report.fmt(CLASSIC[p].optimum) for p in CLASSIC}
        for b in _budgets(classic, args.budgets):
            out += [f"After {b} trials (optimum in brackets):", "",
                    report.problem_table(report.table(classic, b, "value"), samplers, extra={
                        p: f"opt {o}" for p, o in optima.items()}), ""]
        final = _budgets(classic, args.budgets)[-1]
        out += [_seed_line(classic, final, samplers), "",
                "Earlier references on this machine (best after 100 trials, median of 5 seeds): " + "; ".join(
                    f"{name} " + " / ".join(f"{v:g}" for v in vals.values())
                    for name, vals in REFERENCE_BEST.items()) + " (Branin / Hartmann-6 / Rosenbrock-10 / Ackley-10)."]
        add_ranks(classic, "regret")

    bbob = runs_by_suite["bbob"]
    if bbob:
        out += ["", "### BBOB (ioh): median regret f(best) - f(x*) over seeds", ""]
        for b in _budgets(bbob, args.budgets):
            out += [f"After {b} trials:", "", report.problem_table(report.table(bbob, b, "regret"), samplers), "",
                    f"{_seed_line(bbob, b, samplers)} (after {b} trials)", ""]
        add_ranks(bbob, "regret")
        group_of = {key.problem: report.bbob_group(key.problem) for key in bbob}
        by_group = {b: (tab, group_of) for b in rank_budgets if (tab := report.table(bbob, b, "regret"))}
        if by_group:
            text, _ = report.rank_table(by_group, samplers, totals=False)
            out += ["#### BBOB: mean rank by dimension and instance (over its 24 functions; "
                    "1 = best)", "", "Each group is ranked among the samplers that reach the budget on every "
                    "problem of the BBOB table at that budget; the number of functions is in brackets.", "",
                    text, ""]
            out += _head_to_head(by_group, samplers, "function")

    bayes = runs_by_suite["bayesmark"]
    if bayes:
        out += ["", "### Bayesmark port: median normalised score (0 = best found by anyone, 1 = random search median)",
                ""]
        budgets = _budgets(bayes, [*args.budgets, args.bayesmark_trials])
        family_of = report.families(bayes)
        by_budget = {b: (report.table(bayes, b, "normalised"), family_of) for b in sorted(set(budgets))}
        for b, (tab, _) in by_budget.items():
            out += [f"After {b} trials:", "", report.problem_table(tab, samplers, label="task"), ""]
            _, suite, _ = report.mean_ranks(report.ranks(tab), family_of)
            out += ["Mean rank over these tasks: " + ", ".join(
                f"{report.short(s)} {suite[s]:.2f}" for s in sorted(suite, key=suite.__getitem__)), ""]
        out += [_seed_line(bayes, max(budgets), samplers), ""]
        out += _head_to_head(by_budget, samplers, "task")
        add_ranks(bayes, "normalised")

    suites_rank: dict[int, dict[str, float]] = {}
    if per_budget_rank:
        text, suites_rank = report.rank_table(per_budget_rank, samplers)
        out += ["", "### Mean rank per problem family (1 = best; by median regret or normalised score)", "",
                "A family is counted at a budget only where its runs reach that budget; "
                "the number of problems is in brackets.", "", text]

    timing = _timing(runs_by_suite["timing"], args.timing_checkpoints)
    if timing:
        out += ["", f"### Milliseconds per suggestion on a 10-D sphere ({TIMING_PROBLEM}, define-by-run)", "",
                "Overhead per trial = wall time from the end of one evaluation to the last `suggest_*` of the next "
                "(tell, storage and sampler work); mean over the suggestions made with c - max(10, c/10) .. c - 1 "
                "trials complete, median over seeds. GP samplers only up to "
                f"{args.timing_gp_trials} trials.", ""]
        rows = [[report.short(s), *(report.fmt(timing[s].get(c)) for c in args.timing_checkpoints)]
                for s in TIMING_SAMPLERS if s in timing]
        out += [report.markdown(["sampler", *(f"ms @{c}" for c in args.timing_checkpoints)], rows), ""]
        out += ["Earlier references: " + ", ".join(f"{k} {v:g} ms" for k, v in REFERENCE_MS.items()) + "."]

    batch = runs_by_suite["batch"]
    if batch:
        b = args.batch_trials
        par = report.table(batch, b, "value")
        seq = report.table(classic, b, "value") if classic else {}
        merged = {p: {s: v for s, v in cells.items()} for p, cells in par.items()}
        out += ["", f"### Batch: classic problems with {args.batch_workers} parallel workers, median best value "
                f"after {b} trials (sequential in brackets)", ""]
        cols = [s for s in BATCH_SAMPLERS if any(s in c for c in merged.values())]
        rows = []
        for p in sorted(merged, key=report._problem_order):
            row = [p]
            for s in cols:
                v, w = merged[p].get(s), seq.get(p, {}).get(s)
                row.append(f"{report.fmt(v)} ({report.fmt(w)})" if w is not None else report.fmt(v))
            rows.append(row)
        out += [report.markdown(["problem", *(report.short(s) for s in cols)], rows), "",
                _seed_line(batch, b, cols),
                f"tunesmith: `optimize(n_workers={args.batch_workers})` on a SQLite file (worker processes); "
                f"Optuna: `optimize(n_jobs={args.batch_workers})` (threads), in-memory storage."]
        wall = _batch_wall_ms(batch)
        out += ["", f"Milliseconds of wall time per trial with {args.batch_workers} workers (the run's wall time over "
                "its trials, median over seeds; the objectives are instant, so this is what suggesting, storing "
                "and coordinating cost; tunesmith's includes starting its worker processes):", "",
                report.markdown(["problem", *(report.short(s) for s in cols)],
                                [[p, *(report.fmt(wall.get(p, {}).get(s)) for s in cols)]
                                 for p in sorted(wall, key=report._problem_order)])]

    out += ["", "### Targets", "", *targets(suites_rank, timing, per_budget_rank, rank_budgets)]
    return "\n".join(out) + "\n"


def targets(suites_rank: dict[int, dict[str, float]], timing: dict[str, dict[int, float]],
            per_budget_rank: dict[int, tuple[report.Table, dict[str, str]]], rank_budgets: Sequence[int]) -> list[str]:
    lines = []
    for b in rank_budgets:
        suite = suites_rank.get(b)
        if not suite:
            lines.append(f"- tunesmith default (Auto) first on the suite at {b} trials: no data")
            continue
        order = sorted(suite, key=suite.__getitem__)
        top = ", ".join(f"{report.short(s)} {suite[s]:.2f}" for s in order[:4])
        ok = DEFAULT in suite and suite[DEFAULT] <= min(suite.values())
        lines.append(f"- tunesmith default (Auto) ranks first on the suite at {b} trials: mean family rank "
                     f"{suite.get(DEFAULT, float('nan')):.2f}; best: {top} -> {'met' if ok else 'NOT met'}")
    ts, op = timing.get("tunesmith-tpe", {}).get(1000), timing.get("optuna-tpe", {}).get(1000)
    if ts is not None and op is not None:
        lines.append(f"- TPE ms per suggestion at 1000 trials <= 1/5 of Optuna TPE: {ts:.2f} vs {op:.2f} ms = "
                     f"1/{op / ts:.1f} -> {'met' if ts * 5 <= op else 'NOT met'}")
    else:
        lines.append("- TPE at 1000 trials: no timing data")
    ts, op = timing.get("tunesmith-gp", {}).get(300), timing.get("optuna-gp", {}).get(300)
    if ts is not None and op is not None:
        fast = ts * 3 <= op
        # Regret: the two GPs' ranks on every problem where both ran, at the largest rank budget with data.
        detail, better = "no regret data", False
        if per_budget_rank:
            b = max(per_budget_rank)
            rk = report.ranks(per_budget_rank[b][0])
            both = [p for p, cells in rk.items() if "tunesmith-gp" in cells and "optuna-gp" in cells]
            if both:
                wins = sum(rk[p]["tunesmith-gp"] <= rk[p]["optuna-gp"] for p in both)
                mt = sum(rk[p]["tunesmith-gp"] for p in both) / len(both)
                mo = sum(rk[p]["optuna-gp"] for p in both) / len(both)
                better = mt <= mo
                detail = (f"at {b} trials tunesmith GP is equal or better on {wins}/{len(both)} problems, "
                          f"mean rank {mt:.2f} vs Optuna GP {mo:.2f}")
        lines.append(f"- GP ms per suggestion at 300 trials <= 1/3 of Optuna GP: {ts:.1f} vs {op:.1f} ms = "
                     f"1/{op / ts:.1f} -> {'met' if fast else 'NOT met'}; equal or better regret: {detail} -> "
                     f"{'met' if better else 'NOT met'}")
    else:
        lines.append("- GP at 300 trials: no timing data")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--suites", nargs="+", choices=SUITES, default=list(SUITES))
    parser.add_argument("--samplers", nargs="+", choices=SAMPLERS, default=list(DEFAULT_SAMPLERS))
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0 .. N-1 for every suite unless overridden")
    parser.add_argument("--sampler-seeds", nargs="*", default=[], metavar="NAME=N",
                        help="fewer seeds for some samplers, e.g. optuna-gp=3")
    parser.add_argument("--classic-problems", nargs="+", choices=list(CLASSIC), default=list(CLASSIC))
    parser.add_argument("--classic-trials", type=int, default=100)
    parser.add_argument("--bbob-functions", nargs="+", type=int, default=list(range(1, 25)))
    parser.add_argument("--bbob-dims", nargs="+", type=int, default=[2, 5, 10])
    parser.add_argument("--bbob-instances", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--bbob-trials", type=int, default=100)
    parser.add_argument("--bbob-seeds", type=int, help="default: --seeds")
    parser.add_argument("--bayesmark-tasks", nargs="+", default=task_names(), metavar="MODEL-DATASET-METRIC",
                        help="default: all 90 (9 models x 5 data sets x 2 metrics)")
    parser.add_argument("--bayesmark-trials", type=int, default=100)
    parser.add_argument("--bayesmark-seeds", type=int, help="default: --seeds")
    parser.add_argument("--batch-problems", nargs="+", choices=list(CLASSIC), default=list(CLASSIC)[:4],
                        help="default: the four continuous classic problems")
    parser.add_argument("--batch-workers", type=int, default=4)
    parser.add_argument("--batch-trials", type=int, default=100)
    parser.add_argument("--batch-seeds", type=int, help="default: --seeds")
    parser.add_argument("--timing-trials", type=int, default=1000)
    parser.add_argument("--timing-gp-trials", type=int, default=300)
    parser.add_argument("--timing-seeds", type=int, default=1)
    parser.add_argument("--timing-checkpoints", nargs="+", type=int, default=[100, 300, 1000])
    parser.add_argument("--budgets", nargs="+", type=int, default=[25, 50, 100], help="trials to report at")
    parser.add_argument("--rank-budgets", nargs="+", type=int, default=[50, 100])
    parser.add_argument("--jobs", type=int, default=1, help="tasks side by side (2 at most on a 2-core machine)")
    parser.add_argument("--results-dir", default=os.path.join(ROOT, "benchmarks", "samplers", "results"))
    parser.add_argument("--markdown-out", metavar="FILE", help="also write the report to FILE")
    parser.add_argument("--rerun-changed", action="store_true",
                        help="redo tunesmith runs recorded with other tunesmith sampler sources than the current ones")
    parser.add_argument("--report-only", action="store_true", help="tables from recorded runs; run nothing")
    parser.add_argument("--also-results-dir", nargs="+", default=[], metavar="DIR",
                        help="the report also shows the runs cached here (e.g. HEBO's, made in its own virtualenv)")
    parser.add_argument("--report-seeds", type=int, metavar="N",
                        help="report seeds 0 .. N-1 only: samplers run with more seeds compared on the same ones")
    args = parser.parse_args(argv)
    limit_threads()
    if not args.report_only:
        todo = tasks(args)
        print(f"# {len(todo)} tasks, {args.jobs} at a time; results in {args.results_dir}", file=sys.stderr)
        t0 = time.perf_counter()
        execute(todo, args.jobs)
        print(f"# done in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    text = render(args)
    print(text)
    if args.markdown_out:
        with open(args.markdown_out, "w", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
