"""Views that read a study's record and never write it: learning-curve diagnosis.

``diagnose(study)`` reads every trial's intermediate reports and says which runs
diverge, never learn, decayed their learning rate too early, overfit, underfit, were
stopped while still improving, or train unstably, and which parameters' best values sit
at a bound of their range. ``diagnose_curves`` does the same for plain lists of values.

>>> from tunesmith.analysis import diagnose_curves
>>> [f.kind for f in diagnose_curves({"loss": [2.3] * 20})]
['not_learning']
"""

from __future__ import annotations

from tunesmith.analysis._diagnosis import diagnose, diagnose_curves
from tunesmith.analysis._findings import KINDS, Diagnosis, Finding
from tunesmith.analysis._format import format_findings

__all__ = ["KINDS", "Diagnosis", "Finding", "diagnose", "diagnose_curves", "format_findings"]
