"""Optuna's ``optuna.storages`` names: ``RDBStorage(url, heartbeat_interval=...)`` and the retry callback.

In tunesmith the lease of a running trial (heartbeat) and its retries are ``optimize``
settings; ``RDBStorage`` carries them as the storage's defaults for every ``optimize``
on it, so an Optuna script keeps its lines::

    storage = tunesmith.storages.RDBStorage(
        "sqlite:///example.db", heartbeat_interval=1, grace_period=5,
        failed_trial_callback=tunesmith.storages.RetryFailedTrialCallback(max_retry=2),
    )
    study = tunesmith.create_study(storage=storage)

A trial whose worker died is then re-queued with its parameters (up to ``max_retry``
times); its reports are kept (Optuna's ``inherit_intermediate_values=True``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tunesmith.record import FrozenTrial
from tunesmith.storage import InMemoryStorage, Storage, get_storage

__all__ = ["InMemoryStorage", "RDBStorage", "RetryFailedTrialCallback"]

#: what "retry without limit" means: re-queued each time its worker is lost
_UNLIMITED = 2**31 - 1


class RetryFailedTrialCallback:
    """Re-queue a trial whose worker was lost, up to ``max_retry`` times (None: always).

    Given to :func:`RDBStorage` as ``failed_trial_callback``; it sets the storage's
    ``max_retries`` default. Reports are always kept, so ``inherit_intermediate_values``
    is accepted for Optuna's scripts and changes nothing.
    """

    def __init__(self, max_retry: int | None = None, inherit_intermediate_values: bool = False) -> None:
        if max_retry is not None and (not isinstance(max_retry, int) or max_retry < 0):
            raise ValueError(f"max_retry must be a non-negative integer or None, got {max_retry!r}")
        self.max_retry = max_retry
        self.inherit_intermediate_values = inherit_intermediate_values

    @property
    def max_retries(self) -> int:
        return _UNLIMITED if self.max_retry is None else self.max_retry

    @staticmethod
    def retried_trial_number(trial: FrozenTrial) -> int | None:
        """The number of the trial this one retries (None: it ran once).

        Optuna copies a failed trial into a new one; tunesmith re-queues the same trial,
        so a retried trial keeps its number: it is its own number here.
        """
        return trial.number if trial.retries > 0 else None

    @staticmethod
    def retry_history(trial: FrozenTrial) -> list[int]:
        """The numbers of the earlier attempts of this trial, oldest first (``[]``: it ran once).

        Each attempt was the same trial (same number) in tunesmith, so this is its number
        once per retry: ``len(retry_history(t)) == t.retries``.
        """
        return [trial.number] * trial.retries


def RDBStorage(  # noqa: N802 - Optuna's class name, a factory here
    url: str, engine_kwargs: Mapping[str, Any] | None = None, skip_compatibility_check: bool = False, *,
    heartbeat_interval: float | None = None, grace_period: float | None = None,
    failed_trial_callback: RetryFailedTrialCallback | None = None, skip_table_creation: bool = False,
) -> Storage:
    """An SQL storage (SQLite or PostgreSQL URL) whose ``optimize`` runs use these lease settings.

    ``heartbeat_interval``/``grace_period``: seconds between a running trial's
    heartbeats, and without one before any worker takes the trial back (Optuna's
    default grace is twice the interval). ``engine_kwargs`` are not supported: the
    storage manages its own connections (a clear error if given).
    """
    if engine_kwargs:
        raise ValueError(
            "RDBStorage(engine_kwargs=...) is not supported: tunesmith's SQL storage configures its own "
            "engine (pool, SQLite busy timeout); pass the URL alone"
        )
    if heartbeat_interval is not None and not heartbeat_interval > 0:
        raise ValueError(f"heartbeat_interval must be positive seconds, got {heartbeat_interval!r}")
    storage = get_storage(url)
    defaults: dict[str, Any] = {}
    if heartbeat_interval is not None:
        defaults["heartbeat_interval"] = float(heartbeat_interval)
        defaults["heartbeat_grace"] = float(grace_period if grace_period is not None else 2 * heartbeat_interval)
    elif grace_period is not None:
        defaults["heartbeat_grace"] = float(grace_period)
    if failed_trial_callback is not None:
        defaults["max_retries"] = failed_trial_callback.max_retries
    storage.run_defaults = defaults
    return storage
