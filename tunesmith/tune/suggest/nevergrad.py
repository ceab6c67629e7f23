"""Ray Tune's ``ray.tune.suggest.nevergrad``."""

from tunesmith.tune.suggest import NevergradSearch

__all__ = ["NevergradSearch"]
