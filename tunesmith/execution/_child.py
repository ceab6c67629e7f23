"""Entry point of a worker process: ``python -m tunesmith.execution._child FD``."""

from __future__ import annotations

import sys
import traceback
from multiprocessing.connection import Connection

import cloudpickle

from tunesmith.exceptions import MaxFailuresError
from tunesmith.execution._loop import worker_loop
from tunesmith.execution.processes import WorkerPayload
from tunesmith.trial import FrozenTrial


def main(fd: int, forked: bool = False) -> int:
    """Run the worker loop for the payload read from ``fd``; ``forked``: started by the zygote."""
    conn = Connection(fd)
    try:
        return _serve(conn, forked)
    except KeyboardInterrupt:
        return 130  # Ctrl-C: the trial this worker ran (if any) is back in the queue
    finally:
        conn.close()


def _serve(conn: Connection, forked: bool) -> int:
    payload: WorkerPayload = cloudpickle.loads(conn.recv_bytes())
    study = payload.study.open()
    # Failures are counted by the driver across all workers, not here.
    settings = payload.settings
    settings.max_failures = None

    if settings.memory_limit is not None:
        _limit_memory(settings.memory_limit, forked)

    def send(msg: tuple[object, ...]) -> None:
        try:
            conn.send(msg)
        except OSError:
            pass  # the driver is gone: the trial still finishes and is recorded

    def claim() -> bool:
        try:
            conn.send(("claim",))
            return bool(conn.recv())
        except (EOFError, OSError):
            return False  # the driver is gone (killed?): stop after the current trial

    def on_start(trial_id: int, retries: int) -> None:
        send(("start", trial_id, retries))

    def on_finished(frozen: FrozenTrial) -> None:
        send(("finished", int(frozen.state), frozen.number, frozen.error))

    try:
        worker_loop(study, payload.objective, settings, claim, on_finished, on_start)
    except KeyboardInterrupt:
        raise
    except MaxFailuresError:
        return 0
    except BaseException as e:
        try:
            blob = cloudpickle.dumps(e)
        except Exception:
            blob = b""
        send(("error", blob, traceback.format_exc()))
        return 1
    return 0


def _limit_memory(limit: int, forked: bool) -> None:
    """Cap this worker's address space: a trial past it gets MemoryError, not the machine's OOM killer.

    A forked worker starts with the driver's mappings (its imported libraries), so its
    trials get ``limit`` bytes beyond those.
    """
    import resource

    if forked:
        limit += _address_space()
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _address_space() -> int:
    """This process's virtual memory size in bytes (0 where /proc is missing)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
