"""Checkpoints: directories a trial writes so it can be resumed, retried, or cloned.

Inside an objective or trainable::

    with tunesmith.checkpoint_dir(step=epoch) as d:      # Ray Tune: tune.checkpoint_dir(epoch)
        torch.save(model.state_dict(), os.path.join(d, "model.pt"))

    ckpt = tunesmith.get_checkpoint()                    # None on a fresh trial
    if ckpt is not None:
        model.load_state_dict(torch.load(os.path.join(ckpt.path, "model.pt")))

A checkpoint is written to a temporary directory and renamed into place when the
block ends without an error, so a reader never sees half of one. They live in the
study's artifact folder, ``<root>/<study>-<key>/trial_<number>/checkpoint_<step>``, where
``key`` is drawn when the study is created, so two studies never share a folder (not even
one deleted and created again under the same name). The root is fixed when the study is
created (next to a SQLite file; for an in-memory study a temporary folder removed at
exit; else ``./tunesmith_artifacts``) and must be a shared path for workers on several
machines. Paths read from the study record (a PBT clone's source checkpoint) are used
only inside the study's own folder: the record never points a worker at other files.
The metrics a trial reports next are stored with each checkpoint, and a
:class:`CheckpointConfig` keeps the N best by a metric (the latest is always kept).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import math
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Checkpoint", "CheckpointConfig", "CheckpointStore", "default_artifact_root", "temporary_dir"]

_DIR = re.compile(r"^checkpoint_(\d+)$")
_TRIAL_DIR = re.compile(r"^trial_\d+$")
_ANY_CHECKPOINT = re.compile(r"^(\.tmp_)?checkpoint_\d+(_[0-9a-f]+|\.old-[0-9a-f]+)?$")
_METRICS = ".metrics.json"
_DATA = "data.pkl"


@dataclass(frozen=True)
class CheckpointConfig:
    """How many checkpoints a trial keeps: the ``num_to_keep`` best by a metric (None: all).

    ``checkpoint_score_attribute`` defaults to the most recent; ``checkpoint_score_order``
    is ``"max"`` or ``"min"``. The latest checkpoint is always kept, for resuming.
    """

    num_to_keep: int | None = None
    checkpoint_score_attribute: str | None = None
    checkpoint_score_order: str = "max"

    def __post_init__(self) -> None:
        if self.num_to_keep is not None and (isinstance(self.num_to_keep, bool) or self.num_to_keep < 1):
            raise ValueError(f"num_to_keep must be a positive integer or None, got {self.num_to_keep!r}")
        if self.checkpoint_score_order not in ("max", "min"):
            raise ValueError(f"checkpoint_score_order must be 'max' or 'min', got {self.checkpoint_score_order!r}")

    @classmethod
    def from_ray(cls, keep_checkpoints_num: int | None, checkpoint_score_attr: str | None) -> CheckpointConfig:
        """Ray Tune's classic arguments: ``checkpoint_score_attr="min-loss"`` keeps the lowest loss."""
        order = "max"
        attr = checkpoint_score_attr
        if attr is not None and attr.startswith("min-"):
            attr, order = attr[4:], "min"
        return cls(keep_checkpoints_num, attr, order)

    def to_json(self) -> dict[str, Any]:
        return {"num_to_keep": self.num_to_keep, "checkpoint_score_attribute": self.checkpoint_score_attribute,
                "checkpoint_score_order": self.checkpoint_score_order}


@dataclass(frozen=True)
class Checkpoint:
    """A committed checkpoint directory of trial ``trial`` at ``step``.

    Path-like, as Ray Tune's classic checkpoints are strings: ``os.path.join(ckpt, "model.pt")``
    and ``open(ckpt / ...)``-style code get the directory, and ``str(ckpt)`` is it.
    """

    path: str
    step: int
    trial: int
    metrics: dict[str, Any] = field(default_factory=dict, compare=False)

    def __fspath__(self) -> str:
        return self.path

    def __str__(self) -> str:
        return self.path

    @property
    def value(self) -> str:
        """The directory (Ray Tune's classic ``trial.checkpoint.value``)."""
        return self.path

    def to_directory(self) -> str:
        return self.path

    @contextlib.contextmanager
    def as_directory(self) -> Iterator[str]:
        yield self.path

    def load(self) -> Any:
        """The object saved with :func:`save_checkpoint`."""
        import cloudpickle

        with open(os.path.join(self.path, _DATA), "rb") as f:
            return cloudpickle.load(f)


class CheckpointStore:
    """A study's checkpoint folder: one directory per trial, one sub-directory per checkpoint."""

    def __init__(
        self, root: str | os.PathLike[str], study_name: str, config: CheckpointConfig | None = None,
        key: str | None = None,
    ):
        self.root = os.fspath(root)
        # Studies created before keys existed keep their folder (``key`` None).
        folder = _safe(study_name) if key is None else f"{_safe(study_name)}-{_safe(key)}"
        self.study_dir = os.path.join(self.root, folder)
        self.config = config or CheckpointConfig()

    def contains(self, path: str) -> bool:
        """True if ``path`` lies inside this study's folder (links resolved)."""
        base = os.path.realpath(self.study_dir)
        return os.path.realpath(path).startswith(base + os.sep)

    def foreign_entry(self) -> str | None:
        """A path in the study's folder that this store did not write (None if there is none)."""
        try:
            trials = os.listdir(self.study_dir)
        except FileNotFoundError:
            return None
        for name in trials:
            path = os.path.join(self.study_dir, name)
            inner = os.listdir(path) if _TRIAL_DIR.match(name) and os.path.isdir(path) else None
            if inner is None or not all(_ANY_CHECKPOINT.match(c) for c in inner):
                return path
        return None

    def check_deletable(self) -> None:
        """ValueError if the study's folder holds anything this store did not write.

        Its root comes from the study record, which is not trusted to name folders to delete.
        """
        foreign = self.foreign_entry()
        if foreign is not None:
            raise ValueError(
                f"{self.study_dir!r} holds {foreign!r}, which tunesmith did not write; the folder is left "
                "as it is (remove it yourself if it is the study's)"
            )

    def delete_all(self) -> None:
        """Remove the study's folder and every checkpoint in it (see :meth:`check_deletable`)."""
        self.check_deletable()
        shutil.rmtree(self.study_dir, ignore_errors=True)

    def trial_dir(self, number: int) -> str:
        return os.path.join(self.study_dir, f"trial_{number:05d}")

    def list(self, number: int) -> list[Checkpoint]:
        """Committed checkpoints of trial ``number``, oldest step first."""
        d = self.trial_dir(number)
        try:
            names = os.listdir(d)
        except FileNotFoundError:
            return []
        out = []
        for name in names:
            m = _DIR.match(name)
            if m:
                path = os.path.join(d, name)
                out.append(Checkpoint(path, int(m.group(1)), number, _read_metrics(path)))
        return sorted(out, key=lambda c: c.step)

    def latest(self, number: int) -> Checkpoint | None:
        found = self.list(number)
        return found[-1] if found else None

    @contextlib.contextmanager
    def writing(self, number: int, step: int) -> Iterator[str]:
        """A fresh directory to fill; committed as ``checkpoint_<step>`` if the block succeeds."""
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"a checkpoint's step must be a non-negative integer, got {step!r}")
        d = self.trial_dir(number)
        os.makedirs(d, exist_ok=True)
        tmp = os.path.join(d, f".tmp_checkpoint_{step}_{uuid.uuid4().hex[:8]}")
        os.makedirs(tmp)
        try:
            yield tmp
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        final = os.path.join(d, f"checkpoint_{step:06d}")
        if os.path.exists(final):  # saved again at the same step: the new one wins
            old = f"{final}.old-{uuid.uuid4().hex[:8]}"
            os.rename(final, old)
            shutil.rmtree(old, ignore_errors=True)
        os.rename(tmp, final)

    def annotate(self, checkpoint_path: str, metrics: Mapping[str, Any]) -> None:
        """Store the metrics reported after a checkpoint with it, then apply the retention policy."""
        path = os.path.join(checkpoint_path, _METRICS)
        if not os.path.exists(path):
            with open(path + ".tmp", "w") as f:
                json.dump(_json_safe(metrics), f)
            os.replace(path + ".tmp", path)

    def apply_retention(self, number: int) -> None:
        """Delete checkpoints of trial ``number`` beyond ``num_to_keep`` (never the latest)."""
        keep = self.config.num_to_keep
        found = self.list(number)
        if keep is None or len(found) <= keep:
            return
        latest = found[-1]
        attr = self.config.checkpoint_score_attribute
        if attr is None:
            ranked = sorted(found, key=lambda c: c.step, reverse=True)
        else:
            sign = 1.0 if self.config.checkpoint_score_order == "max" else -1.0

            def score(c: Checkpoint) -> float:
                v = c.metrics.get(attr)
                return -math.inf if v is None or v != v else sign * float(v)

            unscored = [c for c in found if attr not in c.metrics]  # not yet reported: keep
            ranked = unscored + sorted((c for c in found if attr in c.metrics), key=score, reverse=True)
        kept = set(c.path for c in ranked[:keep]) | {latest.path}
        for c in found:
            if c.path not in kept:
                shutil.rmtree(c.path, ignore_errors=True)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "_"


def _read_metrics(path: str) -> dict[str, Any]:
    try:
        with open(os.path.join(path, _METRICS)) as f:
            return dict(json.load(f))
    except (FileNotFoundError, ValueError):
        return {}


def _json_safe(metrics: Mapping[str, Any]) -> dict[str, Any]:
    from tunesmith._json import dumps, loads

    return dict(loads(dumps(dict(metrics))))


def default_artifact_root(storage_url: str | None) -> str:
    """Next to a SQLite file; a temporary folder (removed at exit) for an in-memory
    study (``storage_url`` None); otherwise ``./tunesmith_artifacts`` (absolute)."""
    if storage_url is None:
        return _temporary_root()
    if storage_url.startswith("sqlite:///"):
        db = storage_url[len("sqlite:///"):].split("?")[0]
        if db and db != ":memory:":
            return os.path.join(os.path.dirname(os.path.abspath(db)), "tunesmith_artifacts")
    return os.path.abspath("tunesmith_artifacts")


@functools.cache
def _temporary_root() -> str:
    return temporary_dir("tunesmith-artifacts-")


def temporary_dir(prefix: str) -> str:
    """A new folder removed when this process exits (not when a forked child does)."""
    path = tempfile.mkdtemp(prefix=prefix)
    owner = os.getpid()

    def remove() -> None:
        if os.getpid() == owner:
            shutil.rmtree(path, ignore_errors=True)

    atexit.register(remove)
    return path
