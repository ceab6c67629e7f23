"""Local worker processes sharing one study through its storage.

Each worker is forked from a fork server that has the driver's modules imported (see
``_zygote``: a warm start in milliseconds) or, where forking is unsafe, is a fresh
interpreter (``python -m tunesmith.execution._child``). Either way it reopens the study
from its storage URL and runs the usual worker loop. The objective travels with
cloudpickle, so closures, lambdas and functions defined in ``__main__`` work, and the
main script is never re-imported (no ``if __name__ == "__main__"`` guard needed). The driver process hands out one
ticket per trial (so ``n_trials`` is exact across workers), watches the storage for
finished trials (callbacks, console), records a worker that dies mid-trial as a FAILED
trial with the reason (or re-queues it, see ``max_retries``), and replaces it. An error
raised in a worker is raised in the driver with the worker's traceback as its cause.

Ctrl-C in a terminal reaches the driver and its workers at once (one process group):
each worker puts its trial back in the queue and exits. The driver does not signal them
again (that would cut their bookkeeping short); it waits for them a while, then stops
those still busy and re-queues their trials itself.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any

from tunesmith.execution._driver import POLL_S, StudyWatcher, TicketOffice
from tunesmith.execution._loop import LoopSettings
from tunesmith.execution._pickle import dumps, remote_error
from tunesmith.execution._recovery import release_orphans
from tunesmith.execution._zygote import ForkedProcess, Zygote
from tunesmith.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from tunesmith._worker_spec import WorkerSpec
    from tunesmith.reporting._protocol import Reporter
    from tunesmith.study import Callback, Objective, Study

__all__ = ["run_processes"]

#: seconds an interrupted driver waits for its workers to record their trials and exit
INTERRUPT_GRACE_S = 10.0
#: seconds a worker may hold a trial that was taken back from it before it is stopped
_TAKEN_BACK_S = 2.0


@dataclass
class WorkerPayload:
    """What a worker process receives (cloudpickled): how to reopen the study, and what to run."""

    study: WorkerSpec  # ``.open()`` gives the Study
    objective: Objective
    settings: LoopSettings


@dataclass
class _Worker:
    index: int
    proc: subprocess.Popen[bytes] | ForkedProcess
    conn: Connection
    current: int | None = None  # trial_id of the trial it runs
    started: float = 0.0  # when that trial started
    taken_at: float | None = None  # when its trial was seen taken back (its lease lapsed) while it ran
    done: bool = False
    code: int | None = None  # exit code, once done
    extra: dict[str, Any] = field(default_factory=dict)


def _spawn(
    index: int, payload: bytes, extra_env: dict[str, str] | None = None, zygote: Zygote | None = None,
) -> _Worker:
    """Start worker ``index``: forked by ``zygote`` when given, else a fresh interpreter."""
    parent_sock, child_sock = socket.socketpair()
    env = {**(extra_env or {}), "TUNESMITH_WORKER_INDEX": str(index)}
    proc: subprocess.Popen[bytes] | ForkedProcess | None = None
    if zygote is not None and zygote.alive:
        try:
            proc = zygote.spawn(child_sock.fileno(), env)
        except (OSError, RuntimeError):
            proc = None  # the fork server is gone: a fresh interpreter instead
    if proc is None:
        env = {**os.environ, **env, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "tunesmith.execution._child", str(child_sock.fileno())],
            pass_fds=(child_sock.fileno(),), env=env,
        )
    child_sock.close()
    conn = Connection(parent_sock.detach())
    conn.send_bytes(payload)
    return _Worker(index, proc, conn)


def start_zygote(study: Study) -> Zygote:
    """Fork the worker fork server now (before the driver starts any thread)."""
    from tunesmith.execution._child import main

    study.storage.close()  # no database connection crosses the fork (SQLite's locks are per process)
    return Zygote(lambda fd, _env: main(fd, forked=True), preload=getattr(study.sampler, "preload", None))


def run_processes(
    study: Study, objective: Objective, *, tickets: TicketOffice, settings: LoopSettings, n_workers: int,
    callbacks: list[Callback], reporter: Reporter | None, worker_envs: list[dict[str, str]] | None = None,
    zygote: Zygote | None = None,
) -> None:
    """Run the worker loop in ``n_workers`` processes until ``tickets`` are spent.

    ``worker_envs[i]`` adds environment variables to worker ``i`` and to any worker
    that replaces it (its slot's ``CUDA_VISIBLE_DEVICES``, thread counts...). Workers
    are forked by ``zygote`` when given (see :func:`start_zygote`), else spawned.
    On KeyboardInterrupt no trial is left RUNNING: those the workers held go back to
    the queue (see ``_recovery``); the interrupt is re-raised.
    """
    url = study.storage.url
    if url is None:
        raise ValueError(
            f"n_workers={n_workers} needs a storage that worker processes can share; create the study "
            "with storage='sqlite:///study.db' (or a postgresql:// URL)"
        )
    payload = dumps(WorkerPayload(study.worker_spec(url, beside_others=n_workers > 1), objective, settings))
    envs = worker_envs or [{} for _ in range(n_workers)]

    def spawn(i: int) -> _Worker:
        return _spawn(i, payload, envs[i], zygote)

    driver = _Driver(study, tickets, settings, callbacks, reporter)
    workers: list[_Worker] = []
    try:
        workers.extend(spawn(i) for i in range(n_workers))
        driver.serve(workers, spawn)
    except KeyboardInterrupt:
        driver.interrupted = True
        driver.stop()
        try:
            driver.serve(workers, None, until=time.time() + INTERRUPT_GRACE_S)
        except KeyboardInterrupt:
            pass  # pressed again: stop them now
        raise
    finally:
        driver.close(workers)
    if driver.error is not None:
        raise driver.error


def _death_reason(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (out of memory?)" if name == "SIGKILL" else " (a crash in native code?)" if name == "SIGSEGV" else ""
        return f"the worker process was killed by {name}{hint} while running this trial"
    return f"the worker process died (exit code {code}) while running this trial"


class _Driver:
    """Serves the workers' messages: tickets, trial starts and ends, errors; replaces lost workers."""

    def __init__(
        self, study: Study, tickets: TicketOffice, settings: LoopSettings, callbacks: list[Callback],
        reporter: Reporter | None,
    ) -> None:
        self.study = study
        self.settings = settings
        self.tickets = tickets
        self.watcher = StudyWatcher(study, settings, callbacks, reporter)
        self.interrupted = False
        self.restarts = 0

    @property
    def error(self) -> BaseException | None:
        return self.tickets.error

    def stop(self) -> None:
        self.tickets.stopping = True

    def serve(
        self, workers: list[_Worker], respawn: Callable[[int], _Worker] | None, until: float | None = None,
    ) -> None:
        """Serve until every worker is done (or until ``until``); ``respawn`` replaces workers (None: never)."""
        while until is None or time.time() < until:
            if respawn is not None:
                self._replace(workers, respawn)
            live = [w for w in workers if not w.done]
            if not live:
                if respawn is None:
                    break
                self._poll(live)  # a last look: a trial of this call back in the queue needs a worker
                self._replace(workers, respawn)
                if all(w.done for w in workers):
                    break
                continue
            for ready in wait([w.conn for w in live], timeout=POLL_S):
                w = next(x for x in live if x.conn is ready)
                try:
                    msg = w.conn.recv()
                except (EOFError, OSError):
                    self._ended(w)
                    continue
                self._handle(w, msg, live)
            self._enforce_time_limit(live)
            if self.study.stop_requested:
                self.stop()
            if self.watcher.due():
                self._poll(live)
            self._stop_taken_back(live)

    def _handle(self, w: _Worker, msg: tuple[Any, ...], live: list[_Worker]) -> None:
        kind = msg[0]
        if kind == "claim":
            w.current = w.taken_at = None  # it is done with its last trial, whatever became of it
            w.conn.send(self.tickets.grant())
        elif kind == "start":
            trial_id = msg[1]
            for other in live:
                if other is not w and other.current == trial_id and other.taken_at is None:
                    other.taken_at = time.time()  # re-queued and started here: the other lost it
            w.current, w.started, w.taken_at = trial_id, time.time(), None
            self.tickets.started(int(msg[2]), trial_id)
        elif kind == "finished":
            w.current = w.taken_at = None
            self.tickets.finished(msg[1], msg[2], msg[3])
        elif kind == "error":
            self.tickets.fail(remote_error(msg[1], msg[2]))

    def _ended(self, w: _Worker) -> None:
        w.done = True
        w.code = code = w.proc.wait()
        if code != 0 and w.current is not None:
            self.take_back(w, _death_reason(code))

    def _replace(self, workers: list[_Worker], respawn: Callable[[int], _Worker]) -> None:
        """Start a worker in a finished worker's slot while tickets wait for one."""
        free = self.tickets.available()
        if free == 0:
            return
        live = [w for w in workers if not w.done]
        idle = sum(1 for w in live if w.current is None)  # each of those claims a ticket next
        if free is not None and free <= idle:
            return
        for i, w in enumerate(workers):
            if not w.done:
                continue
            if w.code != 0:
                if self.restarts >= 10 * len(workers):
                    continue  # workers keep dying: give up on this slot
                self.restarts += 1
            w.conn.close()
            workers[i] = respawn(w.index)
            return

    def _poll(self, live: list[_Worker]) -> None:
        changed = self.watcher.poll()
        now = time.time()
        for t in changed:
            if t.state == TrialState.WAITING:
                self.tickets.requeued(t.trial_id, _retries(t))
            if t.state != TrialState.RUNNING:
                for w in live:
                    if w.current == t.trial_id and w.taken_at is None:
                        w.taken_at = now

    def _stop_taken_back(self, workers: list[_Worker]) -> None:
        """Stop a worker still running a trial that was taken back from it (stalled past its lease)."""
        now = time.time()
        for w in workers:
            if w.taken_at is not None and now - w.taken_at > _TAKEN_BACK_S and w.proc.poll() is None:
                w.current = w.taken_at = None  # its trial is recorded already (re-queued or FAILED)
                w.proc.kill()  # the dead-worker path then starts a replacement if one is needed

    def _enforce_time_limit(self, workers: list[_Worker]) -> None:
        limit = self.settings.trial_timeout
        if limit is None:
            return
        now = time.time()
        for w in workers:
            if w.current is not None and now - w.started > limit and w.proc.poll() is None:
                self.take_back(w, f"the trial exceeded its time limit of {limit:g} s and was stopped", retry=False)
                w.proc.kill()  # the dead-worker path then starts a replacement

    def take_back(self, w: _Worker, reason: str, retry: bool = True) -> None:
        if w.current is not None:
            trial_id, w.current = w.current, None
            if self.watcher.take_back(trial_id, reason, retry, interrupted=self.interrupted):
                self.tickets.requeued(trial_id)

    def close(self, workers: list[_Worker]) -> None:
        """Stop the workers still running, and record every trial they held: none stays RUNNING."""
        alive = [w for w in workers if w.proc.poll() is None]
        for w in alive:
            w.proc.send_signal(signal.SIGTERM)
        end = time.time() + 2.0
        for w in alive:
            try:
                w.proc.wait(timeout=max(0.0, end - time.time()))
            except subprocess.TimeoutExpired:
                w.proc.kill()
                w.proc.wait()
        reason = "its worker process was stopped, or died, before it finished this trial"
        for w in workers:
            self.take_back(w, reason, retry=False)
            w.conn.close()
        # A trial a worker started but had not announced yet (stopped while the sampler suggested).
        release_orphans(self.study, interrupted=self.interrupted, reason=reason)
        self.watcher.poll()


def _retries(trial: FrozenTrial) -> int:
    return trial.retries
