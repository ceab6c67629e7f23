"""Ray Tune's ``ray.tune.suggest.bohb``."""

from tunesmith.tune.suggest import TuneBOHB

__all__ = ["TuneBOHB"]
