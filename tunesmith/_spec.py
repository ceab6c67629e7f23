"""Rebuilding policies (samplers, schedulers) from the JSON-safe specs studies store."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


def class_path(obj: object) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def from_spec(spec: Mapping[str, Any], base: type[T], what: str) -> T:
    """``base`` subclass instance described by ``{"class": "module.Name", "kwargs": {...}}``."""
    path = str(spec.get("class", ""))
    module_name, _, name = path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError, ValueError) as e:
        raise ValueError(f"the study's {what} {path!r} cannot be loaded here: {e}") from e
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise ValueError(f"the study's {what} {path!r} is not a tunesmith {base.__name__}")
    return cls(**spec.get("kwargs", {}))
