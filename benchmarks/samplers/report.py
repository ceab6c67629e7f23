"""Aggregates recorded runs into markdown tables: best-so-far, ranks, cost per suggestion, batch quality.

Conventions, printed with the tables:

- best-so-far at budget b: the best value among trials 1..b of a run (failed trials
  skipped); regret = that minus the known optimum; the median is over seeds.
- Bayesmark's normalised score (per task, at budget b): (best-so-far - best value any run
  of any sampler found on that task) / (median over random-search seeds of random search's
  best-so-far at b - that best); 0 = the best anyone found, 1 = random search's median.
  The random baseline pools ``tunesmith-random`` and ``optuna-random``.
- ranks: per problem, samplers ranked by their median (ties share the mean rank); a
  family's rank is the mean over its problems; the suite's is the mean over families
  (each family weighs the same) — the mean over all problems is shown beside it.
- a problem appears at budget b only where every sampler that ran it has a run that
  reached b: a sampler whose runs stop short is not left out of a rank it would
  otherwise take part in.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy.stats import rankdata

from benchmarks.samplers.runners import RANDOM, best_so_far
from benchmarks.samplers.store import Key

Runs = Mapping[Key, list[dict[str, Any]]]
Table = dict[str, dict[str, float]]  # problem -> sampler -> median

FAMILY_ORDER = ("classic", "mixed/conditional", "bbob separable", "bbob low/moderate conditioning",
                "bbob high conditioning", "bbob multimodal, global structure", "bbob multimodal, weak structure",
                "bayesmark")


def short(sampler: str) -> str:
    return sampler.replace("tunesmith-", "ts-").replace("optuna-", "op-")


def fmt(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if math.isinf(x):
        return "inf"
    if x == 0:
        return "0"
    if abs(x) >= 1e4 or abs(x) < 1e-3:
        return f"{x:.2e}"
    return f"{x:.4g}"


def available(runs: Runs) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """problem -> sampler -> runs, for samplers that did run."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(dict)
    for key, recs in runs.items():
        if recs and "unavailable" not in recs[0]:
            out[key.problem][key.sampler] = recs
    return out


def unavailable(runs: Runs) -> dict[str, str]:
    """sampler -> reason, for samplers that could not run somewhere."""
    return {key.sampler: recs[0]["unavailable"] for key, recs in runs.items() if recs and "unavailable" in recs[0]}


def families(runs: Runs) -> dict[str, str]:
    return {key.problem: recs[0].get("family", key.suite) for key, recs in runs.items() if recs}


def _at(record: dict[str, Any], budget: int) -> float | None:
    values = record["values"]
    return float(best_so_far(values)[budget - 1]) if len(values) >= budget else None


def table(runs: Runs, budget: int, kind: str) -> Table:
    """Median over seeds at ``budget``: ``kind`` is "value" (best value), "regret" or "normalised"."""
    out: Table = {}
    for problem, by_sampler in available(runs).items():
        cells: dict[str, float] = {}
        if kind == "normalised":
            finite = [v for recs in by_sampler.values() for r in recs for v in r["values"]
                      if v is not None and math.isfinite(v)]
            rand = [x for s in RANDOM for r in by_sampler.get(s, []) if (x := _at(r, budget)) is not None]
            if not finite or not rand:
                continue
            best, rand_median = min(finite), statistics.median(rand)
            scale = rand_median - best if rand_median > best else math.nan
            for sampler, recs in by_sampler.items():
                xs = [(x - best) / scale for r in recs if (x := _at(r, budget)) is not None]
                if xs:
                    cells[sampler] = statistics.median(xs)
        else:
            for sampler, recs in by_sampler.items():
                optimum = (recs[0].get("optimum") or 0.0) if kind == "regret" else 0.0
                xs = [x - optimum for r in recs if (x := _at(r, budget)) is not None]
                if xs:
                    cells[sampler] = statistics.median(xs)
        if cells and len(cells) == len(by_sampler):
            out[problem] = cells
    return out


def seeds(runs: Runs, budget: int) -> dict[str, int]:
    """Fewest seeds any problem shown at ``budget`` has for each sampler (see :func:`table`)."""
    count: dict[str, int] = {}
    for by_sampler in available(runs).values():
        n = {sampler: sum(len(r["values"]) >= budget for r in recs) for sampler, recs in by_sampler.items()}
        if min(n.values()) == 0:  # not shown at this budget
            continue
        for sampler, k in n.items():
            count[sampler] = min(count.get(sampler, k), k)
    return count


def ranks(tab: Table) -> Table:
    """Per problem, samplers ranked by their median (1 = best; ties share the mean rank; NaN last)."""
    out: Table = {}
    for problem, cells in tab.items():
        names = list(cells)
        values = np.array([cells[n] for n in names], dtype=float)
        values[np.isnan(values)] = np.inf
        out[problem] = dict(zip(names, (float(r) for r in rankdata(values)), strict=True))
    return out


def mean_ranks(
    rank_tab: Table, family_of: Mapping[str, str],
) -> tuple[dict[str, dict[str, float]], dict[str, float], dict[str, float]]:
    """(family -> sampler -> mean rank, suite mean over families, mean over all problems)."""
    by_family: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    all_problems: dict[str, list[float]] = defaultdict(list)
    for problem, cells in rank_tab.items():
        for sampler, r in cells.items():
            by_family[family_of[problem]][sampler].append(r)
            all_problems[sampler].append(r)
    fam = {f: {s: statistics.mean(v) for s, v in cells.items()} for f, cells in by_family.items()}
    suite: dict[str, list[float]] = defaultdict(list)
    for cells in fam.values():
        for s, r in cells.items():
            suite[s].append(r)
    return fam, {s: statistics.mean(v) for s, v in suite.items()}, {s: statistics.mean(v) for s, v in
                                                                       all_problems.items()}


def markdown(head: Sequence[str], rows: Iterable[Sequence[str]], left: int = 1) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * left + ["---:"] * (len(head) - left)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def problem_table(tab: Table, samplers: Sequence[str], label: str = "problem",
                  extra: Mapping[str, str] | None = None, bold_best: bool = True) -> str:
    cols = [s for s in samplers if any(s in cells for cells in tab.values())]
    rows = []
    for problem in sorted(tab, key=_problem_order):
        cells = tab[problem]
        finite = [cells[s] for s in cols if s in cells and not math.isnan(cells[s])]
        best = min(finite) if finite else None
        row = [problem + (f" ({extra[problem]})" if extra and problem in extra else "")]
        for s in cols:
            text = fmt(cells.get(s))
            row.append(f"**{text}**" if bold_best and s in cells and cells[s] == best and text else text)
        rows.append(row)
    return markdown([label, *(short(s) for s in cols)], rows)


def _problem_order(problem: str) -> tuple[int, str]:
    classic = ["branin", "hartmann6", "rosenbrock10", "ackley10", "mixed-rosenbrock4", "conditional-branin-styblinski4"]
    return (classic.index(problem), "") if problem in classic else (len(classic), problem)


def _natural(name: str) -> list[Any]:
    """Sort key that orders numbers inside names by value: d2 < d5 < d10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def bbob_group(problem: str) -> str:
    """``bbob-f01-d5-i1`` -> ``d5-i1``: the dimension and instance a BBOB problem belongs to."""
    return "-".join(problem.split("-")[2:])


def head_to_head(
    per_budget: Mapping[int, tuple[Table, Mapping[str, str]]], sampler: str, others: Sequence[str],
) -> str:
    """``sampler`` against each of ``others``, problem by problem: "better/worse" by median, per group and budget
    (ties count as neither)."""
    rows = []
    for budget, (tab, group_of) in per_budget.items():
        for group in sorted({group_of[p] for p in tab}, key=_natural):
            cells = [c for p, c in tab.items() if group_of[p] == group and sampler in c]
            row = [f"{group} @{budget}"]
            for other in others:
                pairs = [(c[sampler], c[other]) for c in cells if other in c]
                row.append(f"{sum(a < b for a, b in pairs)}/{sum(a > b for a, b in pairs)}" if pairs else "")
            rows.append(row)
    return markdown(["group", *(short(o) for o in others)], rows)


def rank_table(
    per_budget: Mapping[int, tuple[Table, Mapping[str, str]]], samplers: Sequence[str], totals: bool = True,
) -> tuple[str, dict[int, dict[str, float]]]:
    """Mean rank per family and (with ``totals``) for the suite, one column group per budget;
    returns the suite means too."""
    head = ["sampler"]
    columns: list[tuple[int, str]] = []
    suites: dict[int, dict[str, float]] = {}
    fams_at: dict[int, dict[str, dict[str, float]]] = {}
    alls: dict[int, dict[str, float]] = {}
    for budget, (tab, family_of) in per_budget.items():
        fam, suite, all_problems = mean_ranks(ranks(tab), family_of)
        fams_at[budget], suites[budget], alls[budget] = fam, suite, all_problems
        present = [f for f in FAMILY_ORDER if f in fam] + sorted(set(fam) - set(FAMILY_ORDER), key=_natural)
        for f in present:
            n = sum(1 for p in tab if family_of[p] == f)
            head.append(f"{f} ({n}) @{budget}")
            columns.append((budget, f))
        if totals:
            head += [f"**suite @{budget}**", f"all problems @{budget}"]
            columns += [(budget, "__suite__"), (budget, "__all__")]
    rows = []
    for s in samplers:
        if not any(s in suites[b] for b in suites):
            continue
        row = [short(s)]
        for budget, f in columns:
            if f == "__suite__":
                value = suites[budget].get(s)
            elif f == "__all__":
                value = alls[budget].get(s)
            else:
                value = fams_at[budget][f].get(s)
            row.append("" if value is None else f"{value:.2f}")
        rows.append(row)
    return markdown(head, rows), suites
