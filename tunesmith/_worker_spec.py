"""How any worker reopens a study: one picklable spec for worker processes, Ray tasks and ``tunesmith worker``.

The execution layer receives a spec from the study it runs and calls :meth:`WorkerSpec.open`
in each worker; it never builds a Study itself (execution sits below the facade).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tunesmith.storage import Storage, get_storage

if TYPE_CHECKING:
    from tunesmith.study import Study

__all__ = ["WorkerSpec"]


@dataclass
class WorkerSpec:
    """A study as a worker elsewhere opens it: storage, name, and the driver's policies.

    Args:
        storage: a URL, or a picklable Storage (the Ray executor's actor storage).
        beside_others: the worker runs beside others on the same study (see ``Study.ask``).
    """

    storage: str | Storage
    study_name: str
    sampler: Any
    space: Any = None
    scheduler: Any = None
    beside_others: bool = False

    def open(self) -> Study:
        """The study, reopened in this process."""
        from tunesmith.study import Study

        storage = self.storage if isinstance(self.storage, Storage) else get_storage(self.storage)
        return Study(self.study_name, storage, self.sampler, self.space, self.scheduler,
                     beside_others=self.beside_others)
