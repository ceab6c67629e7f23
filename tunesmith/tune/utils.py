"""Ray Tune 1.x's ``ray.tune.utils`` helpers that tunesmith supports.

>>> from tunesmith import tune
>>> from tunesmith.tune.utils import validate_save_restore
>>> class Counter(tune.Trainable):
...     def setup(self, config):
...         self.total = 0
...     def step(self):
...         self.total += 1
...         return {"total": self.total}
...     def save_checkpoint(self, checkpoint_dir):
...         return {"total": self.total}
...     def load_checkpoint(self, checkpoint):
...         self.total = checkpoint["total"]
>>> validate_save_restore(Counter)
True
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from typing import Any

__all__ = ["validate_save_restore"]


def validate_save_restore(
    trainable_cls: type, config: Mapping[str, Any] | None = None, num_gpus: int = 0, use_object_store: bool = False,
) -> bool:
    """Check that a class trainable saves and restores its state (Ray Tune's test, in this process).

    Trains one instance three iterations, saves it, restores a second instance from that
    checkpoint and trains it twice: its ``training_iteration`` must go on at 4 and 5.
    ``num_gpus``/``use_object_store`` (Ray's actors) change nothing here. Returns True;
    raises AssertionError naming what went wrong.
    """
    from tunesmith._trainable import ClassTrainable

    if not (isinstance(trainable_cls, type) and issubclass(trainable_cls, ClassTrainable)):
        raise TypeError(f"validate_save_restore needs a tune.Trainable subclass, got {trainable_cls!r}")
    first = trainable_cls(dict(config or {}))
    second = trainable_cls(dict(config or {}))
    try:
        for _ in range(3):
            res = first.train()
        assert res.get("training_iteration"), (
            "validate_save_restore needs training_iteration in the results (tune.Trainable.train adds it)"
        )
        with tempfile.TemporaryDirectory(prefix="tunesmith-validate-") as d:
            first.save(d)
            second.restore(d)
        for expected in (4, 5):
            res = second.train()
            assert res["training_iteration"] == expected, (
                f"{trainable_cls.__name__}: after restoring a checkpoint saved at iteration 3, training_iteration "
                f"is {res['training_iteration']}, not {expected}"
            )
    finally:
        first.stop()
        second.stop()
    return True
