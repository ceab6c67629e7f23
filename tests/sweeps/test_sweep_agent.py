"""``tunesmith sweep`` + ``tunesmith agent`` end to end, as separate processes on SQLite, offline."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from sweep_support import SweepDir, running

from tunesmith.trial import TrialState

TRAIN = """\
import argparse
import time
parser = argparse.ArgumentParser()
parser.add_argument("--x", type=float)
parser.add_argument("--depth", type=int)
parser.add_argument("--act")
parser.add_argument("--epochs", type=int)
args = parser.parse_args()
print("loading data lr=0.1")  # not a metric line: no val_loss on it
time.sleep(0.5)  # long enough for both agents to be up before the runs are all taken
for epoch in range(args.epochs):
    print(f"epoch={epoch} val_loss={(args.x - 0.3) ** 2 + args.depth / 10 + epoch / 100}", flush=True)
"""

SWEEP = """\
program: train.py
method: random
project: ignored
metric:
  name: val_loss
  goal: minimize
parameters:
  x:
    min: 0.0
    max: 1.0
  depth:
    min: 1
    max: 3
  act:
    values: [relu, tanh]
  epochs:
    value: 3
run_cap: 8
"""


def test_two_agents_run_an_argparse_script_offline(sweep_dir: SweepDir) -> None:
    sweep_dir.write("train.py", TRAIN)
    sweep_id = sweep_dir.create(SWEEP)
    agents = [sweep_dir.agent(sweep_id), sweep_dir.agent(sweep_id)]
    outs = [a.communicate(timeout=120) for a in agents]
    assert [a.returncode for a in agents] == [0, 0], outs
    trials = sweep_dir.trials(sweep_id)
    assert len(trials) == 8 and all(t.state == TrialState.COMPLETE for t in trials)  # run_cap, across agents
    ran_by = [sum(f"agent: trial {t.number}:" in err for _, err in outs) for t in trials]
    assert ran_by == [1] * 8  # each run ran once, in one agent or the other
    assert sum("agent: trial" in out[1] and "COMPLETE" in out[1] for out in outs) == 2  # both took part
    for t in trials:
        x, depth = t.params["x"], t.params["depth"]
        assert 0 <= x <= 1 and depth in (1, 2, 3) and t.params["act"] in ("relu", "tanh")
        assert abs(t.value - ((x - 0.3) ** 2 + depth / 10 + 0.02)) < 1e-9  # the last val_loss printed
        assert t.last_step == 3 and t.user_attrs["sweep_config"]["epochs"] == 3
        assert "--epochs=3" in t.user_attrs["command"]
    show = sweep_dir.tunesmith("show", sweep_id, "--storage", sweep_dir.url)
    assert show.returncode == 0 and show.stdout.count("COMPLETE") == 8


def test_a_missing_program_is_named_before_any_agent_starts(sweep_dir: SweepDir) -> None:
    sweep_dir.write("sweep.yaml", SWEEP)
    done = sweep_dir.tunesmith("sweep", "sweep.yaml", "--storage", sweep_dir.url)
    assert done.returncode == 1 and "sweep.yaml:1: program 'train.py' not found" in done.stderr
    assert not (sweep_dir.path / "sweeps.db").exists()  # nothing created
    bad = sweep_dir.write("bad.yaml", SWEEP.replace("max: 1.0", "max: -1.0"))
    done = sweep_dir.tunesmith("sweep", str(bad.name), "--storage", sweep_dir.url)
    assert "bad.yaml:9: parameters.x.min must be < max, got min=0.0 max=-1.0" in done.stderr


LOGGER = """\
import sys
import tunesmith
for step in range(4):
    tunesmith.log({"score": step * 0.25, "step": step})
print("score=999")  # also printed: the agent keeps the program's own reports
"""


def test_tunesmith_log_reports_through_the_environment(sweep_dir: SweepDir) -> None:
    sweep_dir.write("prog.py", LOGGER)
    sweep_id = sweep_dir.create(
        "program: prog.py\nmethod: grid\nmetric: {name: score, goal: maximize}\nparameters:\n  a: {values: [1]}\n")
    agent = sweep_dir.agent(sweep_id)
    _, err = agent.communicate(timeout=60)
    assert agent.returncode == 0, err
    (t,) = sweep_dir.trials(sweep_id)
    assert t.state == TrialState.COMPLETE and t.value == 0.75 and t.last_step == 4
    # alone, the same program prints its metrics
    alone = subprocess.run([os.sys.executable, "prog.py"], cwd=sweep_dir.path, capture_output=True, text=True,
                           env=sweep_dir.env())
    assert alone.stdout.splitlines()[:2] == ["score=0.0 step=0", "score=0.25 step=1"]


def test_flapping_guard_stops_an_agent_whose_program_crashes(sweep_dir: SweepDir) -> None:
    sweep_dir.write("crash.py", "import sys\nprint('boom: no data', file=sys.stderr)\nsys.exit(3)\n")
    sweep_id = sweep_dir.create("program: crash.py\nmethod: random\nparameters:\n  a: {min: 0, max: 9}\n")
    agent = sweep_dir.agent(sweep_id)
    _, err = agent.communicate(timeout=60)
    assert agent.returncode == 1 and "flapping guard" in err
    trials = sweep_dir.trials(sweep_id)
    assert [t.state for t in trials] == [TrialState.FAILED] * 3  # not the whole (endless) sweep
    assert "exited with status 3" in trials[0].error and "boom: no data" in trials[0].error


SLOW = """\
import sys, time
for i in range(600):
    print(f"loss={1.0 / (i + 1)}", flush=True)
    time.sleep(0.05)
"""


def test_ctrl_c_ends_the_child_and_requeues_the_run(sweep_dir: SweepDir) -> None:
    sweep_dir.write("slow.py", SLOW)
    sweep_id = sweep_dir.create("program: slow.py\nmethod: grid\nmetric: {name: loss}\nparameters:\n"
                                "  a: {values: [1, 2]}\n")
    agent = sweep_dir.agent(sweep_id)
    sweep_dir.wait_for(sweep_id, lambda ts: running(ts) and ts[0].last_step is not None)
    agent.send_signal(signal.SIGINT)
    _, err = agent.communicate(timeout=30)
    assert agent.returncode == 130, err
    (t,) = sweep_dir.trials(sweep_id)
    assert t.state == TrialState.WAITING and t.retries == 1  # back in the queue, not lost
    assert subprocess.run(["pgrep", "-f", str(sweep_dir.path / "slow.py")], capture_output=True).stdout == b""
    assert subprocess.run(["pgrep", "-f", "slow.py"], cwd=sweep_dir.path, capture_output=True).returncode == 1


def test_a_killed_agents_run_is_requeued_and_run_again(sweep_dir: SweepDir) -> None:
    """kill -9 of an agent: its child dies with it, and the next agent re-queues the run and runs it again
    (on this machine at once, its process being gone; from another machine after the heartbeat grace)."""
    sweep_dir.write("slow.py", SLOW.replace("range(600)", "range(int(sys.argv[1].split('=')[1]))"))
    sweep_id = sweep_dir.create("program: slow.py\nmethod: grid\nmetric: {name: loss}\nparameters:\n"
                                "  n: {values: [10]}\n")
    first = sweep_dir.agent(sweep_id)
    sweep_dir.wait_for(sweep_id, running)
    first.kill()
    first.communicate()
    deadline = time.monotonic() + 10
    while subprocess.run(["pgrep", "-f", "slow.py --n=10"], capture_output=True).returncode == 0:
        assert time.monotonic() < deadline, "the killed agent's program outlived it"
        time.sleep(0.1)
    second = sweep_dir.agent(sweep_id)
    _, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    (t,) = sweep_dir.trials(sweep_id)
    assert t.state == TrialState.COMPLETE and t.retries == 1 and t.value == 0.1


def test_pause_resume_stop_and_cancel_act_within_a_poll(sweep_dir: SweepDir) -> None:
    sweep_dir.write("short.py", "import time\ntime.sleep(0.3)\nprint('loss=1.0')\n")
    sweep_dir.write("slow.py", SLOW)
    sweep_id = sweep_dir.create("program: short.py\nmethod: random\nmetric: {name: loss}\nparameters:\n"
                                "  a: {min: 0, max: 100}\n")
    agent = sweep_dir.agent(sweep_id)
    sweep_dir.wait_for(sweep_id, lambda ts: sum(t.state == TrialState.COMPLETE for t in ts) >= 1)
    assert sweep_dir.tunesmith("sweep", "--pause", sweep_id, "--storage", sweep_dir.url).returncode == 0
    sweep_dir.wait_for(sweep_id, lambda ts: not running(ts))
    paused_at = len(sweep_dir.trials(sweep_id))
    time.sleep(1.0)
    assert len(sweep_dir.trials(sweep_id)) == paused_at and agent.poll() is None  # waits, starts nothing
    assert sweep_dir.tunesmith("sweep", "--resume", sweep_id, "--storage", sweep_dir.url).returncode == 0
    sweep_dir.wait_for(sweep_id, lambda ts: len(ts) > paused_at + 1)
    assert sweep_dir.tunesmith("sweep", "--stop", sweep_id, "--storage", sweep_dir.url).returncode == 0
    _, err = agent.communicate(timeout=30)
    assert agent.returncode == 0 and "the sweep was stopped" in err
    assert all(t.state == TrialState.COMPLETE for t in sweep_dir.trials(sweep_id))  # the running one finished

    cancel_id = sweep_dir.create("program: slow.py\nmethod: random\nmetric: {name: loss}\nparameters:\n"
                                 "  a: {min: 0, max: 100}\n", name="sw2")
    agent = sweep_dir.agent(cancel_id)
    sweep_dir.wait_for(cancel_id, lambda ts: running(ts) and ts[0].last_step is not None)
    assert sweep_dir.tunesmith("sweep", "--cancel", cancel_id, "--storage", sweep_dir.url).returncode == 0
    _, err = agent.communicate(timeout=30)
    assert agent.returncode == 0, err
    (t,) = sweep_dir.trials(cancel_id)
    assert t.state == TrialState.PRUNED and t.error == "cancelled" and t.value is not None  # last value kept
