"""The package's top level: what ``import tunesmith`` gives and what it leaves for first use."""

from __future__ import annotations

import subprocess
import sys


def test_subpackages_are_attributes_imported_on_first_use() -> None:
    code = (
        "import sys, tunesmith; heavy = ('sklearn', 'torch', 'keras', 'yaml', 'plotly', 'ray', 'wandb'); "
        "before = sorted(m for m in heavy if m in sys.modules); "
        "names = [m.__name__ for m in (tunesmith.lr, tunesmith.sweeps, tunesmith.sklearn, tunesmith.keras_tuner, "
        "tunesmith.tune, tunesmith.integration, tunesmith.visualization)]; print(before, names)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == (
        "[] ['tunesmith.lr', 'tunesmith.sweeps', 'tunesmith.sklearn', 'tunesmith.keras_tuner', 'tunesmith.tune', "
        "'tunesmith.integration', 'tunesmith.visualization']"
    )
