"""examples/sweeps: the W&B sweep file, unchanged, run by two agents offline; the result shows in `tunesmith show`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from sweep_support import SweepDir

from tunesmith.trial import TrialState

EXAMPLE = Path(__file__).parents[2] / "examples" / "sweeps"


@pytest.mark.slow
def test_the_example_runs_with_two_agents(tmp_path: Path) -> None:
    for name in ("train.py", "sweep.yaml"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    d = SweepDir(tmp_path, f"sqlite:///{tmp_path / 'sweeps.db'}")
    done = d.tunesmith("sweep", "sweep.yaml", "--storage", d.url)
    assert done.returncode == 0, done.stderr
    sweep_id = done.stdout.split("sweep id: ")[1].split()[0]
    assert sweep_id == yaml.safe_load((EXAMPLE / "sweep.yaml").read_text())["name"]
    agents = [d.agent(sweep_id, "--count", "2"), d.agent(sweep_id, "--count", "2")]
    outs = [a.communicate(timeout=240) for a in agents]
    assert [a.returncode for a in agents] == [0, 0], outs
    trials = d.trials(sweep_id)
    assert len(trials) == 4 and all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
    assert all(t.value is not None and 0 < t.value < 10 for t in trials)
    show = d.tunesmith("show", sweep_id, "--storage", d.url)
    assert show.returncode == 0 and "val_loss" in show.stdout and "optimizer=" in show.stdout
    alone = d.tunesmith("--version")  # the CLI stays importable without W&B's service
    assert alone.returncode == 0
