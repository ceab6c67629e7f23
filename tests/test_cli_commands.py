"""``tunesmith rm``, Ctrl-C in any command, help texts and ``python -m tunesmith``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cli_support import (  # its fixtures (url, _no_storage_env) come through conftest.py
    N_TRIALS,
    READ_COMMANDS,
    assert_clean_error,
    run,
)
from click.testing import CliRunner

import tunesmith
from tunesmith.cli import cli
from tunesmith.storage import get_storage


# -- rm ---------------------------------------------------------------------------------
def _names(url: str) -> list[str]:
    return sorted(s.name for s in get_storage(url).list_studies())


def test_rm_yes_deletes_the_study_and_only_it(url: str) -> None:
    result = run("rm", "quad", "--yes", "--storage", url)
    assert result.exit_code == 0, result.output
    assert f"Deleted study 'quad' ({N_TRIALS} trial(s)) from {url}" in result.stdout
    assert _names(url) == ["maxi"]
    assert len(tunesmith.load_study("maxi", url).trials) == 3
    assert_clean_error(run("show", "quad", "--storage", url), "no study named 'quad'")


def test_rm_refuses_without_yes_when_it_cannot_ask(url: str) -> None:
    result = run("rm", "quad", "--storage", url)  # stdin is not a terminal
    assert_clean_error(result, "without confirmation", "--yes")
    assert result.exit_code == 1
    assert _names(url) == ["maxi", "quad"]


def test_rm_asks_on_a_terminal(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tunesmith.cli import _delete

    monkeypatch.setattr(_delete, "_stdin_is_terminal", lambda: True)
    declined = CliRunner().invoke(cli, ["rm", "quad", "--storage", url], input="n\n")
    assert declined.exit_code == 1
    assert "Delete study 'quad'" in declined.stderr and "not deleted" in declined.stderr
    assert _names(url) == ["maxi", "quad"]
    accepted = CliRunner().invoke(cli, ["rm", "quad", "--storage", url], input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert _names(url) == ["maxi"]


def test_rm_unknown_study_is_a_clean_error(url: str) -> None:
    assert_clean_error(run("rm", "nope", "--yes", "--storage", url), "'nope'", "quad", "maxi")
    assert _names(url) == ["maxi", "quad"]


# -- Ctrl-C and help --------------------------------------------------------------------
@pytest.mark.parametrize("command", [
    *READ_COMMANDS, ["rm", "quad", "--yes"], ["worker", "--study", "quad", "--objective", "m:f"],
])
def test_ctrl_c_ends_any_command_with_one_line_and_status_130(
    url: str, command: list[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tunesmith.cli import _open

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(_open, "get_storage", interrupted)
    result = run(*command, "--storage", url)
    assert result.exit_code == 130
    assert result.stderr == "interrupted\n" and result.stdout == ""


def test_help_says_what_each_command_does() -> None:
    top = run("--help")
    assert top.exit_code == 0
    for command in ("ls", "show", "best", "export", "rm", "worker"):
        assert f"\n  {command} " in top.stdout
    assert "only read" in top.stdout and "rm deletes" in top.stdout and "worker runs trials" in top.stdout
    show = run("show", "--help").stdout
    assert "N best trials" in show and "--sort [number|value]" in show and "Pareto front" in show
    assert "paused" in run("ls", "--help").stdout
    assert "--max-failures" in run("worker", "--help").stdout and "--quiet" in run("worker", "--help").stdout
    import tunesmith.cli

    assert "rm STUDY" in (tunesmith.cli.__doc__ or "") and "without writing" not in (tunesmith.cli.__doc__ or "")


# -- the installed entry points ---------------------------------------------------------
def test_python_dash_m_runs_the_command(url: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TUNESMITH_STORAGE"}
    ok = subprocess.run(
        [sys.executable, "-m", "tunesmith", "ls", "--storage", url], capture_output=True, text=True, env=env,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert "quad" in ok.stdout and "maxi" in ok.stdout

    bad = subprocess.run(
        [sys.executable, "-m", "tunesmith", "best", "nope", "--storage", url], capture_output=True, text=True,
        env=env, timeout=120,
    )
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr and "'nope'" in bad.stderr
