"""Ray Tune's ``ray.tune.suggest.basic_variant``."""

from tunesmith.tune.suggest import BasicVariantGenerator

__all__ = ["BasicVariantGenerator"]
