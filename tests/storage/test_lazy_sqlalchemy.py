"""Importing tunesmith does not import SQLAlchemy (nor Ray): an SQL storage imports it when opened."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["tunesmith", "tunesmith.storage", "tunesmith.schedulers", "tunesmith.samplers"])
def test_import_does_not_import_sqlalchemy(module: str) -> None:
    code = f"import {module}, sys; assert 'sqlalchemy' not in sys.modules; assert 'ray' not in sys.modules"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_an_in_memory_study_does_not_import_sqlalchemy() -> None:
    code = (
        "import sys, tunesmith; from tunesmith.storage import get_storage; get_storage(None); "
        "s = tunesmith.create_study(); s.optimize(lambda t: t.suggest_float('x', 0, 1), n_trials=2); "
        "assert 'sqlalchemy' not in sys.modules"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_sql_storage_is_there_when_asked_for() -> None:
    code = (
        "import sys, tunesmith.storage as s; from tunesmith.storage import SQLStorage; "
        "from tunesmith.storage.sql import SQLStorage as same; assert SQLStorage is same and s.SQLStorage is same; "
        "assert 'sqlalchemy' in sys.modules; import tunesmith.storage.actor; assert 'ray' not in sys.modules"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
