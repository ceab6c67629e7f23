"""Log expected improvement, computed without underflow (Ament et al. 2023).

For minimization with incumbent ``best`` and posterior N(μ, σ²) at x,

    EI(x) = σ h(z),   z = (best - μ) / σ,   h(z) = φ(z) + z Φ(z).

EI underflows to exactly 0 (and so does its gradient) once z < -38 or so, which
stalls gradient-based acquisition optimisation wherever the model is confident.
"Unexpected Improvements to Expected Improvement for Bayesian Optimization" (Ament,
Daulton, Eriksson, Balandat & Bakshy, NeurIPS 2023) computes log h directly (their Eq. 9):

    log h(z) = log(φ(z) + z Φ(z))                                      if z > -1
             = -z²/2 - log√(2π) + log1mexp(log(erfcx(-z/√2) |z|) + log√(π/2))
                                                                      if -1/√ε < z ≤ -1
             = -z²/2 - log√(2π) - 2 log|z|                             otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from scipy.special import erfcx, log_ndtr, ndtr

from tunesmith.samplers._gp.model import GaussianProcess

__all__ = [
    "Acquisition",
    "ConstrainedLogEI",
    "LogExpectedImprovement",
    "LogProbabilityOfFeasibility",
    "log_ei",
    "log_h",
    "log_h_grad",
]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_LOG_SQRT_HALF_PI = 0.5 * math.log(0.5 * math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_ASYMPTOTIC_Z = -1.0 / math.sqrt(np.finfo(np.float64).eps)


def _log1mexp(a: np.ndarray) -> np.ndarray:
    """log(1 - exp(a)) for a < 0 (Mächler 2012: two branches around -log 2)."""
    return np.where(a > -math.log(2.0), np.log(-np.expm1(a)), np.log1p(-np.exp(a)))


def log_h(z: np.ndarray) -> np.ndarray:
    """log(φ(z) + z Φ(z)), finite for every finite z."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    upper = z > -1.0
    zu = z[upper]
    out[upper] = np.log(zu * ndtr(zu) + np.exp(-0.5 * zu * zu) * _INV_SQRT_2PI)
    mid = ~upper & (z > _ASYMPTOTIC_Z)
    zm = z[mid]
    out[mid] = -0.5 * zm * zm - _LOG_SQRT_2PI + _log1mexp(
        np.log(erfcx(-zm / math.sqrt(2.0)) * np.abs(zm)) + _LOG_SQRT_HALF_PI
    )
    far = ~upper & ~mid
    zf = z[far]
    out[far] = -0.5 * zf * zf - _LOG_SQRT_2PI - 2.0 * np.log(np.abs(zf))
    return out


def log_h_grad(z: np.ndarray, log_h_z: np.ndarray) -> np.ndarray:
    """d log h / dz = Φ(z) / h(z), as exp(log Φ(z) - log h(z)) so that neither underflows."""
    return np.exp(log_ndtr(z) - log_h_z)


def log_ei(mean: np.ndarray, var: np.ndarray, best: float) -> np.ndarray:
    """log E[max(0, best - f)] for f ~ N(mean, var) (minimization)."""
    sigma = np.sqrt(var)
    return log_h((best - mean) / sigma) + np.log(sigma)


class LogExpectedImprovement:
    """LogEI of a fitted :class:`GaussianProcess` below ``best``, with its gradient in x."""

    def __init__(self, gp: GaussianProcess, best: float) -> None:
        self.gp = gp
        self.best = best

    def __call__(self, x: np.ndarray) -> np.ndarray:
        mean, var = self.gp.posterior(x)
        return log_ei(mean, var, self.best)

    def value_and_grad(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(m,) values and (m, d) gradients.

        With σ' = σ²'/2σ and z' = -μ'/σ - z σ'/σ:  (log EI)' = (log h)'(z) z' + σ'/σ.
        """
        mean, var, d_mean, d_var = self.gp.posterior_grad(x)
        sigma = np.sqrt(var)
        z = (self.best - mean) / sigma
        lh = log_h(z)
        d_sigma_over_sigma = (0.5 * d_var / var[:, None])
        dz = -d_mean / sigma[:, None] - z[:, None] * d_sigma_over_sigma
        grad = log_h_grad(z, lh)[:, None] * dz + d_sigma_over_sigma
        return lh + np.log(sigma), grad


class Acquisition(Protocol):
    """What the optimiser maximises: values and gradients in x; ``gp`` (the objective's) scales its steps."""

    gp: GaussianProcess

    def __call__(self, x: np.ndarray) -> np.ndarray: ...

    def value_and_grad(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


class LogProbabilityOfFeasibility:
    """log P(c(x) <= threshold) = log Φ((threshold - μ) / σ) for one constraint's GP (Gardner et al. 2014)."""

    def __init__(self, gp: GaussianProcess, threshold: float) -> None:
        self.gp = gp
        self.threshold = threshold

    def __call__(self, x: np.ndarray) -> np.ndarray:
        mean, var = self.gp.posterior(x)
        return np.asarray(log_ndtr((self.threshold - mean) / np.sqrt(var)))

    def value_and_grad(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(log Φ)'(z) = φ(z) / Φ(z), as exp(log φ(z) - log Φ(z)); z' = -μ'/σ - z σ'/σ."""
        mean, var, d_mean, d_var = self.gp.posterior_grad(x)
        sigma = np.sqrt(var)
        z = (self.threshold - mean) / sigma
        log_cdf = log_ndtr(z)
        d_sigma_over_sigma = 0.5 * d_var / var[:, None]
        dz = -d_mean / sigma[:, None] - z[:, None] * d_sigma_over_sigma
        ratio = np.exp(-0.5 * z * z - _LOG_SQRT_2PI - log_cdf)
        return log_cdf, ratio[:, None] * dz


class ConstrainedLogEI:
    """log(EI(x) · Π_j P(c_j(x) <= 0)): LogEI below the best *feasible* value plus each
    constraint's log probability of feasibility (Gardner et al. 2014, "Bayesian optimization
    with inequality constraints"; Optuna's GPSampler). Without a feasible trial yet, ``objective``
    is None and only feasibility is sought.
    """

    def __init__(
        self, gp: GaussianProcess, objective: LogExpectedImprovement | None,
        constraints: Sequence[LogProbabilityOfFeasibility],
    ) -> None:
        self.gp = gp
        self.objective = objective
        self.constraints = list(constraints)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        total = self.objective(x) if self.objective is not None else np.zeros(len(x))
        for c in self.constraints:
            total = total + c(x)
        return total

    def value_and_grad(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.objective is not None:
            value, grad = self.objective.value_and_grad(x)
        else:
            value, grad = np.zeros(len(x)), np.zeros(x.shape)
        for c in self.constraints:
            v, g = c.value_and_grad(x)
            value, grad = value + v, grad + g
        return value, grad
