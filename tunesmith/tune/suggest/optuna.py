"""Ray Tune's ``ray.tune.suggest.optuna``."""

from tunesmith.tune.suggest import OptunaSearch

__all__ = ["OptunaSearch"]
