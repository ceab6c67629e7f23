"""Warm worker start: a fork server forked from the driver, so workers inherit its imports.

A fresh interpreter per worker re-imports everything the objective needs (torch and
scikit-learn take seconds). Instead, the driver forks one *zygote* before it starts any
thread; each worker is forked from that single-threaded zygote and so starts with the
driver's modules already loaded, in milliseconds. The zygote never runs user code, so
it cannot have initialised CUDA, and workers set ``CUDA_VISIBLE_DEVICES`` before they
touch it.

``start_method`` (or ``TUNESMITH_START_METHOD``) picks how workers start:

- ``"spawn"``: a fresh interpreter per worker (always safe, slow imports);
- ``"fork"``: the zygote (POSIX only);
- ``"auto"`` (default): the zygote on Linux unless something makes forking unsafe —
  CUDA already initialised in the driver, TensorFlow or JAX imported (their runtime
  threads do not survive a fork), or torch imported and workers given several threads
  each — otherwise spawn. :func:`fork_unsafe_reason` says why.

What differs from spawn: a forked worker shares the driver's module state as it was at
the fork (globals set at import time included), and gets fresh random seeds for
``random``, NumPy's global generator and torch, as a new interpreter would; torch runs on
one thread in it (the slot's ``OMP_NUM_THREADS``, one CPU per trial by default). Its exit
handlers are its own, as in a new interpreter: those its trials register (``atexit``: W&B
writing a run's last records, MLflow ending its run) run when it exits; the driver's do not.
"""

from __future__ import annotations

import atexit
import os
import pickle
import select
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["START_METHODS", "ForkedProcess", "Zygote", "fork_unsafe_reason", "resolve_start_method"]

START_METHODS = ("auto", "fork", "spawn")
_UNSAFE_MODULES = ("tensorflow", "jax")


def fork_unsafe_reason(threads_per_worker: int = 1) -> str | None:
    """Why forking workers from this process is unsafe here (None: it is safe).

    A forked worker runs torch on one thread (see :func:`_fresh_process_state`), so workers
    that are to use several threads each start fresh when torch is imported.
    """
    if not sys.platform.startswith("linux"):
        return f"forking is only the default on Linux (this is {sys.platform})"
    torch = sys.modules.get("torch")
    cuda = getattr(torch, "cuda", None)
    if cuda is not None and callable(getattr(cuda, "is_initialized", None)) and cuda.is_initialized():
        return "CUDA is already initialised in this process (a forked child cannot use it)"
    if _cuda_driver_started():
        return "the CUDA driver is initialised in this process (a forked child cannot use it)"
    for name in _UNSAFE_MODULES:
        if name in sys.modules:
            return f"{name} is imported (its runtime threads do not survive a fork)"
    if threads_per_worker > 1 and torch is not None:
        return (f"torch is imported and each worker is to use {threads_per_worker} threads (a forked worker "
                "cannot start torch's thread pool again once the driver has used it)")
    return None


def _cuda_driver_started() -> bool:
    """Whether some library has initialised the CUDA driver here (``torch.cuda.is_available()`` does).

    ``cuInit`` starts the driver's threads (``cuda00001400006``, ``cuda-EvtHandlr``); merely
    importing a CUDA build of torch maps libcuda without starting them, and a forked child
    can still use the GPU then (checked on an H200 with torch 2.11).
    """
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return False
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                if f.read().startswith("cuda"):
                    return True
        except OSError:
            continue  # the thread ended meanwhile
    return False


def resolve_start_method(requested: str | None, threads_per_worker: int = 1) -> str:
    """``"fork"`` or ``"spawn"`` for ``requested`` (None: ``TUNESMITH_START_METHOD``, else auto)."""
    method = requested if requested is not None else os.environ.get("TUNESMITH_START_METHOD", "auto")
    if method not in START_METHODS:
        raise ValueError(f"start_method must be one of {', '.join(map(repr, START_METHODS))}, got {method!r}")
    if method == "fork" and not hasattr(os, "fork"):
        raise ValueError("start_method='fork' needs os.fork, which this platform lacks; use 'spawn'")
    if method == "auto":
        return "spawn" if fork_unsafe_reason(threads_per_worker) is not None else "fork"
    return method


class Zygote:
    """A process forked from the driver that forks workers on request.

    ``worker(fd, env)`` runs in each forked worker with the worker's end of its socket;
    its return value is the worker's exit code. ``preload()`` runs in the zygote before
    it forks any worker (imports every worker needs: once, not once per worker). Close
    the zygote with :meth:`close`.
    """

    def __init__(self, worker: Any, preload: Any = None) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sys.stdout.flush()
        sys.stderr.flush()
        # Workers treat Ctrl-C as a fresh interpreter would: ignored if the driver ignores it
        # (started in the background), else KeyboardInterrupt.
        sigint = signal.SIG_IGN if signal.getsignal(signal.SIGINT) == signal.SIG_IGN else signal.default_int_handler
        with warnings.catch_warnings():
            # Python 3.12+ warns when a process with threads forks. The zygote runs only
            # tunesmith's code and forks workers while single-threaded itself.
            warnings.filterwarnings("ignore", message=r".*use of fork\(\) may lead to deadlocks",
                                    category=DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the zygote
            ours.close()
            code = 1
            try:
                # Ctrl-C reaches the workers, not the zygote. Blocked rather than ignored: a
                # worker forked as it arrives still gets its own copy once it unblocks.
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
                if preload is not None:
                    try:
                        preload()
                    except Exception:
                        pass  # each worker meets (and reports) the problem itself
                code = _serve(theirs, worker, sigint)
            finally:
                os._exit(code)
        theirs.close()
        self.pid = pid
        self._sock = ours
        self._exits: dict[int, int] = {}
        self._alive = True

    @property
    def alive(self) -> bool:
        """False once the zygote is known to have exited (or was closed)."""
        return self._alive

    def spawn(self, fd: int, env: dict[str, str]) -> ForkedProcess:
        """Fork a worker that runs ``worker(fd, env)``; ``fd`` is passed, not consumed.

        RuntimeError (or OSError) if the zygote is gone.
        """
        socket.send_fds(self._sock, [pickle.dumps(env)], [fd])
        while True:
            msg = self._recv(None)
            if msg is None:
                self._alive = False
                raise RuntimeError("the worker fork server exited; cannot start a worker")
            if msg[0] == "pid":
                return ForkedProcess(self, msg[1])

    def _recv(self, timeout: float | None) -> tuple[Any, ...] | None:
        """One message (exit reports are recorded on the way); None on timeout or a dead zygote."""
        if not self._alive:
            return None
        ready, _, _ = select.select([self._sock], [], [], timeout)
        if not ready:
            return None
        data = self._sock.recv(4096)
        if not data:
            self._alive = False
            return None
        msg: tuple[Any, ...] = pickle.loads(data)
        if msg[0] == "exit":
            self._exits[msg[1]] = msg[2]
        return msg

    def exit_code(self, pid: int, timeout: float | None) -> int | None:
        """``pid``'s exit code, waiting up to ``timeout`` s (None: until it exits).

        The zygote reports each exit; should a report be lost (the zygote died, or an
        interrupt here cut a read short), a process that is gone counts as exit code 1.
        """
        end = None if timeout is None else time.monotonic() + timeout
        while pid not in self._exits:
            left = 0.1 if end is None else min(0.1, max(0.0, end - time.monotonic()))
            if self._alive:
                self._recv(left)
            else:
                time.sleep(left)
            if pid in self._exits:
                break
            if _gone(pid):
                while self._alive and self._recv(0.0) is not None:
                    pass  # a report already on its way
                self._exits.setdefault(pid, 1)
                break
            if end is not None and time.monotonic() >= end:
                return None
        return self._exits[pid]

    def close(self) -> None:
        """Stop the zygote (running workers carry on) and reap it."""
        self._sock.close()
        self._alive = False
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


class ForkedProcess:
    """A worker forked by the zygote, with the part of ``subprocess.Popen``'s API the driver uses."""

    def __init__(self, zygote: Zygote, pid: int) -> None:
        self._zygote = zygote
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self._zygote.exit_code(self.pid, 0.0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = self._zygote.exit_code(self.pid, timeout)
            if self.returncode is None:
                raise subprocess.TimeoutExpired(f"worker pid {self.pid}", timeout or 0.0)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def _gone(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie nobody reaps counts as exited)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False


# -- inside the zygote ----------------------------------------------------------------
def _serve(sock: socket.socket, worker: Any, sigint: Any) -> int:
    """The zygote's loop: fork a worker per request, report each worker's exit code."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    pidfds: dict[int, int] = {}  # pidfd -> pid
    polling: set[int] = set()  # pids without a pidfd (old kernels): reaped by polling
    while True:
        timeout = 0.05 if polling else None
        ready, _, _ = select.select([sock.fileno(), *pidfds], [], [], timeout)
        for fd in ready:
            if fd == sock.fileno():
                try:
                    data, fds, _flags, _addr = socket.recv_fds(sock, 65536, 1)
                except OSError:
                    data, fds = b"", []
                if not data:
                    return 0  # the driver closed us: running workers carry on and finish alone
                pid = _fork_worker(sock, worker, fds[0], pickle.loads(data), list(pidfds), sigint)
                os.close(fds[0])
                try:
                    pidfds[os.pidfd_open(pid)] = pid
                except (AttributeError, OSError):
                    polling.add(pid)
                _send(sock, ("pid", pid))
            else:
                pid = pidfds.pop(fd)
                os.close(fd)
                _report_exit(sock, pid, 0)
        for pid in list(polling):
            if _report_exit(sock, pid, os.WNOHANG):
                polling.discard(pid)


def _report_exit(sock: socket.socket, pid: int, flags: int) -> bool:
    try:
        done, status = os.waitpid(pid, flags)
    except ChildProcessError:
        done, status = pid, 1 << 8
    if done == 0:
        return False
    _send(sock, ("exit", pid, os.waitstatus_to_exitcode(status)))
    return True


def _send(sock: socket.socket, msg: tuple[Any, ...]) -> None:
    try:
        sock.send(pickle.dumps(msg))
    except OSError:
        pass  # the driver is gone


class _ExitHandlers:
    """``atexit`` for a forked worker, which ends with ``os._exit``: what its code registers runs at its exit.

    As in a fresh interpreter, the handlers are the process's own: those the driver registered
    (inherited by the fork) are not run, nor dropped, since freeing what they hold in a forked
    child may run destructors that wait on threads it does not have (Ray's). W&B writes a run's
    last records in such a handler; MLflow ends its active run.
    """

    def __init__(self) -> None:
        self._handlers: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []

    @classmethod
    def install(cls) -> _ExitHandlers:
        handlers = cls()
        atexit.register = handlers.register  # type: ignore[assignment]  # this process's, from here on
        atexit.unregister = handlers.unregister
        return handlers

    def register(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., Any]:
        self._handlers.append((func, args, kwargs))
        return func

    def unregister(self, func: Callable[..., Any]) -> None:
        self._handlers = [h for h in self._handlers if h[0] != func]

    def run(self) -> None:
        """Last registered first; an error is printed and the rest still run, as at an interpreter's exit."""
        while self._handlers:
            func, args, kwargs = self._handlers.pop()
            try:
                func(*args, **kwargs)
            except BaseException:
                import traceback

                traceback.print_exc()


def _fork_worker(
    sock: socket.socket, worker: Any, fd: int, env: dict[str, str], pidfds: list[int], sigint: Any,
) -> int:
    pid = os.fork()
    if pid != 0:
        return pid
    code = 1
    exit_handlers: _ExitHandlers | None = None
    try:
        signal.signal(signal.SIGINT, sigint)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        sock.close()
        for other in pidfds:
            os.close(other)
        exit_handlers = _ExitHandlers.install()
        os.environ.update(env)
        _fresh_process_state(env)
        code = worker(fd, env)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        if exit_handlers is not None:
            exit_handlers.run()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)
    return 0  # not reached


def _fresh_process_state(env: dict[str, str]) -> None:
    """What a new interpreter would have: own random seeds, plain stdio, the slot's thread count."""
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__  # not a console's proxy (its lock, its thread)
    np = sys.modules.get("numpy")
    if np is not None:
        np.random.seed()  # NumPy's global generator is not reseeded by fork; `random` is (by Python)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.seed()
    threads = env.get("OMP_NUM_THREADS")
    if torch is not None:
        # The driver's OpenMP pool (started by any torch op there) has no threads in this process:
        # a parallel region would wait for them forever. On one thread torch never enters it.
        torch.set_num_threads(int(threads) if threads is not None and threads.isdigit() else 1)
    if threads is not None and threads.isdigit():
        if np is not None:
            from threadpoolctl import threadpool_limits

            threadpool_limits(int(threads))
