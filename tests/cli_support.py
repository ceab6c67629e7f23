"""What the CLI tests share: a SQLite file with two studies, and helpers to run the command."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import tunesmith
from tunesmith.cli import cli
from tunesmith.trial import Trial

N_TRIALS = 12
FAILING = {3, 7, 11}  # trial numbers whose objective raises


def _objective(trial: Trial) -> float:
    x = trial.suggest_float("x", -5.0, 5.0)
    opt = trial.suggest_categorical("opt", ["sgd", "[bold]adam"])  # rich markup must come out verbatim
    if trial.number in FAILING:
        raise ValueError(f"bad trial {trial.number}\nwith a second line")
    return (x - 1.0) ** 2 + (0.5 if opt == "sgd" else 0.0)


@pytest.fixture(autouse=True)
def _no_storage_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUNESMITH_STORAGE", raising=False)


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A SQLite file with a minimizing study "quad" (some trials failed) and a maximizing study "maxi"."""
    url = f"sqlite:///{tmp_path}/s.db"
    quad = tunesmith.create_study(name="quad", storage=url, direction="minimize", seed=0)
    quad.optimize(_objective, n_trials=N_TRIALS)
    maxi = tunesmith.create_study(name="maxi", storage=url, direction="maximize", seed=1)
    maxi.optimize(lambda t: t.suggest_int("k", 0, 10), n_trials=3)
    return url


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def rows(output: str) -> dict[str, list[str]]:
    """Plain table output keyed by its first cell (header row included)."""
    return {line.split()[0]: line.split() for line in output.splitlines() if line.strip()}


def assert_clean_error(result: Result, *fragments: str) -> None:
    assert result.exit_code in (1, 2), result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, (KeyError, RuntimeError, ValueError)), result.exception
    message = result.stderr
    assert len(message.strip().splitlines()) == 1 or message.startswith("Usage:"), message
    for fragment in fragments:
        assert fragment in message, message


READ_COMMANDS = [
    ["ls"], ["show", "quad"], ["show", "quad", "--limit", "2"], ["best", "quad"], ["export", "quad", "--format", "csv"],
    ["export", "quad", "--format", "json"],
]
