"""Ray Tune's ``ray.tune.suggest.skopt``."""

from tunesmith.tune.suggest import SkOptSearch

__all__ = ["SkOptSearch"]
