"""Auto's rules that depend on the plan (budget, workers), each measured against the alternatives.

``--ablation start``: the random start against a small planned budget. With 16 trials
(Bayesmark's protocol) a 10-trial start leaves six model-based suggestions; SMAC caps its
initial design at a quarter of the budget (``max_ratio=0.25``). Each run is planned for
the budget it is compared at:

- ``tunesmith-auto-start10``: a 10-trial start whatever the budget (Auto before the cap);
- ``tunesmith-auto-quarter``: ``max(2, budget // 4)`` trials, at most 10.

``--ablation long``: what follows the GP after ``gp_max_trials`` (200) trials on a
continuous space (rule 5). Every variant continues the same 200-trial run of Auto (the
trials are enqueued into a new study and evaluated again), so the comparison is paired:

- ``tunesmith-auto-cmaes``: CMA-ES (rule 5 until session 13), which starts from the box's centre;
- ``tunesmith-auto-tpe``: TPE, which models every trial so far (rule 5 since);
- ``tunesmith-auto-gp``: the GP to the end (``gp_max_trials`` beyond the budget).

Runs go under ``samplers/results/auto-rules`` (``samplers/ablation.py``); Bayesmark's
normalised score takes its random-search scale from the suite's cache. From the
repository root::

    python benchmarks/auto_rules.py --ablation start --suite bbob --trials 25 --seeds 10 --jobs 2
    python benchmarks/auto_rules.py --ablation start --suite bayesmark --trials 16 --seeds 3 --jobs 2
    python benchmarks/auto_rules.py --ablation long --suite bbob --dims 10 --trials 300 --seeds 5 --jobs 2
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from benchmarks.samplers import ablation  # noqa: E402
from benchmarks.samplers.bayesmark import task_names  # noqa: E402
from benchmarks.samplers.problems import bbob_name  # noqa: E402

RESULTS = os.path.join(ROOT, "benchmarks", "samplers", "results")
AUTO = "tunesmith-auto"
CONTINUOUS_CLASSIC = ("branin", "hartmann6", "rosenbrock10", "ackley10")


def _auto(kwargs: Mapping[str, Any], seed: int) -> Any:
    from tunesmith.samplers import AutoSampler

    return AutoSampler(seed=seed, **kwargs)


def _continue(after: str | None, gp_max_trials: int, seed: int) -> Any:
    """Auto continuing an enqueued run: past ``PREFIX`` trials ``after`` ("cmaes" or "tpe", the
    delegates Auto makes) takes over, or with None Auto goes on by its own rules. The enqueued
    trials (numbers below ``PREFIX``) skip the proposal their fixed parameters would override
    (so the GP does not refit 200 times for nothing; the GP variant's first fit after the
    prefix therefore starts cold)."""
    from tunesmith.samplers import AutoSampler, TPESampler
    from tunesmith.samplers.cmaes import CmaEsSampler

    class Continue(AutoSampler):
        def suggest(self, space: Any, history: Any, number: int, rng: Any) -> dict[str, Any]:
            if number < PREFIX:
                return {}
            if after is None:
                return super().suggest(space, history, number, rng)
            if after not in self._delegates:
                self._delegates[after] = (CmaEsSampler(seed=seed) if after == "cmaes"
                                          else TPESampler(seed=seed, n_startup_trials=0))
            self.last_choice = after
            return self._delegates[after].suggest(space, history, number, rng)

    return Continue(seed=seed, gp_max_trials=gp_max_trials)


PREFIX = 200  # Auto's gp_max_trials


def run_long(results_dir: str, suite: str, problem_name: str, seeds: Sequence[int], n_trials: int) -> str:
    """Auto to ``PREFIX`` trials once per seed, then each ``long`` variant from there (see the module doc)."""
    import time

    import tunesmith
    from benchmarks.samplers import store
    from benchmarks.samplers.problems import get_problem
    from benchmarks.samplers.runners import limit_threads, run_tunesmith, tunesmith_fingerprint

    limit_threads()
    problem = get_problem(problem_name)
    source = tunesmith_fingerprint(AUTO)
    chosen = variants("long", n_trials)
    t0, ran = time.perf_counter(), 0
    for seed in seeds:
        todo = [v for v in chosen if not store.done(results_dir, store.Key(suite, problem_name, v.name), seed,
                                                    n_trials, 1, source)]
        if not todo:
            continue
        prefix = tunesmith.create_study(sampler=_auto({}, seed))
        prefix.optimize(problem.objective, n_trials=PREFIX)
        params = [t.params for t in sorted(prefix.trials, key=lambda t: t.number)]
        for v in todo:
            result = run_tunesmith(v.factory(seed), problem, n_trials, enqueue=params)
            store.append(results_dir, store.Key(suite, problem_name, v.name), {
                "seed": seed, "n_trials": n_trials, "workers": 1, "family": problem.family,
                "optimum": problem.optimum, "tunesmith_samplers": source, "values": result.values,
                "seconds": round(result.seconds, 4)})
            ran += 1
    return f"{suite}/{problem_name}: {ran} run(s) in {time.perf_counter() - t0:.0f} s"


def variants(ablation_name: str, budget: int) -> list[ablation.Variant]:
    if ablation_name == "start":
        return [ablation.Variant("tunesmith-auto-start10", AUTO, functools.partial(_auto, {"n_startup_trials": 10})),
                ablation.Variant("tunesmith-auto-quarter", AUTO,
                                 functools.partial(_auto, {"n_startup_trials": min(10, max(2, budget // 4))}))]
    return [ablation.Variant("tunesmith-auto-cmaes", AUTO, functools.partial(_continue, "cmaes", PREFIX)),
            ablation.Variant("tunesmith-auto-tpe", AUTO, functools.partial(_continue, "tpe", PREFIX)),
            ablation.Variant("tunesmith-auto-gp", AUTO, functools.partial(_continue, None, budget + 1))]


def _bbob_dim(d: int, problem: str) -> bool:
    return problem.endswith(f"-d{d}-i1")


def _everything(problem: str) -> bool:
    return True


def problems_and_groups(suite: str, dims: Sequence[int]) -> tuple[list[str], dict[str, Callable[[str], bool]]]:
    if suite == "bbob":
        problems = [bbob_name(f, d, 1) for d in sorted(dims, reverse=True) for f in range(1, 25)]
        return problems, {f"d{d}": functools.partial(_bbob_dim, d) for d in dims}
    if suite == "bayesmark":
        return list(task_names()), {"all 90 tasks": _everything}
    return list(CONTINUOUS_CLASSIC), {p: functools.partial(str.__eq__, p) for p in CONTINUOUS_CLASSIC}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ablation", choices=("start", "long"), required=True)
    parser.add_argument("--suite", choices=("classic", "bbob", "bayesmark"), required=True)
    parser.add_argument("--trials", type=int, required=True)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--dims", nargs="+", type=int, default=[2, 5, 10])
    parser.add_argument("--workers", type=int, default=1, help="parallel workers per run")
    parser.add_argument("--budgets", nargs="+", type=int, default=None)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--results-dir", default=os.path.join(RESULTS, "auto-rules"))
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--source", default=None, help="report runs of these sources (default: the current ones)")
    args = parser.parse_args(argv)
    problems, groups = problems_and_groups(args.suite, args.dims)
    chosen = variants(args.ablation, args.trials)
    suite = args.suite if args.workers == 1 else f"{args.suite}-w{args.workers}"
    if not args.report_only and args.ablation == "long":
        ablation.map_tasks(run_long, [(args.results_dir, suite, p, tuple(range(args.seeds)), args.trials)
                                      for p in problems], args.jobs)
    elif not args.report_only:
        ablation.execute(args.results_dir, suite, problems, chosen, args.seeds, args.trials, args.jobs,
                         args.workers)
    budgets = args.budgets or sorted({args.trials // 2, args.trials})
    print(ablation.compare(args.results_dir, suite, chosen, groups, budgets,
                           "normalised" if args.suite == "bayesmark" else "regret", baseline_dir=RESULTS,
                           source=args.source))


if __name__ == "__main__":
    main()
