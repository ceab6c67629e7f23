"""Read W&B's offline ``.wandb`` run files (a LevelDB-style log of protobuf records) without the network.

wandb >= 0.19 no longer ships a Python reader, so this is a small one: a 7-byte file
header, then 32 KiB blocks of records, each ``crc32 (4) | length (2, LE) | type (1) | data``,
a record split across blocks as FIRST/MIDDLE/LAST parts.
"""

from __future__ import annotations

import glob
import json
import os
import struct
import time
from dataclasses import dataclass, field
from typing import Any

_BLOCK = 32 * 1024
_HEADER = 7
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4


def records(path: str) -> list[bytes]:
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b":W&B":
        raise ValueError(f"{path} is not a W&B run file")
    out: list[bytes] = []
    pos, part = _HEADER, b""
    while pos + 7 <= len(data):
        left = _BLOCK - pos % _BLOCK
        if left < 7:
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        body = data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind == 0 and length == 0:
            break
        if kind == _FULL:
            out.append(body)
        elif kind == _FIRST:
            part = body
        elif kind == _MIDDLE:
            part += body
        elif kind == _LAST:
            out.append(part + body)
            part = b""
    return out


@dataclass
class WandbRun:
    path: str
    name: str = ""
    group: str = ""
    project: str = ""
    tags: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    exit_code: int | None = None


def read_run(path: str) -> WandbRun:
    from wandb.proto import wandb_internal_pb2 as pb

    run = WandbRun(path)
    for raw in records(path):
        rec = pb.Record()
        rec.ParseFromString(raw)
        kind = rec.WhichOneof("record_type")
        if kind == "run":
            run.name, run.group, run.project = rec.run.display_name, rec.run.run_group, rec.run.project
            run.tags = list(rec.run.tags)
            run.config.update({i.key: json.loads(i.value_json) for i in rec.run.config.update})
        elif kind == "config":
            run.config.update({i.key: json.loads(i.value_json) for i in rec.config.update})
        elif kind == "history":
            run.history.append({(i.key or "/".join(i.nested_key)): json.loads(i.value_json) for i in rec.history.item})
        elif kind == "summary":
            run.summary.update({(i.key or "/".join(i.nested_key)): json.loads(i.value_json)
                                for i in rec.summary.update})
        elif kind == "exit":
            run.exit_code = rec.exit.exit_code
    run.config = {k: (v.get("value") if isinstance(v, dict) and "value" in v else v) for k, v in run.config.items()
                  if not k.startswith("_")}
    return run


def read_runs(wandb_dir: str, expect: int | None = None, timeout: float = 30.0) -> list[WandbRun]:
    """Every offline run under ``wandb_dir`` (the ``dir=`` given to wandb, or WANDB_DIR).

    W&B's service process writes a run's file after ``run.finish()`` returns (buffered);
    with ``expect``, read again until that many runs are there, each with its exit record.
    """
    deadline = time.monotonic() + timeout
    while True:
        files = glob.glob(os.path.join(wandb_dir, "**", "offline-run-*", "*.wandb"), recursive=True)
        runs = [read_run(f) for f in sorted(files)]
        done = expect is None or (len(runs) >= expect and all(r.project and r.exit_code is not None for r in runs))
        if done or time.monotonic() > deadline:
            return runs
        time.sleep(0.2)
