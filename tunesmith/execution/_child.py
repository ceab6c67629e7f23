"""Entry point of a worker process: ``python -m tunesmith.execution._child FD``."""

from __future__ import annotations

import sys
import traceback
from multiprocessing.connection import Connection

import cloudpickle

from tunesmith.execution._loop import MaxFailuresError, worker_loop
from tunesmith.execution.processes import WorkerPayload
from tunesmith.storage import get_storage
from tunesmith.trial import FrozenTrial


def main(fd: int) -> int:
    conn = Connection(fd)
    payload: WorkerPayload = cloudpickle.loads(conn.recv_bytes())
    from tunesmith.study import Study

    study = Study(payload.study_name, get_storage(payload.storage_url), payload.sampler, payload.space)
    # Failures are counted by the driver across all workers, not here.
    settings = payload.settings
    settings.max_failures = None

    def claim() -> bool:
        conn.send(("claim",))
        return bool(conn.recv())

    def on_start(trial_id: int) -> None:
        conn.send(("start", trial_id))

    def on_finished(frozen: FrozenTrial) -> None:
        conn.send(("finished", int(frozen.state), frozen.number, frozen.error))

    try:
        worker_loop(study, payload.objective, settings, claim, on_finished, on_start)
    except KeyboardInterrupt:
        return 130  # the running trial is already recorded as interrupted
    except MaxFailuresError:
        return 0
    except BaseException as e:
        try:
            blob = cloudpickle.dumps(e)
        except Exception:
            blob = b""
        conn.send(("error", blob, traceback.format_exc()))
        return 1
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
