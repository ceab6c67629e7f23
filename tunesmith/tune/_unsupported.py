"""Ray Tune 1.x names tunesmith does not offer: each raises an error that names the tunesmith way.

They exist so that a script written for Ray Tune fails where it uses one, with the
change to make, instead of at its import line.
"""

from __future__ import annotations

from typing import Any, NoReturn

__all__ = [
    "DurableTrainable",
    "Experiment",
    "JupyterNotebookReporter",
    "durable",
    "make_checkpoint_dir",
    "qlograndint",
    "register_env",
    "register_trainable",
    "run_experiments",
    "track",
]


def _unsupported(name: str, instead: str) -> NoReturn:
    raise NotImplementedError(f"tune.{name} is Ray Tune's and has no tunesmith counterpart: {instead}")


def run_experiments(*args: Any, **kwargs: Any) -> NoReturn:
    _unsupported("run_experiments", "call tune.run(trainable, config=..., ...) once per experiment")


class Experiment:
    """Not supported: pass the experiment's arguments to ``tune.run`` directly."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _unsupported("Experiment", "pass its arguments (name, run, config, stop, num_samples...) to tune.run")


def register_trainable(name: str, trainable: Any, *args: Any, **kwargs: Any) -> NoReturn:
    _unsupported("register_trainable", f"pass the trainable itself to tune.run instead of the name {name!r}")


def register_env(name: str, env_creator: Any) -> NoReturn:
    _unsupported("register_env", "RLlib environments are not part of tunesmith; build the env inside the trainable")


class DurableTrainable:
    """Not supported: checkpoints already go to the study's artifact folder."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _unsupported(
            "DurableTrainable", "subclass tune.Trainable; checkpoints go to the study's artifact folder "
            "(tune.run(local_dir=...) on a shared file system), so there is nothing to upload",
        )


def durable(trainable: Any) -> NoReturn:
    _unsupported("durable", "pass the trainable itself; set tune.run(local_dir=...) to a shared file system")


def make_checkpoint_dir(step: int | None = None) -> NoReturn:
    _unsupported("make_checkpoint_dir", "write the checkpoint in `with tune.checkpoint_dir(step) as d:`")


class _Track:
    def __getattr__(self, name: str) -> NoReturn:
        if name.startswith("_"):  # introspection (doctest, pickle, inspect) asks for dunders
            raise AttributeError(name)
        _unsupported("track", "call tune.report(**metrics) inside the trainable")


#: Ray's long-deprecated ``tune.track`` module (``tune.track.log``)
track = _Track()


class JupyterNotebookReporter:
    """Not supported: use ``CLIReporter`` (it prints the same table in a notebook)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _unsupported("JupyterNotebookReporter", "use tune.CLIReporter(...), which prints in notebooks too")


def qlograndint(lower: int, upper: int, q: int, base: float = 10) -> NoReturn:
    _unsupported(
        "qlograndint", "a log-scale integer with a step other than 1 is not a tunesmith distribution; use "
        f"tune.lograndint({lower}, {upper}) or tune.qrandint({lower}, {upper}, {q})",
    )
