"""Worker loops as Ray tasks: the same ask -> objective -> tell loop, on a Ray cluster.

Each worker is one Ray task that runs many trials (no actor per trial, no state
snapshots: the study record is the state). Tasks ask for the per-trial resources
(``num_cpus``, ``num_gpus``: Ray sets ``CUDA_VISIBLE_DEVICES``), and a small
coordinator actor hands out one ticket per trial. With a SQL storage every node
writes there; with no database the driver's in-memory storage is served by an
actor for the run and copied back at the end. A task lost with its node has its
trial taken back (re-queued or FAILED, as for any lost worker) and is started
again elsewhere.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cloudpickle

from tunesmith.execution._driver import POLL_S, StudyWatcher, TicketOffice
from tunesmith.execution._loop import LoopSettings, worker_loop
from tunesmith.execution._pickle import dumps, remote_error
from tunesmith.execution.resources import Resources
from tunesmith.storage import InMemoryStorage
from tunesmith.storage.actor import serve
from tunesmith.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from tunesmith.reporting._protocol import Reporter
    from tunesmith.study import Callback, Objective, Study

__all__ = ["run_ray"]


class _Coordinator:
    """Ray actor: the ticket office, plus which trial each worker task runs."""

    def __init__(self, tickets: TicketOffice) -> None:
        self.tickets = tickets
        self.current: dict[int, int | None] = {}
        self.started_at: dict[int, float] = {}

    def claim(self, worker: int) -> bool:
        return self.tickets.grant()

    def started(self, worker: int, trial_id: int, retries: int) -> None:
        self.current[worker] = trial_id
        self.started_at[worker] = time.time()
        self.tickets.started(retries, trial_id)

    def overdue(self, limit: float) -> list[tuple[int, int]]:
        """(worker, trial) pairs whose trial has run longer than ``limit`` seconds (then forgotten)."""
        now = time.time()
        out = []
        for worker, trial_id in list(self.current.items()):
            if trial_id is not None and now - self.started_at.get(worker, now) > limit:
                out.append((worker, trial_id))
                self.current[worker] = None
        return out

    def requeued(self, trial_id: int, retries: int | None = None) -> bool:
        return self.tickets.requeued(trial_id, retries)

    def available(self) -> int | None:
        return self.tickets.available()

    def holding(self) -> list[int]:
        """The trials the worker tasks run now."""
        return [t for t in self.current.values() if t is not None]

    def finished(self, worker: int, state: int, number: int, error: str | None) -> None:
        self.current[worker] = None
        self.tickets.finished(state, number, error)

    def fail(self, blob: bytes, text: str) -> None:
        self.tickets.fail(remote_error(blob, text))

    def stop(self) -> None:
        self.tickets.stopping = True

    def lost(self, worker: int) -> int | None:
        """The trial a lost worker was running (and forget it)."""
        return self.current.pop(worker, None)

    def state(self) -> tuple[bool, tuple[bytes, str] | None, int]:
        """Whether the run stops; its error (pickled, and the worker's traceback); tickets granted."""
        error = self.tickets.error
        failure = None if error is None else (cloudpickle.dumps(error), getattr(error.__cause__, "tb", ""))
        return self.tickets.stopping, failure, self.tickets.granted


@dataclass
class _Payload:
    study: Any  # the facade's WorkerSpec (storage: a URL, or an ActorStorage)
    objective: Any
    settings: LoopSettings


def _worker(blob: bytes, coordinator: Any, worker: int) -> str:
    """Body of a worker task: the usual loop, asking the coordinator for tickets."""
    import ray

    payload: _Payload = cloudpickle.loads(blob)
    study = payload.study.open()  # Ray tasks run side by side: the spec says so
    settings = payload.settings
    settings.max_failures = None  # counted by the coordinator across workers

    def claim() -> bool:
        return bool(ray.get(coordinator.claim.remote(worker)))

    def on_start(trial_id: int, retries: int) -> None:
        ray.get(coordinator.started.remote(worker, trial_id, retries))

    def on_finished(frozen: FrozenTrial) -> None:
        coordinator.finished.remote(worker, int(frozen.state), frozen.number, frozen.error)

    try:
        worker_loop(study, payload.objective, settings, claim, on_finished, on_start)
    except Exception as e:  # not in `catch`: stop the study and raise it in the driver
        try:
            blob_e = cloudpickle.dumps(e)
        except Exception:
            blob_e = b""
        ray.get(coordinator.fail.remote(blob_e, traceback.format_exc()))
    return "done"


def run_ray(
    study: Study, objective: Objective, *, tickets: TicketOffice, settings: LoopSettings, n_workers: int | None,
    callbacks: list[Callback], reporter: Reporter | None, resources: Resources, ray_address: str | None = None,
) -> None:
    """Run the worker loop as Ray tasks until the budget is spent."""
    try:
        import ray
    except ImportError as e:
        raise ImportError("executor='ray' needs Ray: pip install 'tunesmith[ray]'") from e
    started_here = not ray.is_initialized()
    if started_here:
        # Without an address (argument or RAY_ADDRESS), start a fresh local runtime rather
        # than join whatever cluster another program left registered on this machine.
        import os

        address = ray_address or os.environ.get("RAY_ADDRESS") or "local"
        ray.init(address=address, include_dashboard=False, log_to_driver=True, logging_level=logging.WARNING)
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    # The run's state (tickets, an in-memory storage) lives on the driver's node: losing
    # any other node loses only the trials running there.
    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    served = isinstance(study.storage, InMemoryStorage)
    server: Any = None
    driver_storage = study.storage
    try:
        if served:
            server = serve(study.storage, num_cpus=0, scheduling_strategy=here)
            worker_storage: Any = server
            study.storage = worker_storage
        elif study.storage.url is None:
            raise ValueError("executor='ray' needs a SQL storage URL or the in-memory storage")
        else:
            worker_storage = study.storage.url
        n = n_workers or _fit(resources, ray.cluster_resources())
        if tickets.n_trials is not None:
            n = max(1, min(n, tickets.n_trials))
        coordinator = ray.remote(_Coordinator).options(num_cpus=0, scheduling_strategy=here).remote(tickets)
        task = ray.remote(_worker).options(
            num_cpus=resources.cpu, num_gpus=resources.gpu, max_retries=0,
            **({"memory": resources.memory} if resources.memory else {}),
        )
        blob = _dumps_shipping_user_code(
            _Payload(study.worker_spec(worker_storage, beside_others=True), objective, settings), objective,
        )
        _drive(study, task, blob, coordinator, n, settings, callbacks, reporter)
    finally:
        if server is not None:
            contents: Any = server.contents()
            study.storage = driver_storage
            assert isinstance(driver_storage, InMemoryStorage)
            driver_storage.replace_contents(contents)
        if started_here:
            ray.shutdown()


def _dumps_shipping_user_code(payload: _Payload, objective: Any) -> bytes:
    """Pickle the payload with the user's own modules by value: other nodes need not have them.

    Code from installed packages (site-packages) still travels by reference.
    """
    import sys

    modules = []
    for func in (objective, getattr(objective, "trainable", None)):
        module = sys.modules.get(getattr(func, "__module__", "") or "")
        path = getattr(module, "__file__", None) or ""
        own = module is not None and module.__name__.partition(".")[0] == "tunesmith"
        if module is not None and path and not own and "site-packages" not in path and not path.startswith(sys.prefix):
            modules.append(module)
    for module in modules:
        cloudpickle.register_pickle_by_value(module)
    try:
        return dumps(payload)
    finally:
        for module in modules:
            cloudpickle.unregister_pickle_by_value(module)


def _stop_overdue(study: Study, coordinator: Any, running: dict[Any, int], watcher: Any, limit: float) -> None:
    """FAIL the trials past their time limit and kill their worker tasks (replaced as lost ones are)."""
    import ray

    for worker, trial_id in ray.get(coordinator.overdue.remote(limit)):
        watcher.take_back(trial_id, f"the trial exceeded its time limit of {limit:g} s and was stopped", retry=False)
        for ref, w in running.items():
            if w == worker:
                ray.cancel(ref, force=True)


def _fit(resources: Resources, cluster: Mapping[str, float]) -> int:
    n = int(cluster.get("CPU", 1) // resources.cpu)
    if resources.gpu > 0:
        n = min(n, int(cluster.get("GPU", 0) // resources.gpu))
        if n == 0:
            raise ValueError(f"resources_per_trial asks for gpu={resources.gpu:g} but the Ray cluster has no GPU")
    return max(1, n)


def _drive(
    study: Study, task: Any, blob: bytes, coordinator: Any, n: int, settings: LoopSettings,
    callbacks: list[Callback], reporter: Reporter | None,
) -> None:
    import ray

    watcher = StudyWatcher(study, settings, callbacks, reporter)
    running = {task.remote(blob, coordinator, i): i for i in range(n)}
    try:
        _serve(study, task, blob, coordinator, n, settings, watcher, running)
    except BaseException as e:
        # Stop the tasks and record their trials: none stays RUNNING (interrupted: back in the queue).
        coordinator.stop.remote()
        for ref in running:
            ray.cancel(ref, force=True)
        interrupted = isinstance(e, KeyboardInterrupt)
        for trial_id in ray.get(coordinator.holding.remote()):
            watcher.take_back(trial_id, "the run stopped with an error while this trial ran", retry=False,
                              interrupted=interrupted)
        raise
    watcher.poll()
    _, failure, _ = ray.get(coordinator.state.remote())
    if failure is not None:
        raise remote_error(*failure)


def _serve(
    study: Study, task: Any, blob: bytes, coordinator: Any, n: int, settings: LoopSettings, watcher: StudyWatcher,
    running: dict[Any, int],
) -> None:
    import ray
    from ray.exceptions import RayError, RayTaskError

    restarts = 0
    while running:
        ready, _ = ray.wait(list(running), num_returns=1, timeout=POLL_S)
        for ref in ready:
            worker = running.pop(ref)
            try:
                ray.get(ref)
            except RayTaskError as e:  # the task itself raised (e.g. the objective cannot be loaded)
                coordinator.stop.remote()
                raise e.as_instanceof_cause() from None
            except RayError as e:  # the task died with its process or node
                lost = ray.get(coordinator.lost.remote(worker))
                if lost is not None and watcher.take_back(
                    lost, f"the Ray worker running this trial was lost ({type(e).__name__})"
                ):
                    ray.get(coordinator.requeued.remote(lost))
                stopping, _, _ = ray.get(coordinator.state.remote())
                if not stopping and restarts < 10 * n:
                    restarts += 1
                    running[task.remote(blob, coordinator, worker)] = worker
        if study.stop_requested:
            coordinator.stop.remote()
        if settings.trial_timeout is not None:
            _stop_overdue(study, coordinator, running, watcher, settings.trial_timeout)
        if watcher.due() or not running:
            for t in watcher.poll():
                if t.state == TrialState.WAITING:  # re-queued (a lapsed lease): runs before the call ends
                    coordinator.requeued.remote(t.trial_id, t.retries)
        if len(running) < n and ray.get(coordinator.available.remote()) != 0:
            free = set(range(n)) - set(running.values())
            worker = min(free)
            running[task.remote(blob, coordinator, worker)] = worker
