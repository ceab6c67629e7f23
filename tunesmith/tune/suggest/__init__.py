"""Ray Tune 1.x's ``ray.tune.suggest``: each searcher runs the tunesmith sampler that does its job.

>>> from tunesmith.tune.suggest import ConcurrencyLimiter, OptunaSearch
>>> algo = ConcurrencyLimiter(OptunaSearch(metric="loss", mode="min"), max_concurrent=4)
>>> type(algo.make_sampler()).__name__, algo.max_concurrent
('TPESampler', 4)
"""

from __future__ import annotations

from tunesmith.tune.suggest._searcher import ConcurrencyLimiter, Searcher, searcher_class

BasicVariantGenerator = searcher_class("BasicVariantGenerator", "RandomSampler",
                                       "Ray's default variant generation: random draws, grid axes enumerated.")
OptunaSearch = searcher_class("OptunaSearch", "TPESampler", "Optuna's default (TPE): tunesmith's TPESampler.")
HyperOptSearch = searcher_class("HyperOptSearch", "TPESampler", "HyperOpt's TPE: tunesmith's TPESampler.")
BayesOptSearch = searcher_class("BayesOptSearch", "GPSampler", "Bayesian optimization: tunesmith's GPSampler.")
SkOptSearch = searcher_class("SkOptSearch", "GPSampler", "scikit-optimize's GP: tunesmith's GPSampler.")
AxSearch = searcher_class("AxSearch", "GPSampler", "Ax's Bayesian optimization: tunesmith's GPSampler.")
HEBOSearch = searcher_class("HEBOSearch", "GPSampler", "HEBO: tunesmith's GPSampler.")
TuneBOHB = searcher_class("TuneBOHB", "BOHBSampler",
                          "BOHB's model (pair with HyperBandForBOHB): tunesmith's BOHBSampler.")
NevergradSearch = searcher_class("NevergradSearch", "CmaEsSampler", "Nevergrad: tunesmith's CmaEsSampler.")

__all__ = [
    "AxSearch",
    "BasicVariantGenerator",
    "BayesOptSearch",
    "ConcurrencyLimiter",
    "HEBOSearch",
    "HyperOptSearch",
    "NevergradSearch",
    "OptunaSearch",
    "Searcher",
    "SkOptSearch",
    "TuneBOHB",
]
