"""Cost of ConsoleReporter: wall time of ``optimize`` with each reporter mode over none.

Run from the repository root::

    python benchmarks/console_overhead.py                 # 3000 trials, 3 repeats
    python benchmarks/console_overhead.py --trials 1000 --repeats 5

The objective is trivial and the sampler random, so the run is as fast as trials can
go and the reporter's share is as large as it can be. Each mode (plain lines, the live
table on a terminal, plain tables) writes to an in-memory console; the reported number
is the ratio of the median wall times, the reporter's over no reporter's (the unit
tests check the redraw schedule that bounds it, ``update`` at most every tick and at
most 1/40 of the run; this measures what it costs on this machine).
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time

from _common import git_commit, objective
from rich.console import Console

import tunesmith
from tunesmith.reporting import ConsoleReporter
from tunesmith.samplers import RandomSampler

_MODES = {  # name -> (a terminal?, print_intermediate_tables)
    "none": None,
    "lines": (False, None),
    "live": (True, None),
    "tables": (False, True),
}


def _reporter(mode: str) -> ConsoleReporter | None:
    spec = _MODES[mode]
    if spec is None:
        return None
    terminal, tables = spec
    console = Console(file=io.StringIO(), force_terminal=terminal, color_system=None, width=120)
    return ConsoleReporter(console=console, print_intermediate_tables=tables)


def _seconds(mode: str, n_trials: int) -> float:
    study = tunesmith.create_study(sampler=RandomSampler(seed=0))
    reporter = _reporter(mode)
    t0 = time.perf_counter()
    study.optimize(objective, n_trials=n_trials, reporter=reporter)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.trials < 1 or args.repeats < 1:
        parser.error(f"--trials and --repeats must be positive, got {args.trials} and {args.repeats}")
    _seconds("none", min(args.trials, 200))  # warm up imports and caches
    times: dict[str, list[float]] = {m: [] for m in _MODES}
    for r in range(args.repeats):
        for mode in _MODES:  # interleaved, so a change in machine load hits every mode alike
            times[mode].append(_seconds(mode, args.trials))
            print(f"repeat {r + 1} {mode}: {times[mode][-1]:.3f} s", file=sys.stderr)
    base = statistics.median(times["none"])
    print(f"ConsoleReporter overhead, {args.trials} trivial trials, median of {args.repeats} (commit {git_commit()})")
    print("| reporter | median s | ratio to none |")
    print("|---|---|---|")
    for mode, ts in times.items():
        med = statistics.median(ts)
        print(f"| {mode} | {med:.3f} | {med / base:.2f} |")


if __name__ == "__main__":
    main()
