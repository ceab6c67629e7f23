"""Warm worker start: workers forked from a fork server that holds the driver's imports."""

from __future__ import annotations

import os
import signal
import sys
import time
import types
import weakref
from pathlib import Path

import numpy as np
import pytest

import tunesmith
from tunesmith import TrialState
from tunesmith.execution._zygote import fork_unsafe_reason, resolve_start_method
from tunesmith.samplers import RandomSampler

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the fork server is for Linux")


def test_start_method_is_checked_before_anything_runs(sqlite_url: str) -> None:
    study = tunesmith.create_study(storage=sqlite_url)
    with pytest.raises(ValueError, match="start_method must be one of 'auto', 'fork', 'spawn', got 'forkserver'"):
        study.optimize(lambda t: 0.0, n_trials=2, n_workers=2, start_method="forkserver")
    assert study.trials == []


def test_auto_forks_on_linux_unless_unsafe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUNESMITH_START_METHOD", raising=False)
    # This process as a fresh driver sees it (on a GPU machine other tests may have started CUDA here).
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    monkeypatch.setattr("tunesmith.execution._zygote._cuda_driver_started", lambda: False)
    assert fork_unsafe_reason() is None
    assert resolve_start_method(None) == "fork"
    assert resolve_start_method("spawn") == "spawn"
    monkeypatch.setenv("TUNESMITH_START_METHOD", "spawn")
    assert resolve_start_method(None) == "spawn"
    monkeypatch.delenv("TUNESMITH_START_METHOD")
    monkeypatch.setitem(sys.modules, "jax", types.ModuleType("jax"))
    assert "jax is imported" in (fork_unsafe_reason() or "")
    assert resolve_start_method("auto") == "spawn"
    assert resolve_start_method("fork") == "fork"  # asked for explicitly: the user's call


def test_auto_spawns_when_cuda_is_initialised(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("torch")
    fake.cuda = types.SimpleNamespace(is_initialized=lambda: True)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torch", fake)
    assert "CUDA is already initialised" in (fork_unsafe_reason() or "")
    assert resolve_start_method(None) == "spawn"


def sees_driver_module(trial: tunesmith.Trial) -> float:
    trial.set_user_attr("pid", os.getpid())
    return float("colorsys" in sys.modules)  # imported by the test (the driver), never by tunesmith


@pytest.mark.parametrize(("method", "expected"), [("fork", 1.0), ("spawn", 0.0)])
def test_forked_workers_inherit_the_drivers_imports(sqlite_url: str, method: str, expected: float) -> None:
    import colorsys  # noqa: F401

    study = tunesmith.create_study(storage=sqlite_url, sampler=RandomSampler(seed=0))
    study.optimize(sees_driver_module, n_trials=6, n_workers=2, start_method=method)
    assert [t.value for t in study.trials] == [expected] * 6
    pids = {t.user_attrs["pid"] for t in study.trials}
    assert os.getpid() not in pids and len(pids) <= 2


def global_draws(trial: tunesmith.Trial) -> float:
    time.sleep(0.1)  # both workers take trials
    trial.set_user_attr("pid", os.getpid())
    trial.set_user_attr("draw", float(np.random.random()))
    return trial.suggest_float("x", 0, 1)


def test_forked_workers_get_fresh_global_seeds(sqlite_url: str) -> None:
    np.random.seed(0)  # the driver's global state: a plain fork would copy it into every worker
    study = tunesmith.create_study(storage=sqlite_url, sampler=RandomSampler(seed=0))
    study.optimize(global_draws, n_trials=8, n_workers=2, start_method="fork")
    first = {}
    for t in study.trials:
        first.setdefault(t.user_attrs["pid"], t.user_attrs["draw"])
    assert len(first) == 2 and len(set(first.values())) == 2
    assert np.random.random() == np.random.RandomState(0).random_sample(1)[0]  # the driver's own stream untouched


def reads_env(trial: tunesmith.Trial) -> float:
    trial.set_user_attr("flag", os.environ.get("TUNESMITH_TEST_FLAG"))
    trial.set_user_attr("index", os.environ.get("TUNESMITH_WORKER_INDEX"))
    trial.set_user_attr("threads", os.environ.get("OMP_NUM_THREADS"))
    return trial.suggest_float("x", 0, 1)


def test_forked_workers_get_their_slot_environment(sqlite_url: str) -> None:
    study = tunesmith.create_study(storage=sqlite_url, sampler=RandomSampler(seed=0))
    study.optimize(reads_env, n_trials=6, n_workers=2, start_method="fork",
                   worker_env={"TUNESMITH_TEST_FLAG": "on"}, resources_per_trial={"cpu": 1})
    assert {t.user_attrs["flag"] for t in study.trials} == {"on"}
    assert {t.user_attrs["index"] for t in study.trials} <= {"0", "1"}
    assert {t.user_attrs["threads"] for t in study.trials} == {"1"}
    assert "TUNESMITH_TEST_FLAG" not in os.environ  # the driver's environment is untouched


def registers_an_exit_handler(trial: tunesmith.Trial) -> float:
    import atexit

    folder = os.environ["TUNESMITH_TEST_EXIT_DIR"]
    atexit.register(lambda: open(os.path.join(folder, f"worker-{os.getpid()}"), "w").close())
    time.sleep(0.1)  # both workers take trials
    return trial.suggest_float("x", 0, 1)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_exit_handlers_are_the_worker_processes_own(sqlite_url: str, tmp_path: Path, method: str) -> None:
    """A worker runs at its exit what its trials registered (W&B writes a run's last records
    there), as a fresh interpreter does; the driver's handlers it inherited by fork it neither
    runs nor frees."""
    import atexit

    driver = os.getpid()
    exits = tmp_path / "exits"
    exits.mkdir()

    def drivers_handler() -> None:
        if os.getpid() != driver:
            open(exits / f"driver-handler-in-{os.getpid()}", "w").close()

    class Holder:  # what a library's handler may hold; freeing it in a forked child can hang (Ray's)
        def __call__(self) -> None:
            pass

        def __del__(self) -> None:
            if os.getpid() != driver:
                open(exits / f"driver-handler-freed-in-{os.getpid()}", "w").close()

    atexit.register(drivers_handler)
    holder = Holder()
    atexit.register(holder)
    held = weakref.ref(holder)
    del holder  # held by atexit only
    try:
        study = tunesmith.create_study(storage=sqlite_url, sampler=RandomSampler(seed=0))
        study.optimize(registers_an_exit_handler, n_trials=6, n_workers=2, start_method=method,
                       worker_env={"TUNESMITH_TEST_EXIT_DIR": str(exits)})
    finally:
        atexit.unregister(drivers_handler)
        atexit.unregister(held())
    names = sorted(p.name for p in exits.iterdir())
    assert names and all(n.startswith("worker-") for n in names), names
    assert 1 <= len(names) <= 2  # one file per worker process, each written at its exit


def kills_the_fork_server_once(trial: tunesmith.Trial) -> float:
    x = trial.suggest_float("x", 0, 1)
    if trial.number == 2 and trial.retries == 0:
        os.kill(os.getppid(), signal.SIGKILL)  # a forked worker's parent is the fork server
        os.kill(os.getpid(), signal.SIGKILL)
    return x


def test_lost_fork_server_falls_back_to_fresh_interpreters(sqlite_url: str) -> None:
    study = tunesmith.create_study(storage=sqlite_url, sampler=RandomSampler(seed=0))
    study.optimize(kills_the_fork_server_once, n_trials=6, n_workers=2, max_retries=1, start_method="fork")
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 6
    assert study.trials[2].system_attrs["retries"] == 1


def sigint_ignored(trial: tunesmith.Trial) -> float:
    return float(signal.getsignal(signal.SIGINT) == signal.SIG_IGN)


@pytest.mark.parametrize("driver_ignores", [True, False])
def test_forked_workers_treat_ctrl_c_as_a_fresh_interpreter_would(sqlite_url: str, driver_ignores: bool) -> None:
    """A driver started in the background ignores SIGINT, and so do its workers; otherwise Ctrl-C interrupts."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN if driver_ignores else signal.default_int_handler)
    try:
        study = tunesmith.create_study(storage=sqlite_url, sampler=RandomSampler(seed=0))
        study.optimize(sigint_ignored, n_trials=2, n_workers=2, start_method="fork")
    finally:
        signal.signal(signal.SIGINT, previous)
    assert [t.value for t in study.trials] == [float(driver_ignores)] * 2


def test_fork_is_unsafe_once_the_cuda_driver_runs_its_threads() -> None:
    """cuInit starts driver threads named cuda...; only then can a forked child not use the GPU
    (importing a CUDA build of torch maps libcuda but starts none; seen on an H200)."""
    import ctypes
    import threading

    from tunesmith.execution._zygote import _cuda_driver_started, fork_unsafe_reason

    if not sys.platform.startswith("linux"):
        pytest.skip("thread names from /proc are Linux's")
    if _cuda_driver_started():
        pytest.skip("the CUDA driver already runs in this test process (a GPU test before this one)")
    assert fork_unsafe_reason() is None
    named, release = threading.Event(), threading.Event()

    def driver_thread() -> None:
        ctypes.CDLL(None).prctl(15, b"cuda00001400006", 0, 0, 0)  # PR_SET_NAME, as the driver names it
        named.set()
        release.wait(10)

    th = threading.Thread(target=driver_thread, daemon=True)
    th.start()
    try:
        named.wait(10)
        assert "CUDA driver is initialised" in (fork_unsafe_reason() or "")
    finally:
        release.set()
        th.join()
    assert fork_unsafe_reason() is None


_TORCH_AFTER_THE_DRIVER_USED_IT = """
import sys, torch, tunesmith
a = torch.randn(256, 256); (a @ a).sum()   # the driver's OpenMP pool starts
def objective(trial):
    b = torch.randn(256, 256)
    trial.set_user_attr("threads", torch.get_num_threads())
    return float((b @ b).sum()) * 0 + trial.suggest_float("x", 0, 1)
study = tunesmith.create_study(storage=sys.argv[1])
study.optimize(objective, n_trials=4, n_workers=2)
print(sorted(t.user_attrs["threads"] for t in study.trials))
"""


def test_forked_workers_run_torch_after_the_driver_started_its_thread_pool(sqlite_url: str) -> None:
    """A forked worker inherits the driver's OpenMP state without its threads: torch on more than one
    thread would wait for them forever. Workers run it on one thread (a slot's CPU count)."""
    pytest.importorskip("torch")
    import subprocess

    proc = subprocess.run([sys.executable, "-c", _TORCH_AFTER_THE_DRIVER_USED_IT, sqlite_url],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[1, 1, 1, 1]"


def test_auto_spawns_when_torch_workers_get_several_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUNESMITH_START_METHOD", raising=False)
    monkeypatch.setattr("tunesmith.execution._zygote._cuda_driver_started", lambda: False)
    fake = types.ModuleType("torch")
    fake.cuda = types.SimpleNamespace(is_initialized=lambda: False)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torch", fake)
    assert resolve_start_method(None, threads_per_worker=1) == "fork"
    assert "each worker is to use 4 threads" in (fork_unsafe_reason(4) or "")
    assert resolve_start_method(None, threads_per_worker=4) == "spawn"
