"""Study-level: the best trials sit at a bound of the search space, so the range is too narrow.

>>> from tunesmith.distributions import FloatDistribution
>>> from tunesmith.trial import FrozenTrial, TrialState
>>> dist = FloatDistribution(1e-5, 1e-1, log=True)
>>> trials = [
...     FrozenTrial(i, TrialState.COMPLETE, params={"lr": lr}, values=[1 / lr], distributions={"lr": dist})
...     for i, lr in enumerate([1e-5, 1e-4, 1e-3, 5e-3, 2e-2, 6e-2, 8e-2, 9e-2, 1e-1, 9.5e-2])
... ]
>>> [f.message for f in boundary_best(trials, ["minimize"])]
['the 3 best trials all have lr within 7.5% of its upper bound 0.1 (in log scale; best: 0.1)']
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from tunesmith.analysis._findings import Finding
from tunesmith.distributions import FloatDistribution, IntDistribution
from tunesmith.trial import FrozenTrial, TrialState

__all__ = ["boundary_best"]


def _position(value: float, low: float, high: float, log: bool) -> float:
    """Where ``value`` lies in [low, high], from 0 to 1 (in log space for a log parameter)."""
    if log:
        return (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))
    return (value - low) / (high - low)


def boundary_best(
    trials: Sequence[FrozenTrial], directions: Sequence[str], *, top: float = 0.1, edge: float = 0.075,
    min_trials: int = 10,
) -> list[Finding]:
    """Parameters whose best trials crowd one bound of their range: widen the range there.

    Rule: among COMPLETE trials with a finite value (at least ``min_trials``; single
    objective only), take the best ``max(3, top * n)``. For each numeric parameter
    (float or int, not categorical, with low < high) that at least 3 of them have, if
    the very best trial and at least two thirds of those best trials lie within ``edge``
    of the range of one bound (in log space for a log parameter), that bound is reported.
    (An irrelevant parameter, spread at random, does that by chance in about 1 % of studies.)
    """
    if len(directions) != 1:
        return []
    maximize = directions[0] == "maximize"
    done = [
        t for t in trials
        if t.state == TrialState.COMPLETE and t.values and len(t.values) == 1 and math.isfinite(t.values[0])
    ]
    if len(done) < min_trials:
        return []
    done.sort(key=lambda t: (-t.values[0] if maximize else t.values[0], t.number))  # type: ignore[index]
    best = done[: max(3, math.ceil(top * len(done)))]
    findings = []
    numeric = (FloatDistribution, IntDistribution)
    names = sorted({n for t in best for n, d in t.distributions.items() if isinstance(d, numeric)})
    for name in names:
        dist = best[0].distributions.get(name)
        if not isinstance(dist, (FloatDistribution, IntDistribution)) or not dist.high > dist.low:
            continue
        having = [t for t in best if name in t.params and t.distributions.get(name) == dist]
        if len(having) < 3 or having[0] is not best[0]:
            continue
        spots = [_position(float(t.params[name]), dist.low, dist.high, dist.log) for t in having]
        for side, near in (("lower", [u <= edge for u in spots]), ("upper", [u >= 1 - edge for u in spots])):
            count = sum(near)
            if near[0] and 3 * count >= 2 * len(having):
                bound = dist.low if side == "lower" else dist.high
                how = "all have" if count == len(having) else f"{count} have"
                detail = f"in log scale; best: {best[0].params[name]!r}" if dist.log else (
                    f"best: {best[0].params[name]!r}")
                findings.append(Finding(
                    "boundary_best", None, (),
                    f"the {len(having)} best trials {how} {name} within {edge:.1%} of its {side} bound "
                    f"{bound!r} ({detail})",
                    f"widen the range of {name!r} {'below' if side == 'lower' else 'above'} {bound!r}"
                    + (" where that is valid" if side == "lower" and bound == 0 else ""),
                ))
    return findings
