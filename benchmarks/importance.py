"""Hyperparameter importance (issue 21): tunesmith's evaluators vs Optuna 5's, same trials.

Run from the repository root::

    python benchmarks/importance.py                      # 1k/10k x 8, 10k x 32, 100k x 8
    python benchmarks/importance.py --cases 1000x8 --repeats 1 --markdown-out /tmp/imp.md

Each case draws n uniform random points of [0, 1]^d and the additive objective
f(x) = Σ w_i (x_i − 0.5)², with w = (8, 4, 2, 1, 0.5, 0, 0, 0) for d = 8 and
w_i = 8 · 0.85^i for d = 32 (every weight distinct, from 8 down to 0.05, so that a ranking
of 32 parameters can be scored). The same trials go to both libraries: tunesmith gets a
list of FrozenTrial (what ``study.trials`` returns; one shared distribution object per
parameter, as the storages give), Optuna an in-memory study filled with
``optuna.trial.create_trial`` + ``study.add_trials``. Each library's
``get_param_importances(study, evaluator=...)`` is timed (wall clock and this process's CPU
time, which a busy machine disturbs less; median of ``--repeats``; a run over 10 s is not
repeated), after scikit-learn was imported once. The
forests of both take seed 0. Spearman: the rank correlation of the importances with the
true weights (scipy.stats.spearmanr; tied weights get their mean rank).

Optuna is skipped where it would take minutes: its time is estimated from its 1k x 8 run
of the same evaluator as cost ∝ n log n · d, and runs estimated over ``--peer-limit``
seconds (default 120) are not made; the table says so.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from _common import emit, git_commit, table_lines
from scipy.stats import spearmanr

import tunesmith
from tunesmith.distributions import FloatDistribution
from tunesmith.importance import (
    FanovaImportanceEvaluator,
    MeanDecreaseImpurityImportanceEvaluator,
    PedAnovaImportanceEvaluator,
    get_param_importances,
)
from tunesmith.trial import FrozenTrial, TrialState

CASES = {"1000x8": (1000, 8), "10000x8": (10000, 8), "10000x32": (10000, 32), "100000x8": (100000, 8)}
EVALUATORS = ("PED-ANOVA", "fANOVA", "MDI")
#: (evaluator, n, d) -> tunesmith's target in seconds
TARGETS = {("PED-ANOVA", 10000, 32): 0.5, ("PED-ANOVA", 100000, 8): 2.0, ("fANOVA", 10000, 8): 5.0}


def weights(d: int) -> np.ndarray:
    if d == 8:
        return np.array([8.0, 4.0, 2.0, 1.0, 0.5, 0.0, 0.0, 0.0])
    return 8.0 * 0.85 ** np.arange(d)


def synthetic(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    X = np.random.default_rng(seed).random((n, d))
    return X, ((X - 0.5) ** 2) @ weights(d), [f"x{i:02d}" for i in range(d)]


def tunesmith_trials(X: np.ndarray, y: np.ndarray, names: list[str]) -> list[FrozenTrial]:
    dist = FloatDistribution(0.0, 1.0)
    return [
        FrozenTrial(
            number=i, state=TrialState.COMPLETE, params=dict(zip(names, row, strict=True)), values=[v],
            distributions=dict.fromkeys(names, dist),
        )
        for i, (row, v) in enumerate(zip(X.tolist(), y.tolist(), strict=True))
    ]


def optuna_study(X: np.ndarray, y: np.ndarray, names: list[str]) -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    dist = optuna.distributions.FloatDistribution(0.0, 1.0)
    dists = dict.fromkeys(names, dist)
    study = optuna.create_study(direction="minimize")
    study.add_trials(
        [
            optuna.trial.create_trial(params=dict(zip(names, row, strict=True)), distributions=dists, value=v)
            for row, v in zip(X.tolist(), y.tolist(), strict=True)
        ]
    )
    return study


def tunesmith_evaluator(name: str) -> Any:
    return {
        "PED-ANOVA": PedAnovaImportanceEvaluator,
        "fANOVA": lambda: FanovaImportanceEvaluator(seed=0),
        "MDI": lambda: MeanDecreaseImpurityImportanceEvaluator(seed=0),
    }[name]()


def optuna_evaluator(name: str) -> Any:
    from optuna import importance

    return {
        "PED-ANOVA": importance.PedAnovaImportanceEvaluator,
        "fANOVA": lambda: importance.FanovaImportanceEvaluator(seed=0),
        "MDI": lambda: importance.MeanDecreaseImpurityImportanceEvaluator(seed=0),
    }[name]()


def timed(run: Callable[[], dict[str, float]], repeats: int) -> tuple[float, float, dict[str, float]]:
    """Median wall and CPU seconds over ``repeats`` runs (one if the first takes over 10 s), and the last result."""
    walls, cpus = [], []
    result: dict[str, float] = {}
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        result = run()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        if walls[0] > 10:
            break
    return statistics.median(walls), statistics.median(cpus), result


def spearman(importances: dict[str, float], names: list[str], w: np.ndarray) -> float:
    return float(spearmanr([importances[k] for k in names], w).statistic)


def cost_scale(n: int, d: int, n0: int = 1000, d0: int = 8) -> float:
    return (n * math.log(n) * d) / (n0 * math.log(n0) * d0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="*", choices=list(CASES), default=list(CASES), help="n x d cases to run")
    parser.add_argument("--evaluators", nargs="*", choices=EVALUATORS, default=list(EVALUATORS))
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement; the median is reported")
    parser.add_argument("--peer-limit", type=float, default=120.0, help="skip Optuna runs estimated over this (s)")
    parser.add_argument("--no-optuna", action="store_true", help="time tunesmith only")
    parser.add_argument("--markdown-out", metavar="FILE", help="also write the table to FILE")
    args = parser.parse_args(argv)

    import sklearn.ensemble  # noqa: F401 - import once, outside every timing (both libraries use it)

    optuna_version = "not run"
    if not args.no_optuna:
        import optuna

        optuna_version = optuna.__version__
    load0 = os.getloadavg()[0]
    base: dict[str, float] = {}  # Optuna's 1k x 8 time per evaluator, for the estimates
    rows: list[list[str]] = []
    verdicts: list[str] = []
    cases = sorted((CASES[c] for c in args.cases), key=lambda nd: nd[0] * nd[1])
    if not args.no_optuna and (1000, 8) not in cases:
        cases.insert(0, (1000, 8))  # needed for the skip estimates; reported too
    for n, d in cases:
        X, y, names = synthetic(n, d)
        w = weights(d)
        t0 = time.perf_counter()
        ts_trials = tunesmith_trials(X, y, names)
        op_study = None
        if not args.no_optuna:
            op_study = optuna_study(X, y, names)
        print(f"[{n} x {d}] trials built in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        for name in args.evaluators:
            ts_run = functools.partial(
                get_param_importances, ts_trials, tunesmith_evaluator(name), directions="minimize"
            )
            ts_s, ts_cpu, ts_imp = timed(ts_run, args.repeats)
            ts_rho = spearman(ts_imp, names, w)
            op_cell, ratio, op_rho = "", "", ""
            if op_study is not None:
                estimate = base[name] * cost_scale(n, d) if name in base else 0.0
                if estimate > args.peer_limit:
                    op_cell = f"skipped (est. {estimate / 60:.0f} min)"
                else:
                    from optuna.importance import get_param_importances as op_get

                    op_run = functools.partial(op_get, op_study, evaluator=optuna_evaluator(name))
                    op_s, op_cpu, op_imp = timed(op_run, args.repeats)
                    if (n, d) == (1000, 8):
                        base[name] = op_s
                    op_cell = f"{op_s:.3f} ({op_cpu:.3f})"
                    ratio = f"{op_s / ts_s:.1f}x ({op_cpu / ts_cpu:.1f}x)"
                    op_rho = f"{spearman(op_imp, names, w):.3f}"
            print(f"  {name}: tunesmith {ts_s:.3f} s rho={ts_rho:.3f}; optuna {op_cell} {op_rho}", file=sys.stderr)
            rows.append([f"{n:,} x {d}", name, f"{ts_s:.3f} ({ts_cpu:.3f})", op_cell, ratio, f"{ts_rho:.3f}", op_rho])
            target = TARGETS.get((name, n, d))
            if target is not None:
                verdicts.append(
                    f"- tunesmith {name} at {n:,} x {d} <= {target:g} s: {ts_s:.3f} s wall ({ts_cpu:.3f} s CPU) -> "
                    f"{'met' if ts_s <= target else 'NOT met'}"
                )
    env = (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}, "
        f"scikit-learn {sys.modules['sklearn'].__version__}, optuna {optuna_version}, "
        f"tunesmith {tunesmith.__version__} (commit {git_commit()}), {platform.platform()}"
    )
    head = [
        "trials x params", "evaluator", "tunesmith s wall (CPU)", "Optuna s wall (CPU)",
        "speed-up Optuna / tunesmith, wall (CPU)",
        "Spearman tunesmith", "Spearman Optuna",
    ]
    lines = [
        f"median of {args.repeats} runs (1 when a run takes over 10 s); {env}; "
        f"1-min load average {load0:.1f} at start, {os.getloadavg()[0]:.1f} at end",
        "",
        *table_lines(head, rows),
        "",
        "Targets:",
        "",
        *verdicts,
    ]
    emit("\n".join(lines) + "\n", args.markdown_out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
