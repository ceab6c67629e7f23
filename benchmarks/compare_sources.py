"""One tunesmith sampler's runs of two sources side by side, in a table with every other sampler's runs.

The results cache keeps every run a sampler made (``samplers/store.py``); the report shows
the latest per seed. This puts the runs of sources ``OLD`` and ``NEW`` of one sampler in
as two columns, so a change can be read task by task against the same seeds, with the
normalised score's scale (Bayesmark) and the ranks taken among all the samplers. From
the repository root::

    python benchmarks/compare_sources.py bayesmark tunesmith-auto c86862654a 7b5bffad63 --budgets 8 16
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from collections.abc import Sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from benchmarks.samplers import report, store  # noqa: E402


def load(results_dir: str, suite: str, sampler: str, old: str, new: str) -> report.Runs:
    runs: report.Runs = {}
    for key, latest in store.load(results_dir, suite).items():
        if key.sampler != sampler:
            runs[key] = latest
            continue
        with open(store.path(results_dir, key), encoding="utf-8") as f:
            records = [json.loads(line) for line in f if line.strip()]
        for source, label in ((old, f"{sampler}@{old}"), (new, f"{sampler}@{new}")):
            by_seed = {r["seed"]: r for r in records if "values" in r and r.get("tunesmith_samplers") == source}
            runs[store.Key(suite, key.problem, label)] = [by_seed[s] for s in sorted(by_seed)]
    return runs


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite")
    parser.add_argument("sampler")
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--budgets", nargs="+", type=int, default=[16])
    parser.add_argument("--results-dir", default=os.path.join(ROOT, "benchmarks", "samplers", "results"))
    args = parser.parse_args(argv)
    runs = load(args.results_dir, args.suite, args.sampler, args.old, args.new)
    kind = "normalised" if args.suite == "bayesmark" else "regret"
    a, b = f"{args.sampler}@{args.new}", f"{args.sampler}@{args.old}"
    for budget in args.budgets:
        tab = report.table(runs, budget, kind)
        pairs = [(c[a], c[b]) for c in tab.values() if a in c and b in c]
        finite = [(x, y) for x, y in pairs if x == x and y == y]
        ranks = report.ranks(tab)
        names = {s for r in ranks.values() for s in r}
        mean_rank = {s: statistics.mean(r[s] for r in ranks.values() if s in r) for s in names}
        print(f"after {budget}: {len(pairs)} problems; new better/worse {sum(x < y for x, y in pairs)}/"
              f"{sum(x > y for x, y in pairs)}; mean {kind} new {statistics.mean(x for x, _ in finite):.3f}, "
              f"old {statistics.mean(y for _, y in finite):.3f}; mean rank "
              + ", ".join(f"{report.short(s)} {v:.2f}" for s, v in sorted(mean_rank.items(), key=lambda kv: kv[1])))


if __name__ == "__main__":
    main()
