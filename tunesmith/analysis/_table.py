"""The trial table: one record per trial, one set of fields, named in the style asked for.

Every exporter reads trials through here: ``Study.dataframe`` (Optuna's column names),
``RunResult.dataframe`` (Ray Tune's) and ``tunesmith export`` (JSON records, and CSV's
flat ``<section>_<key>`` columns). A trial's record (:func:`trial_record`) has

========================  =========================================================
``number``, ``state``     the trial's number and state name (``COMPLETE``, ``FAILED``...)
``values``                one entry per objective name (None where the trial has none)
``params``                the parameters, by flat name (missing in a conditional branch: absent)
``last_step``             the step of the last report (None: it never reported)
``metrics``               the last reported metrics
``user_attrs``            the user attributes
``started_at``,           start and finish times; duration in seconds
``finished_at``,
``duration``
``error``                 the failed trial's error (None otherwise)
========================  =========================================================

A table has one column per plain field and one per key of a section that any trial
has (every objective for ``values``, even with no trials). The styles name the same
columns and differ only in names, order and how times are written:

=================  ======================  ===================  ======================
field              ``"flat"`` (CSV)        ``"optuna"``         ``"tune"``
=================  ======================  ===================  ======================
number             number                  number               trial_id (text)
values             values_<name>           value / values_<i>,  values/<name>
                                           and <name> (alias)
params             params_<name>           params_<name>        config/<name>
last_step          last_step               last_step            last_step
metrics            metrics_<key>           last_<key>           <key>
user_attrs         user_attrs_<key>        user_attrs_<key>     user_attrs/<key>
started_at         started_at (ISO, UTC)   datetime_start       started_at (datetime)
finished_at        finished_at (ISO, UTC)  datetime_complete    finished_at (datetime)
duration           duration (seconds)      duration (timedelta) duration (seconds)
state, error       state, error            state, error         state, error
=================  ======================  ===================  ======================

``"optuna"`` follows ``optuna.Study.trials_dataframe()``: its column order, parameters
and user attributes sorted by name, datetimes as naive local ``datetime`` and the
duration as a ``timedelta``; then the fields Optuna has no column for (``last_step``,
``last_<key>``, ``error``). Its objective columns are Optuna's ``value`` (one objective)
or ``values_<i>``, each also under its objective name (the column ``Study.dataframe``
always had; dropped where that name is taken). Optuna's ``system_attrs`` are internal
here and not exported. Where a section's key would take a name another column has (a
metric named ``state``), it is qualified by its section (``metrics_state``,
``metrics/state``): no column is ever lost.

>>> from tunesmith.trial import FrozenTrial, TrialState
>>> t = FrozenTrial(number=0, state=TrialState.COMPLETE, params={"lr": 0.1}, values=[0.5])
>>> " ".join(trial_table([t], ["loss"], style="optuna").columns)
'number value loss datetime_start datetime_complete duration params_lr state last_step error'
>>> trial_table([t], ["loss"], style="tune").columns[:4]
['trial_id', 'state', 'values/loss', 'last_step']
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

if TYPE_CHECKING:
    import pandas as pd

    from tunesmith.trial import FrozenTrial

__all__ = [
    "TABLE_STYLES",
    "TRIAL_FIELDS",
    "TRIAL_SECTIONS",
    "TrialTable",
    "name_columns",
    "record_columns",
    "trial_record",
    "trial_table",
    "trials_dataframe",
]

Style = Literal["flat", "optuna", "tune"]
#: a column: a record's field, and the key in it for a section (None for a plain field)
Column = tuple[str, "str | None"]
#: what a trial's ``params`` section holds (default: ``trial.params``)
ParamsOf = Callable[["FrozenTrial"], Mapping[str, Any]]

TABLE_STYLES: tuple[Style, ...] = ("flat", "optuna", "tune")
TRIAL_FIELDS = (  # the keys of trial_record, in order
    "number", "state", "values", "params", "last_step", "metrics", "user_attrs", "started_at", "finished_at",
    "duration", "error",
)
TRIAL_SECTIONS = ("values", "params", "metrics", "user_attrs")

# Each style's name for a plain field, and prefix (with separator) for a section's keys.
_PLAIN: dict[str, dict[str, str]] = {
    "flat": {f: f for f in TRIAL_FIELDS},
    "optuna": {
        **{f: f for f in TRIAL_FIELDS}, "started_at": "datetime_start", "finished_at": "datetime_complete",
    },
    "tune": {**{f: f for f in TRIAL_FIELDS}, "number": "trial_id"},
}
_PREFIX: dict[str, dict[str, str]] = {
    "flat": {s: s + "_" for s in TRIAL_SECTIONS},
    "optuna": {"values": "values_", "params": "params_", "metrics": "last_", "user_attrs": "user_attrs_"},
    "tune": {"values": "values/", "params": "config/", "metrics": "", "user_attrs": "user_attrs/"},
}
# Where a column name is taken, a section's key is qualified by its section this way.
_QUALIFIED = {"flat": "{}_{}", "optuna": "{}_{}", "tune": "{}/{}"}
# The order of the fields in each style (Optuna's: trials_dataframe's default attrs first).
_ORDER: dict[str, tuple[str, ...]] = {
    "flat": TRIAL_FIELDS,
    "optuna": (
        "number", "values", "started_at", "finished_at", "duration", "params", "user_attrs", "state",
        "last_step", "metrics", "error",
    ),
    "tune": (
        "number", "state", "metrics", "values", "last_step", "params", "user_attrs", "started_at",
        "finished_at", "duration", "error",
    ),
}


def _iso_utc(ts: float | None) -> str | None:
    if ts is None:
        return None
    return _dt.datetime.fromtimestamp(ts, tz=_dt.timezone.utc).isoformat(timespec="microseconds")


def trial_record(trial: FrozenTrial, metric_names: Sequence[str], *, params: ParamsOf | None = None) -> dict[str, Any]:
    """A trial as a JSON-ready dict (:data:`TRIAL_FIELDS`): what ``export --format json`` writes.

    ``values`` maps each of ``metric_names`` to the trial's value for it (None where
    it has none); times are ISO 8601 in UTC and the duration is in seconds.
    ``params`` gives what the ``params`` section holds instead of ``trial.params``
    (``RunResult`` passes each trial's whole flattened config, constants included).
    """
    values = trial.values or []
    return dict(zip(TRIAL_FIELDS, (
        trial.number, trial.state.name,
        {name: values[i] if i < len(values) else None for i, name in enumerate(metric_names)},
        trial.params if params is None else dict(params(trial)), trial.last_step, trial.last_result,
        trial.user_attrs, _iso_utc(trial.started_at), _iso_utc(trial.finished_at), trial.duration, trial.error,
    ), strict=True))


def record_columns(records: Iterable[Mapping[str, Any]], metric_names: Sequence[str]) -> list[Column]:
    """The columns of ``records``, in record order: each plain field, and each key of a section
    that some record has (in order of appearance; every objective for ``values``)."""
    records = list(records)
    columns: dict[Column, None] = {}  # an ordered set
    for key in TRIAL_FIELDS:
        if key == "values":  # every objective, even with no trials
            columns.update(dict.fromkeys((key, name) for name in metric_names))
        elif key in TRIAL_SECTIONS:
            for r in records:
                columns.update(dict.fromkeys((key, name) for name in r[key]))
        else:
            columns[key, None] = None
    return list(columns)


class TrialTable(NamedTuple):
    """A table of trials: ``columns`` (names), ``fields`` (the record's field and key behind
    each column, as :func:`record_columns` gives them) and ``rows`` (one per trial)."""

    columns: list[str]
    fields: list[Column]
    rows: list[list[Any]]


def name_columns(
    columns: Sequence[Column], metric_names: Sequence[str], style: Style = "flat",
) -> list[tuple[Column, str]]:
    """Each of ``columns`` (:func:`record_columns`), in the style's order, with its name there;
    Optuna's objective aliases added.

    Plain fields (and Optuna's ``value``/``values_<i>``) have their names first; then each
    section's key takes its name, or its section-qualified one where that is taken; an
    objective's alias last, dropped where its name is taken (its values have a column).
    """
    by_field: dict[str, list[Column]] = {}
    for col in columns:
        by_field.setdefault(col[0], []).append(col)
    entries: list[tuple[Column, str, str]] = []  # (column, kind, name wanted)
    for f in _ORDER[style]:
        cols = by_field.get(f, [])
        if style == "optuna" and f in ("params", "user_attrs"):
            cols = sorted(cols, key=lambda c: str(c[1]))
        if style == "optuna" and f == "values":
            index = {name: i for i, name in enumerate(metric_names)}
            single = len(metric_names) == 1
            entries += [(c, "fixed", "value" if single else f"values_{index[str(c[1])]}") for c in cols]
            entries += [(c, "alias", str(c[1])) for c in cols]
        elif f in TRIAL_SECTIONS:
            entries += [(c, "key", _PREFIX[style][f] + str(c[1])) for c in cols]
        else:
            entries += [(c, "fixed", _PLAIN[style][f]) for c in cols]
    names: list[str | None] = [None] * len(entries)
    taken: set[str] = set()
    for kind in ("fixed", "key", "alias"):
        for i, (col, k, name) in enumerate(entries):
            if k != kind:
                continue
            if name in taken:
                if kind == "alias":
                    continue
                qualified = _QUALIFIED[style].format(col[0], col[1])
                name, n = qualified, 2
                while name in taken:
                    name, n = f"{qualified}~{n}", n + 1
            taken.add(name)
            names[i] = name
    return [(col, name) for (col, _, _), name in zip(entries, names, strict=True) if name is not None]


def _cell(record: Mapping[str, Any], trial: FrozenTrial, col: Column, style: Style) -> Any:
    field, key = col
    if key is not None:
        return record[field].get(key)
    if style == "flat":
        return record[field]
    if field == "started_at":
        return trial.datetime_start
    if field == "finished_at":
        return trial.datetime_complete
    if field == "duration" and style == "optuna":
        return None if trial.duration is None else _dt.timedelta(seconds=trial.duration)
    if field == "number" and style == "tune":
        return str(trial.number)  # Ray Tune's trial ids are text
    return record[field]


def trial_table(
    trials: Iterable[FrozenTrial], metric_names: Sequence[str], *, style: Style = "flat",
    params: ParamsOf | None = None,
) -> TrialTable:
    """The trials as a table of plain Python values, columns named in ``style``.

    ``"flat"``: the CSV export's ``<section>_<key>`` columns and cells (times in ISO 8601,
    UTC; duration in seconds). ``"optuna"``: ``Study.trials_dataframe()``'s names, times as
    ``datetime``/``timedelta``. ``"tune"``: Ray Tune's ``trial_id``, metrics flat and
    ``config/<name>``. All carry the same fields (see the module's table).
    """
    if style not in TABLE_STYLES:
        raise ValueError(f"style must be one of {', '.join(map(repr, TABLE_STYLES))}; got {style!r}")
    trials = list(trials)
    records = [trial_record(t, metric_names, params=params) for t in trials]
    named = name_columns(record_columns(records, metric_names), metric_names, style)
    rows = [[_cell(r, t, col, style) for col, _ in named] for r, t in zip(records, trials, strict=True)]
    return TrialTable([name for _, name in named], [col for col, _ in named], rows)


def trials_dataframe(
    trials: Iterable[FrozenTrial], metric_names: Sequence[str], *, style: Style = "optuna",
    params: ParamsOf | None = None,
) -> pd.DataFrame:
    """The trials as a ``pandas.DataFrame`` (:func:`trial_table`; pandas is needed here only).

    ``style="optuna"`` (``Study.dataframe``): the columns of Optuna's ``trials_dataframe()``
    plus ``last_step``, ``last_<metric>`` and ``error``; ``"tune"`` (``RunResult.dataframe``);
    ``"flat"``: the CSV export's. With no trials: no rows, the columns every table has.
    """
    try:
        import pandas as pd
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("a trials DataFrame needs pandas: pip install 'tunesmith[pandas]'") from e

    table = trial_table(trials, metric_names, style=style, params=params)
    return pd.DataFrame(table.rows, columns=table.columns)
