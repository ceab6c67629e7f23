"""The ``sweep_dir`` fixture: a folder and a SQLite storage for one sweep test."""

from __future__ import annotations

from pathlib import Path

import pytest
from sweep_support import SweepDir


@pytest.fixture
def sweep_dir(tmp_path: Path) -> SweepDir:
    return SweepDir(tmp_path, f"sqlite:///{tmp_path / 'sweeps.db'}")
