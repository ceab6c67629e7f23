"""tunesmith's log output, Optuna's ``optuna.logging`` functions: ``set_verbosity(WARNING)`` quiets it.

All of tunesmith logs to the ``"tunesmith"`` logger (a child of the root logger, so
an application's own logging configuration applies). Without one, warnings and
errors reach stderr through Python's last-resort handler; :func:`set_verbosity`
sets the level and :func:`enable_default_handler` adds a plain stderr handler.

>>> import tunesmith
>>> tunesmith.logging.set_verbosity(tunesmith.logging.ERROR)
>>> tunesmith.logging.get_verbosity() == tunesmith.logging.ERROR
True
>>> tunesmith.logging.set_verbosity(tunesmith.logging.WARNING)
"""

from __future__ import annotations

import logging as _logging

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
    """The ``tunesmith`` logger, or one of its children (``get_logger("tunesmith.storage")``)."""
    if name != _ROOT and not name.startswith(_ROOT + "."):
        name = f"{_ROOT}.{name}"
    return _logging.getLogger(name)


def set_verbosity(level: int) -> None:
    """Log only records at ``level`` and above (``tunesmith.logging.WARNING``...)."""
    if not isinstance(level, int) or isinstance(level, bool):
        raise TypeError(f"set_verbosity takes a logging level such as tunesmith.logging.WARNING, got {level!r}")
    get_logger().setLevel(level)


def get_verbosity() -> int:
    """The level set by :func:`set_verbosity` (the effective one when none was set)."""
    return get_logger().getEffectiveLevel()


def enable_default_handler() -> None:
    """Add a plain stderr handler to the ``tunesmith`` logger (once)."""
    global _handler
    if _handler is None:
        _handler = _logging.StreamHandler()
        _handler.setFormatter(_logging.Formatter("[%(levelname)s %(asctime)s] %(message)s"))
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
