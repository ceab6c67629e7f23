"""Robust statistics for noisy learning curves: rolling medians, MAD noise, windowed slopes.

Every estimate here tolerates a few wild points (a spike, a bad batch): medians rather
than means, and a noise scale from the median absolute second difference, which a
smooth trend barely moves.

>>> import numpy as np
>>> x = np.array([5.0, 4.0, 3.0, 30.0, 1.0, 0.0])
>>> rolling_median(x, 3).tolist()
[5.0, 4.0, 4.0, 3.0, 1.0, 0.0]
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

__all__ = [
    "Line", "fit_line", "neighbour_median", "noise_sigma", "rolling_median", "smoothing_window",
]

#: MAD of a normal sample times this is its standard deviation
MAD_TO_SIGMA = 1.4826


def smoothing_window(n: int) -> int:
    """An odd rolling-median window for ``n`` points: 3 for short curves, up to 9 for long ones."""
    w = max(3, min(9, n // 10))
    return w if w % 2 else w + 1


def rolling_median(x: np.ndarray, window: int) -> np.ndarray:
    """Centered rolling median; near the ends the window shrinks symmetrically (the first and
    last points are their own median), so a monotone trend comes through unchanged."""
    n = len(x)
    half = window // 2
    out = np.array(x, dtype=float)
    if n >= 2 * half + 1 and half > 0:
        out[half:n - half] = np.median(np.lib.stride_tricks.sliding_window_view(x, 2 * half + 1), axis=1)
    for i in range(min(half, n)):
        for j in (i, n - 1 - i):
            h = min(half, j, n - 1 - j)
            out[j] = float(np.median(x[j - h:j + h + 1]))
    return out


def neighbour_median(x: np.ndarray, window: int) -> np.ndarray:
    """For each point, the median of the others in its centered window (shrinking symmetrically
    near the ends; an end point is its own): the level a spike stands out from."""
    n = len(x)
    half = window // 2
    out = np.array(x, dtype=float)
    if n >= 2 * half + 1 and half > 0:
        view = np.lib.stride_tricks.sliding_window_view(x, 2 * half + 1)
        out[half:n - half] = np.median(np.delete(view, half, axis=1), axis=1)
    for i in range(min(half, n)):
        for j in (i, n - 1 - i):
            h = min(half, j, n - 1 - j)
            if h > 0:
                out[j] = float(np.median(np.concatenate([x[j - h:j], x[j + 1:j + h + 1]])))
    return out


def noise_sigma(x: np.ndarray) -> float:
    """Standard deviation of the step-to-step noise of ``x`` around its trend.

    From the median absolute second difference: for i.i.d. noise of deviation s, the
    second difference has deviation s*sqrt(6), while a smooth trend contributes only its
    curvature. Short curves (< 4 points) use first differences.
    """
    x = x[np.isfinite(x)]
    if len(x) >= 4:
        d = x[:-2] - 2 * x[1:-1] + x[2:]
        return float(MAD_TO_SIGMA * np.median(np.abs(d)) / math.sqrt(6))
    if len(x) >= 2:
        return float(MAD_TO_SIGMA * np.median(np.abs(np.diff(x))) / math.sqrt(2))
    return 0.0


class Line(NamedTuple):
    """A least-squares line through ``(t, x)``: slope per step, its standard error, span of t."""

    slope: float
    se: float
    span: float

    @property
    def t(self) -> float:
        """Slope over its standard error (0 when the error is 0 and the slope too)."""
        if self.se > 0:
            return self.slope / self.se
        return 0.0 if self.slope == 0 else math.copysign(math.inf, self.slope)

    @property
    def change(self) -> float:
        """How much the line moves over the fitted span."""
        return self.slope * self.span


def fit_line(t: np.ndarray, x: np.ndarray, noise: float = 0.0) -> Line:
    """Least-squares slope of ``x`` over ``t`` with a standard error that is never below what
    noise of deviation ``noise`` alone would give (few points make residuals look too small)."""
    n = len(t)
    if n < 2:
        return Line(0.0, math.inf, 0.0)
    tc = t - t.mean()
    sxx = float(np.dot(tc, tc))
    if sxx == 0:
        return Line(0.0, math.inf, 0.0)
    slope = float(np.dot(tc, x - x.mean()) / sxx)
    if n > 2:
        resid = x - x.mean() - slope * tc
        s = math.sqrt(float(np.dot(resid, resid)) / (n - 2))
    else:
        s = 0.0
    return Line(slope, max(s, noise) / math.sqrt(sxx), float(t[-1] - t[0]))
