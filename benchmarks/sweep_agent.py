"""Agent overhead per run: ``tunesmith agent`` against a plain subprocess loop running the same program.

Run from the repository root::

    python benchmarks/sweep_agent.py                  # 100 runs on SQLite, 3 repeats
    python benchmarks/sweep_agent.py --runs 200 --postgres postgresql://postgres@127.0.0.1:5432/test

The program prints ``loss=<a>`` and exits at once, so each run's time is the agent's
work (ask the study for a trial, store its parameters, build the command, start and
follow the child, read its metric line, record the outcome, check the sweep's state)
plus the bare cost of starting a Python process, which the plain loop
(``subprocess.run`` of the same argv, output captured) measures alone. The agent runs
in-process (``Agent.run``) so its own start-up is counted apart (``tunesmith agent``
as a command: ``--cli``). ``wandb agent`` is not measured: it cannot run offline
(its sweep controller is W&B's server; wandb#9682, #4586, #6234, #8183).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

from _common import git_commit

import tunesmith

PROGRAM = "import sys\nprint('loss=' + sys.argv[1].split('=')[1])\n"


def plain_loop(program: str, runs: int) -> float:
    """Seconds per run of ``python program --a=i`` with its output captured."""
    start = time.perf_counter()
    for i in range(runs):
        subprocess.run([sys.executable, program, f"--a={i}"], capture_output=True, check=True)
    return (time.perf_counter() - start) / runs


def agent_loop(program: str, runs: int, url: str) -> float:
    """Seconds per run of an in-process agent over a grid of ``runs`` points."""
    from tunesmith.sweeps import Agent, AgentOptions, SweepDocument, create_sweep

    name = f"bench-{uuid.uuid4().hex[:8]}"
    doc = SweepDocument.from_dict({
        "program": program, "method": "grid", "metric": {"name": "loss"},
        "parameters": {"a": {"values": list(range(runs))}},
    })
    create_sweep(doc, url, name)
    # The benchmark wrote the sweep itself: its program (in a temporary folder) is trusted.
    agent = Agent(name, url, AgentOptions(forward_output=False, trust_stored_command=True), echo=lambda _: None)
    start = time.perf_counter()
    code = agent.run()
    seconds = time.perf_counter() - start
    assert code == 0 and agent.counts.get("complete") == runs, agent.counts
    tunesmith.delete_study(name, url)  # leave a shared PostgreSQL database as it was
    return seconds / runs


def cli_agent(program: str, runs: int, url: str, folder: str) -> float:
    """Wall seconds of ``tunesmith sweep`` + ``tunesmith agent`` as commands (start-up included), per run."""
    path = os.path.join(folder, "sweep.yaml")
    with open(path, "w") as f:
        f.write(f"program: {program}\nmethod: grid\nmetric: {{name: loss}}\nparameters:\n"
                f"  a: {{values: {list(range(runs))}}}\n")
    name = f"cli-{uuid.uuid4().hex[:8]}"
    subprocess.run([sys.executable, "-m", "tunesmith", "sweep", path, "--storage", url, "--name", name],
                   check=True, capture_output=True, cwd=folder)
    start = time.perf_counter()
    agent = [sys.executable, "-m", "tunesmith", "agent", name, "--storage", url, "-q", "--config", path]
    subprocess.run(agent, check=True, capture_output=True, cwd=folder)
    seconds = time.perf_counter() - start
    tunesmith.delete_study(name, url)
    return seconds / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--postgres", default=None, help="also measure on this PostgreSQL URL")
    parser.add_argument("--cli", action="store_true", help="also time `tunesmith agent` as a command")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="sweep-bench-")
    os.chdir(folder)
    program = "exit_at_once.py"
    with open(program, "w") as f:
        f.write(PROGRAM)
    storages = {"SQLite": f"sqlite:///{os.path.join(folder, 'bench.db')}"}
    if args.postgres:
        storages["PostgreSQL"] = args.postgres
    print(f"commit {git_commit()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, {args.runs} runs x "
          f"{args.repeats} repeats (median shown)")
    plain = statistics.median(plain_loop(program, args.runs) for _ in range(args.repeats))
    rows = [("plain subprocess loop", plain, None)]
    for label, url in storages.items():
        per_run = statistics.median(agent_loop(program, args.runs, url) for _ in range(args.repeats))
        rows.append((f"tunesmith agent, {label}", per_run, per_run - plain))
        if args.cli:
            rows.append((f"`tunesmith agent` command, {label}", cli_agent(program, args.runs, url, folder), None))
    print("| | ms per run | runs/s | agent overhead per run |")
    print("|---|---:|---:|---:|")
    for label, per_run, overhead in rows:
        extra = "-" if overhead is None else f"{overhead * 1e3:.1f} ms"
        print(f"| {label} | {per_run * 1e3:.1f} | {1 / per_run:.1f} | {extra} |")
    print("| wandb agent | cannot run offline (needs W&B's server) | | |")


if __name__ == "__main__":
    main()
