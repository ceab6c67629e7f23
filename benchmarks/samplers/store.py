"""Per-run results as JSON lines: ``{results_dir}/{suite}/{problem}/{sampler}.jsonl``, one line per seed.

A run already recorded (same seed, at least as many trials, same number of workers) is
not run again, so an interrupted or partial benchmark continues where it stopped, and a
longer budget reuses nothing but reruns only what is missing. One file has one writer
at a time (one task per suite x problem x sampler), so no locking is needed. A line with
``unavailable`` records why a sampler could not run; it never counts as done.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Key:
    suite: str
    problem: str
    sampler: str


def path(results_dir: str, key: Key) -> str:
    return os.path.join(results_dir, key.suite, key.problem, f"{key.sampler}.jsonl")


def _lines(file: str) -> Iterator[dict[str, Any]]:
    if not os.path.exists(file):
        return
    with open(file, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:  # a line cut short by an interrupted run
                continue


def done(results_dir: str, key: Key, seed: int, n_trials: int, workers: int, source: str | None = None) -> bool:
    """Whether this run is recorded; with ``source``, only a run of that tunesmith sampler source counts."""
    return any(
        r.get("seed") == seed and r.get("workers", 1) == workers and len(r.get("values", ())) >= n_trials
        and "unavailable" not in r and (source is None or r.get("tunesmith_samplers") == source)
        for r in _lines(path(results_dir, key))
    )


def append(results_dir: str, key: Key, record: dict[str, Any]) -> None:
    file = path(results_dir, key)
    os.makedirs(os.path.dirname(file), exist_ok=True)
    line = json.dumps({**record, "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S")}, separators=(",", ":"))
    with open(file, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def load(results_dir: str, suite: str, seeds: int | None = None) -> dict[Key, list[dict[str, Any]]]:
    """Every recorded run of ``suite``: per key, one record per seed (the longest; the latest of
    equally long ones, so a rerun supersedes), sorted by seed; with ``seeds``, only seeds
    0 .. seeds - 1; keys with only ``unavailable`` lines map to those lines."""
    out: dict[Key, list[dict[str, Any]]] = {}
    root = os.path.join(results_dir, suite)
    if not os.path.isdir(root):
        return out
    for problem in sorted(os.listdir(root)):
        for name in sorted(os.listdir(os.path.join(root, problem))):
            if not name.endswith(".jsonl"):
                continue
            key = Key(suite, problem, name[: -len(".jsonl")])
            runs: dict[int, dict[str, Any]] = {}
            missing: list[dict[str, Any]] = []
            for r in _lines(path(results_dir, key)):
                if "unavailable" in r:
                    missing.append(r)
                elif seeds is not None and r["seed"] >= seeds:
                    continue
                elif r["seed"] not in runs or len(r["values"]) >= len(runs[r["seed"]]["values"]):
                    runs[r["seed"]] = r
            out[key] = [runs[s] for s in sorted(runs)] or missing[-1:]
    return out


def merge(*loaded: dict[Key, list[dict[str, Any]]]) -> dict[Key, list[dict[str, Any]]]:
    """The runs of several :func:`load` calls (several caches) as one: per key and seed the longest run (the
    first of equally long ones); a key's ``unavailable`` lines only where no cache has a run."""
    out: dict[Key, list[dict[str, Any]]] = {}
    for runs in loaded:
        for key, recs in runs.items():
            have = {r["seed"]: r for r in out.get(key, []) if "unavailable" not in r}
            for r in recs:
                old = have.get(r.get("seed", -1))
                if "unavailable" not in r and (old is None or len(r["values"]) > len(old["values"])):
                    have[r["seed"]] = r
            out[key] = [have[s] for s in sorted(have)] or out.get(key) or recs
    return out


def relabel(results_dir: str, samplers: dict[str, str], old: str) -> int:
    """Give runs recorded with tunesmith sources ``old`` the fingerprint ``samplers[name]`` (per sampler file
    name, e.g. ``{"tunesmith-tpe": "701b1adbf8"}``); returns how many lines changed.

    For a change of fingerprint scheme only (session 13: one hash of every sampler module ->
    one per sampler), where ``old`` and the new fingerprints are of the same code.
    """
    changed = 0
    for folder, _, files in os.walk(results_dir):
        for name in files:
            sampler = name[: -len(".jsonl")] if name.endswith(".jsonl") else None
            if sampler not in samplers:
                continue
            file = os.path.join(folder, name)
            lines = []
            with open(file, encoding="utf-8") as f:
                for line in f:
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError:
                        lines.append(line)
                        continue
                    if record.get("tunesmith_samplers") == old:
                        record["tunesmith_samplers"] = samplers[sampler]
                        line = json.dumps(record, separators=(",", ":")) + "\n"
                        changed += 1
                    lines.append(line)
            with open(file, "w", encoding="utf-8") as f:
                f.writelines(lines)
    return changed
