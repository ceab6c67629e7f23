"""Real GPU runs: packing trials onto GPUs with CUDA_VISIBLE_DEVICES. Skipped without a GPU and torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import tunesmith
from tunesmith import TrialState
from tunesmith.execution.resources import detect_gpus

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not detect_gpus() or not torch.cuda.is_available(), reason="needs a CUDA GPU")


def gpu_objective(trial: tunesmith.Trial) -> float:
    import os
    import time

    import torch

    trial.set_user_attr("visible", os.environ.get("CUDA_VISIBLE_DEVICES"))
    trial.set_user_attr("count", torch.cuda.device_count())
    trial.set_user_attr("pid", os.getpid())
    size = trial.suggest_int("size", 256, 1024)
    a = torch.randn(size, size, device="cuda")
    start = time.time()
    b = (a @ a).sum().item()
    trial.set_user_attr("busy", [start, time.time()])
    time.sleep(0.2)  # overlap with the other worker on the same GPU
    return float(abs(b))


def test_half_a_gpu_each_packs_two_trials_on_one_gpu(sqlite_url: str) -> None:
    gpus = detect_gpus()
    study = tunesmith.create_study(storage=sqlite_url)
    study.optimize(gpu_objective, n_trials=8, n_workers=2, resources_per_trial={"cpu": 1, "gpu": 0.5})
    trials = study.trials
    assert all(t.state == TrialState.COMPLETE for t in trials), [t.error for t in trials]
    assert {t.user_attrs["visible"] for t in trials} == {gpus[0]}  # both slots share the first GPU
    assert all(t.user_attrs["count"] == 1 for t in trials)
    assert len({t.user_attrs["pid"] for t in trials}) == 2
    with pytest.raises(ValueError, match="fit only"):
        study.optimize(gpu_objective, n_trials=2, n_workers=2 * len(gpus) + 1,
                       resources_per_trial={"cpu": 1, "gpu": 0.5})


def cpu_objective(trial: tunesmith.Trial) -> float:
    import os

    import torch

    trial.set_user_attr("visible", os.environ.get("CUDA_VISIBLE_DEVICES"))
    trial.set_user_attr("cuda", torch.cuda.is_available())
    return trial.suggest_float("x", 0, 1)


def test_cpu_only_trials_do_not_see_the_gpus(sqlite_url: str) -> None:
    study = tunesmith.create_study(storage=sqlite_url)
    study.optimize(cpu_objective, n_trials=4, n_workers=2, resources_per_trial={"cpu": 1})
    assert {t.user_attrs["visible"] for t in study.trials} == {""}
    assert not any(t.user_attrs["cuda"] for t in study.trials)


def test_run_sizes_to_whole_gpus(sqlite_url: str) -> None:
    def train(config: dict) -> None:
        import os

        import torch

        x = torch.ones(4, device="cuda") * config["x"]
        tunesmith.report(v=float(x.sum().item()), visible=os.environ.get("CUDA_VISIBLE_DEVICES"))

    result = tunesmith.run(train, {"x": tunesmith.uniform(0, 1)}, num_samples=3, storage=sqlite_url, verbose=0,
                           resources_per_trial={"cpu": 1, "gpu": 1})
    assert [t.state for t in result.trials] == [TrialState.COMPLETE] * 3
    assert {t.last_result["visible"] for t in result.trials} <= set(detect_gpus())


FORKED_GPU_DRIVER = '''
import os, sys, time
import torch  # imported, CUDA untouched: the fork server may hold it
import tunesmith
from tunesmith.execution._zygote import fork_unsafe_reason, resolve_start_method

def obj(trial):
    import torch
    trial.set_user_attr("visible", os.environ.get("CUDA_VISIBLE_DEVICES"))
    trial.set_user_attr("count", torch.cuda.device_count())
    a = torch.randn(256, 256, device="cuda")
    time.sleep(0.2)
    return float((a @ a).abs().sum().item())

assert resolve_start_method(None) == "fork", fork_unsafe_reason()
study = tunesmith.create_study(storage=sys.argv[1])
study.optimize(obj, n_trials=4, n_workers=2, resources_per_trial={"cpu": 1, "gpu": 0.5})
assert not torch.cuda.is_initialized()
bad = [(t.state, t.error) for t in study.trials if t.state != tunesmith.TrialState.COMPLETE]
assert not bad, bad
assert {t.user_attrs["count"] for t in study.trials} == {1}, [t.user_attrs for t in study.trials]
print("ok", sorted({t.user_attrs["visible"] for t in study.trials}))
'''


def test_forked_workers_use_their_own_gpu_slot(sqlite_url: str, tmp_path: Path) -> None:
    """The warm start on a GPU machine: a driver that imported torch (CUDA untouched) forks workers
    that each initialise CUDA with their own CUDA_VISIBLE_DEVICES. A fresh driver process, because
    this one has called into CUDA (``torch.cuda.is_available()`` above) and so would spawn."""
    script = tmp_path / "driver.py"
    script.write_text(FORKED_GPU_DRIVER)
    done = subprocess.run([sys.executable, str(script), sqlite_url], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("ok")
