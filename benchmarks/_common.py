"""Pieces every benchmark script shares: the trivial objective, run records, provenance, tables."""

from __future__ import annotations

import os
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
