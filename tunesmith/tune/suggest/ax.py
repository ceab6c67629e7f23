"""Ray Tune's ``ray.tune.suggest.ax``."""

from tunesmith.tune.suggest import AxSearch

__all__ = ["AxSearch"]
