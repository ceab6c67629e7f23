"""The Parzen estimator behind TPE: a weighted mixture of kernels over the unit cube.

Numeric dimensions use Gaussians truncated to [0, 1]; categorical dimensions use a
smoothed one-hot kernel (Aitchison & Aitken, 1976). A component is one observation
(plus one broad *prior* component), and its kernels over all dimensions share the
component, which makes the estimator multivariate (Falkner et al., 2018; Watanabe,
2023, "Tree-structured Parzen estimator: understanding its algorithm components").
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
    """

    def __init__(
        self, observations: np.ndarray, weights: np.ndarray, n_choices: np.ndarray, prior_weight: float = 1.0,
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
            self.sigma[:n] = _scott_bandwidths(observations, m)
        # Categorical kernels: mass (1 - b) on the observed category, the rest spread evenly.
        self.index = np.minimum((self.mu * np.maximum(n_choices, 1)).astype(int), np.maximum(n_choices - 1, 0))
        self.smoothing = np.clip(1.0 / np.sqrt(m), 0.05, 0.5)
        # Normalising constants of the truncated Gaussians.
        a, b = (0.0 - self.mu) / self.sigma, (1.0 - self.mu) / self.sigma
        self.cdf_a = ndtr(a)
        self.log_z = np.log(np.maximum(ndtr(b) - self.cdf_a, 1e-300))
        self.z = np.exp(self.log_z)
        # For log_pdf: sum_d -(x - mu)^2 / (2 sigma^2) = -x^2.P/2 + x.(mu P) - mu^2.P/2 with P = 1/sigma^2,
        # i.e. two small matrix products instead of a (k, m, d) array.
        num = self.numeric
        self._precision = 1.0 / self.sigma[:, num] ** 2
        self._mu_precision = self.mu[:, num] * self._precision
        self._const = (
            -0.5 * (self.mu[:, num] ** 2 * self._precision).sum(axis=1)
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
        log_k = -0.5 * (xn**2) @ self._precision.T + xn @ self._mu_precision.T + self._const[None, :]
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


def _scott_bandwidths(observations: np.ndarray, n_components: int) -> np.ndarray:
    """Bandwidths by Scott's rule, one per dimension: 1.059 * std * n^(-1 / (d + 4)).

    Clipped below by 1 / min(100, n_components) (the "magic clip" of TPE) and above by 1.
    For the multivariate kernel this beat per-point neighbour gaps clearly here (median
    best of 4 seeds after 100 trials, Rosenbrock-10: 4216 against 8257; Ackley-10: 13.3
    against 17.6; Branin: 0.413 against 0.430): in 10 dimensions the gaps between a few
    good points are wide in every direction and the kernel explores too much.
    """
    n, d = observations.shape
    std = observations.std(axis=0) if n > 1 else np.zeros(d)
    sigma = 1.059 * std * n ** (-1.0 / (d + 4))
    return np.clip(np.broadcast_to(sigma, (n, d)), 1.0 / min(100, n_components), 1.0)
