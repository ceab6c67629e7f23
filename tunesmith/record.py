"""The study record: what a storage holds and every layer above reads.

A study (:class:`StudyRecord`, its settings typed as :class:`StudySettings`) holds
trials (:class:`FrozenTrial`, in a :class:`TrialState`) and their intermediate
:class:`Report` s. Records are plain data: nothing here runs code or talks to a storage.

>>> t = FrozenTrial(number=0, state=TrialState.COMPLETE, params={"opt/lr": 0.1}, values=[0.5])
>>> t.value, t.config, t.retries, t.restore
(0.5, {'opt': {'lr': 0.1}}, 0, None)
"""

from __future__ import annotations

import datetime as _dt
import enum
from dataclasses import dataclass, field, fields
from typing import Any, NamedTuple

from tunesmith.distributions import Distribution
from tunesmith.space import unflatten

__all__ = [
    "Duration",
    "FrozenTrial",
    "Report",
    "Restore",
    "StudyRecord",
    "StudySettings",
    "StudyDirection",
    "StudySummary",
    "TrialState",
    "create_trial",
]

# The keys of ``FrozenTrial.system_attrs`` the storages and the study write; read them
# through FrozenTrial's typed properties, never by these strings elsewhere.
FIXED_PARAMS = "fixed_params"  # an enqueued trial's given parameters
RETRIES = "retries"  # times the trial was re-queued after its worker was lost
RESTORE = "restore"  # a continuation's starting checkpoint (Restore.to_json)
CONTINUES = "continues"  # the number of the trial whose line a continuation goes on
ENQUEUED_USER_ATTRS = "enqueued_user_attrs"  # user attributes given with ``enqueue``
CONSTRAINTS = "constraints"  # the sampler's constraints_func values (Optuna's key), <= 0: satisfied


class TrialState(enum.IntEnum):
    """Life cycle of a trial. WAITING trials are queued (``enqueue``) and not started;
    PAUSED ones stopped at a checkpoint and may be resumed (ASHA's promotions)."""

    WAITING = 0
    RUNNING = 1
    COMPLETE = 2
    PRUNED = 3
    FAILED = 4
    PAUSED = 5

    #: Optuna's name for FAILED
    FAIL = 4

    def __str__(self) -> str:
        return f"TrialState.{self.name}"

    def __format__(self, spec: str) -> str:
        return str(self) if not spec else format(int(self), spec)

    def is_finished(self) -> bool:
        """COMPLETE, PRUNED or FAILED: the trial's record no longer changes."""
        return TrialState.COMPLETE <= self <= TrialState.FAILED


class StudyDirection(str, enum.Enum):
    """Optuna's ``StudyDirection``; its members equal the direction strings a study holds.

    >>> StudyDirection.MINIMIZE == "minimize", "maximize" == StudyDirection.MAXIMIZE
    (True, True)
    """

    NOT_SET = "not_set"
    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"

    def __str__(self) -> str:
        return f"StudyDirection.{self.name}"


class Duration(float):
    """A trial's duration: float seconds that also answer ``timedelta``'s ``total_seconds()``.

    Optuna's ``FrozenTrial.duration`` is a :class:`datetime.timedelta`; this one is a number
    of seconds (sums, means and formats as a float) with Optuna's method on it.

    >>> d = Duration(1.5)
    >>> d + 1, d.total_seconds(), d.timedelta()
    (2.5, 1.5, datetime.timedelta(seconds=1, microseconds=500000))
    """

    __slots__ = ()

    def total_seconds(self) -> float:
        """The seconds as a plain float (Optuna: ``trial.duration.total_seconds()``)."""
        return float(self)

    def timedelta(self) -> _dt.timedelta:
        """The same duration as a :class:`datetime.timedelta`."""
        return _dt.timedelta(seconds=float(self))


@dataclass(slots=True)
class FrozenTrial:
    """One trial as stored: parameters, state, values, reports summary, timings, errors.

    ``params`` holds the values the objective saw; ``internal_params`` their stored
    JSON-safe form (categorical choices as indices).
    """

    number: int
    state: TrialState
    params: dict[str, Any] = field(default_factory=dict)
    values: list[float] | None = None
    error: str | None = None
    user_attrs: dict[str, Any] = field(default_factory=dict)
    system_attrs: dict[str, Any] = field(default_factory=dict)
    started_at: float | None = None
    finished_at: float | None = None
    last_step: int | None = None
    last_result: dict[str, Any] = field(default_factory=dict)
    heartbeat_at: float | None = None
    trial_id: int = -1
    internal_params: dict[str, Any] = field(default_factory=dict)
    distributions: dict[str, Distribution] = field(default_factory=dict)
    #: the lease token: incremented each time the trial is started (retried, resumed); every
    #: write of a running trial carries it, so a worker whose lease was taken back cannot write
    attempt: int = 0
    #: the process that started the trial (``tunesmith._process.identity()``), if known
    owner: str | None = None
    #: {step: value} of the objective's reports, when the reader filled it (``Study.trials`` does)
    intermediate: dict[int, float] | None = None

    def evolve(self, **changes: Any) -> FrozenTrial:
        """A copy with some fields changed (a fast ``dataclasses.replace``)."""
        new = object.__new__(FrozenTrial)
        for name in _FROZEN_FIELDS:
            object.__setattr__(new, name, changes[name] if name in changes else getattr(self, name))
        return new

    @property
    def value(self) -> float | None:
        """The objective value (single-objective studies); None if there is none."""
        if self.values is None:
            return None
        if len(self.values) != 1:
            raise RuntimeError(f"trial {self.number} has {len(self.values)} values; use .values")
        return self.values[0]

    @property
    def config(self) -> dict[str, Any]:
        """Parameters as a nested dict (``"a/b"`` becomes ``{"a": {"b": ...}}``)."""
        return unflatten(self.params)

    @property
    def datetime_start(self) -> _dt.datetime | None:
        return None if self.started_at is None else _dt.datetime.fromtimestamp(self.started_at)

    @property
    def datetime_complete(self) -> _dt.datetime | None:
        return None if self.finished_at is None else _dt.datetime.fromtimestamp(self.finished_at)

    @property
    def duration(self) -> Duration | None:
        """Seconds from start to finish (None while running): a float with ``.total_seconds()``."""
        if self.started_at is None or self.finished_at is None:
            return None
        return Duration(self.finished_at - self.started_at)

    @property
    def intermediate_values(self) -> dict[int, float]:
        """Optuna's ``{step: value}`` of the objective's intermediate reports (``trial.report(value, step)``).

        The value of each report is the study's (first) objective metric, or the only metric
        reported. Filled by ``Study.trials``/``get_trials``/``best_trial`` (one incremental
        read of the study's reports); empty on a record that was not read that way.
        """
        return dict(self.intermediate) if self.intermediate else {}

    @property
    def enqueued(self) -> bool:
        """Whether the trial was queued with given parameters (``Study.enqueue``)."""
        return FIXED_PARAMS in self.system_attrs

    @property
    def fixed_params(self) -> dict[str, Any] | None:
        """The parameters an enqueued trial was given (None: the sampler proposed them all)."""
        fixed = self.system_attrs.get(FIXED_PARAMS)
        return None if fixed is None else dict(fixed)

    @property
    def enqueued_user_attrs(self) -> dict[str, Any]:
        """The user attributes ``Study.enqueue`` gave the trial (it starts with them)."""
        return dict(self.system_attrs.get(ENQUEUED_USER_ATTRS) or {})

    @property
    def constraints(self) -> list[float] | None:
        """The trial's constraint values (each <= 0: satisfied), from the sampler's ``constraints_func``.

        None when none were computed (no constraints function, or the trial did not complete).
        """
        raw = self.system_attrs.get(CONSTRAINTS)
        return None if raw is None else [float(c) for c in raw]

    @property
    def retries(self) -> int:
        """Times this trial was re-queued after its worker was lost."""
        return int(self.system_attrs.get(RETRIES, 0))

    @property
    def restore(self) -> Restore | None:
        """Where a continuation trial (PBT) starts: a checkpoint of the trial it continues."""
        raw = self.system_attrs.get(RESTORE)
        return None if raw is None else Restore.from_json(raw)

    @property
    def continues(self) -> int | None:
        """The number of the trial whose line this continuation trial goes on (PBT)."""
        n = self.system_attrs.get(CONTINUES)
        return None if n is None else int(n)


_FROZEN_FIELDS = tuple(f.name for f in fields(FrozenTrial))


@dataclass(frozen=True)
class Restore:
    """A continuation trial's start: ``trial`` 's checkpoint at ``path``, written at ``step``.

    ``result`` is what that trial reported at ``step`` (the continuation's result if it
    ends without reporting). ``path`` is data from the record: the checkpoint store
    checks it lies inside the study's folder before anything is loaded from it.
    """

    path: str | None
    step: int
    trial: int
    result: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "step": self.step, "trial": self.trial}
        if self.result:
            out["result"] = self.result
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Restore:
        path = raw.get("path")
        result = raw.get("result")
        return cls(
            None if path is None else str(path), int(raw["step"]), int(raw["trial"]),
            dict(result) if isinstance(result, dict) else None,
        )

    def system_attrs(self, continues: int) -> dict[str, Any]:
        """The system attributes of the trial that continues trial number ``continues`` from here."""
        return {RESTORE: self.to_json(), CONTINUES: continues}


class Report(NamedTuple):
    """One intermediate report as stored: ids in write order, the trial, its step and metrics."""

    report_id: int
    trial_id: int
    step: int
    metrics: dict[str, Any]


@dataclass(frozen=True)
class StudySettings:
    """What a study is created with and every worker that reopens it uses (JSON-safe).

    Args:
        sampler / scheduler: their specs (see :mod:`tunesmith._spec`), None for none stored.
        artifacts: the folder of the study's checkpoints (None: beside its storage).
        checkpoint_config: the keyword arguments of its :class:`~tunesmith.checkpoints.CheckpointConfig`.
        key: names the study's checkpoint folder: unique to this study, not to its name.
    """

    sampler: dict[str, Any] | None = None
    scheduler: dict[str, Any] | None = None
    artifacts: str | None = None
    checkpoint_config: dict[str, Any] = field(default_factory=dict)
    key: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            k: v for k, v in (
                ("sampler", self.sampler), ("scheduler", self.scheduler), ("artifacts", self.artifacts),
                ("checkpoint_config", self.checkpoint_config), ("key", self.key),
            ) if v is not None
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> StudySettings:
        return cls(
            raw.get("sampler") or None, raw.get("scheduler") or None, raw.get("artifacts") or None,
            dict(raw.get("checkpoint_config") or {}), raw.get("key"),
        )


@dataclass
class StudyRecord:
    """A study's identity and declared objectives."""

    study_id: int
    name: str
    directions: list[str]
    metric_names: list[str]
    distributions: dict[str, Distribution] = field(default_factory=dict)
    created_at: float = 0.0
    #: its :class:`StudySettings` as stored (JSON); read them through :attr:`settings`
    attrs: dict[str, Any] = field(default_factory=dict)
    #: what users attach to the study (JSON-safe), e.g. the dashboard's ``notes``
    user_attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def settings(self) -> StudySettings:
        return StudySettings.from_json(self.attrs)


@dataclass
class StudySummary:
    """What ``tunesmith ls`` shows of a study; also Optuna's ``StudySummary`` names
    (``study_name``, ``direction(s)``, ``datetime_start``, ``user_attrs``, ``best_trial``)."""

    name: str
    directions: list[str]
    metric_names: list[str]
    n_trials: int
    counts: dict[TrialState, int]
    best_value: float | None
    created_at: float
    last_activity: float | None = None  # the latest start, heartbeat or finish of any trial (None: no trial)
    #: the study's user attributes (filled by ``get_all_study_summaries``)
    user_attrs: dict[str, Any] = field(default_factory=dict, repr=False)
    #: the best COMPLETE trial (``get_all_study_summaries(include_best_trial=True)``; single objective)
    best_trial: FrozenTrial | None = field(default=None, repr=False)
    #: the storage's id of the study, when known
    study_id: int | None = field(default=None, repr=False)

    @property
    def study_name(self) -> str:
        return self.name

    @property
    def direction(self) -> StudyDirection:
        if len(self.directions) != 1:
            raise RuntimeError("this study has several objectives; use .directions")
        return StudyDirection(self.directions[0])

    @property
    def datetime_start(self) -> _dt.datetime:
        return _dt.datetime.fromtimestamp(self.created_at)

    @property
    def system_attrs(self) -> dict[str, Any]:
        """Optuna's study system attributes: none are kept (tunesmith's settings are typed)."""
        return {}


def create_trial(
    *, state: TrialState = TrialState.COMPLETE, value: float | None = None, values: list[float] | None = None,
    params: dict[str, Any] | None = None, distributions: dict[str, Distribution] | None = None,
    user_attrs: dict[str, Any] | None = None, system_attrs: dict[str, Any] | None = None,
    intermediate_values: dict[int, float] | None = None,
) -> FrozenTrial:
    """Optuna's ``create_trial``: a finished trial's record, for ``Study.add_trial``.

    >>> from tunesmith.distributions import FloatDistribution
    >>> t = create_trial(params={"x": 0.5}, distributions={"x": FloatDistribution(0, 1)}, value=0.25)
    >>> print(t.state, t.value, t.params)
    TrialState.COMPLETE 0.25 {'x': 0.5}
    """
    if value is not None and values is not None:
        raise ValueError("create_trial: give value or values, not both")
    params = dict(params or {})
    distributions = dict(distributions or {})
    if params.keys() != distributions.keys():
        raise ValueError(
            f"create_trial: params {sorted(params)} and distributions {sorted(distributions)} must name the same "
            "parameters"
        )
    for name, v in params.items():
        if not distributions[name].contains(v):
            raise ValueError(f"create_trial: parameter {name!r}: {v!r} is outside {distributions[name]}")
    vals = [float(value)] if value is not None else None if values is None else [float(v) for v in values]
    if state == TrialState.COMPLETE and vals is None:
        raise ValueError("create_trial: a COMPLETE trial needs value= (or values=)")
    if state in (TrialState.FAILED, TrialState.WAITING) and vals is not None:
        raise ValueError(f"create_trial: a {state.name} trial has no value")
    steps = {int(k): float(v) for k, v in (intermediate_values or {}).items()}
    return FrozenTrial(
        number=-1, state=TrialState(state), params=params, values=vals, user_attrs=dict(user_attrs or {}),
        system_attrs=dict(system_attrs or {}), distributions=distributions, intermediate=steps or None,
        last_step=max(steps) if steps else None,
    )
