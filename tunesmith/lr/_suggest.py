"""Learning-rate suggestions from a range-test curve (loss against an increasing learning rate).

Four methods, all on the part of the curve before it diverged:

- ``"steepest"``: the learning rate where the (exponentially smoothed) loss falls fastest
  against ``log(lr)``, the first and last points skipped (torch-lr-finder's and Lightning's
  default). One noisy dip moves it by decades (torch-lr-finder #106, Lightning #1767, #21141).
- ``"minimum/10"``: a tenth of the learning rate at the smoothed curve's minimum (fastai's
  ``minimum``; Smith's rule of thumb).
- ``"valley"``: the middle of the longest descending run of the curve (fastai's default).
- ``"robust"`` (the default): half the learning rate at the minimum of a robustly smoothed
  curve, Smith's rule that "the optimum learning rate is usually within a factor of two of the
  largest one that converges" (Smith 2017, section 3.3). The smoothing, in ``log10(lr)``, is a
  running median over 5% of the points and then a local linear fit (tricube weights, a quarter
  of a decade either side), so a few noisy points or one dip cannot move the minimum far. A
  wild block bootstrap of the fit's residuals gives the confidence band (10th-90th percentile).

>>> import numpy as np
>>> lrs = np.logspace(-6, 1, 100)
>>> x = np.log10(lrs)
>>> losses = 2.0 - 1.5 / (1 + np.exp(-(x + 3) * 3)) + np.exp(3 * (x - 0.2))
>>> [round(float(np.log10(suggest(lrs, losses, method=m).lr)), 1) for m in ("robust", "steepest")]
[-1.6, -2.5]
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType

import numpy as np

__all__ = ["METHODS", "Suggestion", "divergence_index", "ema", "suggest"]

METHODS = ("robust", "steepest", "minimum/10", "valley")


@dataclass(frozen=True)
class Suggestion:
    """A suggested learning rate with the method that chose it and a confidence band.

    Attributes:
        lr: the suggested learning rate.
        method: the method's name (one of :data:`METHODS`).
        low, high: the band of learning rates the method's choice is uncertain within (the 10th
            and 90th percentiles over a residual bootstrap for ``"robust"``; for the other methods
            the learning rates where the same criterion is within 10% of its best value).
        index: the position of ``lr`` in the curve (the nearest point for a derived one).
    """

    lr: float
    method: str
    low: float
    high: float
    index: int

    @property
    def band_decades(self) -> float:
        """Width of the band in decades (``log10(high / low)``)."""
        return math.log10(self.high / self.low)


def ema(losses: np.ndarray, smooth: float) -> np.ndarray:
    """Exponential moving average with bias correction (``smooth`` = weight of the newest point)."""
    if not 0.0 < smooth <= 1.0:
        raise ValueError(f"smooth must be in (0, 1], got {smooth}")
    out = np.empty(len(losses))
    avg = 0.0
    beta = 1.0 - smooth
    for i, loss in enumerate(losses):
        avg = beta * avg + smooth * float(loss)
        out[i] = avg / (1.0 - beta ** (i + 1))
    return out


def divergence_index(losses: np.ndarray, smooth: float = 0.05, threshold: float = 4.0) -> int:
    """Number of leading points to keep: up to (excluding) the first non-finite loss or the first point
    whose smoothed loss exceeds ``threshold`` times the lowest smoothed loss so far."""
    finite = np.isfinite(losses)
    end = int(np.argmin(finite)) if not finite.all() else len(losses)
    if end == 0:
        return 0
    sm = ema(losses[:end], smooth)
    best = np.minimum.accumulate(sm)
    over = sm > threshold * best
    return int(np.argmax(over)) if over.any() else end


def _tricube_fit(x: np.ndarray, y: np.ndarray, half_width: float) -> tuple[np.ndarray, np.ndarray]:
    """Local linear regression (tricube kernel) at every ``x``: smoothed values and slopes."""
    d = (x[None, :] - x[:, None]) / half_width
    w = np.clip(1.0 - np.abs(d) ** 3, 0.0, None) ** 3
    sw = w.sum(1)
    mx = (w * x[None, :]).sum(1) / sw
    my = (w * y[None, :]).sum(1) / sw
    dx = x[None, :] - mx[:, None]
    sxx = (w * dx**2).sum(1)
    sxy = (w * dx * (y[None, :] - my[:, None])).sum(1)
    slope = np.where(sxx > 1e-12, sxy / np.maximum(sxx, 1e-12), 0.0)
    return my + slope * (x - mx), slope


def _running_median(y: np.ndarray, k: int) -> np.ndarray:
    if k <= 1:
        return y.copy()
    half = k // 2
    padded = np.pad(y, half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    return np.median(windows, axis=1)


def _robust_smooth(x: np.ndarray, y: np.ndarray, half_width: float) -> tuple[np.ndarray, np.ndarray]:
    k = max(1, round(0.05 * len(y)) | 1)  # odd, 5% of the points
    return _tricube_fit(x, _running_median(y, k), half_width)


def _robust_choice(x: np.ndarray, smoothed: np.ndarray) -> float:
    """log10 of the robust suggestion: half the learning rate at the smoothed curve's minimum."""
    return float(x[int(np.argmin(smoothed))]) - math.log10(2.0)


def _band(values: np.ndarray, ok: np.ndarray, lrs: np.ndarray) -> tuple[float, float]:
    idx = np.flatnonzero(ok)
    return float(lrs[idx.min()]), float(lrs[idx.max()])


def suggest(
    lrs: Sequence[float] | np.ndarray, losses: Sequence[float] | np.ndarray, method: str = "robust", *,
    smooth: float = 0.05, diverge_threshold: float = 4.0, seed: int = 0,
) -> Suggestion:
    """Suggest a learning rate from a range test's curve (``lrs`` increasing, raw ``losses``).

    The curve is cut where it diverged (first non-finite loss, or the smoothed loss above
    ``diverge_threshold`` times its lowest value); ``smooth`` is the weight of the newest point
    in the exponential moving average the classic methods use. ``seed`` seeds the bootstrap of
    ``"robust"``'s band.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}")
    lr_arr = np.asarray(lrs, dtype=float)
    loss_arr = np.asarray(losses, dtype=float)
    if lr_arr.shape != loss_arr.shape or lr_arr.ndim != 1:
        raise ValueError(f"lrs and losses must be 1-d of one length, got {lr_arr.shape} and {loss_arr.shape}")
    if np.any(lr_arr <= 0) or np.any(np.diff(lr_arr) <= 0):
        raise ValueError("lrs must be positive and strictly increasing")
    end = divergence_index(loss_arr, smooth, diverge_threshold)
    if end < 5:
        raise ValueError(f"too few points before the curve diverged to suggest a learning rate: {end} (need 5)")
    lr_arr, loss_arr = lr_arr[:end], loss_arr[:end]
    x = np.log10(lr_arr)
    n = len(x)
    if method == "robust":
        return _suggest_robust(lr_arr, x, loss_arr, seed)
    sm = ema(loss_arr, smooth)
    if method == "steepest":
        skip_start, skip_end = min(max(1, n // 10), n - 3), max(1, n // 20)
        inner = np.arange(skip_start, n - skip_end)
        grad = np.gradient(sm, x)[inner]
        best = int(np.argmin(grad))
        ok = np.zeros(n, bool)
        ok[inner] = grad <= 0.9 * grad[best] if grad[best] < 0 else grad == grad[best]
        low, high = _band(grad, ok, lr_arr)
        i = int(inner[best])
        return Suggestion(float(lr_arr[i]), method, low, high, i)
    if method == "minimum/10":
        i_min = int(np.argmin(sm))
        lr = float(lr_arr[i_min]) / 10.0
        near = sm <= sm[i_min] + 0.1 * (sm.max() - sm[i_min])
        low, high = _band(sm, near, lr_arr)
        return Suggestion(lr, method, low / 10.0, high / 10.0, int(np.argmin(np.abs(x - math.log10(lr)))))
    # valley (fastai's): the longest decreasing (not necessarily contiguous) subsequence of the smoothed
    # loss ends at j_end; the run is taken as the j_end - length points before it, the suggestion half-way.
    length = np.ones(n, int)
    j_end = 0
    for j in range(1, n):
        prev = np.flatnonzero(sm[:j] > sm[j])
        if len(prev):
            length[j] = int(length[prev].max()) + 1
        if length[j] > length[j_end]:
            j_end = j
    j_start = max(0, j_end - int(length[j_end]))
    sections = (j_end - j_start) / 3
    i = min(n - 1, j_start + int(sections) + int(sections / 2))
    return Suggestion(float(lr_arr[i]), "valley", float(lr_arr[j_start]), float(lr_arr[j_end]), i)


def _warn(message: str) -> None:
    """A RuntimeWarning attributed to the first caller outside ``tunesmith.lr``."""
    here = os.path.dirname(os.path.abspath(__file__))
    frame: FrameType | None = sys._getframe(1)
    level = 2  # stacklevel 2: the caller of _warn
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == here:
        frame, level = frame.f_back, level + 1
    warnings.warn(message, RuntimeWarning, stacklevel=level)


def _suggest_robust(lrs: np.ndarray, x: np.ndarray, y: np.ndarray, seed: int) -> Suggestion:
    half_width = 0.25
    if x[-1] - x[0] < 4 * half_width:  # a narrow range test: a quarter of it either side
        half_width = max((x[-1] - x[0]) / 4, 1e-6)
    smoothed, _ = _robust_smooth(x, y, half_width)
    i_min = int(np.argmin(smoothed))
    if i_min == 0:  # nothing to read: the whole range is the band
        _warn(
            f"the loss did not fall over the learning rates tried ({lrs[0]:.3g}..{lrs[-1]:.3g}), so the curve "
            "suggests no rate: start the range lower (start_lr) or check that the step trains"
        )
        return Suggestion(float(lrs[0]), "robust", float(lrs[0]), float(lrs[-1]), 0)
    if i_min == len(x) - 1:
        _warn(
            f"the loss still fell at the largest learning rate tried ({lrs[-1]:.3g}): the suggestion may be "
            "too low; extend the range (end_lr)"
        )
    choice = _robust_choice(x, smoothed)
    # Wild block bootstrap: refit on smoothed + residuals whose signs flip per block of 5. Each residual
    # stays where it was, so the large ones of the steep part are not moved into the flat part (where
    # they would make minima the curve does not have); the blocks keep the noise's correlation.
    rng = np.random.default_rng(seed)
    resid = y - smoothed
    n = len(y)
    block = min(5, n)
    picks = []
    for _ in range(40):
        signs = np.repeat(rng.choice((-1.0, 1.0), size=math.ceil(n / block)), block)[:n]
        sm_b, _ = _robust_smooth(x, smoothed + signs * resid, half_width)
        picks.append(_robust_choice(x, sm_b))
    lo, hi = np.percentile(picks, [10, 90])
    lo, hi = min(lo, choice), max(hi, choice)
    lr = 10.0**choice
    return Suggestion(float(lr), "robust", float(10.0**lo), float(10.0**hi), int(np.argmin(np.abs(x - choice))))
