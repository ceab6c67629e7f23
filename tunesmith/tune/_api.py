"""Ray Tune 1.x helpers that tunesmith supports: resources, bound data, the session's names, factories."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tunesmith.session import current_trial

__all__ = [
    "ExportFormat",
    "PlacementGroupFactory",
    "SyncConfig",
    "create_scheduler",
    "create_searcher",
    "function",
    "get_trial_dir",
    "get_trial_id",
    "get_trial_name",
    "is_session_enabled",
    "with_parameters",
    "with_resources",
]

#: the attribute ``run()`` reads a trainable's resources from (``with_resources``)
RESOURCES_ATTR = "tune_resources"


class PlacementGroupFactory:
    """Ray's resource bundles, e.g. ``PlacementGroupFactory([{"CPU": 2, "GPU": 1}])``.

    Tunesmith places a trial in one worker process, so the bundles are added up into
    ``{"cpu": ..., "gpu": ...}`` (``strategy`` has nothing to spread over).
    """

    def __init__(self, bundles: Sequence[Mapping[str, float]], strategy: str = "PACK", **_: Any) -> None:
        if not bundles:
            raise ValueError("PlacementGroupFactory needs at least one bundle, e.g. [{'CPU': 1}]")
        total: dict[str, float] = {}
        for bundle in bundles:
            for key, amount in bundle.items():
                name = {"CPU": "cpu", "GPU": "gpu", "memory": "memory"}.get(key)
                if name is None:
                    raise ValueError(
                        f"PlacementGroupFactory: resource {key!r} is not supported; tunesmith places trials by "
                        "'CPU', 'GPU' and 'memory'"
                    )
                total[name] = total.get(name, 0) + amount
        self.bundles = [dict(b) for b in bundles]
        self.strategy = strategy
        self._total = total

    def required_resources(self) -> dict[str, float]:
        return dict(self._total)

    def to_resources_dict(self) -> dict[str, float]:
        """``resources_per_trial`` as ``tunesmith.run`` takes it."""
        return dict(self._total)

    def __repr__(self) -> str:
        return f"PlacementGroupFactory({self.bundles!r}, strategy={self.strategy!r})"


def with_resources(
    trainable: Any, resources: Mapping[str, float] | PlacementGroupFactory | Callable[[dict[str, Any]], Any],
) -> Any:
    """The trainable with the resources each trial takes (``run(resources_per_trial=)`` overrides them).

    ``resources``: ``{"cpu": 2, "gpu": 1}`` (Ray's ``"CPU"``/``"GPU"`` too) or a
    :class:`PlacementGroupFactory`. A function of the config is Ray's per-trial choice,
    which tunesmith does not have: every trial of a run gets the same slot.
    """
    if isinstance(resources, PlacementGroupFactory):
        spec: dict[str, float] = resources.to_resources_dict()
    elif isinstance(resources, Mapping):
        spec = {str(k).lower(): v for k, v in resources.items()}
    else:
        raise TypeError(
            "with_resources: resources must be a dict like {'cpu': 2, 'gpu': 1} or a PlacementGroupFactory; "
            f"a function of the config (per-trial resources) is not supported, got {resources!r}"
        )
    if isinstance(trainable, type):
        return type(trainable.__name__, (trainable,), {RESOURCES_ATTR: spec, "__module__": trainable.__module__})

    @functools.wraps(trainable)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return trainable(*args, **kwargs)

    setattr(wrapped, RESOURCES_ATTR, spec)
    return wrapped


def with_parameters(trainable: Any, **kwargs: Any) -> Any:
    """Ray Tune's ``tune.with_parameters``: bind large objects to the trainable once.

    A function gets them as keyword arguments; a class trainable gets them in ``setup``.
    """
    if isinstance(trainable, type):
        base: Any = trainable

        def setup(self: Any, config: dict[str, Any]) -> None:
            base.setup(self, config, **kwargs)

        return type(base.__name__, (base,), {"setup": setup, "__module__": base.__module__})
    return functools.partial(trainable, **kwargs)


def function(func: Callable[..., Any]) -> Callable[..., Any]:
    """Ray's deprecated ``tune.function``: the function itself."""
    return func


def is_session_enabled() -> bool:
    """Whether this code runs inside a trial."""
    return current_trial() is not None


def _running(what: str) -> Any:
    trial = current_trial()
    if trial is None:
        raise RuntimeError(f"tune.{what}() was called outside a trial; call it inside the trainable")
    return trial


def get_trial_id() -> str:
    """The running trial's id (its number, as text)."""
    return str(_running("get_trial_id").number)


def get_trial_name() -> str:
    """The running trial's name (``trial_<number>``)."""
    return f"trial_{_running('get_trial_name').number}"


def get_trial_dir() -> str:
    """The running trial's folder (its checkpoints go under it)."""
    trial = _running("get_trial_dir")
    if trial.study is None:
        return os.getcwd()
    return str(trial.study.checkpoints.trial_dir(trial.number))


class ExportFormat:
    """Ray's export format names. Tunesmith exports nothing at the end of a run: save the model
    in the trainable's checkpoint (``checkpoint_at_end=True``) and read ``analysis.best_checkpoint``."""

    CHECKPOINT = "checkpoint"
    MODEL = "model"
    ONNX = "onnx"
    H5 = "h5"

    @staticmethod
    def validate(formats: Sequence[str]) -> None:
        for f in formats:
            if f.strip().lower() not in ("checkpoint", "model", "onnx", "h5"):
                raise ValueError(f"unsupported export format {f!r}; Ray's are checkpoint, model, onnx and h5")


class SyncConfig:
    """Ray's sync settings. Checkpoints go to the study's artifact folder (``run(local_dir=...)``,
    a shared file system for several machines), so there is nothing to sync: a config that
    asks for an upload (``upload_dir``, ``syncer``) is refused."""

    def __init__(self, upload_dir: str | None = None, syncer: Any = "auto", **kwargs: Any) -> None:
        if upload_dir or syncer not in ("auto", None):
            raise NotImplementedError(
                f"tune.SyncConfig(upload_dir={upload_dir!r}, syncer={syncer!r}): tunesmith does not upload "
                "checkpoints; put them on a shared file system with tune.run(local_dir=...) and the study in a "
                "shared storage (storage='postgresql://...' or a SQLite file on that file system)"
            )
        self.upload_dir = upload_dir
        self.syncer = syncer
        self.options = kwargs


_SCHEDULERS = {
    "fifo": "FIFOScheduler", "async_hyperband": "AsyncHyperBandScheduler", "asynchyperband": "AsyncHyperBandScheduler",
    "asha": "ASHAScheduler", "median_stopping_rule": "MedianStoppingRule", "medianstopping": "MedianStoppingRule",
    "hyperband": "HyperBandScheduler", "hb_bohb": "HyperBandScheduler", "pbt": "PopulationBasedTraining",
    "pbt_replay": "PopulationBasedTrainingReplay",
}


def create_scheduler(scheduler: str, **kwargs: Any) -> Any:
    """A scheduler by Ray's name (``"asha"``, ``"hyperband"``, ``"pbt"``...), given its arguments."""
    from tunesmith.tune import schedulers

    name = _SCHEDULERS.get(scheduler.lower())
    if name is None:
        raise ValueError(f"unknown scheduler {scheduler!r}; tunesmith knows {sorted(_SCHEDULERS)}")
    return getattr(schedulers, name)(**kwargs)


#: Ray's searcher names and the tunesmith sampler doing that job
_SEARCHERS = {
    "random": "RandomSampler", "variant_generator": "RandomSampler", "optuna": "TPESampler",
    "hyperopt": "TPESampler", "bayesopt": "GPSampler", "skopt": "GPSampler", "ax": "GPSampler",
    "bohb": "BOHBSampler", "nevergrad": "CmaEsSampler", "cmaes": "CmaEsSampler", "hebo": "GPSampler",
}


def create_searcher(search_alg: str, metric: str | None = None, mode: str | None = None, **kwargs: Any) -> Any:
    """The tunesmith sampler for Ray's searcher name (``"hyperopt"``/``"optuna"``: TPE,
    ``"bayesopt"``/``"skopt"``/``"ax"``: GP, ``"bohb"``: BOHB...), given the sampler's arguments
    (``seed=``); ``metric``/``mode`` belong to ``run()``. The sampler goes to ``run(search_alg=)``."""
    from tunesmith import samplers

    name = _SEARCHERS.get(search_alg.lower())
    if name is None:
        raise ValueError(f"unknown searcher {search_alg!r}; tunesmith knows {sorted(_SEARCHERS)}")
    return getattr(samplers, name)(**kwargs)
