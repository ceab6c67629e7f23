"""W&B's ``early_terminate: {type: hyperband}``: which running runs to stop, from every run's metric curve.

W&B's rule (its sweeps controller, ``hyperband_stop_runs``):

- bands: with ``min_iter``, ``int(min_iter * eta**k)`` for k = 0, 1, ...; with ``max_iter``
  and ``s``, ``int(max_iter / eta**k)`` for k = 1..s while it is >= 1 (sorted);
- a run's curve is its metric's values in the order logged (negated to minimize when
  ``goal: maximize``); a band ``b`` is reached once the curve has more than ``b`` values,
  and the run's value there is ``curve[b]``;
- each band's threshold is taken over every run (running or ended) that reached it:
  ``sorted(values)[int(len(values) / eta)]``;
- a running run is stopped when its value at the last band it reached is worse
  (greater) than that band's threshold.

Where we differ: W&B's code reads the run's value at the band after the last one
reached (an index past the end of its curve, which raises), one of the reasons its
early termination was reported not to work (wandb#7156, #9615); here it is the value
at the last band reached, as the rule says. ``strict: true`` keeps only the top
``ceil(n / eta)`` runs at each band, as in the Hyperband paper (W&B accepts the field
and ignores it).

>>> rule = HyperbandRule.from_config({"type": "hyperband", "max_iter": 5, "eta": 2, "s": 2})
>>> rule.bands
[1, 2]
>>> curves = {"a": [10, 9], "b": [10, 10], "c": [10, 8, 8], "d": [10, 7, 7], "e": [10, 6, 6]}
>>> sorted(rule.to_stop(curves, running={"b", "c", "d"}))
['b', 'c']
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["HyperbandRule"]

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class HyperbandRule:
    bands: list[int]
    eta: float = 3.0
    strict: bool = False

    @classmethod
    def from_config(cls, et: Mapping[str, Any]) -> HyperbandRule:
        """From the ``early_terminate`` mapping (already validated by the sweep's schema check)."""
        eta = float(et.get("eta", 3))
        bands: list[int] = []
        if "min_iter" in et:
            band = float(et["min_iter"])
            for _ in range(100):
                bands.append(int(band))
                band *= eta
                if band > 2**31:
                    break
        else:
            band = float(et["max_iter"])
            for _ in range(int(et["s"])):
                band /= eta
                if band < 1:
                    break
                bands.append(int(band))
            bands.sort()
        if not bands:
            raise ValueError("early_terminate: no hyperband band; increase max_iter or s, or decrease eta")
        return cls(bands, eta, bool(et.get("strict", False)))

    def thresholds(self, curves: Mapping[Any, Sequence[float]]) -> list[float]:
        """Each band's threshold over every curve that reached it (inf where none did)."""
        out = []
        for band in self.bands:
            values = sorted(c[band] for c in curves.values() if len(c) > band)
            if not values:
                out.append(math.inf)
                continue
            index = max(math.ceil(len(values) / self.eta) - 1, 0) if self.strict else int(len(values) / self.eta)
            out.append(values[min(index, len(values) - 1)])
        return out

    def to_stop(self, curves: Mapping[K, Sequence[float]], running: Collection[K]) -> list[K]:
        """The running runs to stop; ``curves`` (all runs', to minimize) by run key."""
        thresholds = self.thresholds(curves)
        stop = []
        for key in running:
            curve = curves.get(key, ())
            last = None
            for band, threshold in zip(self.bands, thresholds, strict=True):
                if band < len(curve):
                    last = (band, threshold)
                else:
                    break
            if last is not None and curve[last[0]] > last[1]:
                stop.append(key)
        return stop

    def should_stop(self, curves: Mapping[K, Sequence[float]], key: K) -> bool:
        return bool(self.to_stop(curves, [key]))
