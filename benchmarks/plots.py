"""Plots at size: build time and figure JSON size, tunesmith against Optuna 5.0.

The same generated trials (8 parameters: floats, log floats, an int, a categorical) go into
a list of tunesmith FrozenTrials and an Optuna in-memory study (``create_trial`` +
``add_trials``). Each Optuna plot runs in a forked child with a time limit; past it the
cell reads ``>Ns``, and that plot is not tried at larger sizes. Optuna is skipped above
``--optuna-max`` trials (default 10k): filling its in-memory study takes minutes at 100k,
and at 10k most of its plots already take 7-60 s.

    python benchmarks/plots.py                  # 1k, 10k, 100k trials
    python benchmarks/plots.py --sizes 1000 --optuna-timeout 30 --optuna-max 1000
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tunesmith import visualization as vis
from tunesmith.distributions import CategoricalDistribution, Distribution, FloatDistribution, IntDistribution
from tunesmith.trial import FrozenTrial, TrialState

DISTS: dict[str, Distribution] = {
    "x0": FloatDistribution(-5.0, 5.0), "x1": FloatDistribution(-5.0, 5.0), "x2": FloatDistribution(0.0, 1.0),
    "x3": FloatDistribution(0.0, 1.0), "lr": FloatDistribution(1e-5, 1e-1, log=True),
    "wd": FloatDistribution(1e-6, 1e-2, log=True), "layers": IntDistribution(1, 8),
    "opt": CategoricalDistribution(("sgd", "adam", "rmsprop")),
}
CONTOUR_PARAMS = ["x0", "x1", "lr", "layers"]  # Optuna's contour of all 8 is hopeless even at 1k


@dataclass
class Generated:
    trials: list[FrozenTrial]
    directions: list[str] = field(default_factory=lambda: ["minimize"])
    metric_names: list[str] = field(default_factory=lambda: ["value"])


def generate(n: int, seed: int = 0) -> tuple[Generated, Generated, list[dict[str, Any]]]:
    """Single- and two-objective tunesmith studies and the raw rows (for Optuna)."""
    rng = np.random.default_rng(seed)
    cols = {
        "x0": rng.uniform(-5, 5, n), "x1": rng.uniform(-5, 5, n), "x2": rng.random(n), "x3": rng.random(n),
        "lr": 10 ** rng.uniform(-5, -1, n), "wd": 10 ** rng.uniform(-6, -2, n), "layers": rng.integers(1, 9, n),
        "opt": rng.integers(0, 3, n),
    }
    value = cols["x0"] ** 2 + cols["x1"] + np.log10(cols["lr"]) ** 2 / 10 + 0.1 * cols["opt"] + rng.normal(0, 0.1, n)
    second = 25 - cols["x0"] ** 2 + rng.normal(0, 0.1, n)
    rows, one, two = [], [], []
    for i in range(n):
        params = {k: (DISTS["opt"].choices[int(v[i])] if k == "opt" else  # type: ignore[attr-defined]
                      int(v[i]) if k == "layers" else float(v[i])) for k, v in cols.items()}
        start = 1.7e9 + i
        row = {"params": params, "value": float(value[i]), "second": float(second[i]), "start": start}
        rows.append(row)
        base = FrozenTrial(
            number=i, state=TrialState.COMPLETE, params=params, values=[row["value"]], distributions=dict(DISTS),
            started_at=start, finished_at=start + 0.5, last_step=0, last_result={"value": row["value"]},
        )
        one.append(base)
        two.append(base.evolve(values=[row["value"], row["second"]]))
    return Generated(one), Generated(two, ["minimize", "maximize"], ["loss", "acc"]), rows


def optuna_studies(rows: list[dict[str, Any]]) -> tuple[Any, Any]:
    import datetime as dt

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    d = optuna.distributions
    dists = {
        k: (d.CategoricalDistribution(list(v.choices)) if isinstance(v, CategoricalDistribution)  # type: ignore[attr-defined]
            else d.IntDistribution(v.low, v.high) if isinstance(v, IntDistribution)
            else d.FloatDistribution(v.low, v.high, log=v.log))  # type: ignore[attr-defined]
        for k, v in DISTS.items()
    }
    one = optuna.create_study()
    two = optuna.create_study(directions=["minimize", "maximize"])
    for study, multi in ((one, False), (two, True)):
        made = []
        for r in rows:
            trial = optuna.trial.create_trial(
                params=r["params"], distributions=dists, values=[r["value"], r["second"]] if multi else None,
                value=None if multi else r["value"], intermediate_values=None if multi else {0: r["value"]},
            )
            trial.datetime_start = dt.datetime.fromtimestamp(r["start"])  # create_trial takes no times
            trial.datetime_complete = dt.datetime.fromtimestamp(r["start"] + 0.5)
            made.append(trial)
        study.add_trials(made)
    return one, two


def tunesmith_plots(one: Generated, two: Generated) -> dict[str, Callable[[], Any]]:
    return {
        "optimization_history": lambda: vis.plot_optimization_history(one),
        "intermediate_values": lambda: vis.plot_intermediate_values(one),
        "parallel_coordinate": lambda: vis.plot_parallel_coordinate(one),
        "slice": lambda: vis.plot_slice(one),
        "contour (4 params)": lambda: vis.plot_contour(one, CONTOUR_PARAMS),
        "contour (8 params)": lambda: vis.plot_contour(one),
        "rank (8 params)": lambda: vis.plot_rank(one),
        "param_importances": lambda: vis.plot_param_importances(one),
        "edf": lambda: vis.plot_edf(one),
        "timeline": lambda: vis.plot_timeline(one),
        "pareto_front": lambda: vis.plot_pareto_front(two),
        "hypervolume_history": lambda: vis.plot_hypervolume_history(two, [40.0, -1.0]),
    }


def optuna_plots(one: Any, two: Any) -> dict[str, Callable[[], Any]]:
    import optuna.visualization as ov
    from optuna.importance import PedAnovaImportanceEvaluator

    return {
        "optimization_history": lambda: ov.plot_optimization_history(one),
        "intermediate_values": lambda: ov.plot_intermediate_values(one),
        "parallel_coordinate": lambda: ov.plot_parallel_coordinate(one),
        "slice": lambda: ov.plot_slice(one),
        "contour (4 params)": lambda: ov.plot_contour(one, params=CONTOUR_PARAMS),
        "rank (8 params)": lambda: ov.plot_rank(one),
        "param_importances": lambda: ov.plot_param_importances(one, evaluator=PedAnovaImportanceEvaluator()),
        "edf": lambda: ov.plot_edf(one),
        "timeline": lambda: ov.plot_timeline(one),
        "pareto_front": lambda: ov.plot_pareto_front(two),
        "hypervolume_history": lambda: ov.plot_hypervolume_history(two, [40.0, -1.0]),
    }


def measure(make: Callable[[], Any]) -> tuple[float, int]:
    t0 = time.perf_counter()
    fig = make()
    elapsed = time.perf_counter() - t0
    return elapsed, len(fig.to_json())


def _child(make: Callable[[], Any], queue: Any) -> None:
    try:
        queue.put(measure(make))
    except Exception as e:  # report, don't hide: the cell shows the error's type
        queue.put(type(e).__name__)


def measure_limited(make: Callable[[], Any], timeout: float) -> tuple[float, int] | str:
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(make, queue))
    proc.start()
    deadline = time.monotonic() + timeout
    result: Any = None
    while time.monotonic() < deadline and result is None:
        try:
            result = queue.get(timeout=0.5)
        except Exception:
            if not proc.is_alive():
                break
    if result is None:
        proc.kill()
        proc.join()
        return f">{timeout:.0f}s"
    proc.join()
    return result  # type: ignore[no-any-return]


def cell(result: tuple[float, int] | str | None) -> str:
    if result is None:
        return "skipped"
    if isinstance(result, str):
        return result
    return f"{result[0]:.2f} s / {result[1] / 1e6:.2f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--optuna-timeout", type=float, default=60.0)
    parser.add_argument("--plots", default=None, help="comma-separated plot names (default: all)")
    parser.add_argument(
        "--optuna-max", type=int, default=10000,
        help="skip Optuna above this many trials (its study takes minutes to fill at 100k)",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    table: dict[tuple[str, int], tuple[str, str]] = {}
    given_up: set[str] = set()  # Optuna plots past the limit at a smaller size
    names: list[str] = []
    for n in sizes:
        one, two, rows = generate(n)
        ours = tunesmith_plots(one, two)
        names = [k for k in ours if args.plots is None or k in args.plots.split(",")]
        theirs: dict[str, Callable[[], Any]] = {}
        if n <= args.optuna_max:
            t0 = time.perf_counter()
            theirs = optuna_plots(*optuna_studies(rows))
            print(f"[{n} trials] optuna study built in {time.perf_counter() - t0:.1f} s", flush=True)
        for name in names:
            mine = cell(measure(ours[name]))
            if not theirs:
                other = f"skipped (> {args.optuna_max:,} trials)"
            elif name not in theirs:
                other = "n/a"
            elif name in given_up:
                other = "skipped (over the limit at a smaller size)"
            else:
                res = measure_limited(theirs[name], args.optuna_timeout)
                if isinstance(res, str):
                    given_up.add(name)
                other = cell(res)
            table[(name, n)] = (mine, other)
            print(f"[{n} trials] {name}: tunesmith {mine}; optuna {other}", flush=True)
    print()
    print("| plot | trials | tunesmith (build / JSON) | Optuna 5.0 (build / JSON) |")
    print("|---|---:|---|---|")
    for name in names:
        for n in sizes:
            mine, other = table[(name, n)]
            print(f"| {name} | {n:,} | {mine} | {other} |")


if __name__ == "__main__":
    main()
