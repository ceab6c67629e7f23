"""The Parzen estimator behind TPE: a weighted mixture of kernels over the unit cube.

Numeric dimensions use Gaussians truncated to [0, 1]; categorical dimensions use a
smoothed one-hot kernel (Aitchison & Aitken, 1976). A component is one observation
(plus one broad *prior* component), and its kernels over all dimensions share the
component, which makes the estimator multivariate (Falkner et al., 2018; Watanabe,
2023, "Tree-structured Parzen estimator: understanding its algorithm components").
Bandwidths are per point and per dimension, the wider of the gaps to the neighbouring
observations (Bergstra et al., 2011), with a minimum (see :func:`_neighbour_gap_bandwidths`).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

__all__ = ["ParzenEstimator"]

_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


class ParzenEstimator:
    """A mixture over ``observations`` (n, d) in the unit cube.

    Args:
        observations: one row per component; categorical columns hold ``(index + 0.5) / C``.
        weights: one non-negative weight per observation.
        n_choices: per dimension, 0 for numeric or the number of categories.
        prior_weight: weight of the prior component (centre 0.5, sigma 1; uniform categories),
            relative to an average observation.
        min_bandwidth: per dimension, a floor on the bandwidth (e.g. the spacing of an
            integer parameter's values); 0 where none.
    """

    def __init__(
        self, observations: np.ndarray, weights: np.ndarray, n_choices: np.ndarray, prior_weight: float = 1.0,
        min_bandwidth: np.ndarray | None = None,
    ) -> None:
        n, d = observations.shape
        self.n_choices = n_choices
        self.numeric = n_choices == 0
        w = np.asarray(weights, dtype=float)
        w = w / w.mean() if n and w.sum() > 0 else np.ones(n)
        self.log_weights = np.log(np.append(w, prior_weight) / (w.sum() + prior_weight))
        m = n + 1
        self.mu = np.vstack([observations, np.full((1, d), 0.5)])
        self.sigma = np.ones((m, d))
        if n:
            self.sigma[:n] = _neighbour_gap_bandwidths(observations, m, min_bandwidth)
        # Categorical kernels: mass (1 - b) on the observed category, the rest spread evenly.
        self.index = np.minimum((self.mu * np.maximum(n_choices, 1)).astype(int), np.maximum(n_choices - 1, 0))
        self.smoothing = np.clip(1.0 / np.sqrt(m), 0.05, 0.5)
        # Normalising constants of the truncated Gaussians.
        # A kernel more than 8.5 sigma from both bounds has cdf_a = 0 and z = 1 to double
        # precision (ndtr(-8.5) < 1e-16), so only kernels near a bound need ndtr.
        a, b = (0.0 - self.mu) / self.sigma, (1.0 - self.mu) / self.sigma
        near = (a > -8.5) | (b < 8.5)
        self.cdf_a, self.z, self.log_z = np.zeros((m, d)), np.ones((m, d)), np.zeros((m, d))
        cdf_a = ndtr(a[near])
        z = np.maximum(ndtr(b[near]) - cdf_a, 1e-300)
        self.cdf_a[near], self.z[near], self.log_z[near] = cdf_a, z, np.log(z)
        # For log_pdf: sum_d -(x - mu)^2 / (2 sigma^2) = -x^2.P/2 + x.(mu P) - mu^2.P/2 with P = 1/sigma^2,
        # i.e. one matrix product [x^2, x] @ [-P/2, mu P]^T instead of a (k, m, d) array.
        num = self.numeric
        precision = 1.0 / self.sigma[:, num] ** 2
        mu_precision = self.mu[:, num] * precision
        self._quadratic = np.ascontiguousarray(np.hstack([-0.5 * precision, mu_precision]).T)  # (2 d_num, m)
        self._const = (
            -0.5 * (self.mu[:, num] * mu_precision).sum(axis=1)
            - (np.log(self.sigma[:, num]) + _LOG_SQRT_2PI + self.log_z[:, num]).sum(axis=1)
        )

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` points drawn from the mixture, shape (size, d)."""
        comp = rng.choice(len(self.log_weights), size=size, p=np.exp(self.log_weights))
        d = self.mu.shape[1]
        out = np.empty((size, d))
        # Numeric: inverse CDF within the truncation window (exact, no rejection).
        u = rng.random((size, d))
        p = self.cdf_a[comp] + u * self.z[comp]
        x = self.mu[comp] + self.sigma[comp] * ndtri(np.clip(p, 1e-12, 1 - 1e-12))
        out[:, self.numeric] = np.clip(x[:, self.numeric], 0.0, 1.0)
        prior = len(self.log_weights) - 1
        for j in np.flatnonzero(~self.numeric):
            c = int(self.n_choices[j])
            # Keep the component's category with probability 1 - b, else draw uniformly;
            # the prior component is uniform.
            keep = (rng.random(size) >= self.smoothing) & (comp != prior)
            k = np.where(keep, self.index[comp, j], rng.integers(c, size=size))
            out[:, j] = (k + 0.5) / c
        return out

    def log_pdf(self, x: np.ndarray) -> np.ndarray:
        """Log density of each row of ``x`` (k, d) under the mixture."""
        # (k, m, d) per-dimension log kernels, summed over d, log-sum-exp over components.
        num = self.numeric
        xn = x[:, num]
        log_k = np.hstack([xn**2, xn]) @ self._quadratic + self._const[None, :]
        b = self.smoothing
        for j in np.flatnonzero(~num):
            c = int(self.n_choices[j])
            k = np.minimum((x[:, j] * c).astype(int), c - 1)
            term = np.log(np.where(k[:, None] == self.index[None, :, j], 1.0 - b + b / c, b / c))
            term[:, -1] = -np.log(c)  # the prior component is uniform over categories
            log_k += term
        a = log_k + self.log_weights[None, :]
        top = a.max(axis=1, keepdims=True)
        return np.log(np.exp(a - top).sum(axis=1)) + top[:, 0]


def _neighbour_gap_bandwidths(
    observations: np.ndarray, n_components: int, min_bandwidth: np.ndarray | None = None,
) -> np.ndarray:
    """Per point and dimension, the wider of the gaps to its two neighbours (Bergstra et al., 2011).

    The outermost points take the gap to their inner neighbour only (the domain's ends
    are no neighbours: a point near a bound keeps a narrow kernel), a lone point the
    distance to the farther bound. Clipped below by ``1 / min(100, n_components + 1)``
    (the "magic clip" of TPE) or ``min_bandwidth``, whichever is wider, and above by 1.

    Not Scott's rule: a few good points spread out have a large standard deviation, and
    Scott's kernels then cover most of the cube; the gaps shrink where good points cluster.
    """
    n, d = observations.shape
    if n == 1:
        sigma = np.maximum(observations, 1.0 - observations)
    else:
        # Rank each dimension by a 16-bit key: numpy sorts those by radix, in O(n), faster
        # than a float argsort; points closer than 1 / 65535 (far below the magic clip)
        # may swap ranks, which only changes gaps under the clip.
        xt = np.ascontiguousarray(observations.T)
        order = np.argsort((xt * 65535.0).astype(np.uint16), axis=1, kind="stable")
        gaps = np.abs(np.diff(np.take_along_axis(xt, order, axis=1), axis=1))  # (d, n - 1)
        ranked_sigma = np.empty((d, n))
        ranked_sigma[:, 0], ranked_sigma[:, -1] = gaps[:, 0], gaps[:, -1]
        np.maximum(gaps[:, :-1], gaps[:, 1:], out=ranked_sigma[:, 1:-1])
        sigma_t = np.empty((d, n))
        sigma_t[np.arange(d)[:, None], order] = ranked_sigma
        sigma = sigma_t.T
    low = np.full(d, 1.0 / min(100, n_components + 1))
    if min_bandwidth is not None:
        low = np.maximum(low, min_bandwidth)
    return np.clip(sigma, low, 1.0)
