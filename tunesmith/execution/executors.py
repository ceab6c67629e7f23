"""Where and how ``Study.optimize`` runs trials: executor objects carrying the execution knobs.

>>> import tunesmith
>>> from tunesmith.execution import LocalExecutor
>>> study = tunesmith.create_study(seed=0)
>>> study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3, executor=LocalExecutor(max_retries=1))
>>> len(study.trials)
3

The same knobs are accepted as keywords of ``optimize`` (``max_retries=1``...): they
fill in the executor's fields (:func:`with_options`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

__all__ = ["Executor", "ExecutorOptions", "LocalExecutor", "RayExecutor", "with_options"]


@dataclass(frozen=True)
class _Common:
    #: times a trial whose worker was lost (killed, crashed, no heartbeat) runs again before it is FAILED
    max_retries: int = 0
    #: seconds a trial may run; past it its worker process (Ray task) is stopped and the trial FAILED
    trial_timeout: float | None = None
    #: a running trial's worker renews its lease this often (SQL storages; None: never)
    heartbeat_interval: float | None = 10.0
    #: a trial with no renewal for this long is taken back by any worker
    heartbeat_grace: float = 60.0
    #: ``{"cpu": c, "gpu": g, "memory": bytes}`` per trial
    resources_per_trial: Mapping[str, float] | None = None


@dataclass(frozen=True)
class LocalExecutor(_Common):
    """Trials on this machine: in this process, or in ``n_workers`` worker processes.

    Besides the common knobs (``max_retries``, ``trial_timeout``, ``heartbeat_interval``,
    ``heartbeat_grace``, ``resources_per_trial``: each worker process gets its own GPUs
    through ``CUDA_VISIBLE_DEVICES`` and a thread count):

    Args:
        memory_limit: bytes of address space each worker process may use; a trial that
            needs more fails with MemoryError (uses worker processes).
        worker_env: extra environment variables for every worker process.
        start_method: ``"fork"`` (from a fork server holding this process's imports:
            milliseconds), ``"spawn"`` (a fresh interpreter), or ``"auto"`` (default, or
            ``TUNESMITH_START_METHOD``): fork on Linux unless CUDA is initialised here or
            TensorFlow/JAX is imported.
    """

    memory_limit: int | None = None
    worker_env: Mapping[str, str] | None = None
    start_method: str | None = None

    kind = "local"


@dataclass(frozen=True)
class RayExecutor(_Common):
    """Trials as Ray tasks: on a new local Ray runtime, or on the cluster at ``address``.

    ``address="auto"`` joins the one ``ray start`` began on this machine; ``RAY_ADDRESS``
    is honoured. Without ``n_workers``, as many tasks run as the cluster's resources fit.
    """

    address: str | None = None

    kind = "ray"


class ExecutorOptions(TypedDict, total=False):
    """``Study.optimize``'s keywords for the executor's fields (the spelling before executor objects)."""

    max_retries: int
    trial_timeout: float | None
    heartbeat_interval: float | None
    heartbeat_grace: float
    resources_per_trial: Mapping[str, float] | None
    memory_limit: int | None
    worker_env: Mapping[str, str] | None
    start_method: str | None
    ray_address: str | None


Executor = LocalExecutor | RayExecutor
_KINDS = "'local', 'ray', LocalExecutor(...) or RayExecutor(...)"


def with_options(executor: str | Executor, options: Mapping[str, Any]) -> Executor:
    """``executor`` (``"local"``, ``"ray"`` or an executor object) with ``options`` filled in.

    An option the executor kind has no field for is an error (``memory_limit`` with Ray).
    """
    if isinstance(executor, str):
        if executor not in ("local", "ray"):
            raise ValueError(f"executor must be {_KINDS}, got {executor!r}")
        executor = LocalExecutor() if executor == "local" else RayExecutor()
    elif not isinstance(executor, (LocalExecutor, RayExecutor)):
        raise TypeError(f"executor must be {_KINDS}, got {executor!r}")
    changes = dict(options)
    if "n_jobs" in changes:
        raise TypeError(
            f"optimize(n_jobs={changes['n_jobs']!r}) is Optuna's thread count; tunesmith runs worker processes: "
            "optimize(n_workers=4) (with a SQLite or PostgreSQL storage they share)"
        )
    if "ray_address" in changes:
        address = changes.pop("ray_address")
        if isinstance(executor, RayExecutor):
            changes["address"] = address
        elif address is not None:
            raise ValueError("ray_address is for executor='ray'")
    fields = {f.name for f in dataclasses.fields(executor)}
    for name in [n for n, v in changes.items() if v is None and n not in fields]:
        del changes[name]  # e.g. start_method=None with Ray: nothing asked for
    unknown = sorted(set(changes) - fields)
    if unknown:
        known = sorted(set(ExecutorOptions.__annotations__) & (fields | {"ray_address"}))
        raise TypeError(f"optimize() got unexpected keyword(s) {unknown} for {type(executor).__name__}; "
                        f"it takes {known}")
    return dataclasses.replace(executor, **changes) if changes else executor
