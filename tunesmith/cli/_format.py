"""Human forms of values, times and tables for the read commands.

Rich draws the tables on a terminal; piped, they are plain, unwrapped text with no
trailing blanks, so that ``grep`` and ``awk`` work on them.
"""

from __future__ import annotations

import datetime as _dt
import io
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from tunesmith.trial import FrozenTrial

if TYPE_CHECKING:
    from rich.table import Table

__all__ = [
    "add_row", "fmt", "fmt_duration", "fmt_params", "fmt_time", "fmt_values", "last_line", "print_table", "table",
]


def fmt(value: Any) -> str:
    """A short, human form of a value for tables."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def fmt_values(trial: FrozenTrial, n: int) -> list[str]:
    """One cell per objective ("-" where the trial has no value)."""
    values = trial.values or []
    return [fmt(values[i]) if i < len(values) else "-" for i in range(n)]


def fmt_params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={fmt(v)}" for k, v in params.items())


def fmt_time(ts: float | None) -> str:
    """Local time to the minute."""
    if ts is None:
        return "-"
    return _dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def last_line(error: str | None, width: int = 100) -> str:
    """The last non-blank line of an error (a traceback's exception line), cut to ``width``."""
    if not error:
        return ""
    lines = [line.strip() for line in error.strip().splitlines() if line.strip()]
    line = lines[-1] if lines else ""
    return line if len(line) <= width else line[: width - 3] + "..."


def _is_terminal() -> bool:
    return sys.stdout.isatty()


def table(headers: Sequence[str], right: Sequence[str] = ()) -> Table:
    """A table whose columns in ``right`` are right-aligned."""
    from rich import box
    from rich.table import Table

    if _is_terminal():
        t = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False, collapse_padding=True)
    else:
        t = Table(box=None, show_edge=False, pad_edge=False, header_style="")
    for h in headers:
        t.add_column(h, justify="right" if h in right else "left", overflow="fold")
    return t


def add_row(t: Table, cells: Sequence[str]) -> None:
    from rich.text import Text

    t.add_row(*(Text(c) for c in cells))  # Text: no rich markup in user strings


def print_table(t: Table) -> None:
    from rich.console import Console

    if _is_terminal():
        Console(highlight=False).print(t)
        return
    console = Console(file=io.StringIO(), width=100_000, highlight=False, no_color=True)
    with console.capture() as captured:
        console.print(t)
    click.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))
