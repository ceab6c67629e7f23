"""Early stopping: time to a target accuracy and cost per report, tunesmith vs Ray Tune vs Optuna 5.

Run from the repository root::

    python benchmarks/schedulers.py                       # both parts, 3 seeds (15 to 22 minutes on 2 busy cores)
    python benchmarks/schedulers.py --quick               # smoke run, under a minute
    python benchmarks/schedulers.py --tasks curves --methods ts-asha ray-asha-reuse --seeds 5

**Race** (part 1). Every method runs the same trials on the same task with 2 trials at
a time and the same early-stopping budget, and every trial writes a line (wall-clock
time, trial, epoch, validation accuracy) to a log file as soon as an epoch's result is
known, before it reports it to its library. From that log, with the clock started just
before the library's call (``tunesmith.run``; ``Tuner(...).fit()``; ``create_study`` +
``optimize`` or the 2 worker processes; Ray's ``ray.init`` is excluded and shown apart):
the time until any trial's accuracy reached the task's target, the best accuracy at
fixed wall-clock checkpoints, the epochs trained, and the time until the call
returned (a run is stopped at the task's time cap, 240 s, and then marked incomplete).
Per seed, the task draws its N configurations up front and every library
runs exactly those, in the same order (a ``grid_search`` over the trial index for
tunesmith and Ray Tune, ``enqueue_trial`` for Optuna); each trial's training is seeded
by (seed, index), so a trial's learning curve is the same in every library and only
the scheduler and the framework's overhead differ. The driver imports what the
trainable imports (torch, scikit-learn) before any clock starts, as a user's script
does at its top. tunesmith's workers fork from a server that holds those imports (the
default start method); ``ts-asha-spawn`` starts fresh interpreters instead, which import
them again, as Ray's workers do on every run. Ray Tune with
``reuse_actors=False`` takes minutes per run, so it runs ``--slow-seeds`` seeds (1).

Tasks:

- ``digits``: the PyTorch MLP of ``examples/digits_net.py`` on scikit-learn's digits
  (config l1, l2, lr, batch_size as in ``examples/tune_digits_asha.py``), one thread
  per trial, validation accuracy after each epoch; no checkpoints.
- ``curves``: synthetic learning curves ``acc(t) = a_max(x, y) * (1 - exp(-t / tau(y)))
  + noise`` with a 5 ms sleep per step standing for training: the trivial trainable
  of Ray's issue (100 trials of 20 steps).

Methods: tunesmith ``ASHAScheduler`` and ``HyperBandScheduler`` (``tunesmith.run``,
SQLite in a temporary directory, ``resources_per_trial={"cpu": 1}``: 2 worker
processes); Ray Tune ``ASHAScheduler`` (``Tuner``, 2 CPUs, ``reuse_actors`` False,
its default, and True); Optuna ``SuccessiveHalvingPruner`` and ``HyperbandPruner``
with ``optimize(n_jobs=2)`` on the in-memory storage, Optuna's fastest way here (the
``-journal`` methods, 2 spawned processes on a ``JournalFileBackend``, took about
twice as long). ASHA/successive halving: grace
period 1, reduction factor 4; Hyperband: reduction factor 3, max resource = the
task's epochs. All schedulers compare validation accuracy (max).

**Report cost** (part 2). In one process: 50 trials x 100 reports whose loss improves
with the trial number, so no trial is stopped and every report is decided on;
microseconds per ``trial.report(...)`` + ``should_stop()`` (``tunesmith.report(...)``
through ``tunesmith.run``; Optuna's ``trial.report`` + ``should_prune``), median and
90th percentile over all reports, the median over ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import math
import multiprocessing as mp
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from _common import emit, git_commit, table_lines
from _report_cost import OVERHEAD, OVERHEAD_TRIALS, journal_storage, render_overhead

# tunesmith, Ray, Optuna and torch are imported where used: Optuna's spawned workers
# re-import this script and should pay for Optuna's imports only.

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(os.path.dirname(HERE), "examples")


# -- tasks ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Task:
    name: str
    n_trials: int
    max_epochs: int
    target: float  # validation accuracy
    checkpoints: tuple[float, ...]  # seconds at which the best accuracy so far is read
    cap_s: float  # a run is stopped after this many seconds (each library's time budget)


TASKS = {
    "digits": Task("digits", n_trials=24, max_epochs=10, target=0.95, checkpoints=(10, 30, 60), cap_s=240),
    "curves": Task("curves", n_trials=100, max_epochs=20, target=0.93, checkpoints=(2, 5, 10), cap_s=240),
}
QUICK = {
    "digits": Task("digits", n_trials=4, max_epochs=2, target=0.8, checkpoints=(5,), cap_s=30),
    "curves": Task("curves", n_trials=16, max_epochs=8, target=0.9, checkpoints=(2,), cap_s=30),
}
CURVE_SLEEP_S = 0.005


def draw_configs(task: str, n: int, seed: int) -> list[dict[str, Any]]:
    """The ``n`` configurations of a run, drawn up front from ``seed`` (the same for every library)."""
    rng = np.random.default_rng([seed, 1 if task == "digits" else 2])
    if task == "digits":  # examples/tune_digits_asha.py's space
        return [{"l1": int(2 ** rng.integers(2, 9)), "l2": int(2 ** rng.integers(2, 9)),
                 "lr": float(10 ** rng.uniform(-4, -1)), "batch_size": int(rng.choice([2, 4, 8, 16]))}
                for _ in range(n)]
    return [{"x": float(rng.uniform()), "y": float(rng.uniform())} for _ in range(n)]


def curve_epochs(config: dict[str, Any], seed: int, index: int, max_epochs: int) -> Iterator[float]:
    """Synthetic validation accuracy after each step: the best (x, y) = (0.7, 0.4) ends near 0.99."""
    x, y = config["x"], config["y"]
    a_max = 0.99 - 0.8 * ((x - 0.7) ** 2 + (y - 0.4) ** 2)
    tau = 1.5 + 4.0 * y
    noise = np.random.default_rng([seed, index]).normal(0.0, 0.005, max_epochs)
    for t in range(1, max_epochs + 1):
        time.sleep(CURVE_SLEEP_S)
        yield float(a_max * (1.0 - math.exp(-t / tau)) + noise[t - 1])


def digits_epochs(config: dict[str, Any], seed: int, index: int, max_epochs: int) -> Iterator[float]:
    """Validation accuracy of examples/digits_net.py's MLP after each epoch (one thread)."""
    if EXAMPLES not in sys.path:
        sys.path.insert(0, EXAMPLES)
    import torch
    from digits_net import Net, evaluate, load_data, split, train_epoch
    from torch.utils.data import DataLoader

    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(seed * 100_003 + index)  # not the global one: Optuna's threads share it
    net = Net(config["l1"], config["l2"])
    with torch.no_grad():  # nn.Linear's default initialisation, drawn from the trial's generator
        for layer in (net.fc1, net.fc2, net.fc3):
            bound = 1.0 / math.sqrt(layer.in_features)
            layer.weight.uniform_(-bound, bound, generator=gen)
            layer.bias.uniform_(-bound, bound, generator=gen)
    optimizer = torch.optim.SGD(net.parameters(), lr=config["lr"], momentum=0.9)
    train, val = split(load_data()[0])
    trainloader = DataLoader(train, batch_size=config["batch_size"], shuffle=True, generator=gen)
    valloader = DataLoader(val, batch_size=256)
    for _ in range(max_epochs):
        train_epoch(net, trainloader, optimizer)
        yield evaluate(net, valloader)[1]


def trial_epochs(task: str, n: int, max_epochs: int, seed: int, index: int, log: str) -> Iterator[dict[str, float]]:
    """Trial ``index``'s metrics after each epoch; each is logged with its wall-clock time first."""
    config = draw_configs(task, n, seed)[index]
    epochs = digits_epochs if task == "digits" else curve_epochs
    with open(log, "a", buffering=1) as f:  # one write(2) per line on an O_APPEND file: lines never interleave
        f.write(f"{time.time():.6f} {index} 0 nan\n")  # epoch 0: the trial started
        for epoch, acc in enumerate(epochs(config, seed, index, max_epochs), 1):
            f.write(f"{time.time():.6f} {index} {epoch} {acc:.6f}\n")
            yield {"accuracy": acc}


# -- one run ----------------------------------------------------------------------------
@dataclass
class Race:
    """One run of one method on one task and seed, read from its log."""

    wall_s: float  # the call to its return
    t_target: float | None  # seconds to the first accuracy >= target (None: not reached)
    best_at: list[float]  # best accuracy at each checkpoint (0 when nothing was reported yet)
    best: float
    epochs: int
    full: int  # trials that ran all epochs
    trials: int = 0  # trials with at least one result
    first_start: float | None = None  # seconds to the first trial's start (the framework's start-up)
    first_result: float | None = None  # seconds to the first epoch's result
    epoch_s: float | None = None  # median seconds between two results of one trial (training speed)
    setup_s: float = 0.0  # ray.init, outside the clock
    ok: bool = False  # every trial gave a result, none failed, the run ended before the time cap
    notes: list[str] = field(default_factory=list)


def read_log(log: str, t0: float, wall: float, task: Task) -> Race:
    rows = []
    if os.path.exists(log):
        with open(log) as f:
            rows = [(float(t) - t0, int(i), int(e), float(a)) for t, i, e, a in (line.split() for line in f)]
    rows.sort()
    first_start = next((t for t, _, e, _ in rows if e == 0), None)
    rows = [r for r in rows if r[2] > 0]
    hit = next((t for t, _, _, a in rows if a >= task.target), None)
    best_at = [max((a for t, _, _, a in rows if t <= c), default=0.0) for c in task.checkpoints]
    last: dict[int, int] = {}
    for _, i, e, _ in rows:
        last[i] = max(e, last.get(i, 0))
    full = sum(e >= task.max_epochs for e in last.values())
    previous: dict[int, float] = {}
    gaps = []
    for t, i, e, _ in rows:
        if e > 1 and i in previous:
            gaps.append(t - previous[i])
        previous[i] = t
    return Race(wall, hit, best_at, max((a for *_, a in rows), default=0.0), len(rows), full, len(last), first_start,
                rows[0][0] if rows else None, statistics.median(gaps) if gaps else None)


def _check(race: Race, task: Task, failed: int, extra: str = "") -> Race:
    in_time = race.wall_s < task.cap_s
    ok = race.ok = failed == 0 and race.trials == task.n_trials and in_time
    race.notes.append(f"trials with a result {race.trials}/{task.n_trials}, failed={failed}{extra}"
                      f"{'' if in_time else ', stopped at the time cap'} -> "
                      f"{'OK' if ok else 'PROBLEM'}")
    return race


# -- tunesmith --------------------------------------------------------------------------
def _ts_trainable(config: dict[str, Any]) -> None:
    import tunesmith

    for metrics in trial_epochs(config["task"], config["n"], config["max_epochs"], config["seed"], config["i"],
                                config["log"]):
        tunesmith.report(**metrics)


def _ts_race(task: Task, seed: int, tmp: str, log: str, hyperband: bool, start_method: str = "auto") -> Race:
    import tunesmith
    from tunesmith.samplers import RandomSampler
    from tunesmith.schedulers import ASHAScheduler, HyperBandScheduler

    if hyperband:
        scheduler = HyperBandScheduler(metric="accuracy", mode="max", max_t=task.max_epochs, reduction_factor=3)
    else:
        scheduler = ASHAScheduler(metric="accuracy", mode="max", max_t=task.max_epochs, grace_period=1,
                                  reduction_factor=4)
    config = {"i": tunesmith.grid_search(list(range(task.n_trials))), "task": task.name, "n": task.n_trials,
              "max_epochs": task.max_epochs, "seed": seed, "log": log}
    t0 = time.time()
    result = tunesmith.run(
        _ts_trainable, config=config, num_samples=1, scheduler=scheduler, resources_per_trial={"cpu": 1},
        storage=os.path.join(tmp, "ts.db"), verbose=0, time_budget_s=task.cap_s,
        search_alg=RandomSampler(seed=seed),  # explicit: the grid is all there is to search, at random search's cost
        start_method=start_method,
    )
    race = read_log(log, t0, time.time() - t0, task)
    return _check(race, task, len(result.errors))


# -- Ray Tune ---------------------------------------------------------------------------
def _ray_trainable(config: dict[str, Any]) -> None:
    from ray import tune

    for metrics in trial_epochs(config["task"], config["n"], config["max_epochs"], config["seed"], config["i"],
                                config["log"]):
        tune.report(metrics)


def _ray_race(task: Task, seed: int, tmp: str, log: str, reuse: bool) -> Race:
    import ray
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (EXAMPLES, HERE, os.environ.get("PYTHONPATH")) if p)
    s0 = time.time()
    # address="local": a fresh runtime even if another Ray cluster runs on this machine.
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    setup = time.time() - s0
    try:
        scheduler = ASHAScheduler(metric="accuracy", mode="max", max_t=task.max_epochs, grace_period=1,
                                  reduction_factor=4)
        space = {"i": tune.grid_search(list(range(task.n_trials))), "task": task.name, "n": task.n_trials,
                 "max_epochs": task.max_epochs, "seed": seed, "log": log}
        t0 = time.time()
        with contextlib.redirect_stdout(sys.stderr):  # Ray Tune prints its banner even with verbose=0
            results = tune.Tuner(
                _ray_trainable, param_space=space,
                tune_config=tune.TuneConfig(scheduler=scheduler, num_samples=1, max_concurrent_trials=2,
                                            reuse_actors=reuse, time_budget_s=task.cap_s),
                run_config=tune.RunConfig(storage_path=tmp, name="race", verbose=0),
            ).fit()
        wall = time.time() - t0
    finally:
        ray.shutdown()
    race = read_log(log, t0, wall, task)
    race.setup_s = setup
    return _check(race, task, results.num_errors)


# -- Optuna -----------------------------------------------------------------------------
def _optuna_pruner(task: Task, hyperband: bool) -> Any:
    import optuna

    if hyperband:
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=task.max_epochs, reduction_factor=3)
    return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=4)


def _optuna_objective(trial: Any, task: Task, seed: int, log: str) -> float:
    import optuna

    index = trial.suggest_int("i", 0, task.n_trials - 1)
    if not trial.user_attrs.get("queued"):  # the queue ran dry between two processes: not a trial of ours
        trial.set_user_attr("extra", True)
        raise optuna.TrialPruned()
    acc = 0.0
    for epoch, metrics in enumerate(trial_epochs(task.name, task.n_trials, task.max_epochs, seed, index, log), 1):
        acc = metrics["accuracy"]
        trial.report(acc, epoch)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return acc


def _stop_when_queue_empty(study: Any, _trial: Any) -> None:
    import optuna

    if not study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,)):
        study.stop()


def _optuna_process(path: str, task: Task, seed: int, log: str, hyperband: bool) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name="race", storage=journal_storage(path), pruner=_optuna_pruner(task, hyperband),
                              sampler=optuna.samplers.RandomSampler(seed=seed))
    study.optimize(functools.partial(_optuna_objective, task=task, seed=seed, log=log), n_trials=task.n_trials,
                   timeout=task.cap_s, callbacks=[_stop_when_queue_empty])


def _optuna_race(task: Task, seed: int, tmp: str, log: str, hyperband: bool, threads: bool) -> Race:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    t0 = time.time()
    storage = None if threads else journal_storage(os.path.join(tmp, "optuna.log"))
    study = optuna.create_study(study_name="race", storage=storage, direction="maximize",
                                pruner=_optuna_pruner(task, hyperband),
                                sampler=optuna.samplers.RandomSampler(seed=seed))
    for i in range(task.n_trials):
        study.enqueue_trial({"i": i}, user_attrs={"queued": True})
    if threads:
        study.optimize(functools.partial(_optuna_objective, task=task, seed=seed, log=log), n_trials=task.n_trials,
                       n_jobs=2, timeout=task.cap_s)
    else:
        ctx = mp.get_context("spawn")  # fresh interpreters, like tunesmith's worker processes
        procs = [ctx.Process(target=_optuna_process, args=(os.path.join(tmp, "optuna.log"), task, seed, log, hyperband))
                 for _ in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        study = optuna.load_study(study_name="race", storage=storage)
    wall = time.time() - t0
    trials = study.get_trials(deepcopy=False)
    failed = sum(t.state == optuna.trial.TrialState.FAIL for t in trials)
    extra = sum(bool(t.user_attrs.get("extra")) for t in trials)
    return _check(read_log(log, t0, wall, task), task, failed, f" extra_trials={extra}")


# method name -> (label, runner(task, seed, tmp, log))
METHODS: dict[str, tuple[str, Callable[[Task, int, str, str], Race]]] = {
    "ts-asha": ("tunesmith ASHA (`tunesmith.run`, SQLite, 2 forked processes)",
                functools.partial(_ts_race, hyperband=False)),
    "ts-asha-spawn": ("tunesmith ASHA, workers spawned (`start_method=\"spawn\"`: fresh interpreters)",
                      functools.partial(_ts_race, hyperband=False, start_method="spawn")),
    "ts-hyperband": ("tunesmith HyperBand (`tunesmith.run`, SQLite, 2 processes)",
                     functools.partial(_ts_race, hyperband=True)),
    "ray-asha": ("Ray Tune ASHA (`Tuner`, reuse_actors=False: default)", functools.partial(_ray_race, reuse=False)),
    "ray-asha-reuse": ("Ray Tune ASHA (`Tuner`, reuse_actors=True)", functools.partial(_ray_race, reuse=True)),
    "optuna-sha": ("Optuna SuccessiveHalvingPruner (in-memory, n_jobs=2)",
                   functools.partial(_optuna_race, hyperband=False, threads=True)),
    "optuna-hb": ("Optuna HyperbandPruner (in-memory, n_jobs=2)",
                  functools.partial(_optuna_race, hyperband=True, threads=True)),
    "optuna-sha-journal": ("Optuna SuccessiveHalvingPruner (journal file, 2 processes)",
                           functools.partial(_optuna_race, hyperband=False, threads=False)),
    "optuna-hb-journal": ("Optuna HyperbandPruner (journal file, 2 processes)",
                          functools.partial(_optuna_race, hyperband=True, threads=False)),
}
DEFAULT_METHODS = ("ts-asha", "ts-hyperband", "ray-asha", "ray-asha-reuse", "optuna-sha", "optuna-hb")
QUICK_METHODS = ("ts-asha", "ray-asha-reuse", "optuna-sha")
SLOW = ("ray-asha",)  # minutes per run: --slow-seeds of them
BASE = "ts-asha"
TARGET = ("ray-asha-reuse", 3.0)  # issue 5: tunesmith >= 3x faster to the same accuracy than Ray's best setting


def _median(values: Sequence[float | None]) -> float | None:
    """Median where None (not reached) counts as infinitely late; None if the median is not reached."""
    m = statistics.median([math.inf if v is None else v for v in values])
    return None if math.isinf(m) else m


def _paired(runs: list[Race], base: list[Race], key: Callable[[Race], float | None]) -> float | None:
    """Median over seeds of ``key(run) / key(base run of the same seed)`` (not reached: infinitely late)."""
    ratios = []
    for run, ref in zip(runs, base, strict=False):  # a slow method may have fewer seeds
        a, b = key(run), key(ref)
        a, b = math.inf if a is None else a, math.inf if b is None else b
        ratios.append(math.nan if math.isinf(a) and math.isinf(b) else a / b)
    ratios = [r for r in ratios if not math.isnan(r)]
    return statistics.median(ratios) if ratios else None


def _seconds(races: list[Race], attr: str, digits: int) -> str:
    values = [getattr(r, attr) for r in races if getattr(r, attr) is not None]
    return f"{statistics.median(values):.{digits}f}" if values else "-"


def _ratio(r: float | None) -> str:
    return "" if r is None else "never" if math.isinf(r) else f"{r:.2f}x"


def _to_target(r: Race) -> float | None:
    return r.t_target


def _to_target_setup(r: Race) -> float | None:
    return None if r.t_target is None else r.t_target + r.setup_s


def render_race(task: Task, runs: dict[str, list[Race]]) -> str:
    head = ["method", "seeds", "complete", "first result (s)", f"time to {task.target:g} (s)", "incl. `ray.init`",
            "reached"]
    head += [f"best @{c:g} s" for c in task.checkpoints]
    head += ["best", "total wall (s)", "epochs", "s/epoch", "full-length trials", f"to {task.target:g}: this / {BASE}",
             f"total wall: this / {BASE}"]
    rows = []
    base = runs.get(BASE, [])
    for name, races in runs.items():
        if not races:
            continue
        t, ts = _median([_to_target(r) for r in races]), _median([_to_target_setup(r) for r in races])
        first = _median([r.first_result for r in races])
        complete = sum(r.ok for r in races)
        cells = [METHODS[name][0], str(len(races)), f"{complete}/{len(races)}",
                 "-" if first is None else f"{first:.1f}", "never" if t is None else f"{t:.1f}",
                 "never" if ts is None else f"{ts:.1f}",
                 f"{sum(r.t_target is not None for r in races)}/{len(races)}"]
        cells += [f"{statistics.median(r.best_at[k] for r in races):.3f}" for k in range(len(task.checkpoints))]
        cells += [f"{statistics.median(r.best for r in races):.3f}",
                  f"{statistics.median(r.wall_s for r in races):.1f}",
                  f"{statistics.median(r.epochs for r in races):.0f}", _seconds(races, "epoch_s", 3),
                  f"{statistics.median(r.full for r in races):.0f}"]
        if name == BASE or not base:
            cells += ["", ""]
        else:
            cells += [_ratio(_paired(races, base, _to_target)), _ratio(_paired(races, base, lambda r: r.wall_s))]
        rows.append(cells)
    setup = [r.setup_s for v in runs.values() for r in v if r.setup_s]
    lines = [
        f"**{task.name}**: {task.n_trials} trials, at most {task.max_epochs} epochs each, target validation "
        f"accuracy {task.target:g}; medians over seeds; ratios: the median over seeds of this row / {BASE} "
        "(same seed; above 1: tunesmith ASHA is faster)"
        + (f"; `ray.init` took {statistics.median(setup):.1f} s (median), outside the other columns" if setup else ""),
        "",
        *table_lines(head, rows),
    ]
    peer, need = TARGET
    if base and runs.get(peer):
        r, r_setup = _paired(runs[peer], base, _to_target), _paired(runs[peer], base, _to_target_setup)
        if r is not None and r_setup is not None:
            lines += ["", f"Target: {METHODS[BASE][0]} >= {need:g}x faster to {task.target:g} than "
                          f"{METHODS[peer][0]}: {_ratio(r)} with `ray.init` excluded -> "
                          f"{'met' if r >= need else 'NOT met'}; {_ratio(r_setup)} with `ray.init` counted -> "
                          f"{'met' if r_setup >= need else 'NOT met'}"]
    return "\n".join(lines) + "\n"


# -- main -------------------------------------------------------------------------------
def prepare(task: Task) -> None:
    """Import what the trainable imports, in this process, as a user's script does at its top.

    Worker processes (tunesmith, Ray, Optuna's journal workers) import them again on every
    run; Optuna's threads share this process.
    """
    if task.name == "digits":
        next(digits_epochs(draw_configs("digits", 1, 0)[0], 0, 0, 1))


def _environment() -> str:
    from importlib.metadata import version

    import tunesmith

    root = os.path.dirname(HERE)
    imported = os.path.dirname(os.path.dirname(os.path.abspath(tunesmith.__file__)))
    if os.path.realpath(imported) != os.path.realpath(root):
        commit = f"imported from {imported}; this checkout is at {git_commit()}"
    else:
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "tunesmith"], capture_output=True, text=True,
                               cwd=root, check=False).stdout.strip()
        commit = git_commit() + (" with uncommitted changes to tunesmith/" if dirty else "")
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, ray {version('ray')}, optuna "
        f"{version('optuna')}, torch {version('torch')}, tunesmith {tunesmith.__version__} ({commit}), "
        f"{platform.platform()}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny tasks, 1 seed, few reports")
    parser.add_argument("--parts", nargs="*", choices=("race", "overhead"), default=["race", "overhead"])
    parser.add_argument("--tasks", nargs="*", choices=list(TASKS), default=list(TASKS))
    parser.add_argument("--methods", nargs="*", choices=list(METHODS),
                        help=f"default: {' '.join(DEFAULT_METHODS)} (--quick: {' '.join(QUICK_METHODS)})")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per task and method (default 3)")
    parser.add_argument("--slow-seeds", type=int, default=1,
                        help="seeds of Ray Tune with reuse_actors=False (default 1: minutes per run)")
    parser.add_argument("--trials", type=int, help="override every task's number of trials")
    parser.add_argument("--repeats", type=int, default=3, help="runs per report-cost config (default 3)")
    parser.add_argument("--markdown-out", metavar="FILE", help="also write the tables to FILE")
    args = parser.parse_args(argv)
    tasks = {name: QUICK[name] if args.quick else TASKS[name] for name in args.tasks}
    if args.trials is not None:
        tasks = {name: replace(task, n_trials=args.trials) for name, task in tasks.items()}
    methods = args.methods or list(QUICK_METHODS if args.quick else DEFAULT_METHODS)
    seeds = 1 if args.quick else args.seeds
    n_over, steps = (5, 20) if args.quick else (50, 100)
    repeats = 1 if args.quick else args.repeats
    load0 = os.getloadavg()[0]
    env = _environment()
    print(f"# {env}", file=sys.stderr)
    out = []
    if "race" in args.parts:
        runs: dict[str, dict[str, list[Race]]] = {t: {m: [] for m in methods} for t in tasks}
        for task in tasks.values():
            prepare(task)
        for seed in range(max(seeds, args.slow_seeds)):  # interleaved, so drift hits every method alike
            for tname, task in tasks.items():
                for name in methods:
                    if seed >= (min(seeds, args.slow_seeds) if name in SLOW else seeds):
                        continue
                    with tempfile.TemporaryDirectory(prefix="tunesmith-bench-") as tmp:
                        race = METHODS[name][1](task, seed, tmp, os.path.join(tmp, "epochs.log"))
                    runs[tname][name].append(race)
                    print(f"[seed {seed}] {tname} {name}: to target "
                          f"{'-' if race.t_target is None else f'{race.t_target:.2f} s'}, wall {race.wall_s:.2f} s "
                          f"(+{race.setup_s:.1f} s setup), epochs {race.epochs}, best {race.best:.3f}; "
                          + "; ".join(race.notes), file=sys.stderr)
        for tname, task in tasks.items():
            out.append(render_race(task, runs[tname]))
    if "overhead" in args.parts:
        over: dict[str, list[list[float]]] = {name: [] for name in OVERHEAD}
        for rep in range(repeats):
            for name, fn in OVERHEAD.items():
                with tempfile.TemporaryDirectory(prefix="tunesmith-bench-") as tmp:
                    times = fn(min(n_over, OVERHEAD_TRIALS.get(name, n_over)), steps, tmp)
                over[name].append(times)
                print(f"[{rep + 1}/{repeats}] {name}: {len(times)} reports, "
                      f"{statistics.median(times) * 1e6:,.0f} µs median", file=sys.stderr)
        out.append(render_overhead(n_over, steps, repeats, over))
    command = "python benchmarks/schedulers.py" + "".join(f" {shlex.quote(a)}" for a in sys.argv[1:])
    out.append(f"Command: `{command}`; {env}; 1-min load average {load0:.1f} at start, "
               f"{os.getloadavg()[0]:.1f} at end\n")
    emit("\n".join(out), args.markdown_out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
