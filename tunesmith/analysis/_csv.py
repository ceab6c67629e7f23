"""The trial table as CSV: one row per trial, cells safe to open in a spreadsheet.

>>> csv_cell("=1+2"), csv_cell("-3.5"), csv_cell([1, 2]), csv_cell(None)
("'=1+2", '-3.5', '[1, 2]', '')
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Sequence
from typing import IO, Any

from tunesmith.analysis._table import name_columns, record_columns

__all__ = ["csv_cell", "json_default", "write_csv"]

# A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):  # numpy scalars and arrays
        return obj.tolist()
    return repr(obj)


def csv_cell(value: Any) -> Any:
    """A CSV cell: numbers as they are, lists and dicts as JSON, text guarded against formulas.

    Text a spreadsheet would run as a formula gets a leading ``'``; text that is a
    plain decimal number cannot be one and stays as it is.
    """
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = json.dumps(value, default=json_default) if isinstance(value, (list, dict)) else str(value)
    if text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def write_csv(records: Sequence[dict[str, Any]], metric_names: Sequence[str], out: IO[str]) -> None:
    """One row per record, its sections flattened to ``<section>_<key>`` columns (keys in order of appearance)."""
    named = name_columns(record_columns(records, metric_names), metric_names, "flat")
    # Text quoted, numbers bare: a CR in a cell is then quoted too (QUOTE_MINIMAL leaves it bare).
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow([csv_cell(name) for _, name in named])
    for r in records:
        writer.writerow([csv_cell(r[key] if name is None else r[key].get(name)) for (key, name), _ in named])
