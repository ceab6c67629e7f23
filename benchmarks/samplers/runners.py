"""The samplers compared, each run the same way: one problem, one seed, n trials, every value kept.

Sampler names are ``library-algorithm``: ``tunesmith-auto`` (the default candidate),
``tunesmith-tpe``, ``tunesmith-gp``, ``tunesmith-cmaes``, ``tunesmith-random``,
``optuna-tpe`` (Optuna's default), ``optuna-gp``, ``optuna-cmaes``, ``optuna-random``,
``hyperopt-tpe`` and ``hebo``. A sampler whose library is missing or fails to import
raises :class:`UnavailableError` with the reason, which the report prints.

:func:`run` returns the objective value of every trial in trial-number order (None for a
failed trial) and, per trial, the *overhead*: wall time from the end of the previous
objective evaluation to the moment this trial's parameters were all suggested — the
library's tell, storage and suggestion work, with the evaluation itself excluded.
"""

from __future__ import annotations

import ast
import math
import os
import tempfile
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmarks.samplers.problems import (
    Categorical,
    Float,
    Int,
    Problem,
    active,
    flatten,
    from_hyperopt,
    hyperopt_space,
    suggest,
)

TUNESMITH = ("tunesmith-auto", "tunesmith-tpe", "tunesmith-gp", "tunesmith-cmaes", "tunesmith-random")
OPTUNA = ("optuna-tpe", "optuna-gp", "optuna-cmaes", "optuna-random")
SAMPLERS = (*TUNESMITH, *OPTUNA, "hyperopt-tpe", "hebo")
DEFAULT_SAMPLERS = tuple(s for s in SAMPLERS if s != "hebo")
RANDOM = ("tunesmith-random", "optuna-random")  # Bayesmark's random-search baseline pools both


class UnavailableError(RuntimeError):
    """The sampler cannot run here (library missing, or fails to import)."""


@dataclass
class Result:
    values: list[float | None]
    overheads: list[float] = field(default_factory=list)  # seconds per trial, see the module doc
    seconds: float = 0.0


class _Clock:
    """Wraps an objective to time each trial's overhead (see the module doc)."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.overheads: list[float] = []
        self._last_end: float | None = None

    def params(self, trial: Any) -> dict[str, Any]:
        params = suggest(trial, self.problem.space)
        self._mark()
        return params

    def _mark(self) -> None:
        now = time.perf_counter()
        if self._last_end is not None:
            self.overheads.append(now - self._last_end)

    def evaluate(self, params: dict[str, Any]) -> float:
        try:
            return self.problem.function(params)
        finally:
            self._last_end = time.perf_counter()

    def objective(self, trial: Any) -> float:
        return self.evaluate(self.params(trial))


def tunesmith_sampler(name: str, seed: int) -> Any:
    from tunesmith import samplers

    algorithm = name.removeprefix("tunesmith-")
    try:
        if algorithm == "gp":
            from tunesmith.samplers.gp import GPSampler

            return GPSampler(seed=seed)
        if algorithm == "cmaes":
            from tunesmith.samplers.cmaes import CmaEsSampler

            return CmaEsSampler(seed=seed)
    except Exception as e:  # the module is being written: report it, run the rest
        raise UnavailableError(f"{name}: {type(e).__name__}: {e}") from e
    classes = {"auto": samplers.AutoSampler, "tpe": samplers.TPESampler, "random": samplers.RandomSampler}
    return classes[algorithm](seed=seed)


def optuna_sampler(name: str, seed: int) -> Any:
    import optuna

    algorithm = name.removeprefix("optuna-")
    if algorithm == "gp":
        try:
            import torch
        except ImportError as e:
            raise UnavailableError(f"optuna-gp needs torch: {e}") from e
        torch.set_num_threads(1)
    if algorithm == "cmaes":  # only silences its per-parameter log line on categorical/conditional spaces
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    classes = {"tpe": optuna.samplers.TPESampler, "gp": optuna.samplers.GPSampler,
               "random": optuna.samplers.RandomSampler}
    return classes[algorithm](seed=seed)


def _run_tunesmith(name: str, problem: Problem, n_trials: int, seed: int, workers: int) -> Result:
    return run_tunesmith(tunesmith_sampler(name, seed), problem, n_trials, workers)


def run_tunesmith(sampler: Any, problem: Problem, n_trials: int, workers: int = 1,
                  enqueue: Sequence[Mapping[str, Any]] = ()) -> Result:
    """Run a tunesmith ``sampler`` (any settings) on ``problem`` as :func:`run` runs the named ones;
    the trials ``enqueue`` gives come first (counted in ``n_trials``)."""
    import tunesmith

    clock = _Clock(problem)
    with tempfile.TemporaryDirectory(prefix="tunesmith-samplers-") as tmp:
        storage = f"sqlite:///{tmp}/study.db" if workers > 1 else None
        study = tunesmith.create_study(storage=storage, sampler=sampler, direction="minimize")
        for params in enqueue:
            study.enqueue(params)
        t0 = time.perf_counter()
        if workers > 1:
            # Worker processes get the objective by cloudpickle; the problem's module by name.
            study.optimize(problem.objective, n_trials=n_trials, n_workers=workers)
        else:
            study.optimize(clock.objective, n_trials=n_trials)
        seconds = time.perf_counter() - t0
        trials = sorted(study.trials, key=lambda t: t.number)
        values = [t.value if t.state == tunesmith.TrialState.COMPLETE else None for t in trials]
    return Result(values, clock.overheads, seconds)


def _run_optuna(name: str, problem: Problem, n_trials: int, seed: int, workers: int) -> Result:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    clock = _Clock(problem)
    study = optuna.create_study(sampler=optuna_sampler(name, seed), direction="minimize")
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # CMA-ES on categorical parameters, experimental features
        if workers > 1:
            study.optimize(problem.objective, n_trials=n_trials, n_jobs=workers, catch=(Exception,))
        else:
            study.optimize(clock.objective, n_trials=n_trials, catch=(Exception,))
    seconds = time.perf_counter() - t0
    trials = sorted(study.trials, key=lambda t: t.number)
    values = [t.value if t.state == optuna.trial.TrialState.COMPLETE else None for t in trials]
    return Result(values, clock.overheads, seconds)


def _run_hyperopt(problem: Problem, n_trials: int, seed: int) -> Result:
    try:
        import hyperopt
    except ImportError as e:
        raise UnavailableError(f"hyperopt: {e}") from e

    clock = _Clock(problem)
    space = problem.space

    def objective(sample: dict[str, Any]) -> dict[str, Any]:
        params = from_hyperopt(space, sample)
        clock._mark()
        try:
            return {"loss": clock.evaluate(params), "status": hyperopt.STATUS_OK}
        except Exception:  # a failed evaluation, as a failed trial in the other libraries
            return {"status": hyperopt.STATUS_FAIL}

    trials = hyperopt.Trials()
    t0 = time.perf_counter()
    hyperopt.fmin(objective, hyperopt_space(space), algo=hyperopt.tpe.suggest, max_evals=n_trials, trials=trials,
                  rstate=np.random.default_rng(seed), show_progressbar=False)
    seconds = time.perf_counter() - t0
    values = [r.get("loss") if r.get("status") == hyperopt.STATUS_OK else None for r in trials.results]
    return Result(values, clock.overheads, seconds)


def _run_hebo(problem: Problem, n_trials: int, seed: int) -> Result:
    """HEBO (Cowen-Rivers et al. 2022) through its ask/tell API, one suggestion at a time.

    HEBO has no conditional spaces: every branch parameter is in its space at all times
    and the objective sees only the active ones (as Bayesmark does). It draws from the
    global NumPy and torch generators, which are seeded here.
    """
    try:
        import pandas as pd
        import torch
        from hebo.design_space.design_space import DesignSpace
        from hebo.optimizers.hebo import HEBO
    except Exception as e:
        raise UnavailableError(f"hebo: {type(e).__name__}: {e}") from e

    flat = flatten(problem.space)
    spec: list[dict[str, Any]] = []
    for p in flat:
        if isinstance(p, Float):
            spec.append({"name": p.name, "type": "pow" if p.log else "num", "lb": p.low, "ub": p.high})
        elif isinstance(p, Int):
            spec.append({"name": p.name, "type": "pow_int" if p.log else "int", "lb": p.low, "ub": p.high})
        else:
            # HEBO one-hot encodes string labels; the choice's index stands for it and maps back below.
            spec.append({"name": p.name, "type": "cat", "categories": [str(i) for i in range(len(p.choices))]})
    np.random.seed(seed)
    torch.manual_seed(seed)
    optimizer = HEBO(DesignSpace().parse(spec), scramble_seed=seed)
    clock = _Clock(problem)
    values: list[float | None] = []
    t0 = time.perf_counter()
    for _ in range(n_trials):
        rec = optimizer.suggest(n_suggestions=1)
        row = rec.iloc[0].to_dict()
        flat_params = {
            p.name: p.choices[int(row[p.name])] if isinstance(p, Categorical)
            else int(np.rint(row[p.name])) if isinstance(p, Int) else float(row[p.name])
            for p in flat
        }
        clock._mark()
        try:
            value: float | None = clock.evaluate(active(problem.space, flat_params))
        except Exception:  # a failed evaluation is a failed trial; HEBO is not told of it
            value = None
        values.append(value)
        if value is not None and math.isfinite(value):
            optimizer.observe(pd.DataFrame([row]), np.array([[value]]))
    return Result(values, clock.overheads, time.perf_counter() - t0)


def run(name: str, problem: Problem, n_trials: int, seed: int, workers: int = 1) -> Result:
    """Run sampler ``name`` on ``problem``; ``workers > 1`` runs in parallel (processes for
    tunesmith on a SQLite file, threads (``n_jobs``) for Optuna)."""
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; expected one of {SAMPLERS}")
    if name.startswith("tunesmith-"):
        return _run_tunesmith(name, problem, n_trials, seed, workers)
    if name.startswith("optuna-"):
        return _run_optuna(name, problem, n_trials, seed, workers)
    if workers > 1:
        raise UnavailableError(f"{name}: no parallel mode in this runner")
    if name == "hyperopt-tpe":
        return _run_hyperopt(problem, n_trials, seed)
    return _run_hebo(problem, n_trials, seed)


def tunesmith_fingerprint(sampler: str | None = None) -> str:
    """A short hash of tunesmith sampler sources: recorded with each tunesmith run, so the
    report can tell runs of different code apart and ``--rerun-changed`` can redo them.

    With a sampler name (``tunesmith-tpe``), only the modules that sampler runs: its own
    and, transitively, the ``tunesmith.samplers`` modules it imports (top-level or lazy;
    the package's ``__init__``, which only re-exports, is left out), so an edit to the GP
    leaves TPE's runs current. Without one, every module under ``tunesmith/samplers``.

    What is hashed is each module's syntax tree without docstrings, so an edit to a
    comment, a docstring or the layout leaves the fingerprint (and the cached runs) as
    they were; any change to what the code does changes it.
    """
    import hashlib

    import tunesmith

    root = os.path.join(os.path.dirname(os.path.abspath(tunesmith.__file__)), "samplers")
    if sampler is None:
        files = sorted(os.path.join(folder, name) for folder, _, names in os.walk(root)
                       for name in names if name.endswith(".py"))
        # the order the fingerprints of earlier sessions used: folder by folder, sorted
        files.sort(key=lambda f: (os.path.dirname(f), os.path.basename(f)))
    else:
        files = sorted(_closure(root, f"tunesmith.samplers.{_MODULES[sampler.removeprefix('tunesmith-')]}"))
    digest = hashlib.sha1()
    for file in files:
        with open(file, encoding="utf-8") as f:
            digest.update(os.path.basename(file).encode() + b"\0" + _code_only(f.read()).encode())
    return digest.hexdigest()[:10]


_MODULES = {"auto": "auto", "tpe": "tpe", "gp": "gp", "cmaes": "cmaes", "random": "random"}


def _closure(root: str, module: str) -> set[str]:
    """Files of ``module`` and of the ``tunesmith.samplers`` modules it imports, transitively."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        rel = name.removeprefix("tunesmith.samplers").lstrip(".").replace(".", os.sep)
        path = os.path.join(root, rel, "__init__.py")
        if not os.path.exists(path):
            path = os.path.join(root, rel + ".py")
        if path in seen or not rel:
            continue
        seen.add(path)
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tunesmith.samplers"):
                todo.append(node.module)
                todo += [f"{node.module}.{a.name}" for a in node.names
                         if os.path.exists(os.path.join(root, *node.module.split(".")[2:], a.name + ".py"))]
            elif isinstance(node, ast.Import):
                todo += [a.name for a in node.names if a.name.startswith("tunesmith.samplers.")]
    return seen


def _code_only(source: str) -> str:
    """``source``'s syntax tree with docstrings removed (comments and layout never reach it)."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


def best_so_far(values: list[float | None]) -> np.ndarray:
    """Running minimum; a failed trial (None, NaN) leaves it unchanged (inf before any success)."""
    v = np.array([math.inf if x is None or not math.isfinite(x) else x for x in values], dtype=float)
    return np.minimum.accumulate(v) if len(v) else v


def limit_threads() -> None:
    """One BLAS/OpenMP/torch thread per process: runs go side by side on a shared 2-core machine.

    The variables reach the libraries loaded later (torch, scikit-learn's OpenMP); threadpoolctl
    limits the ones loaded already (OpenBLAS, which numpy loads on import and sizes then).
    """
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)

