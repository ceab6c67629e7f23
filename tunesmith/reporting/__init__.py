"""Progress reporting for ``Study.optimize``: :class:`ConsoleReporter` (alias ``CLIReporter``)."""

from __future__ import annotations

from tunesmith.reporting.console import CLIReporter, ConsoleReporter

__all__ = ["CLIReporter", "ConsoleReporter"]
