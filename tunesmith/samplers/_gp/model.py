"""Gaussian-process regression: MAP hyperparameters, posterior, incremental conditioning.

Notation (Rasmussen & Williams 2006, ch. 2): ``K = s² M + σ²ₙ I`` is the covariance of
the observations y at the training inputs X, ``L`` its Cholesky factor, and

    α = K⁻¹ y,   μ(x) = k(x)ᵀ α,   σ²(x) = s² - k(x)ᵀ K⁻¹ k(x)          (Eqs. 2.25-2.26)

We keep ``L⁻¹`` rather than ``L``: the variance of m points is then one matrix product
``|k(x)ᵀ L⁻ᵀ|²`` (faster than m triangular solves), and appending observations
(running trials as fantasies, new trials between refits) only extends ``L⁻¹`` by a
block, in O(n² r) instead of refactoring in O(n³).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.stats
from scipy.linalg import lapack
from scipy.spatial.distance import squareform

from tunesmith.samplers._gp.kernel import matern52, matern52_grad, pairwise_sq_diffs, sq_dist

__all__ = ["GaussianProcess", "KernelParams", "fit_kernel_params", "standardize", "warp_outputs"]

MIN_NOISE = 1e-6  # a floor on σ²ₙ (standardized units): keeps K well conditioned
_LOG_2PI = math.log(2.0 * math.pi)
# Priors. Lengthscales: log p = -a (ℓ² + 1/ℓ²), a = 0.1, the same in every dimension (the
# shape of Optuna's GPSampler prior, there written in 1/ℓ²): mode ℓ = 1, and a wall that
# costs -10 in log density at ℓ = 0.1 or 10, so a few points never write a dimension off
# as irrelevant (ℓ → ∞, no variance left along it, and the search keeps evaluating the
# incumbent). Not scaled with d: see benchmarks/RESULTS.md, "Why the samplers are built
# as they are".
_LS_RATE = 0.1
# Signal and noise variances of the standardized outputs: Gamma(2, 1) (mode at s² = 1)
# and Gamma(1.1, 30), which allows near-noiseless fits of deterministic objectives.
_SIGNAL_SHAPE, _SIGNAL_RATE = 2.0, 1.0
_NOISE_SHAPE, _NOISE_RATE = 1.1, 30.0
_FIT_GTOL = 1e-4
_BOUNDS_LOG_LS = (math.log(1e-3), math.log(1e3))
_BOUNDS_LOG_SIGNAL = (math.log(1e-3), math.log(1e3))
_BOUNDS_LOG_NOISE = (math.log(1e-9), math.log(10.0))


@dataclass(frozen=True)
class KernelParams:
    """Hyperparameters: ``lengthscale`` (d,), ``signal_var`` s², ``noise_var`` σ²ₙ."""

    lengthscale: np.ndarray
    signal_var: float
    noise_var: float

    @classmethod
    def default(cls, dim: int) -> KernelParams:
        """The prior's mode: ℓ = 1, s² = 1, small noise."""
        return cls(np.ones(dim), 1.0, 1e-3)

    def to_raw(self) -> np.ndarray:
        """θ = (log ℓ, log s², log(σ²ₙ - MIN_NOISE)): unconstrained for L-BFGS-B."""
        raw_noise = math.log(max(self.noise_var - MIN_NOISE, 1e-9))
        return np.concatenate([np.log(self.lengthscale), [math.log(self.signal_var), raw_noise]])

    @classmethod
    def from_raw(cls, theta: np.ndarray) -> KernelParams:
        return cls(np.exp(theta[:-2]), math.exp(theta[-2]), MIN_NOISE + math.exp(theta[-1]))


def _log_prior(theta: np.ndarray) -> tuple[float, np.ndarray]:
    """log p(θ) up to a constant, and its gradient; the variances' densities taken in (s², σ²ₙ), as GPyTorch does."""
    log_ls, log_s2, raw_noise = theta[:-2], theta[-2], theta[-1]
    # -a (ℓ² + ℓ⁻²), with ℓ² = exp(2 log ℓ)
    up, down = np.exp(2.0 * log_ls), np.exp(-2.0 * log_ls)
    lp = -_LS_RATE * float(np.sum(up + down))
    grad = np.empty_like(theta)
    grad[:-2] = -2.0 * _LS_RATE * (up - down)
    # Gamma(a, b) on a variance v: (a - 1) log v - b v
    s2 = math.exp(log_s2)
    lp += (_SIGNAL_SHAPE - 1.0) * log_s2 - _SIGNAL_RATE * s2
    grad[-2] = (_SIGNAL_SHAPE - 1.0) - _SIGNAL_RATE * s2
    excess = math.exp(raw_noise)
    noise = MIN_NOISE + excess
    lp += (_NOISE_SHAPE - 1.0) * math.log(noise) - _NOISE_RATE * noise
    grad[-1] = ((_NOISE_SHAPE - 1.0) / noise - _NOISE_RATE) * excess
    return lp, grad


def _neg_log_posterior(
    theta: np.ndarray, diffs: np.ndarray, y: np.ndarray, pairs: tuple[np.ndarray, np.ndarray],
) -> tuple[float, np.ndarray]:
    """-log p(y | X, θ) - log p(θ) and its gradient (R&W Eqs. 2.30 and 5.9).

    With W = ααᵀ - K⁻¹, ∂ log p(y | θ) / ∂θ = ½ tr(W ∂K/∂θ), where
    ∂K/∂log ℓ_j = s² m'(r²) · (-2 D_j / ℓ_j²) for the per-dimension terms D_j of r²,
    ∂K/∂log s² = s² M, and ∂K/∂θ_noise = (σ²ₙ - MIN_NOISE) I.
    """
    n = len(y)
    params = KernelParams.from_raw(theta)
    inv_ls2 = params.lengthscale**-2.0
    r2 = diffs @ inv_ls2  # condensed: pairs i < j
    m, dm = matern52(r2), matern52_grad(r2)
    K = squareform(params.signal_var * m)
    K[np.diag_indices(n)] = params.signal_var + params.noise_var
    try:
        L = scipy.linalg.cholesky(K, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return 1e25, np.zeros_like(theta)  # L-BFGS-B backtracks from here
    alpha = scipy.linalg.cho_solve((L, True), y, check_finite=False)
    k_inv, info = lapack.dpotri(L, lower=1)  # lower triangle of K⁻¹
    if info != 0:
        return 1e25, np.zeros_like(theta)
    nll = 0.5 * float(y @ alpha) + float(np.sum(np.log(np.diag(L)))) + 0.5 * n * _LOG_2PI
    i, j = pairs
    w_pairs = alpha[i] * alpha[j] - k_inv[j, i]  # W on the pairs i < j (K⁻¹ read from its lower half)
    w_trace = float(alpha @ alpha - np.trace(k_inv))
    grad = np.empty_like(theta)
    # ½ tr(W ∂K/∂log ℓ) summed over both halves of the symmetric matrix (the diagonal has D = 0).
    grad[:-2] = 2.0 * params.signal_var * inv_ls2 * ((w_pairs * dm) @ diffs)
    grad[-2] = -0.5 * params.signal_var * (2.0 * float(w_pairs @ m) + w_trace)
    grad[-1] = -0.5 * w_trace * (params.noise_var - MIN_NOISE)
    lp, lp_grad = _log_prior(theta)
    return nll - lp, grad - lp_grad


def fit_kernel_params(
    X: np.ndarray, y: np.ndarray, is_categorical: np.ndarray, init: KernelParams | None = None,
    *, max_iter: int = 200,
) -> KernelParams:
    """MAP hyperparameters by L-BFGS-B with the analytic gradient, started at ``init`` (a warm start)."""
    dim = X.shape[1]
    diffs = pairwise_sq_diffs(X, is_categorical)
    pairs = np.triu_indices(len(X), k=1)
    bounds = [_BOUNDS_LOG_LS] * dim + [_BOUNDS_LOG_SIGNAL, _BOUNDS_LOG_NOISE]
    lo, hi = np.array(bounds).T
    best: KernelParams | None = None
    best_value = math.inf
    # A warm start can sit in a poor basin after the data changed: the prior's mode is the fallback.
    for start in ([init] if init is not None else []) + [KernelParams.default(dim)]:
        theta0 = np.clip(start.to_raw(), lo, hi)
        res = scipy.optimize.minimize(
            _neg_log_posterior, theta0, args=(diffs, y, pairs), jac=True, method="L-BFGS-B",
            bounds=bounds, options={"maxiter": max_iter, "gtol": _FIT_GTOL},
        )
        if np.all(np.isfinite(res.x)) and res.fun < best_value:
            best, best_value = KernelParams.from_raw(res.x), float(res.fun)
        if best is not None and res.fun < 1e24:
            break
    return best if best is not None else KernelParams.default(dim)


class GaussianProcess:
    """A zero-mean GP posterior given (X, y) and fixed kernel parameters.

    Build one with :meth:`fit`; :meth:`condition_on` appends observations and
    :meth:`with_targets` swaps y (same X) without refactoring.
    """

    def __init__(
        self, X: np.ndarray, y: np.ndarray, params: KernelParams, is_categorical: np.ndarray,
        chol_inv: np.ndarray,
    ) -> None:
        self.X = X
        self.y = y
        self.params = params
        self.is_categorical = is_categorical
        self.chol_inv = chol_inv  # L⁻¹, lower triangular
        self.alpha = chol_inv.T @ (chol_inv @ y)  # α = L⁻ᵀ L⁻¹ y
        self._k_inv: np.ndarray | None = None

    @classmethod
    def fit(cls, X: np.ndarray, y: np.ndarray, params: KernelParams, is_categorical: np.ndarray) -> GaussianProcess:
        """Factor K for X (O(n³)); the hyperparameters stay as given."""
        K = params.signal_var * matern52(sq_dist(X, X, params.lengthscale, is_categorical))
        K[np.diag_indices(len(X))] += params.noise_var
        return cls(X, y, params, is_categorical, _chol_inv(K))

    @property
    def k_inv(self) -> np.ndarray:
        """K⁻¹ = L⁻ᵀ L⁻¹, formed on first use."""
        if self._k_inv is None:
            self._k_inv = self.chol_inv.T @ self.chol_inv
        return self._k_inv

    def kernel(self, x: np.ndarray, X: np.ndarray | None = None) -> np.ndarray:
        """k(x, X): (m, n) covariances between the rows of ``x`` and the training inputs."""
        p = self.params
        return p.signal_var * matern52(sq_dist(x, self.X if X is None else X, p.lengthscale, self.is_categorical))

    def with_targets(self, y: np.ndarray) -> GaussianProcess:
        return GaussianProcess(self.X, y, self.params, self.is_categorical, self.chol_inv)

    def condition_on(self, X_new: np.ndarray, y_new: np.ndarray) -> GaussianProcess:
        """The posterior after also observing (X_new, y_new), by a block extension of L⁻¹.

        With K = [[K₁₁, K₁₂], [K₂₁, K₂₂]] and K₁₁ = L₁₁ L₁₁ᵀ:
        L₂₁ = K₂₁ L₁₁⁻ᵀ,  L₂₂ = chol(K₂₂ - L₂₁ L₂₁ᵀ),
        L⁻¹ = [[L₁₁⁻¹, 0], [-L₂₂⁻¹ L₂₁ L₁₁⁻¹, L₂₂⁻¹]].
        """
        if len(X_new) == 0:
            return self
        n, r = len(self.X), len(X_new)
        L21 = self.kernel(X_new) @ self.chol_inv.T
        S = self.kernel(X_new, X_new) - L21 @ L21.T
        S[np.diag_indices(r)] += self.params.noise_var
        L22_inv = _chol_inv(S)
        chol_inv = np.zeros((n + r, n + r))
        chol_inv[:n, :n] = self.chol_inv
        chol_inv[n:, n:] = L22_inv
        chol_inv[n:, :n] = -L22_inv @ (L21 @ self.chol_inv)
        X = np.concatenate([self.X, X_new])
        y = np.concatenate([self.y, y_new])
        return GaussianProcess(X, y, self.params, self.is_categorical, chol_inv)

    def loo_residuals(self) -> np.ndarray:
        """Leave-one-out residuals in predictive standard deviations, (y_i - μ₋ᵢ) / σ₋ᵢ.

        From one factorization (R&W Eq. 5.12): μ₋ᵢ = y_i - α_i / [K⁻¹]ᵢᵢ and
        σ²₋ᵢ = 1 / [K⁻¹]ᵢᵢ (of the noisy observation), so the residual is α_i / √[K⁻¹]ᵢᵢ.
        A calibrated model gives values like draws of N(0, 1).
        """
        return self.alpha / np.sqrt(np.diag(self.k_inv))

    def posterior(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of the latent f at the rows of ``x`` (Eqs. 2.25-2.26)."""
        k = self.kernel(x)
        v = k @ self.chol_inv.T
        var = self.params.signal_var - np.einsum("ij,ij->i", v, v)
        return k @ self.alpha, np.maximum(var, 1e-12 * self.params.signal_var)

    def posterior_grad(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Mean, variance and their gradients (m, d) w.r.t. x (zero along categorical dimensions).

        ∂k(x, X_i)/∂x_j = s² m'(r²) · 2 (x_j - X_ij) / ℓ_j², so with G = s² m'(r²) (m, n):
        ∂μ/∂x_j = 2/ℓ_j² Σ_i G_i α_i (x_j - X_ij) and, with u = K⁻¹ k(x),
        ∂σ²/∂x_j = -2 k'ᵀ u = -4/ℓ_j² Σ_i G_i u_i (x_j - X_ij).
        """
        p = self.params
        r2 = sq_dist(x, self.X, p.lengthscale, self.is_categorical)
        k = p.signal_var * matern52(r2)
        G = p.signal_var * matern52_grad(r2)
        u = k @ self.k_inv  # k(x)ᵀ K⁻¹: one product (a few points, called at every L-BFGS step)
        raw_var = p.signal_var - np.einsum("ij,ij->i", k, u)
        floor = 1e-12 * p.signal_var
        scale = 2.0 / p.lengthscale**2
        Ga, Gu = G * self.alpha, G * u
        d_mean = scale * (x * Ga.sum(axis=1, keepdims=True) - Ga @ self.X)
        d_var = -2.0 * scale * (x * Gu.sum(axis=1, keepdims=True) - Gu @ self.X)
        d_var[raw_var <= floor] = 0.0
        d_mean[:, self.is_categorical] = 0.0
        d_var[:, self.is_categorical] = 0.0
        return k @ self.alpha, np.maximum(raw_var, floor), d_mean, d_var


def _chol_inv(K: np.ndarray) -> np.ndarray:
    """L⁻¹ for K = L Lᵀ, adding jitter if rounding made K numerically indefinite."""
    jitter = 0.0
    scale = float(np.mean(np.diag(K))) if len(K) else 1.0
    for _ in range(6):
        try:
            L = scipy.linalg.cholesky(K + jitter * np.eye(len(K)), lower=True, check_finite=False)
            break
        except np.linalg.LinAlgError:
            jitter = max(jitter * 10.0, 1e-8 * scale)
    else:
        raise np.linalg.LinAlgError("the kernel matrix is not positive definite even with jitter")
    L_inv, info = lapack.dtrtri(L, lower=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"triangular inverse failed (info={info})")
    return np.tril(L_inv)


def standardize(y: np.ndarray) -> np.ndarray:
    """Center at the mean and scale by the standard deviation; :func:`warp_outputs` builds on this."""
    return (y - float(np.mean(y))) / max(float(y.std()), 1e-12)


def warp_outputs(y: np.ndarray) -> np.ndarray:
    """Standardize, Yeo-Johnson power transform (λ by maximum likelihood, at least 0), standardize again.

    Losses are skewed (a long bad tail from diverged runs, or a function such as
    Rosenbrock that spans orders of magnitude), and a stationary GP fitted to them spends
    its lengthscales on the tail. The power transform (Yeo & Johnson 2000; HEBO,
    Cowen-Rivers et al. 2022, transforms its outputs too) makes the values closer to
    Gaussian; it is monotone, so the incumbent and the order of the points stay as they
    were. λ is kept at 0 or above, which compresses the bad tail at most like a log: a
    negative λ fitted to best points clustered in one place can squash every other
    value to nearly one level, and the search then stays there. Fewer than 3 values,
    or constant ones, are only standardized.
    """
    z = standardize(y)
    if len(y) < 3 or not np.any(z):
        return z
    lmbda = max(float(scipy.stats.yeojohnson_normmax(z)), 0.0)
    w = scipy.stats.yeojohnson(z, lmbda)
    return standardize(w) if np.all(np.isfinite(w)) else z
