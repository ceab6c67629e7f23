"""Part 2 of ``schedulers.py``: the cost of one intermediate report, tunesmith vs Optuna.

Run through ``python benchmarks/schedulers.py --parts overhead``.
"""

from __future__ import annotations

import functools
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from _common import table_lines


def journal_storage(path: str) -> Any:
    import optuna

    return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(path))


# -- part 2: cost per report ------------------------------------------------------------
def _loss(number: int, step: int) -> float:
    """Better with every new trial at every step: no trial is ever stopped, every report is decided on."""
    return 1.0 / (number + 1) + 1.0 / step


def _ts_overhead(n: int, steps: int, tmp: str, sqlite: bool, asha: bool, run_api: bool) -> list[float]:
    import tunesmith
    from tunesmith.schedulers import ASHAScheduler

    times: list[float] = []
    storage = os.path.join(tmp, "ts.db") if sqlite else None
    scheduler = None
    if asha:
        scheduler = ASHAScheduler(metric="loss", mode="min", max_t=steps, grace_period=1, reduction_factor=4)
    clock = time.perf_counter
    if run_api:
        counter = iter(range(n))

        def trainable(config: dict[str, Any]) -> None:
            number = next(counter)
            for step in range(1, steps + 1):
                t = clock()
                try:
                    tunesmith.report(loss=_loss(number, step))
                finally:
                    times.append(clock() - t)

        from tunesmith.storage.memory import InMemoryStorage

        tunesmith.run(trainable, config={}, num_samples=n, metric="loss", mode="min", scheduler=scheduler,
                      storage=storage if sqlite else InMemoryStorage(), max_concurrent_trials=1, verbose=0,
                      local_dir=tmp)
        return times

    def objective(trial: Any) -> float:
        for step in range(1, steps + 1):
            t = clock()
            trial.report(step, loss=_loss(trial.number, step))
            stop = trial.should_stop()
            times.append(clock() - t)
            if stop:
                break
        return trial.last_result["loss"]

    study = tunesmith.create_study(storage=storage, metric="loss", mode="min", scheduler=scheduler, artifact_dir=tmp)
    study.optimize(objective, n_trials=n)
    return times


def _optuna_overhead(n: int, steps: int, tmp: str, storage: str, prune: bool) -> list[float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    times: list[float] = []
    clock = time.perf_counter
    url = {"memory": None, "sqlite": f"sqlite:///{tmp}/optuna.db",
           "journal": journal_storage(os.path.join(tmp, "j.log"))}
    pruner = (optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=4) if prune
              else optuna.pruners.NopPruner())
    study = optuna.create_study(storage=url[storage], pruner=pruner, sampler=optuna.samplers.RandomSampler(seed=0))

    def objective(trial: Any) -> float:
        for step in range(1, steps + 1):
            t = clock()
            trial.report(_loss(trial.number, step), step)
            stop = trial.should_prune()
            times.append(clock() - t)
            if stop:
                raise optuna.TrialPruned()
        return _loss(trial.number, steps)

    study.optimize(objective, n_trials=n)
    return times


OVERHEAD: dict[str, Callable[[int, int, str], list[float]]] = {
    "tunesmith ASHA, SQLite, `trial.report` + `should_stop`":
        functools.partial(_ts_overhead, sqlite=True, asha=True, run_api=False),
    "tunesmith ASHA, SQLite, `tunesmith.report` (`tunesmith.run`)":
        functools.partial(_ts_overhead, sqlite=True, asha=True, run_api=True),
    "tunesmith no scheduler, SQLite, `trial.report`":
        functools.partial(_ts_overhead, sqlite=True, asha=False, run_api=False),
    "tunesmith ASHA, in-memory, `trial.report` + `should_stop`":
        functools.partial(_ts_overhead, sqlite=False, asha=True, run_api=False),
    "tunesmith ASHA, in-memory, `tunesmith.report` (`tunesmith.run`)":
        functools.partial(_ts_overhead, sqlite=False, asha=True, run_api=True),
    "tunesmith no scheduler, in-memory, `trial.report`":
        functools.partial(_ts_overhead, sqlite=False, asha=False, run_api=False),
    "Optuna SuccessiveHalvingPruner, RDB SQLite, `report` + `should_prune`":
        functools.partial(_optuna_overhead, storage="sqlite", prune=True),
    "Optuna NopPruner, RDB SQLite, `report` + `should_prune`":
        functools.partial(_optuna_overhead, storage="sqlite", prune=False),
    "Optuna SuccessiveHalvingPruner, journal file, `report` + `should_prune`":
        functools.partial(_optuna_overhead, storage="journal", prune=True),
    "Optuna SuccessiveHalvingPruner, in-memory, `report` + `should_prune`":
        functools.partial(_optuna_overhead, storage="memory", prune=True),
    "Optuna NopPruner, in-memory, `report` + `should_prune`":
        functools.partial(_optuna_overhead, storage="memory", prune=False),
}
# tunesmith row -> the Optuna row it is compared with
OVERHEAD_PEERS = {
    "tunesmith ASHA, SQLite, `trial.report` + `should_stop`":
        "Optuna SuccessiveHalvingPruner, RDB SQLite, `report` + `should_prune`",
    "tunesmith ASHA, SQLite, `tunesmith.report` (`tunesmith.run`)":
        "Optuna SuccessiveHalvingPruner, RDB SQLite, `report` + `should_prune`",
    "tunesmith no scheduler, SQLite, `trial.report`": "Optuna NopPruner, RDB SQLite, `report` + `should_prune`",
    "tunesmith ASHA, in-memory, `trial.report` + `should_stop`":
        "Optuna SuccessiveHalvingPruner, in-memory, `report` + `should_prune`",
    "tunesmith ASHA, in-memory, `tunesmith.report` (`tunesmith.run`)":
        "Optuna SuccessiveHalvingPruner, in-memory, `report` + `should_prune`",
    "tunesmith no scheduler, in-memory, `trial.report`": "Optuna NopPruner, in-memory, `report` + `should_prune`",
}
# Optuna's RDB storage commits every report with SQLite's default synchronous=FULL (an fsync, tens of ms
# here): fewer trials for those rows, or they alone would take minutes.
OVERHEAD_TRIALS = {"Optuna SuccessiveHalvingPruner, RDB SQLite, `report` + `should_prune`": 10,
                   "Optuna NopPruner, RDB SQLite, `report` + `should_prune`": 5}
OVERHEAD_TARGET = ("tunesmith ASHA, SQLite, `trial.report` + `should_stop`", 1000.0)  # < 1 ms per report


def render_overhead(n: int, steps: int, repeats: int, runs: dict[str, list[list[float]]]) -> str:
    med = {k: statistics.median(statistics.median(t) for t in v) * 1e6 for k, v in runs.items()}
    head = ["config", "reports per run", "µs/report (median)", "p90 µs", "mean µs", "Optuna µs / this"]
    rows = []
    for name, v in runs.items():
        p90 = statistics.median(float(np.percentile(t, 90)) for t in v) * 1e6
        mean = statistics.median(statistics.fmean(t) for t in v) * 1e6
        peer = OVERHEAD_PEERS.get(name)
        ratio = f"{med[peer] / med[name]:.2f}x" if peer in med else ""
        rows.append([name, str(len(v[0])), f"{med[name]:,.0f}", f"{p90:,.0f}", f"{mean:,.0f}", ratio])
    lines = [f"{n} trials x {steps} reports in one process (fewer trials where the reports column says so), "
             f"no trial stopped; µs per report: median over {repeats} runs", "",
             *table_lines(head, rows), ""]
    name, limit = OVERHEAD_TARGET
    if name in med:
        lines.append(f"Target: {name} < {limit / 1000:g} ms per report: {med[name]:,.0f} µs -> "
                     f"{'met' if med[name] < limit else 'NOT met'}")
    return "\n".join(lines) + "\n"
