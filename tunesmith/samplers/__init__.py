"""Search algorithms: each suggests parameters from the search space and the history."""

from __future__ import annotations

from tunesmith.samplers._base import Sampler, sampler_from_spec
from tunesmith.samplers.auto import AutoSampler
from tunesmith.samplers.bohb import BOHBSampler
from tunesmith.samplers.cmaes import CmaEsSampler
from tunesmith.samplers.coarse_to_fine import CoarseToFineSampler
from tunesmith.samplers.gp import GPSampler
from tunesmith.samplers.grid import GridSampler
from tunesmith.samplers.nsga2 import NSGAIISampler
from tunesmith.samplers.qmc import QMCSampler
from tunesmith.samplers.random import RandomSampler
from tunesmith.samplers.tpe import TPESampler

SobolSampler = QMCSampler

__all__ = [
    "BOHBSampler",
    "AutoSampler",
    "CmaEsSampler",
    "CoarseToFineSampler",
    "GPSampler",
    "GridSampler",
    "NSGAIISampler",
    "QMCSampler",
    "RandomSampler",
    "Sampler",
    "SobolSampler",
    "TPESampler",
    "sampler_from_spec",
]
