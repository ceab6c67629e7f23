"""A seeded, labelled corpus of synthetic learning curves, to measure the diagnosis rules.

Each case is one run: a training and a validation curve (a loss, or for about a third of
the kinds that allow it an accuracy), sometimes the learning rate, and the value a good
run reaches on the primary curve (the study's best, which underfitting is judged against).

The label is decided on the noise-free curve, with a margin: a draw that lands between
a kind and its neighbours (say a run that is only a little still improving) is drawn
again, so no case sits on a rule's threshold. The noise is what real runs show:

* losses carry relative noise of 0.5-8 % (training; epoch averages to minibatch losses)
  and 0.3-4 % (validation), AR(1)-correlated (rho up to 0.5) with Student-t tails;
* accuracies carry binomial noise from 500-20000 validation examples;
* lengths are 10-200 reports, steps every 1, 10 or 100, validation sometimes only every
  2nd or 5th report, scales from 0.01 to 1000, starting losses of log(C) for C classes.

Healthy runs (the negatives) converge with exponential, power-law or delayed shapes,
sometimes with a cosine or step schedule that drops after the plateau, and keep an
ordinary generalisation gap.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

HEALTHY = "healthy"
KINDS = (
    "diverging", "not_learning", "decayed_too_early", "overfitting", "underfitting", "still_improving", "unstable",
)

Shape = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Case:
    """One labelled run: ``curves`` as ``diagnose_curves`` takes them (None: not reported)."""

    label: str
    variant: str
    #: other kinds the noise-free curve shows too (a bump that is still being recovered from)
    also: tuple[str, ...]
    curves: dict[str, list[float | None]]
    steps: list[int]
    target: float | None


@dataclass
class _Run:
    """The random frame of one run: its length, steps, family and scales (in badness: lower is better)."""

    n: int
    s: np.ndarray  # normalised time in [0, 1]
    steps: list[int]
    family: str  # "loss" or "acc"
    start: float  # the untrained value
    target: float  # the validation level a good run reaches
    train_floor: float


def make_corpus(seed: int = 0, per_kind: int = 60) -> list[Case]:
    """``per_kind`` runs of each kind and twice as many healthy ones, from one seed."""
    rng = np.random.default_rng(seed)
    cases: list[Case] = []
    makers: dict[str, Callable[[np.random.Generator], Case | None]] = {
        HEALTHY: _healthy, "diverging": _diverging, "not_learning": _not_learning,
        "decayed_too_early": _decayed_too_early, "overfitting": _overfitting, "underfitting": _underfitting,
        "still_improving": _still_improving, "unstable": _unstable,
    }
    for label, maker in makers.items():
        wanted = per_kind * (2 if label == HEALTHY else 1)
        made = 0
        for _ in range(wanted * 50):
            case = maker(rng)
            if case is not None:
                cases.append(case)
                made += 1
                if made == wanted:
                    break
        else:
            raise RuntimeError(f"the generator for {label!r} rejects almost every draw")
    return cases


# -- the frame of a run --------------------------------------------------------------------


def _logu(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def _run(rng: np.random.Generator, family: str | None = None, n_min: int = 10) -> _Run:
    n = round(_logu(rng, n_min, 200))
    stride = int(rng.choice([1, 1, 1, 10, 100]))
    offset = int(rng.choice([0, 1])) if stride == 1 else stride
    steps = [offset + stride * i for i in range(n)]
    if family is None:
        family = "acc" if rng.random() < 0.33 else "loss"
    if family == "loss":
        if rng.random() < 0.6:  # cross-entropy at initialisation: log(classes), a little above
            start = math.log(float(rng.choice([2, 10, 100, 1000]))) * rng.uniform(0.95, 1.3)
        else:  # a regression loss on its own scale
            start = 10 ** rng.uniform(-2, 3)
        target = start * _logu(rng, 0.02, 0.5)
    else:
        classes = int(rng.choice([2, 10, 100]))
        start = 1 - 1 / classes  # the error rate at chance
        target = start * _logu(rng, 0.03, 0.5)
    return _Run(n, np.linspace(0.0, 1.0, n), steps, family, start, target, target * rng.uniform(0.1, 1.0))


def _converging(rng: np.random.Generator) -> Shape:
    """A shape from 1 (untrained) to about 0 that has converged by the end."""
    pick = rng.integers(3)
    if pick == 0:
        tau = rng.uniform(0.04, 0.15)
        return lambda s: np.exp(-s / tau)
    if pick == 1:
        alpha, tau = rng.uniform(0.8, 2.0), rng.uniform(0.01, 0.05)
        return lambda s: (1 + s / tau) ** -alpha
    delay, tau = rng.uniform(0.02, 0.15), rng.uniform(0.04, 0.12)
    return lambda s: np.exp(-np.maximum(s - delay, 0) / tau)


def _slow(rng: np.random.Generator) -> Shape:
    """A shape still falling at the end (a run stopped too soon)."""
    pick = rng.integers(3)
    if pick == 0:
        tau = rng.uniform(0.4, 3.0)
        return lambda s: np.exp(-s / tau)
    if pick == 1:
        alpha, tau = rng.uniform(0.3, 1.2), rng.uniform(0.1, 1.0)
        return lambda s: (1 + s / tau) ** -alpha
    c = rng.uniform(0.3, 0.9)
    return lambda s: 1 - c * s


def _level(start: float, floor: float, g: np.ndarray) -> np.ndarray:
    return floor + (start - floor) * g


def _last_quarter_gain(x: np.ndarray) -> float:
    """The noise-free improvement over the last quarter, as a fraction of the whole improvement."""
    i = math.floor(0.75 * (len(x) - 1))
    gain = x[0] - np.min(x)
    return float((x[i] - x[-1]) / gain) if gain > 0 else 0.0


def _lr_constant(rng: np.random.Generator, run: _Run) -> np.ndarray:
    return np.full(run.n, _logu(rng, 1e-4, 1e-1))


def _lr_cosine(rng: np.random.Generator, run: _Run) -> np.ndarray:
    lr0 = _logu(rng, 1e-4, 1e-1)
    lr = lr0 * 0.5 * (1 + np.cos(math.pi * run.s))
    if rng.random() < 0.5:  # linear warmup
        lr = lr * np.minimum(1.0, (run.s + 1 / run.n) / rng.uniform(0.03, 0.1))
    return lr


def _lr_steps(rng: np.random.Generator, run: _Run, drops: list[tuple[float, float]]) -> np.ndarray:
    lr = np.full(run.n, _logu(rng, 1e-4, 1e-1))
    for at, factor in drops:
        lr[run.s >= at] *= factor
    return lr


# -- noise and naming ------------------------------------------------------------------------


def _ar_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit-variance AR(1) noise with Student-t innovations."""
    df = rng.uniform(4, 30)
    rho = rng.uniform(0, 0.5)
    eta = rng.standard_t(df, n) / math.sqrt(df / (df - 2))
    out = np.empty(n)
    out[0] = eta[0]
    for i in range(1, n):
        out[i] = rho * out[i - 1] + math.sqrt(1 - rho**2) * eta[i]
    return out


def _noisy(
    rng: np.random.Generator, run: _Run, clean: np.ndarray, sigma: float | None, validation: bool,
) -> np.ndarray:
    """Add a real run's noise to a clean badness curve (NaN and inf pass through)."""
    with np.errstate(invalid="ignore", over="ignore"):
        if run.family == "loss":
            if sigma is None:
                sigma = _logu(rng, 0.003, 0.04) if validation else _logu(rng, 0.005, 0.08)
            return clean * np.exp(sigma * _ar_noise(rng, run.n))
        if sigma is None:  # binomial: the error rate measured on N examples
            examples = _logu(rng, 500, 20000) if validation else _logu(rng, 2000, 50000)
            p = np.clip(np.nan_to_num(clean, nan=0.5), 1e-4, 1 - 1e-4)
            noise = np.sqrt(p * (1 - p) / examples) * rng.standard_normal(run.n)
        else:
            noise = sigma * _ar_noise(rng, run.n)
        return np.clip(clean + noise, 0.0, 1.0)


def _case(
    rng: np.random.Generator, run: _Run, label: str, variant: str, train: np.ndarray | None,
    val: np.ndarray | None, lr: np.ndarray | None = None, sigma_train: float | None = None,
    sigma_val: float | None = None, sparse_val: bool = True, also: tuple[str, ...] = (),
) -> Case:
    """Noise, names, sparse validation reports; badness back to the metric's own units."""
    curves: dict[str, list[float | None]] = {}
    to_metric: Callable[[np.ndarray], np.ndarray] = (lambda x: x) if run.family == "loss" else (lambda x: 1 - x)
    names = (
        (("loss", "train_loss", "training_loss"), ("val_loss", "valid_loss", "validation_loss", "eval_loss"))
        if run.family == "loss" else
        (("accuracy", "acc", "train_accuracy"), ("val_accuracy", "val_acc", "eval_accuracy"))
    )
    if train is not None:
        curves[str(rng.choice(names[0]))] = [float(v) for v in to_metric(_noisy(rng, run, train, sigma_train, False))]
    if val is not None:
        values: list[float | None] = [float(v) for v in to_metric(_noisy(rng, run, val, sigma_val, True))]
        every = int(rng.choice([2, 5]))
        if sparse_val and train is not None and rng.random() < 0.25 and run.n // every >= 8:
            values = [v if (i + 1) % every == 0 or i == 0 else None for i, v in enumerate(values)]
        curves[str(rng.choice(names[1]))] = values
    if lr is not None:
        curves[str(rng.choice(["lr", "learning_rate"]))] = [float(v) for v in lr]
    primary = val if val is not None else train
    assert primary is not None
    target = run.target if val is not None else run.train_floor
    return Case(label, variant, also, curves, run.steps, float(to_metric(np.array([target]))[0]))


def _maybe_lr(rng: np.random.Generator, run: _Run) -> np.ndarray | None:
    pick = rng.random()
    if pick < 0.4:
        return None
    return _lr_constant(rng, run) if pick < 0.7 else _lr_cosine(rng, run)


def _with_val(rng: np.random.Generator) -> bool:
    return bool(rng.random() < 0.85)


# -- the kinds -----------------------------------------------------------------------------


def _healthy(rng: np.random.Generator) -> Case | None:
    run = _run(rng)
    if rng.random() < 0.25:
        return _healthy_step_decay(rng, run)
    g = _converging(rng)(run.s)
    val = _level(run.start * rng.uniform(0.98, 1.05), run.target, g)
    train = _level(run.start, run.train_floor, g)
    has_val = _with_val(rng)
    if _last_quarter_gain(val if has_val else train) > 0.03 or _last_quarter_gain(train) > 0.03:
        return None
    return _case(rng, run, HEALTHY, "converged", train, val if has_val else None, _maybe_lr(rng, run))


def _healthy_step_decay(rng: np.random.Generator, run: _Run) -> Case | None:
    """Step decay after the plateau: each drop lowers the floor (less SGD noise), quickly."""
    at = rng.uniform(0.35, 0.7)
    factor = _logu(rng, 0.05, 0.3)
    tau1, tau2 = rng.uniform(0.02, at / 6), rng.uniform(0.01, min(0.06, (1 - at) / 5))
    h = rng.uniform(0.1, 0.35)

    def staged(start: float, floor: float) -> np.ndarray:
        plateau = floor + h * (start - floor)
        first = _level(start, plateau, np.exp(-run.s / tau1))
        at_drop = plateau + (start - plateau) * math.exp(-at / tau1)
        second = _level(at_drop, floor, np.exp(-(run.s - at) / tau2))
        return np.where(run.s < at, first, second)

    train = staged(run.start, run.train_floor)
    val = staged(run.start * rng.uniform(0.98, 1.05), run.target)
    if int(np.sum(run.s >= at)) < 4 or int(np.sum(run.s < at)) < 4:
        return None
    has_val = _with_val(rng)
    if _last_quarter_gain(val if has_val else train) > 0.03:
        return None
    return _case(
        rng, run, HEALTHY, "step_decay", train, val if has_val else None, _lr_steps(rng, run, [(at, factor)]),
    )


def _not_learning(rng: np.random.Generator) -> Case | None:
    """Flat from the start: at most 4 % better by the end (a learning rate far too low)."""
    run = _run(rng)
    drift = rng.uniform(0, 0.04)
    shape = run.s if rng.random() < 0.5 else 1 - np.exp(-run.s / 0.1)
    train = run.start * (1 - drift * shape)
    val = run.start * rng.uniform(0.98, 1.05) * (1 - rng.uniform(0, 0.04) * shape)
    lr = None if rng.random() < 0.5 else np.full(run.n, _logu(rng, 1e-7, 1e-5))
    return _case(rng, run, "not_learning", "flat", train, val if _with_val(rng) else None, lr)


def _diverging(rng: np.random.Generator) -> Case | None:
    variant = str(rng.choice(["explode", "nan", "from_start", "collapse"]))
    run = _run(rng, family="loss" if variant != "collapse" else None)
    n = run.n
    g = np.exp(-run.s / rng.uniform(0.05, 0.5))
    train = _level(run.start, run.train_floor, g)
    val = _level(run.start * rng.uniform(0.98, 1.05), run.target, g)
    onset = int(rng.integers(int(0.2 * n), int(0.85 * n) + 1))
    if n - onset < 3 and variant != "nan":
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        if variant == "explode":
            k = np.arange(n - onset)
            rate = max(rng.uniform(1.3, 4.0), 1.1 * 10 ** (1 / max(1, n - onset - 1)))
            growth = rate ** k.astype(float)
            train[onset:] = train[onset] * growth
            val[onset:] = val[onset] * growth
            for x in (train, val):
                x[x > 1e300] = np.inf
                if np.isinf(x).any():  # a framework reports NaN once the loss has overflowed
                    first = int(np.argmax(np.isinf(x)))
                    x[first + 1:] = np.nan
        elif variant == "nan":
            length = int(rng.integers(onset + 1, n + 1))
            train, val = train[:length].copy(), val[:length].copy()
            train[onset:] = np.nan
            val[onset:] = np.nan
            run = _Run(length, run.s[:length], run.steps[:length], run.family, run.start, run.target, run.train_floor)
            if length < 5:
                return None
        elif variant == "from_start":
            factor = _logu(rng, 5, 1e4) ** (1 / (n - 1))
            train = run.start * factor ** np.arange(n, dtype=float)
            val = train * rng.uniform(1.0, 1.1)
        else:  # collapse: learned, then jumps back to chance (or above) and stays
            jump = rng.uniform(1.0, 1.5) if run.family == "loss" else rng.uniform(0.97, 1.0)
            width = int(rng.integers(1, 3))
            ramp = np.clip((np.arange(n) - onset + 1) / width, 0, 1)
            train = train + ramp * (run.start * jump - train)
            val = val + ramp * (run.start * jump - val)
    has_val = _with_val(rng)
    return _case(rng, run, "diverging", variant, train, val if has_val else None, None, sparse_val=False)


def _decayed_too_early(rng: np.random.Generator) -> Case | None:
    """A step decay while the loss still falls fast; the smaller rate cannot go on."""
    run = _run(rng, n_min=12)
    at = rng.uniform(0.15, 0.5)
    tau = rng.uniform(at, 4 * at)  # 35-80 % of the way still to go at the drop
    factor = _logu(rng, 0.01, 0.1)
    dip = rng.uniform(0, 0.05)
    if int(np.sum(run.s < at)) < 5 or int(np.sum(run.s >= at)) < 6:
        return None

    def staged(start: float, floor: float) -> np.ndarray:
        at_drop = floor + (start - floor) * math.exp(-at / tau)
        after = floor + (at_drop - dip * (at_drop - floor) - floor) * np.exp(-factor * (run.s - at) / tau)
        return np.where(run.s < at, _level(start, floor, np.exp(-run.s / tau)), after)

    train = staged(run.start, run.train_floor)
    val = staged(run.start * rng.uniform(0.98, 1.05), run.target)
    drops = [(at, factor)]
    if rng.random() < 0.3 and at + 0.2 < 0.9:
        drops.append((rng.uniform(at + 0.2, 0.9), 0.1))
    has_val = _with_val(rng)
    primary = val if has_val else train
    if _last_quarter_gain(primary) > 0.03 or (primary[0] - primary[-1]) < 0.15 * primary[0]:
        return None
    return _case(rng, run, "decayed_too_early", "step", train, val if has_val else None, _lr_steps(rng, run, drops))


def _overfitting(rng: np.random.Generator) -> Case | None:
    """Validation turns up while training still falls."""
    run = _run(rng, n_min=12)
    train_floor = run.target * rng.uniform(0.0, 0.3)
    train = _level(run.start, train_floor, np.exp(-run.s / rng.uniform(0.1, 0.5)))
    turn = rng.uniform(0.2, 0.65)
    power = rng.uniform(1.0, 2.0)
    if run.family == "loss":
        size = rng.uniform(0.2, 1.0) * (run.start - run.target)
    else:
        size = rng.uniform(0.4, 1.2) * run.target
    up = size * np.maximum((run.s - turn) / (1 - turn), 0) ** power
    val = _level(run.start * rng.uniform(0.98, 1.05), run.target, np.exp(-run.s / rng.uniform(0.05, 0.2))) + up
    j = int(np.argmin(val))
    if run.n - j < 5 or (run.n - j) / run.n < 0.2:
        return None
    rise = val[-1] - val[j]
    if rise < 0.1 * (val[0] - val[j]) and rise < 0.3 * val[j]:
        return None
    if train[j] - train[-1] < 0.05 * (train[0] - train[-1]):
        return None
    lr = _maybe_lr(rng, run)
    return _case(rng, run, "overfitting", "turns_up", train, val, lr)


def _underfitting(rng: np.random.Generator) -> Case | None:
    """Train and validation converge together, far above what a good run reaches."""
    run = _run(rng)
    plateau = run.target + rng.uniform(0.35, 0.8) * (run.start - run.target)
    g = _converging(rng)(run.s)
    train = _level(run.start, plateau * rng.uniform(0.93, 1.0), g)
    val = _level(run.start * rng.uniform(0.98, 1.03), plateau, g)
    has_val = _with_val(rng)
    if not has_val:
        run.train_floor = run.target * rng.uniform(0.5, 1.0)  # the target of a train-only study
    primary = val if has_val else train
    if _last_quarter_gain(primary) > 0.03 or primary[0] - primary[-1] < 0.2 * primary[0]:
        return None  # not converged, or so little learned that it is rather not learning
    return _case(rng, run, "underfitting", "plateau", train, val if has_val else None, _maybe_lr(rng, run))


def _still_improving(rng: np.random.Generator) -> Case | None:
    """Stopped while the curve still falls: the last quarter gained >= 8 % of the whole gain."""
    run = _run(rng)
    g = _slow(rng)(run.s)
    train = _level(run.start, run.train_floor, g)
    val = _level(run.start * rng.uniform(0.98, 1.05), run.target, g)
    has_val = _with_val(rng)
    primary = val if has_val else train
    if _last_quarter_gain(primary) < 0.08 or primary[0] - primary[-1] < 0.2 * primary[0]:
        return None
    return _case(rng, run, "still_improving", "slow", train, val if has_val else None, _maybe_lr(rng, run))


def _unstable(rng: np.random.Generator) -> Case | None:
    variant = str(rng.choice(["spikes", "noisy", "bump"]))
    run = _run(rng)
    if variant == "noisy" and run.family == "loss":
        run.target = run.start * rng.uniform(0.25, 0.6)
        run.train_floor = run.target * rng.uniform(0.7, 1.0)
    g = _converging(rng)(run.s)
    train = _level(run.start, run.train_floor, g)
    val = _level(run.start * rng.uniform(0.98, 1.05), run.target, g)
    has_val = _with_val(rng)
    sigma_train = sigma_val = None
    also: tuple[str, ...] = ()
    gain = train[0] - train.min()
    if variant == "spikes":
        count = int(rng.integers(1, 5))
        places = [int(i) for i in rng.permutation(np.arange(max(1, int(0.05 * run.n)), run.n - 2))]
        chosen: list[int] = []
        for i in places:
            if all(abs(i - c) >= 3 for c in chosen):
                chosen.append(i)
            if len(chosen) == count:
                break
        both = rng.random() < 0.5
        for i in chosen:
            height = rng.uniform(1.3, 4.0) if len(chosen) == 1 else rng.uniform(0.7, 4.0)
            for k in range(int(rng.integers(1, 4))):
                if i + k < run.n:
                    bump = 1 + height * 0.5**k
                    train[i + k] = min(train[i + k] * bump, max(run.start, train[i + k]))
                    if both:
                        val[i + k] = min(val[i + k] * bump, max(run.start, val[i + k]))
        if not chosen:
            return None
    elif variant == "noisy":
        if run.family == "loss":
            sigma_train, sigma_val = rng.uniform(0.3, 0.6), rng.uniform(0.1, 0.3)
            if sigma_train * train[-1] < 0.2 * gain:
                return None
        else:
            sigma_train = rng.uniform(0.2, 0.4) * gain
            sigma_val = rng.uniform(0.1, 0.3) * gain
    else:  # a rise after falling that does not run away: lost 30-60 % of the gain, maybe won back
        center, width = rng.uniform(0.25, 0.7), rng.uniform(0.1, 0.3)
        if width * run.n < 3:
            return None
        size = rng.uniform(0.3, 0.6)
        if rng.random() < 0.5:
            hump = np.exp(-(((run.s - center) / (width / 2)) ** 2))
        else:  # up, then stays up
            hump = 1 / (1 + np.exp(-(run.s - center) / (width / 6)))
        train = train + size * gain * hump
        val = val + size * (val[0] - val.min()) * hump
        drawdown = np.max(train - np.minimum.accumulate(train))
        if drawdown < 0.3 * gain or train[-1] > train.min() + 0.65 * (train[0] - train.min()):
            return None
        recovering = _last_quarter_gain(val if has_val else train)
        if 0.03 < recovering < 0.08:
            return None  # neither clearly still improving nor clearly done
        also = ("still_improving",) if recovering >= 0.08 else ()
    return _case(
        rng, run, "unstable", variant, train, val if has_val else None, _maybe_lr(rng, run),
        sigma_train=sigma_train, sigma_val=sigma_val, also=also,
    )
