"""The numerics of Gaussian-process Bayesian optimisation: kernel, model, acquisition, optimiser."""

from __future__ import annotations

from tunesmith.samplers._gp.acquisition import (
    ConstrainedLogEI,
    LogExpectedImprovement,
    LogProbabilityOfFeasibility,
    log_ei,
    log_h,
)
from tunesmith.samplers._gp.model import GaussianProcess, KernelParams, fit_kernel_params, standardize, warp_outputs
from tunesmith.samplers._gp.optim import SearchBox, maximize_acqf

__all__ = [
    "ConstrainedLogEI",
    "GaussianProcess",
    "KernelParams",
    "LogExpectedImprovement",
    "LogProbabilityOfFeasibility",
    "SearchBox",
    "fit_kernel_params",
    "log_ei",
    "log_h",
    "maximize_acqf",
    "standardize",
    "warp_outputs",
]
