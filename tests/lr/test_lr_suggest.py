"""Suggestion methods on synthetic curves whose answers are known."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tunesmith.lr import Suggestion, suggest
from tunesmith.lr._suggest import divergence_index, ema

LRS = np.logspace(-6, 1, 141)  # 20 points per decade
X = np.log10(LRS)


def _curve(center: float = -3.0, minimum: float = -1.0, width: float = 0.3) -> np.ndarray:
    """A sigmoid descent centred at 10**center, then a rise whose minimum sits near 10**minimum."""
    descent = 2.0 - 1.5 / (1 + np.exp(-(X - center) / width))
    rise = 0.3 * np.exp((X - minimum) / 0.15)
    return descent + rise


def _true_minimum(curve: np.ndarray) -> float:
    return float(X[int(np.argmin(curve))])


def test_steepest_without_smoothing_finds_the_sigmoid_centre() -> None:
    s = suggest(LRS, _curve(center=-3.0), "steepest", smooth=1.0)
    assert s.method == "steepest"
    assert abs(np.log10(s.lr) - (-3.0)) <= 0.05
    assert s.low <= s.lr <= s.high


def test_minimum_over_ten() -> None:
    curve = _curve()
    s = suggest(LRS, curve, "minimum/10", smooth=1.0)
    assert np.log10(s.lr) == pytest.approx(_true_minimum(curve) - 1.0, abs=1e-9)


def test_robust_is_half_the_minimum_on_a_clean_curve() -> None:
    curve = _curve()
    s = suggest(LRS, curve, "robust")
    # half the rate at the minimum, within the smoother's resolution (a few points)
    assert abs(np.log10(s.lr) - (_true_minimum(curve) - np.log10(2))) <= 0.1
    assert s.low <= s.lr <= s.high and s.band_decades >= 0


def test_valley_lies_inside_the_descent() -> None:
    curve = _curve()
    s = suggest(LRS, curve, "valley", smooth=1.0)
    assert -4.5 < np.log10(s.lr) < _true_minimum(curve)


def test_robust_tracks_the_minimum_on_noisy_curves_where_steepest_wanders() -> None:
    robust_spread, steep_spread = [], []
    for minimum in (-2.0, -1.0, 0.0):
        clean = _curve(center=minimum - 1.5, minimum=minimum)
        target = _true_minimum(clean) - np.log10(2)
        robust, steep = [], []
        for seed in range(5):
            rng = np.random.default_rng(seed)
            noisy = clean * (1 + 0.1 * rng.standard_normal(len(clean)))
            robust.append(np.log10(suggest(LRS, noisy, "robust").lr))
            steep.append(np.log10(suggest(LRS, noisy, "steepest").lr))
        assert max(abs(r - target) for r in robust) <= 0.3  # within 2x on every seed
        assert np.std(robust) <= 0.2
        robust_spread.append(np.std(robust))
        steep_spread.append(np.std(steep))
    assert np.mean(robust_spread) < np.mean(steep_spread)  # the classic method moves more with the noise


def test_the_curve_is_cut_where_it_diverged() -> None:
    curve = _curve()
    curve[100:] = np.inf
    assert divergence_index(curve) <= 100
    s = suggest(LRS, curve, "minimum/10", smooth=1.0)
    assert s.lr < LRS[100]
    blown = np.array([1.0] * 20 + [100.0] * 5)
    assert divergence_index(blown, smooth=0.5, threshold=4.0) == 20


def test_ema_is_bias_corrected() -> None:
    np.testing.assert_allclose(ema(np.full(10, 3.0), 0.05), 3.0)
    with pytest.raises(ValueError, match="smooth"):
        ema(np.ones(3), 0.0)


def test_errors() -> None:
    with pytest.raises(ValueError, match="method must be one of"):
        suggest(LRS, _curve(), "fastest")
    with pytest.raises(ValueError, match="too few points"):
        suggest(LRS[:3], _curve()[:3])
    with pytest.raises(ValueError, match="strictly increasing"):
        suggest(LRS[::-1], _curve())
    with pytest.raises(ValueError, match="one length"):
        suggest(LRS, _curve()[:-1])


def test_suggestion_is_a_value() -> None:
    s = Suggestion(1e-3, "robust", 5e-4, 2e-3, 3)
    assert s.band_decades == pytest.approx(np.log10(4))


def test_a_flat_curve_suggests_the_start_with_the_whole_range_as_its_band() -> None:
    with pytest.warns(RuntimeWarning, match=r"did not fall over the learning rates tried \(1e-06\.\.10\)"):
        s = suggest(LRS, np.ones_like(LRS))
    assert (s.lr, s.low, s.high) == (LRS[0], LRS[0], LRS[-1])  # never below what was tried; no confidence


def test_a_curve_still_falling_at_the_end_says_to_extend_the_range() -> None:
    falling = 2.0 - 1.5 / (1 + np.exp(-(X - 0.5) / 0.3))  # its descent runs past end_lr
    with pytest.warns(RuntimeWarning, match=r"still fell at the largest learning rate tried \(10\)") as caught:
        suggest(LRS, falling)
    assert caught[0].filename == __file__  # attributed to the caller
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        suggest(LRS, _curve())  # a curve with a minimum inside the range: no warning
