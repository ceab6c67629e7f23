"""Early termination under an agent: W&B's hyperband and tunesmith's schedulers stop runs by SIGTERM, then SIGKILL."""

from __future__ import annotations

import time

from sweep_support import SweepDir

from tunesmith.trial import TrialState

# Curves by the grid point: run 0 (q=1) learns, run 1 (q=5) stays bad, run 2 (q=2) is fair.
CURVE = """\
import argparse, signal, sys, time
p = argparse.ArgumentParser()
p.add_argument("--q", type=int)
p.add_argument("--stubborn", default="False")
a = p.parse_args()
if a.stubborn == "True":
    signal.signal(signal.SIGTERM, lambda *_: print("ignoring SIGTERM", file=sys.stderr, flush=True))
for epoch in range(12):
    print({"epoch": epoch, "loss": a.q + 1.0 / (epoch + 1)}.__repr__().replace("'", '"'), flush=True)
    time.sleep(0.1 if a.q > 1 else 0.0)
"""


def test_hyperband_stops_the_bad_run_and_keeps_its_last_values(sweep_dir: SweepDir) -> None:
    sweep_dir.write("curve.py", CURVE)
    sweep_id = sweep_dir.create(
        "program: curve.py\nmethod: grid\nmetric: {name: loss, goal: minimize}\nparameters:\n"
        "  q: {values: [1, 5]}\n  stubborn: {value: true}\n"
        "early_terminate: {type: hyperband, min_iter: 2, eta: 2}\n")
    agent = sweep_dir.agent(sweep_id)
    _, err = agent.communicate(timeout=60)
    assert agent.returncode == 0, err
    good, bad = sweep_dir.trials(sweep_id)
    assert good.state == TrialState.COMPLETE and good.last_step == 12
    # band 2: run 0 had 1.33, run 1 5.33: threshold sorted([1.33, 5.33])[int(2/2)] = 5.33; not worse: kept;
    # band 4: 1.2 vs 5.2 -> same. So with two runs, nothing is stopped: the rule needs a third to compare.
    assert bad.state == TrialState.COMPLETE

    third = sweep_dir.create(
        "program: curve.py\nmethod: grid\nmetric: {name: loss, goal: minimize}\nparameters:\n"
        "  q: {values: [1, 2, 5]}\n  stubborn: {value: true}\n"
        "early_terminate: {type: hyperband, min_iter: 2, eta: 2}\n", name="sw3")
    started = time.monotonic()
    agent = sweep_dir.agent(third)
    _, err = agent.communicate(timeout=60)
    assert agent.returncode == 0, err
    runs = sweep_dir.trials(third)
    # band 2 over runs 0 and 1 (q=1: 1.33, q=2: 2.33): threshold index int(2/2)=1 -> 2.33, run 1 kept;
    # run 2 (q=5) reaches band 2 at 5.33, threshold over three: sorted[int(3/2)] = 2.33 -> stopped.
    assert [r.state for r in runs] == [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.PRUNED]
    pruned = runs[2]
    assert pruned.last_step is not None and pruned.last_step < 12 and pruned.value == 5 + 1.0 / pruned.last_step
    assert "early_terminate (hyperband): SIGTERM" in err and "ignoring SIGTERM" not in err  # -q: not passed through
    assert time.monotonic() - started < 50  # the stubborn program was killed after the grace


def test_asha_under_early_terminate(sweep_dir: SweepDir) -> None:
    sweep_dir.write("curve.py", CURVE)
    sweep_id = sweep_dir.create(
        "program: curve.py\nmethod: grid\nmetric: {name: loss, goal: minimize}\nparameters:\n"
        "  q: {values: [1, 2, 3, 5]}\n"
        "early_terminate: {type: asha, grace_period: 2, max_t: 12, reduction_factor: 2}\n")
    agent = sweep_dir.agent(sweep_id)
    _, err = agent.communicate(timeout=90)
    assert agent.returncode == 0, err
    states = [t.state for t in sweep_dir.trials(sweep_id)]
    assert states[0] == TrialState.COMPLETE and TrialState.PRUNED in states[1:]


def test_gpu_slots_run_side_by_side(sweep_dir: SweepDir) -> None:
    sweep_dir.write("gpu.py", "import os, time\ntime.sleep(0.5)\n"
                              "print(f\"loss={os.environ['CUDA_VISIBLE_DEVICES']}\")\n")
    sweep_id = sweep_dir.create("program: gpu.py\nmethod: grid\nmetric: {name: loss}\nparameters:\n"
                                "  a: {values: [1, 2, 3, 4]}\n")
    agent = sweep_dir.agent(sweep_id, "--gpus", "0,1")
    _, err = agent.communicate(timeout=60)
    assert agent.returncode == 0, err
    trials = sweep_dir.trials(sweep_id)
    assert len(trials) == 4 and all(t.state == TrialState.COMPLETE for t in trials)
    assert {t.user_attrs["cuda_visible_devices"] for t in trials} == {"0", "1"}
    assert all(t.value == float(t.user_attrs["cuda_visible_devices"]) for t in trials)  # the child saw its GPU
    first = sorted(trials, key=lambda t: t.datetime_start)[:2]
    assert first[1].datetime_start < first[0].datetime_complete  # two at once
