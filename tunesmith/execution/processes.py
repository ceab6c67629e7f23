"""Local worker processes sharing one study through its storage.

Each worker is forked from a fork server that has the driver's modules imported (see
``_zygote``: a warm start in milliseconds) or, where forking is unsafe, is a fresh
interpreter (``python -m tunesmith.execution._child``). Either way it reopens the study
from its storage URL and runs the usual worker loop. The objective travels with
cloudpickle, so closures, lambdas and functions defined in ``__main__`` work, and the
main script is never re-imported (no ``if __name__ == "__main__"`` guard needed). The driver process hands out one
ticket per trial (so ``n_trials`` is exact across workers), watches the storage for
finished trials (callbacks, console), and records a worker that dies mid-trial as
a FAILED trial with the reason.
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

import cloudpickle

from tunesmith.execution._driver import POLL_S, StudyWatcher, TicketOffice
from tunesmith.execution._loop import LoopSettings
from tunesmith.execution._zygote import ForkedProcess, Zygote

if TYPE_CHECKING:
    from tunesmith.study import Callback, Objective, Study

__all__ = ["run_processes"]


@dataclass
class WorkerPayload:
    """What a worker process receives (cloudpickled)."""

    storage_url: str
    study_name: str
    objective: Any
    sampler: Any
    space: Any
    settings: LoopSettings
    scheduler: Any = None
    beside_others: bool = False  # more than one worker: see Study.ask


@dataclass
class _Worker:
    index: int
    proc: subprocess.Popen[bytes] | ForkedProcess
    conn: Connection
    current: int | None = None  # trial_id of the trial it runs
    started: float = 0.0  # when that trial started
    done: bool = False
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

    close = getattr(study.storage, "close", None)
    if close is not None:
        close()  # no database connection crosses the fork (SQLite's locks are per process)
    return Zygote(lambda fd, _env: main(fd, forked=True), preload=getattr(study.sampler, "preload", None))


def run_processes(
    study: Study, objective: Objective, *, n_trials: int | None, settings: LoopSettings, n_workers: int,
    callbacks: list[Callback], reporter: Any, worker_envs: list[dict[str, str]] | None = None,
    zygote: Zygote | None = None,
) -> None:
    """Run the worker loop in ``n_workers`` processes until the budget is spent.

    ``worker_envs[i]`` adds environment variables to worker ``i`` and to any worker
    that replaces it (its slot's ``CUDA_VISIBLE_DEVICES``, thread counts...). Workers
    are forked by ``zygote`` when given (see :func:`start_zygote`), else spawned.
    """
    url = study.storage.url
    if url is None:
        raise ValueError(
            f"n_workers={n_workers} needs a storage that worker processes can share; create the study "
            "with storage='sqlite:///study.db' (or a postgresql:// URL)"
        )
    payload = cloudpickle.dumps(WorkerPayload(
        url, study.name, objective, study.sampler, study.space, settings, study.scheduler, n_workers > 1,
    ))
    envs = worker_envs or [{} for _ in range(n_workers)]
    workers = [_spawn(i, payload, envs[i], zygote) for i in range(n_workers)]
    driver = _Driver(study, n_trials, settings, callbacks, reporter)
    try:
        driver.serve(workers, lambda i: _spawn(i, payload, envs[i], zygote))
    except KeyboardInterrupt:
        driver.stop()
        for w in workers:
            if w.proc.poll() is None:
                w.proc.send_signal(signal.SIGINT)
        driver.drain(workers, grace=10.0)
        raise
    finally:
        for w in workers:
            if w.proc.poll() is None:
                w.proc.kill()
                w.proc.wait()
            driver.take_back(w, "the worker process was stopped", retry=False)
            w.conn.close()
        driver.watcher.poll()
        if reporter is not None:
            reporter.finish(study)
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
    """Serves the workers' messages: tickets, trial starts and ends, errors."""

    def __init__(
        self, study: Study, n_trials: int | None, settings: LoopSettings, callbacks: list[Callback], reporter: Any,
    ) -> None:
        self.study = study
        self.settings = settings
        self.tickets = TicketOffice(n_trials, settings)
        self.watcher = StudyWatcher(study, settings, callbacks, reporter)

    @property
    def error(self) -> BaseException | None:
        return self.tickets.error

    def stop(self) -> None:
        self.tickets.stopping = True

    def serve(self, workers: list[_Worker], respawn: Callable[[int], _Worker]) -> None:
        restarts = 0
        while True:
            live = [w for w in workers if not w.done]
            if not live:
                break
            for ready in wait([w.conn for w in live], timeout=POLL_S):
                w = next(x for x in live if x.conn is ready)
                try:
                    msg = w.conn.recv()
                except (EOFError, OSError):
                    w.done = True
                    code = w.proc.wait()
                    if code != 0:
                        if w.current is not None:
                            self.take_back(w, _death_reason(code))
                        if not self.tickets.stopping and restarts < 10 * len(workers):
                            restarts += 1  # replace it: the study goes on
                            workers[workers.index(w)] = respawn(w.index)
                    continue
                self._handle(w, msg)
            self._enforce_time_limit(live)
            if self.study._stop_requested:
                self.stop()
            if self.watcher.due():
                self.watcher.poll()

    def _handle(self, w: _Worker, msg: tuple[Any, ...]) -> None:
        kind = msg[0]
        if kind == "claim":
            w.conn.send(self.tickets.grant())
        elif kind == "start":
            w.current, w.started = msg[1], time.time()
            self.tickets.started(msg[2], msg[1])
        elif kind == "finished":
            w.current = None
            self.tickets.finished(msg[1], msg[2], msg[3])
        elif kind == "error":
            try:
                error = cloudpickle.loads(msg[1])
            except Exception:
                error = RuntimeError(msg[2])
            self.tickets.fail(error)

    def drain(self, workers: list[_Worker], grace: float) -> None:
        end = time.time() + grace
        for w in workers:
            try:
                w.proc.wait(timeout=max(0.0, end - time.time()))
            except subprocess.TimeoutExpired:
                pass

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
            if self.watcher.take_back(trial_id, reason, retry):
                self.tickets.requeued(trial_id)
