"""The GP's lengthscale prior: the shipped one (the same in every dimension) against two that scale with d.

Variants of ``tunesmith-gp`` (everything else as shipped: warped outputs, LogEI, the same seeds):

- ``fixed``: the shipped prior, log p(ℓ) = -a (ℓ² + ℓ⁻²) with a = 0.1 (mode ℓ = 1 in every dimension),
  re-run here rather than read from the suite's cache: a seeded GP run differs from machine to machine
  after its first model fit (``benchmarks/RESULTS.md``), so the variants are compared with runs from the
  same machine.
- ``hvarfner``: LogNormal(√2 + log(d)/2, √3) on each ℓ (Hvarfner, Hellsten & Nardi 2024, "Vanilla Bayesian
  optimization performs great in high dimensions"; BoTorch's default since 0.12), fitted from its median
  e^μ = 4.1 √d. This is the dimension-scaled prior issue 4 names.
- ``scaled``: the shipped shape with its mode moved to ℓ₀ = √(d/5), -a ((ℓ/ℓ₀)² + (ℓ₀/ℓ)²): the same prior as
  shipped at d = 5, growing like √d as Hvarfner's does (ℓ₀ = 0.63 at d = 2, 1.41 at d = 10) but keeping the
  wall against lengthscales a decade off the mode.

The variant is swapped into :mod:`tunesmith.samplers._gp.model` inside the benchmark process only; the
runs are stored as ``tunesmith-gp-<variant>`` under ``samplers/results/gp-prior`` (``samplers/store.py``),
so a stopped run continues. Run from the repository root::

    python benchmarks/gp_prior.py --dims 2 5 10 --seeds 10 --trials 100 --jobs 2
    python benchmarks/gp_prior.py --report-only
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

from benchmarks.samplers import ablation  # noqa: E402
from benchmarks.samplers.problems import bbob_name  # noqa: E402

VARIANTS = ("fixed", "hvarfner", "scaled")
SHIPPED = "tunesmith-gp"
_RATE = 0.1  # the shipped prior's a


def _hvarfner(log_ls: np.ndarray) -> tuple[float, np.ndarray]:
    """LogNormal(√2 + log(d)/2, √3) on every ℓ (its density in ℓ, as GPyTorch takes it), and the gradient."""
    mu, var = math.sqrt(2.0) + 0.5 * math.log(len(log_ls)), 3.0
    lp = float(np.sum(-log_ls - (log_ls - mu) ** 2 / (2.0 * var)))
    return lp, -1.0 - (log_ls - mu) / var


def _wall(log_ls: np.ndarray, mode: float) -> tuple[float, np.ndarray]:
    """The shipped shape, -a ((ℓ/m)² + (m/ℓ)²) with mode m (1 as shipped), and the gradient in log ℓ."""
    shifted = log_ls - math.log(mode)
    up, down = np.exp(2.0 * shifted), np.exp(-2.0 * shifted)
    return -_RATE * float(np.sum(up + down)), -2.0 * _RATE * (up - down)


def _scaled(log_ls: np.ndarray) -> tuple[float, np.ndarray]:
    return _wall(log_ls, math.sqrt(len(log_ls) / 5.0))


TERMS: dict[str, Callable[[np.ndarray], tuple[float, np.ndarray]]] = {"hvarfner": _hvarfner, "scaled": _scaled}
STARTS: dict[str, Callable[[int], float]] = {  # the lengthscale the fit starts from when not warm-started
    "hvarfner": lambda d: math.exp(math.sqrt(2.0) + 0.5 * math.log(d)), "scaled": lambda d: math.sqrt(d / 5.0)}


def _prior(variant: str, shipped: Callable[[np.ndarray], tuple[float, np.ndarray]]
           ) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    """The shipped log prior with its lengthscale term replaced by the variant's."""

    def log_prior(theta: np.ndarray) -> tuple[float, np.ndarray]:
        lp, grad = shipped(theta)
        old_lp, old_grad = _wall(theta[:-2], 1.0)
        new_lp, new_grad = TERMS[variant](theta[:-2])
        grad = grad.copy()
        grad[:-2] += new_grad - old_grad
        return lp - old_lp + new_lp, grad

    return log_prior


def _install(variant: str) -> None:
    """Swap the variant's prior (and its starting lengthscale) into the GP model module."""
    from tunesmith.samplers._gp import model

    shipped = model.__dict__.setdefault("_shipped_log_prior", model._log_prior)
    shipped_default = model.__dict__.setdefault("_shipped_default", model.KernelParams.__dict__["default"])
    if variant == "fixed":
        model._log_prior = shipped  # type: ignore[attr-defined]
        model.KernelParams.default = shipped_default  # type: ignore[method-assign]
        return
    model._log_prior = _prior(variant, shipped)  # type: ignore[attr-defined]
    start = STARTS[variant]
    model.KernelParams.default = classmethod(  # type: ignore[method-assign, assignment]
        lambda cls, dim: cls(np.full(dim, start(dim)), 1.0, 1e-3))


def _gp(seed: int) -> Any:
    from tunesmith.samplers.gp import GPSampler

    return GPSampler(seed=seed)


def variant(name: str) -> ablation.Variant:
    return ablation.Variant(f"{SHIPPED}-{name}", SHIPPED, _gp, functools.partial(_install, name))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", nargs="+", type=int, default=[2, 5, 10])
    parser.add_argument("--functions", nargs="+", type=int, default=list(range(1, 25)))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--budgets", nargs="+", type=int, default=[25, 50, 100])
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--results-dir", default=os.path.join(ROOT, "benchmarks", "samplers", "results", "gp-prior"))
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--source", default=None, help="report runs of these sources (default: the current ones)")
    args = parser.parse_args(argv)
    problems = [bbob_name(f, d, 1) for d in sorted(args.dims, reverse=True) for f in args.functions]
    if not args.report_only:
        ablation.execute(args.results_dir, "bbob", problems, [variant(v) for v in args.variants], args.seeds,
                         args.trials, args.jobs)
    groups = {f"d{d}": functools.partial(_in_dim, d) for d in args.dims}
    shown = ["fixed", *(v for v in args.variants if v != "fixed")]
    print(ablation.compare(args.results_dir, "bbob", [variant(v) for v in shown], groups,
                           [b for b in args.budgets if b <= args.trials], source=args.source))


def _in_dim(d: int, problem: str) -> bool:
    return problem.endswith(f"-d{d}-i1")


if __name__ == "__main__":
    main()
