"""Pieces every benchmark script shares: the trivial objective, run records, provenance, tables."""

from __future__ import annotations

import os
import statistics
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


def objective(trial: Any) -> float:
    """Identical for tunesmith and Optuna (their trial objects have the same suggest_* API)."""
    x = trial.suggest_float("x", -10, 10)
    y = trial.suggest_int("y", 0, 10)
    return x**2 + y


@dataclass
class Run:
    """One timed run of one configuration."""

    seconds: float
    steady: float | None = None  # trials/s between the first and last finish
    notes: list[str] = field(default_factory=list)


def steady_rate(finishes: list[float]) -> float | None:
    """Trials per second between the first and the last finish (start-up excluded)."""
    finishes = sorted(finishes)
    if len(finishes) < 2 or finishes[-1] <= finishes[0]:
        return None
    return (len(finishes) - 1) / (finishes[-1] - finishes[0])


def git_commit() -> str:
    """The short commit of the tree being measured."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=os.path.dirname(os.path.abspath(__file__)), check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def table_lines(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A markdown table, first column left-aligned, the others right-aligned."""
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def rate_table(
    n: int, repeats: int, rates: dict[str, list[float]], steady: dict[str, list[float]], load0: float, env: str,
    columns: Sequence[str], ratios: dict[str, Sequence[str]], targets: Sequence[tuple[str, str, float]],
) -> str:
    """The trials/s table: medians, steady state, ratios to ``columns``, and the targets' verdicts."""
    med = {name: statistics.median(v) for name, v in rates.items()}
    head = ["config", "trials/s (median)", "steady-state trials/s"] + [f"vs {c}" for c in columns]
    rows = []
    for name in rates:
        st = f"{statistics.median(steady[name]):,.0f}" if steady.get(name) else ""
        cells = [name, f"{med[name]:,.0f}", st]
        for col in columns:
            cells.append(f"{med[name] / med[col]:.2f}x" if col in ratios.get(name, ()) and col in med else "")
        rows.append(cells)
    lines = [
        f"{n} trials per run, median of {repeats} repeats; {env}; "
        f"1-min load average {load0:.1f} at start, {os.getloadavg()[0]:.1f} at end",
        "",
        *table_lines(head, rows),
        "", "Targets:", "",
    ]
    for ts, base, need in targets:
        if ts in med and base in med:
            ratio = med[ts] / med[base]
            lines.append(f"- {ts} >= {need:g}x {base}: {ratio:.2f}x -> {'met' if ratio >= need else 'NOT met'}")
    return "\n".join(lines) + "\n"


def emit(table: str, path: str | None) -> None:
    """Print the table, and write it to ``path`` too when given."""
    print(table)
    if path:
        with open(path, "w", encoding="utf-8") as f:
            f.write(table)
