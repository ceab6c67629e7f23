"""16 agents (separate processes) share one grid sweep on PostgreSQL: every point runs exactly once."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from sweep_support import SweepDir

from tunesmith.trial import TrialState

PROGRAM = """\
import argparse, os, time
p = argparse.ArgumentParser()
p.add_argument("--a", type=int)
p.add_argument("--b")
args = p.parse_args()
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "ran.log"), "a") as f:
    f.write(f"{args.a},{args.b}\\n")  # one line per execution: what actually ran, not only what was recorded
time.sleep(0.2)
print(f"loss={args.a}")
"""


@pytest.mark.slow
def test_sixteen_agents_neither_repeat_nor_skip_a_grid_point(tmp_path: Path, fresh_postgres_url: str) -> None:
    d = SweepDir(tmp_path, fresh_postgres_url)
    d.write("prog.py", PROGRAM)
    sweep_id = d.create("program: prog.py\nmethod: grid\nmetric: {name: loss}\nparameters:\n"
                        "  a: {values: [0, 1, 2, 3, 4, 5]}\n  b: {values: [x, y, z, w]}\n")
    agents = [d.agent(sweep_id) for _ in range(16)]
    outs = [a.communicate(timeout=300) for a in agents]
    assert [a.returncode for a in agents] == [0] * 16, [err for _, err in outs if "Error" in err]
    grid = {(a, b) for a, b in itertools.product(range(6), "xyzw")}
    ran = [tuple(line.split(",")) for line in (tmp_path / "ran.log").read_text().split()]
    ran_points = [(int(a), b) for a, b in ran]
    assert sorted(ran_points) == sorted(grid)  # 24 executions: 0 duplicates, 0 skipped
    trials = d.trials(sweep_id)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert sorted((t.params["a"], t.params["b"]) for t in complete) == sorted(grid)
    # a trial created after the grid was full (a race between two agents' checks) never ran, and says so
    assert all(t.user_attrs.get("sweep_not_run") for t in trials if t.state != TrialState.COMPLETE)
