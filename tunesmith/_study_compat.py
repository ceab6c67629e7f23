"""Optuna's spellings on a Study, each written with the Study's own public methods.

>>> import tunesmith as optuna
>>> study = optuna.create_study(seed=0)
>>> study.enqueue_trial({"x": 0.5})
>>> study.enqueue_trial({"x": 0.5}, skip_if_exists=True)  # already queued: nothing added
>>> study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
>>> list(study.trials_dataframe(attrs=("number", "value", "params")).columns)
['number', 'value', 'params_x']
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tunesmith.record import FrozenTrial, TrialState

if TYPE_CHECKING:
    import pandas as pd

    from tunesmith.distributions import Distribution
    from tunesmith.storage import Storage
    from tunesmith.trial import Trial

__all__ = ["OptunaStudyNames", "TrialLog", "get_all_study_names", "get_all_study_summaries"]

_log = logging.getLogger("tunesmith")

#: Optuna's ``trials_dataframe`` default columns
_OPTUNA_ATTRS = (
    "number", "value", "datetime_start", "datetime_complete", "duration", "params", "user_attrs", "system_attrs",
    "state",
)


class OptunaStudyNames:
    """Optuna's names for what a Study does (a base of :class:`tunesmith.Study`)."""

    # what the Study provides (declared for the type checker)
    if TYPE_CHECKING:
        metric_names: list[str]
        directions: list[str]
        storage: Storage

        def ask(self, fixed_distributions: Mapping[str, Distribution] | None = None) -> Trial: ...

        def tell(
            self, trial: Trial | int, values: Any = None, *, state: TrialState | None = None, error: str | None = None,
        ) -> FrozenTrial: ...

        def get_trials(
            self, deepcopy: bool = False, states: Iterable[TrialState] | None = None,
        ) -> list[FrozenTrial]: ...

        def enqueue(self, params: Mapping[str, Any], user_attrs: Mapping[str, Any] | None = None) -> int: ...

        def dataframe(self) -> pd.DataFrame: ...

    def enqueue_trial(
        self, params: Mapping[str, Any], user_attrs: Mapping[str, Any] | None = None, skip_if_exists: bool = False,
    ) -> None:
        """Queue a trial with these parameters (:meth:`enqueue`); ``skip_if_exists``: not when a trial
        with the same parameters is already in the study, queued, running or finished."""
        if skip_if_exists:
            wanted = dict(params)
            for t in self.get_trials():
                given = t.fixed_params if t.fixed_params is not None else t.params
                if given == wanted or t.params == wanted:
                    return
        self.enqueue(params, user_attrs)

    @property
    def _storage(self) -> Storage:
        """Optuna's spelling of :attr:`storage` (its artifact examples pass ``storage=study._storage``); read-only."""
        return self.storage

    def add_trial(self, trial: FrozenTrial) -> None:
        """Record a trial made elsewhere (``optuna.trial.create_trial(...)``), Optuna's method.

        Its parameters, values, user attributes and intermediate values are stored as a new
        trial of this study (the samplers learn from it); a WAITING one is queued like
        ``enqueue_trial``. Its timestamps are those of the call. Trials queued with
        ``enqueue_trial`` and not yet run must run first (a clear error says so).
        """
        if not isinstance(trial, FrozenTrial):
            raise TypeError(f"add_trial takes a FrozenTrial (optuna.trial.create_trial), got {type(trial).__name__}")
        state = TrialState(trial.state)
        if state == TrialState.WAITING:
            self.enqueue(trial.params, trial.user_attrs or None)
            return
        if state not in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED):
            raise ValueError(f"add_trial: a trial must be COMPLETE, PRUNED, FAILED or WAITING, not {state.name}")
        if trial.values is not None and len(trial.values) != len(self.directions):
            raise ValueError(f"add_trial: the trial has {len(trial.values)} values; this study has "
                             f"{len(self.directions)} objective(s)")
        if self.get_trials(states=[TrialState.WAITING]):
            raise ValueError("add_trial: this study has queued trials (enqueue_trial) not yet run; run them "
                             "(optimize) before adding finished trials")
        for name, dist in trial.distributions.items():
            if name in trial.params and not dist.contains(trial.params[name]):
                raise ValueError(f"add_trial: parameter {name!r}: {trial.params[name]!r} is outside {dist}")
        self.enqueue(trial.params)
        live = self.ask(fixed_distributions=trial.distributions)
        for key, value in trial.user_attrs.items():
            live.set_user_attr(key, value)
        for step, value in sorted(trial.intermediate_values.items()):
            live.report(value, step=step)
        if state == TrialState.COMPLETE:
            self.tell(live, list(trial.values or []))
        else:
            self.tell(live, None if trial.values is None else list(trial.values), state=state, error=trial.error)

    def add_trials(self, trials: Iterable[FrozenTrial]) -> None:
        """:meth:`add_trial` for each trial, in order."""
        for t in trials:
            self.add_trial(t)

    def trials_dataframe(self, attrs: Sequence[str] = _OPTUNA_ATTRS, multi_index: bool = False) -> pd.DataFrame:
        """Optuna's ``trials_dataframe``: :meth:`dataframe`'s columns of the groups in ``attrs``.

        A group is a column (``number``, ``state``...) or a prefix (``params`` keeps
        ``params_*``; ``value`` also ``values_*``). ``system_attrs`` has no columns here.
        ``multi_index`` splits ``params_x`` into the levels ``("params", "x")``.
        """
        df = self.dataframe()
        keep = []
        for attr in attrs:
            prefixes = ("values_",) if attr in ("value", "values") else (f"{attr}_",)
            keep += [c for c in df.columns if c not in keep and (c == attr or str(c).startswith(prefixes))]
        out = df[keep]
        if multi_index:
            import pandas as pd

            out.columns = pd.MultiIndex.from_tuples([_split(str(c), attrs) for c in keep])
        return out


def _split(column: str, attrs: Sequence[str]) -> tuple[str, str]:
    for attr in attrs:
        if column.startswith(f"{attr}_"):
            return attr, column[len(attr) + 1:]
    return column, ""


def get_all_study_names(storage: Any) -> list[str]:
    """The names of every study in ``storage`` (a URL or a Storage), Optuna's function."""
    from tunesmith.storage import get_storage

    return [s.name for s in get_storage(storage, read_only=isinstance(storage, str)).list_studies()]


def get_all_study_summaries(storage: Any, include_best_trial: bool = True) -> list[Any]:
    """Each study's summary, Optuna's function: name, directions, trial counts by state, best value,
    the study's ``user_attrs``, ``datetime_start`` and (``include_best_trial``, one objective) ``best_trial``."""
    from tunesmith.storage import get_storage

    store = get_storage(storage, read_only=isinstance(storage, str))
    out = []
    for summary in store.list_studies():
        record = store.get_study(summary.name)
        best = None
        if include_best_trial and len(summary.directions) == 1:
            best = store.best_trial(record.study_id, summary.directions[0] == "maximize")
            if best is not None:
                from tunesmith._registry import ParamRegistry

                best = ParamRegistry(store, record.name, record.distributions).materialize(best)
        out.append(dataclasses.replace(summary, user_attrs=dict(record.user_attrs), best_trial=best,
                                       study_id=record.study_id))
    return out


class TrialLog:
    """Optuna's log line per finished trial, an ``optimize`` callback (it runs where the callbacks run:
    the driver, which sees every worker's trials).

    INFO: ``Trial 3 finished with value: 0.25 and parameters: {'x': 0.5}. Best is trial 3 with
    value: 0.25.`` (``pruned`` for a PRUNED trial); WARNING: ``Trial 4 failed with parameters: {...}
    because of the following error: ValueError('boom').``, with the traceback at DEBUG. Nothing
    is formatted for a level that is off. ``finished=False`` keeps the failures only (a console
    reporter shows the rest). The best trial is tracked from the trials seen (one read at first).
    """

    def __init__(self, finished: bool = True) -> None:
        self.finished = finished
        self._best: tuple[int, float] | None = None
        self._primed = False

    def __call__(self, study: Any, trial: FrozenTrial) -> None:
        if trial.state == TrialState.FAILED:
            if _log.isEnabledFor(logging.WARNING):
                _log.warning("Trial %d failed with parameters: %s because of the following error: %s.",
                             trial.number, trial.params, short_error(trial.error))
            if trial.error and _log.isEnabledFor(logging.DEBUG):
                _log.debug("Trial %d failed with:\n%s", trial.number, trial.error.rstrip())
            return
        if not self.finished or not _log.isEnabledFor(logging.INFO):
            return
        if trial.state == TrialState.PRUNED:
            _log.info("Trial %d pruned.", trial.number)
        elif trial.state == TrialState.COMPLETE and trial.values is not None:
            if len(trial.values) != 1:
                _log.info("Trial %d finished with values: %s and parameters: %s.", trial.number, trial.values,
                          trial.params)
                return
            best = self._track(study, trial)
            _log.info("Trial %d finished with value: %s and parameters: %s. Best is trial %d with value: %s.",
                      trial.number, trial.values[0], trial.params, best[0], best[1])

    def _track(self, study: Any, trial: FrozenTrial) -> tuple[int, float]:
        value = float(trial.values[0])  # type: ignore[index]
        if not self._primed:
            self._primed = True
            try:
                first = study.best_trial
                self._best = (first.number, float(first.value))
            except (ValueError, RuntimeError):
                self._best = None
        maximize = study.directions[0] == "maximize"
        b = self._best
        if b is None or (value > b[1] if maximize else value < b[1]) or (value == b[1] and trial.number < b[0]):
            self._best = (trial.number, value)
        return self._best  # type: ignore[return-value]


_ERROR_LINE = re.compile(r"^([A-Za-z_][\w.]*): (.*)$")


def short_error(error: str | None) -> str:
    """``ValueError('boom')`` from a traceback's last line ``ValueError: boom`` (that line otherwise)."""
    lines = [line for line in (error or "").strip().splitlines() if line.strip()]
    if not lines:
        return "an unknown error"
    last = lines[-1]
    m = _ERROR_LINE.match(last)
    if m is None:
        return last if ":" in last or " " in last else f"{last}()"
    return f"{m.group(1).rsplit('.', 1)[-1]}({m.group(2)!r})"
