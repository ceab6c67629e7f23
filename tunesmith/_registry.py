"""A study's parameters: the distribution each name was defined with, and stored trials read back.

The storage keeps parameters in their internal JSON-safe form (a categorical choice
as its index); :meth:`ParamRegistry.materialize` turns a stored trial back into the
values the objective saw. A name keeps one distribution for the life of the study.

>>> from tunesmith.distributions import CategoricalDistribution
>>> from tunesmith.record import FrozenTrial, TrialState
>>> from tunesmith.storage import InMemoryStorage
>>> storage = InMemoryStorage()
>>> record = storage.create_study("s", ["minimize"], ["value"])
>>> registry = ParamRegistry(storage, record.name, record.distributions)
>>> registry.register("opt", CategoricalDistribution(("sgd", "adam")))
>>> registry.materialize(FrozenTrial(0, TrialState.RUNNING, internal_params={"opt": 1})).params
{'opt': 'adam'}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tunesmith.distributions import Distribution
from tunesmith.exceptions import StudyNotFoundError
from tunesmith.record import FrozenTrial
from tunesmith.storage import Storage

__all__ = ["ParamRegistry"]


class ParamRegistry:
    """The study's known distributions, which of them the storage holds, and stored trials read back."""

    def __init__(self, storage: Storage, study_name: str, stored: Mapping[str, Distribution]) -> None:
        self._storage = storage
        self._study_name = study_name
        self._known: dict[str, Distribution] = dict(stored)
        self._stored: set[str] = set(stored)  # names the storage has registered
        self._materialized: dict[int, tuple[FrozenTrial, FrozenTrial]] = {}

    @property
    def known(self) -> Mapping[str, Distribution]:
        """Every parameter defined so far in this process or stored, by name."""
        return self._known

    def get(self, name: str) -> Distribution | None:
        return self._known.get(name)

    def register(self, name: str, dist: Distribution) -> None:
        """Define ``name``; a second definition must be the same distribution."""
        known = self._known.get(name)
        if known is None:
            dist.validate(name)
            self._known[name] = dist
        elif known != dist and known.to_json() != dist.to_json():
            raise ValueError(
                f"parameter {name!r} is already defined in study {self._study_name!r} as {known}; "
                f"it cannot be redefined as {dist}"
            )

    def unstored(self, names: Iterable[str], distributions: Mapping[str, Distribution]) -> dict[str, Distribution]:
        """Of ``names``, the distributions a write must register with the storage."""
        return {n: distributions[n] for n in names if n not in self._stored}

    def mark_stored(self, names: Iterable[str]) -> None:
        self._stored.update(names)

    def materialize(self, raw: FrozenTrial) -> FrozenTrial:
        """A stored trial with parameters as the objective saw them (cached per record)."""
        cached = self._materialized.get(raw.trial_id)
        if cached is not None and cached[0] is raw:
            return cached[1]
        params: dict[str, Any] = {}
        dists: dict[str, Distribution] = {}
        for name, internal in raw.internal_params.items():
            dist = self._known.get(name) or self._reload(name)
            if dist is None:
                params[name] = internal
                continue
            params[name] = dist.to_external(internal)
            dists[name] = dist
        out = raw.evolve(params=params, distributions=dists)
        self._materialized[raw.trial_id] = (raw, out)
        return out

    def _reload(self, name: str) -> Distribution | None:
        """A name another worker defined: read the study's distributions again."""
        try:
            record = self._storage.get_study(self._study_name)
        except StudyNotFoundError:
            return None
        for n, d in record.distributions.items():
            self._known.setdefault(n, d)
            self._stored.add(n)
        return self._known.get(name)
