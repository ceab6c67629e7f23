"""tunesmith's log output, Optuna's ``optuna.logging`` functions: ``set_verbosity(WARNING)`` quiets it.

All of tunesmith logs to the ``"tunesmith"`` logger (``get_logger("optuna")`` is the same
logger, for Optuna's scripts). As in Optuna, it logs at INFO by default to stderr, one line
per event: ``[I 2026-01-01 10:00:00,000] Trial 3 finished with value: 0.25 and parameters:
{'x': 0.5}. Best is trial 3 with value: 0.25.``; each failed trial is a WARNING.
:func:`set_verbosity` sets the level (``WARNING`` keeps warnings and errors only).

The default handler stays quiet while the root logger has handlers of its own (an
application's ``logging.basicConfig``, pytest's capture): records propagate to them, so
nothing is printed twice. :func:`disable_default_handler` removes it.

>>> import tunesmith
>>> tunesmith.logging.set_verbosity(tunesmith.logging.ERROR)
>>> tunesmith.logging.get_verbosity() == tunesmith.logging.ERROR
True
>>> tunesmith.logging.set_verbosity(tunesmith.logging.INFO)
"""

from __future__ import annotations

import contextlib
import logging as _logging
import sys
from collections.abc import Iterator

__all__ = [
    "CRITICAL", "DEBUG", "ERROR", "FATAL", "INFO", "WARN", "WARNING", "disable_default_handler",
    "disable_propagation", "enable_default_handler", "enable_propagation", "get_logger", "get_verbosity",
    "set_verbosity",
]

CRITICAL = _logging.CRITICAL
FATAL = _logging.FATAL
ERROR = _logging.ERROR
WARNING = _logging.WARNING
WARN = _logging.WARN
INFO = _logging.INFO
DEBUG = _logging.DEBUG

_ROOT = "tunesmith"
_handler: _logging.Handler | None = None


def get_logger(name: str = _ROOT) -> _logging.Logger:
    """The ``tunesmith`` logger, or one of its children (``get_logger("tunesmith.storage")``).

    Optuna's names map onto it: ``get_logger("optuna")`` is the ``tunesmith`` logger itself.
    """
    if name == "optuna" or name.startswith("optuna."):
        name = _ROOT + name[len("optuna"):]
    if name != _ROOT and not name.startswith(_ROOT + "."):
        name = f"{_ROOT}.{name}"
    return _logging.getLogger(name)


class _DefaultHandler(_logging.StreamHandler):
    """Writes to ``sys.stderr`` as it is at each record; quiet while the root logger has handlers
    (the records reach those through propagation)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(_logging.Formatter("[%(levelname)1.1s %(asctime)s] %(message)s"))

    def emit(self, record: _logging.LogRecord) -> None:
        if _logging.getLogger().handlers and _logging.getLogger(_ROOT).propagate:
            return
        self.stream = sys.stderr
        super().emit(record)


def set_verbosity(level: int) -> None:
    """Log only records at ``level`` and above (``tunesmith.logging.WARNING``...)."""
    if not isinstance(level, int) or isinstance(level, bool):
        raise TypeError(f"set_verbosity takes a logging level such as tunesmith.logging.WARNING, got {level!r}")
    get_logger().setLevel(level)


@contextlib.contextmanager
def quieter(level: int = WARNING) -> Iterator[None]:
    """Within the block, log only at ``level`` and above (the verbosity set before comes back after).

    ``tunesmith.run`` and ``tunesmith worker`` print their own lines, so they leave out the INFO ones.
    """
    logger = get_logger()
    before = logger.level
    logger.setLevel(max(level, logger.getEffectiveLevel()))
    try:
        yield
    finally:
        logger.setLevel(before)


def get_verbosity() -> int:
    """The level set by :func:`set_verbosity` (the effective one when none was set)."""
    return get_logger().getEffectiveLevel()


def enable_default_handler() -> None:
    """Add the stderr handler to the ``tunesmith`` logger (once; it is there from ``import tunesmith``)."""
    global _handler
    if _handler is None:
        _handler = _DefaultHandler()
        get_logger().addHandler(_handler)


def disable_default_handler() -> None:
    """Remove the handler :func:`enable_default_handler` added."""
    global _handler
    if _handler is not None:
        get_logger().removeHandler(_handler)
        _handler = None


def enable_propagation() -> None:
    """Pass records on to the root logger's handlers (the default)."""
    get_logger().propagate = True


def disable_propagation() -> None:
    """Keep records from the root logger's handlers (use with :func:`enable_default_handler`)."""
    get_logger().propagate = False


def _configure() -> None:
    """Optuna's default: INFO and above to stderr (a level the application set is kept)."""
    root = get_logger()
    if root.level == _logging.NOTSET:
        root.setLevel(INFO)
    enable_default_handler()


_configure()
