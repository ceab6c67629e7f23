"""Maximizing the acquisition function over a mixed box of continuous and discrete dimensions.

1. Score ``n_candidates`` scrambled-Sobol points, plus the best observed points and
   small perturbations of them (exploitation; cf. BoTorch's ``sample_around_best``).
2. Pick ``n_restarts`` starts: the best candidate, then Boltzmann draws on the
   standardized scores (BoTorch's ``initialize_q_batch``) so that starts spread over modes.
3. L-BFGS-B on the relaxed numerical dimensions, all starts in one problem (the sum
   of separable objectives), in coordinates scaled by the lengthscales so the problem
   is roughly isotropic (Optuna's preconditioning).
4. Round to the admissible levels, then coordinate search over the discrete
   dimensions (every category; nearby levels of integers), and polish the continuous
   dimensions again if anything moved.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.optimize
from scipy.stats import qmc

from tunesmith.samplers._gp.acquisition import Acquisition

__all__ = ["SearchBox", "maximize_acqf"]

_EXHAUSTIVE_LEVELS = 16  # search every level of a discrete dimension up to this many
_NEIGHBOUR_STEPS = np.array([-8, -4, -2, -1, 1, 2, 4, 8])
_PERTURBATION_SD = 0.05
_GTOL, _FTOL = 1e-3, 1e-9


@dataclass(frozen=True)
class SearchBox:
    """How each dimension of [0, 1]^d may move.

    Args:
        levels: per dimension, the sorted admissible unit values, or None (continuous).
        is_categorical: per dimension, whether distances are Hamming (categories).
        fixed: per dimension, a value it must take (a grid point), or NaN (free).
    """

    levels: tuple[np.ndarray | None, ...]
    is_categorical: np.ndarray
    fixed: np.ndarray

    @property
    def dim(self) -> int:
        return len(self.levels)

    @property
    def free(self) -> np.ndarray:
        return np.isnan(self.fixed)

    @property
    def relaxed(self) -> np.ndarray:
        """Dimensions a gradient method may move: free and numerical (integers relaxed)."""
        return np.flatnonzero(self.free & ~self.is_categorical)

    @property
    def continuous(self) -> np.ndarray:
        return np.flatnonzero(self.free & np.array([lv is None for lv in self.levels], dtype=bool))

    @property
    def discrete(self) -> np.ndarray:
        return np.flatnonzero(self.free & np.array([lv is not None for lv in self.levels], dtype=bool))

    def snap(self, x: np.ndarray) -> np.ndarray:
        """Round each discrete coordinate to its nearest level and set the fixed ones (a copy)."""
        x = np.clip(x, 0.0, 1.0)
        for j, lv in enumerate(self.levels):
            if not np.isnan(self.fixed[j]):
                x[:, j] = self.fixed[j]
            elif lv is not None:
                x[:, j] = lv[_nearest(lv, x[:, j])]
        return x


def _nearest(levels: np.ndarray, u: np.ndarray) -> np.ndarray:
    i = np.clip(np.searchsorted(levels, u), 1, max(len(levels) - 1, 1))
    if len(levels) == 1:
        return np.zeros(len(u), dtype=int)
    return np.where(np.abs(u - levels[i - 1]) <= np.abs(levels[i] - u), i - 1, i)


def maximize_acqf(
    acqf: Acquisition, box: SearchBox, rng: np.random.Generator, *,
    anchors: np.ndarray, n_candidates: int = 1024, n_restarts: int = 10, observed: np.ndarray | None = None,
    avoid: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """The best point found in ``box``; ``anchors`` are good observed points to search around.

    Points in ``observed`` are never returned while any other candidate is left: a
    deterministic objective gives nothing new there. (A model confident everywhere
    along the dimensions it finds irrelevant can put its maximum exactly on the
    incumbent, and would propose it again and again.)
    Nor are points within ``avoid = (centres, radii)``: inside the ellipsoid of
    per-dimension ``radii`` around any of the ``centres`` (rows in the unit cube).
    """
    candidates = box.snap(_candidates(box, rng, anchors, n_candidates))
    seen = _Seen(observed, avoid)
    scores = seen.mask(candidates, acqf(candidates))
    if not np.isfinite(scores).any():  # everything scored was evaluated before (a small discrete space)
        seen = _Seen(None)
        scores = acqf(candidates)
    starts = candidates[_pick_starts(scores, n_restarts, rng)]
    x, values = _ascend(acqf, starts, box.relaxed)
    x = box.snap(x)
    values = acqf(x)
    if len(box.discrete):
        x, values, moved = _coordinate_search(acqf, box, x, values)
        if moved and len(box.continuous):
            x, values = _ascend(acqf, x, box.continuous)
    values = seen.mask(x, values)
    i = int(np.argmax(values))
    if values[i] < scores.max():  # the optimiser never loses the best candidate
        return candidates[int(np.argmax(scores))]
    return x[i]


class _Seen:
    """Which points were evaluated already (equal to 9 decimals in the unit cube, after snapping)
    or lie in a neighbourhood to avoid."""

    def __init__(self, observed: np.ndarray | None, avoid: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        self.keys = set() if observed is None else {row.tobytes() for row in _rounded(observed)}
        self.avoid = avoid

    def mask(self, x: np.ndarray, values: np.ndarray) -> np.ndarray:
        """``values`` with -inf at the rows of ``x`` that were evaluated or are to be avoided."""
        if self.avoid is not None:
            centres, radius = self.avoid
            d2 = (((x[:, None, :] - centres[None, :, :]) / radius) ** 2).sum(-1)
            values = np.where((d2 < 1.0).any(axis=1), -np.inf, values)
        if not self.keys:
            return values
        hit = np.fromiter((row.tobytes() in self.keys for row in _rounded(x)), bool, len(x))
        return np.where(hit, -np.inf, values)


def _rounded(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.round(np.asarray(x, dtype=float), 9) + 0.0)  # + 0.0: no -0.0


def _candidates(box: SearchBox, rng: np.random.Generator, anchors: np.ndarray, n: int) -> np.ndarray:
    m = max(int(np.ceil(np.log2(max(n, 2)))), 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's balance warning does not apply to 2^m points
        sobol = qmc.Sobol(box.dim, scramble=True, rng=rng).random_base2(m)[:n]
    if len(anchors) == 0:
        return sobol
    # Gaussian steps around each anchor in the numerical dimensions; each category
    # re-drawn with probability 1/d, so that neighbours differ in about one of them.
    per_anchor = max(n // (8 * len(anchors)), 1)
    local = np.repeat(anchors, per_anchor, axis=0)
    num = ~box.is_categorical
    local[:, num] += _PERTURBATION_SD * rng.standard_normal((len(local), int(num.sum())))
    for j in np.flatnonzero(box.is_categorical):
        lv = box.levels[j]
        if lv is not None:
            flip = rng.random(len(local)) < 1.0 / box.dim
            local[flip, j] = rng.choice(lv, size=int(flip.sum()))
    return np.concatenate([sobol, anchors, local])


def _pick_starts(scores: np.ndarray, k: int, rng: np.random.Generator, eta: float = 2.0) -> np.ndarray:
    """The best index plus k - 1 others drawn with probability ∝ exp(η · standardized score)."""
    best = int(np.argmax(scores))
    k = min(k, len(scores))
    finite = np.isfinite(scores)  # -inf: evaluated before, never a start
    std = float(np.std(scores[finite]))
    z = (scores - scores.max()) / std if std > 0 else np.where(finite, 0.0, -np.inf)
    p = np.exp(eta * z)
    p[best] = 0.0
    nonzero = int(np.count_nonzero(p))
    if k <= 1 or nonzero == 0:
        return np.array([best])
    others = rng.choice(len(scores), size=min(k - 1, nonzero), replace=False, p=p / p.sum())
    return np.concatenate([[best], others])


def _ascend(
    acqf: Acquisition, x0: np.ndarray, dims: np.ndarray, max_iter: int = 100,
) -> tuple[np.ndarray, np.ndarray]:
    """L-BFGS-B over ``dims`` of every start at once (the sum of independent objectives)."""
    if len(dims) == 0:
        return x0, acqf(x0)
    n_starts, k = len(x0), len(dims)
    # Optimise z = x / ℓ: the acquisition depends on x only through x / ℓ.
    scale = np.minimum(acqf.gp.params.lengthscale[dims], 1.0)

    def neg_acqf(z: np.ndarray) -> tuple[float, np.ndarray]:
        x = x0.copy()
        x[:, dims] = z.reshape(n_starts, k) * scale
        values, grad = acqf.value_and_grad(x)
        return -float(values.sum()), -(grad[:, dims] * scale).ravel()

    res = scipy.optimize.minimize(
        neg_acqf, (x0[:, dims] / scale).ravel(), jac=True, method="L-BFGS-B",
        bounds=[(0.0, 1.0 / s) for s in scale] * n_starts,
        # Coarse tolerances (as Optuna's): a step of 1e-3 lengthscales changes nothing that matters.
        options={"maxiter": max_iter, "gtol": _GTOL, "ftol": _FTOL},
    )
    x = x0.copy()
    x[:, dims] = np.clip(res.x.reshape(n_starts, k) * scale, 0.0, 1.0)
    values = acqf(x)
    start_values = acqf(x0)
    worse = values < start_values  # a start the joint line search made worse keeps its point
    x[worse], values[worse] = x0[worse], start_values[worse]
    return x, values


def _coordinate_search(
    acqf: Acquisition, box: SearchBox, x: np.ndarray, values: np.ndarray, max_sweeps: int = 3,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Greedy moves along one discrete dimension at a time, all starts evaluated together."""
    moved = False
    for _ in range(max_sweeps):
        improved = False
        for j in box.discrete:
            lv = box.levels[j]
            assert lv is not None
            if len(lv) <= _EXHAUSTIVE_LEVELS or box.is_categorical[j]:
                options = np.broadcast_to(lv, (len(x), len(lv)))
            else:
                here = _nearest(lv, x[:, j])
                options = lv[np.clip(here[:, None] + _NEIGHBOUR_STEPS, 0, len(lv) - 1)]
            trial = np.repeat(x, options.shape[1], axis=0)
            trial[:, j] = options.ravel()
            scores = acqf(trial).reshape(len(x), options.shape[1])
            best = np.argmax(scores, axis=1)
            gain = scores[np.arange(len(x)), best] > values + 1e-12 * np.abs(values)
            if gain.any():
                x[gain, j] = options[gain, best[gain]]
                values[gain] = scores[gain, best[gain]]
                improved = moved = True
        if not improved:
            break
    return x, values, moved
