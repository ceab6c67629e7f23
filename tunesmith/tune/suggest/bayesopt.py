"""Ray Tune's ``ray.tune.suggest.bayesopt``."""

from tunesmith.tune.suggest import BayesOptSearch

__all__ = ["BayesOptSearch"]
