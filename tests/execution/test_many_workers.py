"""Four independent worker processes x 500 trials on one study: nothing lost, nothing twice."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import tunesmith
from tunesmith import TrialState

OBJECTIVE = "def objective(trial):\n    return trial.suggest_float('x', -1, 1) ** 2\n"


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'many.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.mark.slow
def test_four_workers_500_trials_each(shared_url: str, tmp_path: Path) -> None:
    (tmp_path / "trivial.py").write_text(OBJECTIVE)
    name = f"many-{uuid.uuid4().hex[:8]}"
    tunesmith.create_study(name=name, storage=shared_url)
    cmd = [sys.executable, "-m", "tunesmith", "worker", "--study", name, "--storage", shared_url,
           "--objective", "trivial:objective", "--n-trials", "500"]
    procs = [subprocess.Popen(cmd, cwd=tmp_path, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    errors = []
    for p in procs:
        _, err = p.communicate(timeout=600)
        errors.append(err)
        assert p.returncode == 0, err
    assert not any("locked" in e for e in errors), errors
    trials = tunesmith.load_study(name, shared_url).trials
    assert len(trials) == 2000
    assert sorted(t.number for t in trials) == list(range(2000))
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert not any("locked" in (t.error or "") for t in trials)
