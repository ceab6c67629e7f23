from __future__ import annotations

import subprocess

import pytest

import tunesmith
from tunesmith.execution.resources import Resources, detect_gpus, plan_slots, worker_envs


def test_cpu_only_packing() -> None:
    assert len(plan_slots(Resources(cpu=2), cpus=8, gpus=[])) == 4
    assert len(plan_slots(Resources(cpu=3), cpus=2, gpus=[])) == 1  # at least one
    assert len(plan_slots(Resources(cpu=0.5), cpus=2, gpus=[], max_concurrent=3)) == 3
    assert all(s.gpus == () for s in plan_slots(Resources(cpu=1), cpus=4, gpus=["0"]))


def test_whole_and_fractional_gpus() -> None:
    whole = plan_slots(Resources(cpu=1, gpu=1), cpus=16, gpus=["0", "1", "2"])
    assert [s.gpus for s in whole] == [("0",), ("1",), ("2",)]
    pairs = plan_slots(Resources(cpu=1, gpu=2), cpus=16, gpus=["0", "1", "2", "3", "4"])
    assert [s.gpus for s in pairs] == [("0", "1"), ("2", "3")]
    quarter = plan_slots(Resources(cpu=1, gpu=0.25), cpus=16, gpus=["0", "1"])
    assert [s.gpus[0] for s in quarter] == ["0"] * 4 + ["1"] * 4
    cpu_bound = plan_slots(Resources(cpu=4, gpu=0.25), cpus=8, gpus=["0"])
    assert len(cpu_bound) == 2  # CPUs are the limit here


def test_slot_environment() -> None:
    [slot] = plan_slots(Resources(cpu=2, gpu=1), cpus=2, gpus=["3"])
    env = slot.env(any_gpu=True)
    assert env["CUDA_VISIBLE_DEVICES"] == "3" and env["OMP_NUM_THREADS"] == "2"
    [cpu_slot] = plan_slots(Resources(cpu=1), cpus=1, gpus=["3"])
    assert cpu_slot.env(any_gpu=True)["CUDA_VISIBLE_DEVICES"] == ""  # hide GPUs from CPU trials
    assert "CUDA_VISIBLE_DEVICES" not in cpu_slot.env(any_gpu=False)


def test_bad_resources_are_named() -> None:
    with pytest.raises(ValueError, match="'tpu'"):
        Resources.from_dict({"tpu": 1})
    with pytest.raises(ValueError, match="'cpu'"):
        Resources.from_dict({"cpu": 0})
    with pytest.raises(ValueError, match="whole number"):
        Resources.from_dict({"gpu": 1.5})
    with pytest.raises(ValueError, match="no GPU was found"):
        plan_slots(Resources(gpu=1), cpus=4, gpus=[])
    with pytest.raises(ValueError, match="has 1"):
        plan_slots(Resources(gpu=2), cpus=4, gpus=["0"])


def test_detection_follows_cuda_visible_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,5")
    assert detect_gpus() == ["2", "5"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert detect_gpus() == []
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert detect_gpus() == []
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    found = detect_gpus()  # nvidia-smi, if any: works with no GPU at all
    has_smi = subprocess.run(["sh", "-c", "command -v nvidia-smi"], capture_output=True).returncode == 0
    assert found == [] or has_smi


def report_env(trial: tunesmith.Trial) -> float:
    import os

    trial.set_user_attr("cuda", os.environ.get("CUDA_VISIBLE_DEVICES"))
    trial.set_user_attr("threads", os.environ.get("OMP_NUM_THREADS"))
    trial.set_user_attr("pid", os.getpid())
    return trial.suggest_float("x", 0, 1)


def test_workers_get_their_slots_gpus(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two pretend GPUs, half a GPU per trial: four slots, two per GPU.
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    study = tunesmith.create_study(storage=sqlite_url)
    study.optimize(report_env, n_trials=16, n_workers=2, resources_per_trial={"cpu": 1, "gpu": 0.5})
    by_pid: dict[int, set[str]] = {}
    for t in study.trials:
        by_pid.setdefault(t.user_attrs["pid"], set()).add(t.user_attrs["cuda"])
        assert t.user_attrs["threads"] == "1"
    assert all(len(v) == 1 for v in by_pid.values())  # a worker keeps its GPU
    assert set().union(*by_pid.values()) == {"0"}  # the first two slots share GPU 0
    with pytest.raises(ValueError, match="fit only"):
        study.optimize(report_env, n_trials=2, n_workers=3, resources_per_trial={"cpu": 1, "gpu": 1})


def test_run_sizes_workers_from_resources(sqlite_url: str) -> None:
    result = tunesmith.run(lambda c: tunesmith.report(v=c["x"]), {"x": tunesmith.uniform(0, 1)}, num_samples=6,
                           storage=sqlite_url, verbose=0, resources_per_trial={"cpu": 64})
    assert len(result.trials) == 6  # 64 CPUs per trial on this machine: one at a time, still runs


def test_worker_envs_reject_too_many_workers() -> None:
    with pytest.raises(ValueError, match="n_workers=4"):
        worker_envs(Resources(cpu=1, gpu=1), 4) if detect_gpus() else worker_envs(Resources(cpu=1000), 4)
