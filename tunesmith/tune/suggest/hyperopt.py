"""Ray Tune's ``ray.tune.suggest.hyperopt``."""

from tunesmith.tune.suggest import HyperOptSearch

__all__ = ["HyperOptSearch"]
