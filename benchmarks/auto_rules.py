"""Auto's rules that depend on the plan (budget, workers), each measured against the alternatives.

``--ablation start``: the random start against a small planned budget. With 16 trials
(Bayesmark's protocol) a 10-trial start leaves six model-based suggestions; SMAC caps its
initial design at a quarter of the budget (``max_ratio=0.25``). Each run is planned for
the budget it is compared at:

- ``tunesmith-auto-start10``: a 10-trial start whatever the budget (Auto before the cap);
- ``tunesmith-auto-quarter``: ``max(2, budget // 4)`` trials, at most 10.

``--ablation long``: what follows the GP after ``gp_max_trials`` (200) trials on a
continuous space (rule 5), sequentially and with ``--workers`` parallel workers:

- ``tunesmith-auto-cmaes``: CMA-ES (rule 5 as it was);
- ``tunesmith-auto-tpe``: TPE;
- ``tunesmith-auto-gp``: the GP to the end (``gp_max_trials`` beyond the budget).

Runs go under ``samplers/results/auto-rules`` (``samplers/ablation.py``); Bayesmark's
normalised score takes its random-search scale from the suite's cache. From the
repository root::

    python benchmarks/auto_rules.py --ablation start --suite bbob --trials 25 --seeds 10 --jobs 2
    python benchmarks/auto_rules.py --ablation start --suite bayesmark --trials 16 --seeds 3 --jobs 2
    python benchmarks/auto_rules.py --ablation long --suite classic --trials 400 --seeds 10 --jobs 2
    python benchmarks/auto_rules.py --ablation long --suite classic --trials 400 --seeds 5 --workers 4
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


def _auto_then(after: str, seed: int) -> Any:
    """Auto whose rule 5 hands a continuous space to ``after`` instead of CMA-ES."""
    from tunesmith.samplers import AutoSampler

    class Then(AutoSampler):
        def choose(self, space: Any, history: Any) -> str:
            choice = super().choose(space, history)
            return after if choice == "cmaes" else choice

    return Then(seed=seed)


def variants(ablation_name: str, budget: int) -> list[ablation.Variant]:
    if ablation_name == "start":
        return [ablation.Variant("tunesmith-auto-start10", AUTO, functools.partial(_auto, {"n_startup_trials": 10})),
                ablation.Variant("tunesmith-auto-quarter", AUTO,
                                 functools.partial(_auto, {"n_startup_trials": min(10, max(2, budget // 4))}))]
    return [ablation.Variant("tunesmith-auto-cmaes", AUTO, functools.partial(_auto, {})),
            ablation.Variant("tunesmith-auto-tpe", AUTO, functools.partial(_auto_then, "tpe")),
            ablation.Variant("tunesmith-auto-gp", AUTO, functools.partial(_auto, {"gp_max_trials": budget + 1}))]


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
    if not args.report_only:
        ablation.execute(args.results_dir, suite, problems, chosen, args.seeds, args.trials, args.jobs,
                         args.workers)
    budgets = args.budgets or sorted({args.trials // 2, args.trials})
    print(ablation.compare(args.results_dir, suite, chosen, groups, budgets,
                           "normalised" if args.suite == "bayesmark" else "regret", baseline_dir=RESULTS,
                           source=args.source))


if __name__ == "__main__":
    main()
