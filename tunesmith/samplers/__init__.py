"""Search algorithms: each suggests parameters from the search space and the history.

The sampler classes are imported on first use (PEP 562): a worker process that only
needs random search does not pay for SciPy's statistics modules at start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tunesmith.samplers._base import Sampler, sampler_from_spec
from tunesmith.samplers._optuna_base import BaseSampler, intersection_search_space

if TYPE_CHECKING:
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

_MODULES = {
    "AutoSampler": "auto", "BOHBSampler": "bohb", "CmaEsSampler": "cmaes", "CoarseToFineSampler": "coarse_to_fine",
    "GPSampler": "gp", "GridSampler": "grid", "NSGAIISampler": "nsga2", "QMCSampler": "qmc",
    "RandomSampler": "random", "TPESampler": "tpe", "SobolSampler": "qmc",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'tunesmith.samplers' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"tunesmith.samplers.{module}"), "QMCSampler" if name == "SobolSampler"
                    else name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_MODULES])


__all__ = [
    "AutoSampler",
    "BaseSampler",
    "BOHBSampler",
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
    "intersection_search_space",
    "sampler_from_spec",
]
