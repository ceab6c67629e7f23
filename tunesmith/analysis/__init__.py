"""Views that read a study's record and never write it: learning-curve diagnosis, the trial table.

``diagnose(study)`` reads every trial's intermediate reports and says which runs
diverge, never learn, decayed their learning rate too early, overfit, underfit, were
stopped while still improving, or train unstably, and which parameters' best values sit
at a bound of their range. ``diagnose_curves`` does the same for plain lists of values.

``trials_dataframe(trials, metric_names, style=...)`` is the one trial table that
``Study.dataframe`` (Optuna's column names), ``RunResult.dataframe`` (Ray Tune's) and
``tunesmith export`` (``trial_record``; CSV's ``<section>_<key>`` columns) all read.

>>> from tunesmith.analysis import diagnose_curves
>>> [f.kind for f in diagnose_curves({"loss": [2.3] * 20})]
['not_learning']
"""

from __future__ import annotations

from tunesmith.analysis._diagnosis import diagnose, diagnose_curves
from tunesmith.analysis._findings import KINDS, Diagnosis, Finding
from tunesmith.analysis._format import format_findings
from tunesmith.analysis._table import (
    TABLE_STYLES,
    TRIAL_FIELDS,
    TrialTable,
    record_columns,
    trial_record,
    trial_table,
    trials_dataframe,
)

__all__ = [
    "KINDS",
    "TABLE_STYLES",
    "TRIAL_FIELDS",
    "Diagnosis",
    "Finding",
    "TrialTable",
    "diagnose",
    "diagnose_curves",
    "format_findings",
    "record_columns",
    "trial_record",
    "trial_table",
    "trials_dataframe",
]
