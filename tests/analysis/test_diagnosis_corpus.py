"""Precision and recall of every per-run rule on a seeded, labelled corpus of noisy curves.

``pytest tests/analysis -s`` prints the table. The corpus (see curve_corpus.py) holds 60
runs of each kind and 120 healthy ones: lengths 10-200, losses and accuracies, real-run
noise, sparse validation, learning-rate schedules.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from curve_corpus import HEALTHY, KINDS, Case, make_corpus

from tunesmith.analysis import diagnose_curves

SEED = 0
PER_KIND = 60
FLOOR = 0.9


@pytest.fixture(scope="module")
def corpus() -> list[Case]:
    return make_corpus(SEED, PER_KIND)


def _score(cases: list[Case]) -> dict[str, tuple[float, float, int, int, int]]:
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for case in cases:
        found = diagnose_curves(case.curves, case.steps, target=case.target).kinds
        wanted = ({case.label} - {HEALTHY}) | set(case.also)
        for kind in KINDS:
            tp[kind] += kind in found and kind in wanted
            fp[kind] += kind in found and kind not in wanted
            fn[kind] += kind not in found and kind in wanted
    out = {}
    for kind in KINDS:
        precision = tp[kind] / (tp[kind] + fp[kind]) if tp[kind] + fp[kind] else 0.0
        recall = tp[kind] / (tp[kind] + fn[kind]) if tp[kind] + fn[kind] else 0.0
        out[kind] = (precision, recall, tp[kind], fp[kind], fn[kind])
    return out


@pytest.mark.slow
def test_every_kind_has_precision_and_recall_of_at_least_0_9(corpus: list[Case]) -> None:
    scores = _score(corpus)
    print(f"\n{'kind':<18} {'precision':>9} {'recall':>7} {'tp':>4} {'fp':>4} {'fn':>4}")
    for kind, (p, r, tp, fp, fn) in scores.items():
        print(f"{kind:<18} {p:>9.2f} {r:>7.2f} {tp:>4} {fp:>4} {fn:>4}")
    low = {k: (round(p, 3), round(r, 3)) for k, (p, r, *_) in scores.items() if p < FLOOR or r < FLOOR}
    assert not low, f"below {FLOOR} (precision, recall): {low}"


def test_healthy_runs_are_mostly_left_alone(corpus: list[Case]) -> None:
    healthy = [c for c in corpus if c.label == HEALTHY][:60]
    flagged = [c for c in healthy if diagnose_curves(c.curves, c.steps, target=c.target).kinds]
    assert len(flagged) <= 0.05 * len(healthy), [(c.variant, len(c.steps)) for c in flagged]


# -- the corpus itself: it must look like real runs, not toy curves ---------------------------


def test_the_corpus_is_seeded() -> None:
    a, b, c = (repr([case.curves for case in make_corpus(seed, 5)]) for seed in (3, 3, 4))  # repr: NaN == NaN
    assert a == b
    assert a != c


def test_the_corpus_covers_lengths_scales_families_and_schedules(corpus: list[Case]) -> None:
    lengths = [len(c.steps) for c in corpus]
    assert min(lengths) == 10 or min(lengths) <= 12
    assert max(lengths) >= 180
    names = Counter(n for c in corpus for n in c.curves)
    assert names["lr"] + names["learning_rate"] > 100
    assert sum(v for n, v in names.items() if "acc" in n) > 100
    assert any(None in v for c in corpus for v in c.curves.values())  # sparse validation
    starts = [next(v for v in vals if v is not None) for c in corpus for n, vals in c.curves.items() if "loss" in n]
    assert min(starts) < 0.1 and max(starts) > 100
    for kind in (*KINDS, HEALTHY):
        assert sum(c.label == kind for c in corpus) >= PER_KIND


def _relative_noise(values: list[float | None]) -> float:
    x = np.array([v for v in values if v is not None], dtype=float)
    x = x[len(x) // 2:]
    d2 = x[:-2] - 2 * x[1:-1] + x[2:]
    return float(1.4826 * np.median(np.abs(d2)) / math.sqrt(6) / np.median(np.abs(x)))


def test_healthy_losses_carry_the_noise_of_real_runs(corpus: list[Case]) -> None:
    noise = [
        _relative_noise(v) for c in corpus if c.label == HEALTHY for n, v in c.curves.items()
        if "loss" in n and not n.startswith(("val", "valid", "eval")) and len(c.steps) >= 30
    ]
    assert np.median(noise) > 0.005  # not toy-smooth
    assert np.quantile(noise, 0.9) > 0.03
    assert max(noise) < 0.15  # and healthy: no wild swings
