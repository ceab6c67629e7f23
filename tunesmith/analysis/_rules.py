"""The rules that read one run's learning curves (the tuning playbook's "look at the curves").

Each rule works on a curve as *badness* (lower is better: a loss, an error rate, a
negated score; see :class:`~tunesmith.analysis._curves.Series`) through a
:class:`Profile` of robust summaries, never on single points:

* ``start``: the first value (or the median of the first three, if higher);
* ``smooth``: a centered rolling median (window 3-9 by length), which keeps a monotone
  trend exactly and ignores isolated spikes;
* ``end``: the median of the last quarter (at least 3 points);
* ``gain``: ``start`` minus the lowest smoothed value, what the run learned;
* ``sigma``: the step-to-step noise of the second half, from the median absolute second
  difference (MAD); slopes are least-squares fits over windows whose standard error is
  never below what that noise alone gives.

"Significant" means a t-statistic of at least 3 against that noise. Where a rule needs a
scale for "meaningful" it uses the gain, or the start level of a curve that is >= 0
(a loss that reaches 0, an error rate that reaches 0). :func:`diagnose_run` applies the
rules in order and lets the first ones explain the later ones away (a diverging run is not
also "unstable"; a run that never learned is not also "underfitting").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tunesmith.analysis._curves import Curves, Series
from tunesmith.analysis._stats import (
    MAD_TO_SIGMA,
    fit_line,
    neighbour_median,
    noise_sigma,
    rolling_median,
    smoothing_window,
)

__all__ = ["ADVICE", "Hit", "Profile", "diagnose_run"]

#: what to try, per kind
ADVICE = {
    "diverging": "lower the learning rate (3-10x), or add warmup or gradient clipping",
    "not_learning": "raise the learning rate (10x), or check the initialisation, the inputs and the labels",
    "decayed_too_early": "decay the learning rate later or by less (or use a longer schedule)",
    "overfitting": "regularise more (weight decay, dropout, augmentation, more data) or stop at the best step",
    "underfitting": "use a bigger model or less regularisation, or train longer at a higher learning rate",
    "still_improving": "train longer (more epochs or steps)",
    "unstable": "lower the learning rate, add warmup or gradient clipping, or use a larger batch",
}

#: diverging: the tail gave back this share of what was learned
DIVERGE_GIVEN_BACK = 0.8
#: diverging: geometric growth over the last reports by at least this factor
DIVERGE_GROWTH = 3.0
#: not learning: improved by less than this share of the scale
FLAT_IMPROVEMENT = 0.1
#: still improving: at the final rate, a quarter of the run more gains this share of the whole gain
STILL_GAIN = 0.05
#: decayed too early: at the pre-drop rate the rest of the run would have gained this share of the gain...
DECAY_PROMISE = 0.25
#: ... and after the drop the rate fell below this share of it
DECAY_FLATTER = 0.2
#: overfitting: validation rose by this share of its gain (or of its best level, for a curve >= 0)
OVERFIT_RISE = 0.1
OVERFIT_RISE_OF_LEVEL = 0.2
#: underfitting: still this share of the way from the start to the reference
UNDERFIT_SHORT = 0.25
#: underfitting: "levels off" means a final improvement weaker than this t-statistic
LEVELS_OFF = 2.0
#: unstable: a spike is at least this much above its neighbours (relative to the level); one alone, this much
SPIKE_HEIGHT = 0.5
SPIKE_ALONE = 0.8
#: unstable: step-to-step noise at least this share of a loss's level, or of another curve's gain
NOISY_OF_LEVEL = 0.2
NOISY = 0.12
#: unstable: rose again by this share of the gain after falling
SETBACK = 0.25
#: significance, in standard errors
SIGNIFICANT = 3.0


@dataclass(frozen=True)
class Hit:
    """A rule's finding about one run, before it is attached to a trial."""

    kind: str
    steps: tuple[int, ...]
    message: str

    @property
    def advice(self) -> str:
        return ADVICE[self.kind]


class Profile:
    """Robust summaries of one curve's finite points (see the module docstring)."""

    def __init__(self, series: Series) -> None:
        finite = np.isfinite(series.bad)
        self.series = series
        self.name = series.name
        self.t = series.steps[finite]
        self.x = series.bad[finite]
        self.n = n = len(self.x)
        self.nonfinite = series.steps[~finite]
        if n == 0:
            self.smooth = self.x
            self.start = self.end = self.sigma = self.gain = self.low = math.nan
            return
        self.smooth = rolling_median(self.x, smoothing_window(n))
        self.start = max(float(self.x[0]), float(np.median(self.x[:3])))
        self.end = float(np.median(self.x[-max(3, n // 4):]))
        self.low = float(self.smooth.min())
        self.gain = max(0.0, self.start - self.low)
        self.sigma = noise_sigma(self.x[n // 2:] if n >= 8 else self.x)

    @property
    def positive(self) -> bool:
        return self.series.positive

    def value(self, bad: float) -> str:
        """A badness in the metric's own units, for messages."""
        return _fmt(self.series.from_bad(bad))

    def steps(self, lo: int = 0, hi: int | None = None) -> tuple[int, ...]:
        return tuple(int(s) for s in self.t[lo:hi])


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def _span(steps: tuple[int, ...]) -> str:
    return f"step {steps[0]}" if len(steps) == 1 else f"steps {steps[0]}-{steps[-1]}"


def diverging(p: Profile) -> Hit | None:
    """The loss explodes: a learning rate too high.

    Any of: a NaN or infinite report; the last ``max(4, n/10)`` reports grow
    geometrically (a least-squares fit of the log grows >= 3x at t >= 3 against the noise
    of the log, two thirds of the steps rise, and the last value is >= 3x the lowest
    level; curves >= 0 only); or the last quarter gave back >= 80 % of what was learned
    and sits well above the best level (for a curve >= 0 by 10 % of the start level and
    6 noise deviations, else by 10 noise deviations).
    """
    if len(p.nonfinite):
        at = int(p.nonfinite[0])
        where = "" if p.n == 0 else f" (it was {p.value(float(p.x[-1]))} at step {int(p.t[-1])})"
        return Hit("diverging", tuple(int(s) for s in p.nonfinite), f"{p.name} became NaN/inf at step {at}{where}")
    if p.n < 4:
        return None
    k = max(4, p.n // 10)
    if p.positive and p.low > 0:
        logs = np.log(np.maximum(p.x, 1e-300))
        tail = p.x[-k:]
        line = fit_line(p.t[-k:], logs[-k:], noise_sigma(logs))
        rising = float(np.mean(np.diff(tail) > 0))
        if (math.exp(line.change) >= DIVERGE_GROWTH and line.t >= SIGNIFICANT and rising >= 2 / 3
                and tail[-1] >= DIVERGE_GROWTH * p.low):
            steps = p.steps(p.n - k)
            return Hit(
                "diverging", steps,
                f"{p.name} grows geometrically over {_span(steps)}: {p.value(float(tail[0]))} -> "
                f"{p.value(float(tail[-1]))} ({float(tail[-1]) / p.low:.3g}x its best level)",
            )
    given_back = p.end - p.low
    far = max(FLAT_IMPROVEMENT * abs(p.start), 6 * p.sigma) if p.positive else 10 * p.sigma
    if given_back >= DIVERGE_GIVEN_BACK * p.gain and given_back > far:
        best = int(np.argmin(p.smooth))
        steps = p.steps(best)
        return Hit(
            "diverging", steps,
            f"{p.name} went back up from {p.value(p.low)} (step {steps[0]}) to {p.value(p.end)} "
            f"and stays there (it started at {p.value(p.start)})",
        )
    return None


def not_learning(p: Profile, reference: float | None) -> Hit | None:
    """Flat from the start: a learning rate too low, or a bad initialisation.

    The end (the median of the last quarter) is less than 10 % of the scale below the
    start: the median of the first three reports, or the first report if it is higher
    by more than 3 noise deviations (a drop in the first steps is learning too). The
    scale is that start level for a curve >= 0 (a loss that could reach 0; for an error
    rate, the distance to a perfect score), else the distance from the start to the
    reference (the study's best, or a target); a curve below 0 without a reference is
    not judged. Needs 5 reports.
    """
    if p.n < 5:
        return None
    first = float(np.median(p.x[:3]))
    if p.x[0] - first > SIGNIFICANT * p.sigma:
        first = float(p.x[0])
    improvement = first - p.end
    if p.positive:
        scale = abs(first)
    elif reference is not None and first > reference:
        scale = first - reference
    else:
        return None
    if scale <= 0 or improvement >= FLAT_IMPROVEMENT * scale:
        return None
    return Hit(
        "not_learning", p.steps(),
        f"{p.name} stays flat over {_span(p.steps())}: {p.value(first)} at the start, "
        f"{p.value(p.end)} at the end ({max(improvement, 0.0) / scale:.0%} better)",
    )


def _drops(lr: Series) -> list[tuple[int, float]]:
    """(first step at the lower rate, factor) for each step decay: a drop to half or less
    between two reports that holds at the next report (a smooth schedule's final approach
    to zero falls by half at every report and is no step)."""
    v, s = lr.values, lr.steps
    out = []
    for i in range(1, len(v) - 1):
        if not (np.isfinite(v[i - 1]) and np.isfinite(v[i]) and np.isfinite(v[i + 1])):
            continue
        if v[i - 1] > 0 and 0 <= v[i] <= 0.5 * v[i - 1] and v[i + 1] >= 0.5 * v[i]:
            out.append((int(s[i]), float(v[i - 1] / v[i]) if v[i] > 0 else math.inf))
    return out


def decayed_too_early(p: Profile, lr: Series | None) -> Hit | None:
    """A plateau right after a learning-rate drop the curve was not ready for.

    For a step decay of the reported rate (to half or less between two reports, held at
    the next): over the last two thirds (>= 4 points) of the reports before it, the
    curve improved significantly, at a rate that over the rest of the run would have
    gained >= 25 % of the whole gain; after it (the first tenth of the rest skipped, >= 4
    points and >= 20 % of the run left), the rate is below 20 % of that.
    """
    if lr is None or p.n < 8:
        return None
    total = float(p.t[-1] - p.t[0])
    for at, factor in _drops(lr):
        before = np.flatnonzero(p.t < at)
        after = np.flatnonzero(p.t >= at)
        if len(before) < 4 or len(after) < 5:
            continue
        pre = before[-max(4, 2 * len(before) // 3):]
        post = after[max(1, round(0.1 * len(after))):]
        if len(post) < 4 or p.t[-1] - p.t[post[0]] < 0.2 * total:
            continue
        line_pre = fit_line(p.t[pre], p.x[pre], noise_sigma(p.x[before]))
        line_post = fit_line(p.t[post], p.x[post], p.sigma)
        rate, rate_after = -line_pre.slope, -line_post.slope
        promise = rate * float(p.t[-1] - at)
        if -line_pre.t < SIGNIFICANT or promise < DECAY_PROMISE * p.gain or rate_after > DECAY_FLATTER * rate:
            continue
        times = "" if math.isinf(factor) else f" {factor:.3g}x"
        return Hit(
            "decayed_too_early", p.steps(int(post[0]) - 1 if post[0] > 0 else 0),
            f"{p.name} was improving {_fmt(rate)}/step when the learning rate dropped{times} at step {at}, "
            f"and nearly stopped after it ({_fmt(max(rate_after, 0.0))}/step)",
        )
    return None


def overfitting(train: Profile, val: Profile) -> Hit | None:
    """Validation turns up while training still improves.

    After the lowest point of the smoothed validation curve (>= 3 reports and >= 15 %
    of the run after it), validation rises significantly: a least-squares line over that
    stretch rises by >= 10 % of its gain or, for a curve >= 0, >= 20 % of its best
    level, and by >= 3 noise deviations, at t >= 3; meanwhile the training curve falls
    significantly (t >= 3) over the same steps.
    """
    if train.n < 5 or val.n < 5:
        return None
    j = int(np.argmin(val.smooth))
    after = np.arange(j, val.n)
    span = float(val.t[-1] - val.t[0])
    if len(after) < 3 or val.t[-1] - val.t[j] < 0.15 * span:
        return None
    line = fit_line(val.t[after], val.x[after], val.sigma)
    rise = line.change  # the trend's rise from the lowest point to the end
    big = rise >= OVERFIT_RISE * val.gain or (val.positive and rise >= OVERFIT_RISE_OF_LEVEL * abs(val.low))
    if not big or line.t < SIGNIFICANT or rise < SIGNIFICANT * val.sigma:
        return None
    since = np.flatnonzero(train.t >= val.t[j])
    if len(since) < 3:
        return None
    train_line = fit_line(train.t[since], train.x[since], train.sigma)
    if -train_line.t < SIGNIFICANT:
        return None
    steps = val.steps(j)
    return Hit(
        "overfitting", steps,
        f"{val.name} rose from {val.value(val.low)} (step {steps[0]}) to {val.value(val.low + rise)} while "
        f"{train.name} kept improving ({train.value(float(train.smooth[since[0]]))} -> {train.value(train.end)})",
    )


def _final_trend(p: Profile, lr: Series | None = None) -> tuple[float, float, int]:
    """(t-statistic of the improvement, improvement per quarter of the run, points) over the
    last third, but not before the second half of what follows the last step decay of the
    learning rate (the fall to the new level right after a decay is not a trend);
    (0, 0, 0) when fewer than 5 reports are left for it."""
    begin = p.n - max(5, math.ceil(p.n / 3))
    drops = _drops(lr) if lr is not None else []
    if drops:
        after = np.flatnonzero(p.t >= drops[-1][0])
        if len(after):
            begin = max(begin, int(after[0]) + len(after) // 2)
    k = p.n - max(begin, 0)
    if k < 5:
        return 0.0, 0.0, 0
    line = fit_line(p.t[-k:], p.x[-k:], p.sigma)
    return -line.t, -line.slope * float(p.t[-1] - p.t[0]) / 4, k


def still_improving(p: Profile, beside: Profile | None = None, lr: Series | None = None) -> Hit | None:
    """Still improving at the last step: train longer.

    A fit over the last third (>= 5 reports; not before the second half of what follows
    the last step decay of the learning rate) falls at a rate that gains >= 5 % of the
    curve's whole gain per quarter of the run, significantly (t >= 3); or at t >= 2 when
    the other curve of the run (``beside``: training, for validation) meets the full
    rule. Needs 6 reports.
    """
    if p.n < 6 or p.gain <= 0:
        return None
    t, per_quarter, k = _final_trend(p, lr)
    if k == 0 or per_quarter < STILL_GAIN * p.gain or t < LEVELS_OFF:
        return None
    if t < SIGNIFICANT and (beside is None or still_improving(beside, lr=lr) is None):
        return None
    steps = p.steps(p.n - k)
    return Hit(
        "still_improving", steps,
        f"{p.name} still improves at the end: {p.value(float(p.smooth[-k]))} -> {p.value(float(p.smooth[-1]))} "
        f"over {_span(steps)} ({per_quarter / p.gain:.0%} of its whole gain per quarter of the run)",
    )


def underfitting(
    primary: Profile, train: Profile | None, reference: float | None, lr: Series | None = None,
) -> Hit | None:
    """Train and validation level off together, and poorly.

    The primary curve (validation, else training) levels off (its last third does not
    improve even at t >= 2 by the still-improving rate) >= 25 % of the way from its
    start to the reference (the study's best, or a target); without a reference, an
    accuracy-like curve that ends >= 75 % of the way from perfect to where it started
    (near chance). With a training curve of the same kind beside it, validation must end
    within half of that shortfall of training (a larger gap is a generalisation problem).
    """
    if primary.n < 5:
        return None
    if reference is not None:
        if primary.start <= reference:
            return None
        short = (primary.end - reference) / (primary.start - reference)
        versus = f"the best {primary.value(reference)}"
    elif primary.series.top is not None and primary.start > 0:
        short = primary.end / primary.start
        versus = f"a perfect {primary.value(0.0)} (it started at {primary.value(primary.start)})"
        reference = 0.0
    else:
        return None
    if short < UNDERFIT_SHORT:
        return None
    t, per_quarter, _ = _final_trend(primary, lr)
    if t >= LEVELS_OFF and per_quarter >= STILL_GAIN * primary.gain:
        return None  # perhaps still improving: too early to call it a plateau
    beside = train if train is not None and train is not primary and train.n else None
    if beside is not None and _same_kind(beside.series, primary.series):
        if primary.end - beside.end > 0.5 * (primary.end - reference):
            return None
    names = f"{primary.name} and {beside.name} level off" if beside is not None else f"{primary.name} levels off"
    return Hit(
        "underfitting", primary.steps(),
        f"{names} at {primary.value(primary.end)}, far from {versus}: {short:.0%} of the way still to go",
    )


def _same_kind(a: Series, b: Series) -> bool:
    """Both losses or both accuracies (comparable levels)."""
    return a.maximize == b.maximize and ("loss" in a.name.lower()) == ("loss" in b.name.lower())


def unstable(p: Profile) -> Hit | None:
    """Large step-to-step swings or setbacks, short of diverging.

    Any of:

    * spikes: reports >= 50 % above the median of their neighbours (window 7-9) and >= 4
      deviations of the relative scatter around it (a MAD over the second half); two of
      them, or one >= 80 % above (relative to the level for curves >= 0, else to the gain);
    * noise: the second half's noise is >= 20 % of its level for a loss (a curve >= 0
      with no top: its noise is relative), else >= 12 % of the gain (an accuracy's noise is
      binomial, large relative to a small error rate);
    * a setback: the smoothed curve rises >= 25 % of the gain (and >= 6 noise deviations:
      of the second half or of the whole curve, the smaller) above its running best.

    Needs 6 reports.
    """
    if p.n < 6 or p.gain <= 0:
        return None
    base = neighbour_median(p.x, max(7, smoothing_window(p.n)))
    level = np.maximum(np.abs(base), 1e-300) if p.positive else np.full(p.n, p.gain)
    height = (p.x - base) / level
    # the relative scatter, robust to the spikes, where the trend is flattest
    spread = MAD_TO_SIGMA * float(np.median(np.abs(height[p.n // 2:])))
    spikes = np.flatnonzero((height >= SPIKE_HEIGHT) & (height >= 4 * spread))
    spikes = spikes[spikes > 0]
    whole_sigma = noise_sigma(p.x)
    if len(spikes) >= 2 or (len(spikes) == 1 and height[spikes[0]] >= SPIKE_ALONE):
        steps = tuple(int(p.t[i]) for i in spikes)
        shown = ", ".join(str(s) for s in steps[:5]) + (", ..." if len(steps) > 5 else "")
        return Hit(
            "unstable", steps,
            f"{p.name} spikes at step{'s' if len(steps) > 1 else ''} {shown}: up to "
            f"{float(height[spikes].max()) + 1:.3g}x its level",
        )
    relative = p.positive and p.series.top is None  # a loss: its noise scales with its level
    if (p.sigma >= NOISY_OF_LEVEL * abs(p.end)) if relative else (p.sigma >= NOISY * p.gain):
        steps = p.steps(p.n // 2)
        share = f"{p.sigma / abs(p.end):.0%} of its level" if relative else f"{p.sigma / p.gain:.0%} of its gain"
        return Hit(
            "unstable", steps,
            f"{p.name} is noisy: step-to-step swings of {_fmt(p.sigma)} over {_span(steps)}, {share}",
        )
    running = np.minimum.accumulate(p.smooth)
    setback = p.smooth - running
    i = int(np.argmax(setback))
    # the noise of the second half or of the whole curve, whichever a setback in it inflates less
    if setback[i] >= SETBACK * p.gain and setback[i] >= 6 * min(p.sigma, whole_sigma):
        low_at = int(np.flatnonzero(p.smooth[: i + 1] == running[i])[-1])
        steps = p.steps(low_at, i + 1)
        return Hit(
            "unstable", steps,
            f"{p.name} rose again after falling: {p.value(float(running[i]))} (step {steps[0]}) -> "
            f"{p.value(float(p.smooth[i]))} (step {steps[-1]}), {setback[i] / p.gain:.0%} of its gain",
        )
    return None


def diagnose_run(
    curves: Curves, reference: float | None = None, *, still_improving_applies: bool = True,
) -> list[Hit]:
    """All the rules on one run, the first ones explaining the later ones away.

    ``reference`` is the primary curve's good level in badness units (the study's best,
    or a target). A run that diverges, or never learned (on both curves), gets that
    finding alone; ``decayed_too_early`` and ``overfitting`` rule out ``still_improving``
    and ``underfitting``; ``still_improving`` and ``unstable`` rule out ``underfitting``
    (a poor level is the instability's doing). ``unstable`` may come with the others.
    Divergence, flatness and instability read the training curve (validation without one;
    flatness needs both flat); overfitting and the learning-rate rule read both; still
    improving and underfitting the validation curve (training without one).
    ``still_improving_applies=False`` for trials a scheduler stopped on purpose.
    """
    train = Profile(curves.train) if curves.train is not None else None
    val = Profile(curves.val) if curves.val is not None else None
    learner = train if train is not None else val
    primary = val if val is not None else train
    if learner is None or primary is None:
        return []
    blowup = diverging(learner)
    if blowup is None and primary is not learner and len(primary.nonfinite):
        blowup = diverging(primary)  # validation's rise is overfitting's to judge; its NaN is not
    if blowup is not None:
        return [blowup]
    flat = not_learning(learner, reference if learner is primary else None)
    if flat is not None and (primary is learner or not_learning(primary, reference) is not None):
        return [flat]
    hits: list[Hit] = []
    decayed = decayed_too_early(learner, curves.lr)
    if decayed is None and primary is not learner:
        decayed = decayed_too_early(primary, curves.lr)
    over = overfitting(train, val) if train is not None and val is not None else None
    shaky = unstable(learner)
    hits.extend(h for h in (decayed, over) if h is not None)
    if not hits:
        still = still_improving(primary, learner if learner is not primary else None, curves.lr)
        if still is None:
            under = underfitting(primary, train, reference, curves.lr) if shaky is None else None
            if under is not None:
                hits.append(under)
        elif still_improving_applies:
            hits.append(still)
    if shaky is not None:
        hits.append(shaky)
    return hits
