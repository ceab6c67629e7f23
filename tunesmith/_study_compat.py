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

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from tunesmith.record import FrozenTrial, TrialState

__all__ = ["OptunaStudyNames", "get_all_study_names", "get_all_study_summaries"]

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
    """Each study's summary (name, directions, trial counts by state, best value), Optuna's function.

    ``include_best_trial`` is accepted for Optuna's scripts: the summary's ``best_value``
    is always there (``tunesmith ls`` shows the same).
    """
    from tunesmith.storage import get_storage

    return list(get_storage(storage, read_only=isinstance(storage, str)).list_studies())
