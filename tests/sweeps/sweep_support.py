"""Sweep tests' helpers: programs written to a folder, ``tunesmith`` run as real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import tunesmith
from tunesmith.trial import FrozenTrial, TrialState

FAST = ["--poll", "0.1", "--kill-grace", "1", "--heartbeat-interval", "0.2", "--heartbeat-grace", "2", "-q"]


class SweepDir:
    def __init__(self, path: Path, url: str) -> None:
        self.path = path
        self.url = url

    def write(self, name: str, text: str) -> Path:
        p = self.path / name
        p.write_text(textwrap.dedent(text))
        return p

    def tunesmith(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tunesmith", *args], cwd=self.path, capture_output=True,
                              text=True, timeout=timeout, env=self.env())

    def create(self, yaml_text: str, name: str = "sw") -> str:
        self.write("sweep.yaml", yaml_text)
        done = self.tunesmith("sweep", "sweep.yaml", "--storage", self.url, "--name", name)
        assert done.returncode == 0, done.stderr
        assert f"sweep id: {name}" in done.stdout and f"tunesmith agent {name} --storage" in done.stdout
        return name

    def agent(self, sweep_id: str, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "tunesmith", "agent", sweep_id, "--storage", self.url,
                                 *FAST, *args], cwd=self.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=self.env())

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("TUNESMITH_STORAGE", None)
        env["PYTHONPATH"] = os.pathsep.join([str(Path(tunesmith.__file__).parents[1]), env.get("PYTHONPATH", "")])
        return env

    def trials(self, sweep_id: str) -> list[FrozenTrial]:
        return tunesmith.load_study(sweep_id, self.url).trials

    def wait_for(self, sweep_id: str, check: Callable[[list[FrozenTrial]], bool], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check(self.trials(sweep_id)):
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out; trials: {[(t.number, t.state.name) for t in self.trials(sweep_id)]}")


def running(trials: list[FrozenTrial]) -> bool:
    return any(t.state == TrialState.RUNNING for t in trials)
