"""Ray Tune's ``ray.tune.suggest.hebo``."""

from tunesmith.tune.suggest import HEBOSearch

__all__ = ["HEBOSearch"]
