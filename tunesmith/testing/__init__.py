"""Conformance suites that every backend runs (import from tests only: they need pytest)."""

from __future__ import annotations

from tunesmith.testing.samplers import SamplerConformance
from tunesmith.testing.storage import StorageConformance

__all__ = ["SamplerConformance", "StorageConformance"]
