"""The Matérn-5/2 kernel with one lengthscale per dimension (ARD), on the unit cube.

For two points the scaled squared distance is

    r² = Σ_j (x_j - x'_j)² / ℓ_j²   (numerical dimensions)
       + Σ_j [x_j ≠ x'_j] / ℓ_j²    (categorical dimensions: a Hamming term)

and the kernel is ``k(x, x') = s² · m(r)`` with (Rasmussen & Williams 2006, Eq. 4.17)

    m(r) = (1 + √5 r + 5/3 r²) · exp(-√5 r).

Treating a category change as a unit distance, scaled by its own lengthscale, is
the overlap kernel of Garrido-Merchán & Hernández-Lobato (2020) and Optuna's GP.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["matern52", "matern52_grad", "pairwise_sq_diffs", "sq_dist"]

SQRT5 = math.sqrt(5.0)


def matern52(r2: np.ndarray) -> np.ndarray:
    """``m`` as a function of the squared distance ``r²`` (unit signal variance)."""
    r = np.sqrt(r2)
    return (1.0 + SQRT5 * r + (5.0 / 3.0) * r2) * np.exp(-SQRT5 * r)


def matern52_grad(r2: np.ndarray) -> np.ndarray:
    """``dm/d(r²) = -5/6 (1 + √5 r) exp(-√5 r)``: finite at r = 0, unlike ``dm/dr / 2r`` evaluated naively."""
    r = np.sqrt(r2)
    return (-5.0 / 6.0) * (1.0 + SQRT5 * r) * np.exp(-SQRT5 * r)


def sq_dist(
    x1: np.ndarray, x2: np.ndarray, lengthscale: np.ndarray, is_categorical: np.ndarray,
) -> np.ndarray:
    """(m, n) scaled squared distances ``r²`` between the rows of ``x1`` (m, d) and ``x2`` (n, d)."""
    num = ~is_categorical
    a = x1[:, num] / lengthscale[num]
    b = x2[:, num] / lengthscale[num]
    # |a - b|² = |a|² + |b|² - 2 a·b: one matrix product instead of an (m, n, d) tensor.
    r2 = np.einsum("ij,ij->i", a, a)[:, None] + np.einsum("ij,ij->i", b, b)[None, :] - 2.0 * (a @ b.T)
    np.maximum(r2, 0.0, out=r2)  # rounding can leave -1e-16 where points coincide
    for j in np.flatnonzero(is_categorical):
        r2 += (x1[:, j, None] != x2[None, :, j]) / lengthscale[j] ** 2
    return r2


def pairwise_sq_diffs(x: np.ndarray, is_categorical: np.ndarray) -> np.ndarray:
    """(n(n-1)/2, d) unscaled per-dimension terms of ``r²`` for the pairs i < j (condensed order).

    The lengthscales enter ``r²`` linearly through ``1/ℓ²``, so the marginal-likelihood
    fit computes these once and each evaluation is a matrix-vector product.
    """
    i, j = np.triu_indices(len(x), k=1)
    diffs = x[i] - x[j]
    out = diffs * diffs
    out[:, is_categorical] = diffs[:, is_categorical] != 0.0
    return out
