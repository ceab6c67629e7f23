"""Rebuilding policies (samplers, schedulers) from the JSON-safe specs studies store.

A spec is read from the study record, which is not trusted to choose code: it may
name tunesmith's own classes, or classes the user trusts by their dotted path in the
``TUNESMITH_TRUSTED_CLASSES`` environment variable (comma-separated). Nothing else is
imported.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")

#: environment variable listing trusted classes, e.g. ``"mypkg.samplers.MySampler,other.Sched"``
TRUSTED_ENV = "TUNESMITH_TRUSTED_CLASSES"


def class_path(obj: object) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def _trusted(path: str) -> bool:
    if path.startswith("tunesmith.") and ".." not in path:
        return True
    listed = os.environ.get(TRUSTED_ENV, "")
    return path in {p.strip() for p in listed.split(",") if p.strip()}


def from_spec(spec: Mapping[str, Any], base: type[T], what: str) -> T:
    """``base`` subclass instance described by ``{"class": "module.Name", "kwargs": {...}}``."""
    path = str(spec.get("class", ""))
    if not _trusted(path):
        raise ValueError(
            f"the study's {what} {path!r} is not a tunesmith class, and classes named in the study record "
            f"are not imported unless trusted: pass the {what} yourself (e.g. load_study(..., {what}=...)), "
            f"or list it in {TRUSTED_ENV}={path}"
        )
    module_name, _, name = path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError, ValueError) as e:
        raise ValueError(f"the study's {what} {path!r} cannot be loaded here: {e}") from e
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise ValueError(f"the study's {what} {path!r} is not a tunesmith {base.__name__}")
    kwargs = spec.get("kwargs", {})
    if not isinstance(kwargs, Mapping):
        raise ValueError(f"the study's {what} spec has kwargs of type {type(kwargs).__name__}, not a dict")
    return cls(**kwargs)
