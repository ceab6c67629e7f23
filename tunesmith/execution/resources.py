"""Per-trial resources on one machine: how many trials fit, and which GPUs each sees.

Each concurrent trial runs in a worker *slot*. A slot gets ``cpu`` CPUs (passed to
the trial's libraries as ``OMP_NUM_THREADS``/``MKL_NUM_THREADS``) and its GPUs
through ``CUDA_VISIBLE_DEVICES``: a whole number of GPUs each, or a fraction, in
which case ``round(1 / gpu)`` slots share one GPU. Slots that need no GPU see none.

>>> [slot.gpus for slot in plan_slots(Resources(cpu=1, gpu=0.5), cpus=8, gpus=["0", "1"])]
[('0',), ('0',), ('1',), ('1',)]
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Resources", "Slot", "detect_gpus", "plan_slots", "worker_envs"]

_KEYS = ("cpu", "gpu", "memory")


@dataclass(frozen=True)
class Resources:
    """What one trial needs: CPUs, GPUs (fractions allowed) and memory in bytes."""

    cpu: float = 1.0
    gpu: float = 0.0
    memory: int | None = None

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any] | None) -> Resources:
        """From ``resources_per_trial`` (Ray Tune's dict), validated with named errors."""
        spec = dict(spec or {})
        unknown = sorted(set(spec) - set(_KEYS))
        if unknown:
            raise ValueError(
                f"resources_per_trial: unknown resource {unknown[0]!r}; valid keys are 'cpu', 'gpu' and "
                "'memory' (bytes)"
            )
        cpu, gpu, memory = spec.get("cpu", 1), spec.get("gpu", 0), spec.get("memory")
        if isinstance(cpu, bool) or not isinstance(cpu, (int, float)) or not cpu > 0:
            raise ValueError(f"resources_per_trial: 'cpu' must be a positive number, got {cpu!r}")
        if isinstance(gpu, bool) or not isinstance(gpu, (int, float)) or gpu < 0:
            raise ValueError(f"resources_per_trial: 'gpu' must be a number >= 0, got {gpu!r}")
        if gpu > 1 and not float(gpu).is_integer():
            raise ValueError(f"resources_per_trial: more than one GPU must be a whole number, got gpu={gpu!r}")
        if memory is not None and (isinstance(memory, bool) or not isinstance(memory, (int, float)) or memory <= 0):
            raise ValueError(f"resources_per_trial: 'memory' must be a positive number of bytes, got {memory!r}")
        return cls(float(cpu), float(gpu), None if memory is None else int(memory))


@dataclass(frozen=True)
class Slot:
    """One concurrent trial's place on the machine."""

    index: int
    gpus: tuple[str, ...]
    cpu: float

    def env(self, any_gpu: bool) -> dict[str, str]:
        """Environment variables for the worker process that fills this slot."""
        threads = str(max(1, int(self.cpu)))
        env = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads}
        if self.gpus or any_gpu:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(self.gpus)  # "" hides the GPUs from CPU-only trials
        return env


def detect_gpus() -> list[str]:
    """GPU ids of this machine: ``CUDA_VISIBLE_DEVICES`` when set, else nvidia-smi's list, else none."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        ids = [d.strip() for d in visible.split(",") if d.strip()]
        return [] if ids[:1] == ["-1"] else ids
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run(
            [smi, "--query-gpu=index", "--format=csv,noheader"], capture_output=True, text=True, timeout=20,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    if out.returncode != 0:
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def plan_slots(
    per_trial: Resources, cpus: int | None = None, gpus: list[str] | None = None, max_concurrent: int | None = None,
) -> list[Slot]:
    """The slots that fit ``per_trial`` on ``cpus`` CPUs and ``gpus``; at least one.

    Raises ValueError when a trial asks for GPUs the machine does not have.
    """
    cpus = (os.cpu_count() or 1) if cpus is None else cpus
    gpus = detect_gpus() if gpus is None else gpus
    n = max(1, int(cpus // per_trial.cpu))
    gpu_sets: list[tuple[str, ...]] = []
    if per_trial.gpu > 0:
        if not gpus:
            raise ValueError(
                f"resources_per_trial asks for gpu={per_trial.gpu:g} but no GPU was found "
                "(CUDA_VISIBLE_DEVICES is unset and nvidia-smi lists none)"
            )
        if per_trial.gpu <= 1:
            share = max(1, round(1 / per_trial.gpu))  # trials per GPU
            gpu_sets = [(g,) for g in gpus for _ in range(share)]
        else:
            k = int(per_trial.gpu)
            if k > len(gpus):
                raise ValueError(f"resources_per_trial asks for gpu={k} but this machine has {len(gpus)}")
            gpu_sets = [tuple(gpus[i : i + k]) for i in range(0, len(gpus) - k + 1, k)]
        n = min(n, len(gpu_sets))
    if max_concurrent is not None:
        n = min(n, max_concurrent)
    return [Slot(i, gpu_sets[i] if gpu_sets else (), per_trial.cpu) for i in range(max(1, n))]


def worker_envs(per_trial: Resources, n_workers: int) -> list[dict[str, str]]:
    """One environment per worker process, each for its own slot; ValueError if they do not fit."""
    gpus = detect_gpus()
    slots = plan_slots(per_trial, gpus=gpus)
    if n_workers > len(slots):
        raise ValueError(
            f"n_workers={n_workers}, but resources_per_trial={per_trial} fit only {len(slots)} trial(s) at "
            f"once on this machine ({os.cpu_count()} CPUs, {len(gpus)} GPUs)"
        )
    return [slots[i].env(bool(gpus)) for i in range(n_workers)]

