"""The learning-rate playbook: find the rate first (range test), then tune the schedule and its warm-up.

- :func:`find`: the learning-rate range test (torch model or ``step(lr) -> loss``), with a suggestion,
  its method and a confidence band; restores the model and optimizer exactly.
- :func:`schedule`: constant, linear, step, exponential and cosine schedules with linear warm-up,
  as ``step -> lr`` functions or torch schedulers.
- :func:`schedule_space`: schedules and their parameters as a conditional search space.
- :func:`find_warmup`: the tuning playbook's recipe for the shortest warm-up that makes 10x the
  unstable learning rate stable.
- :func:`scale`: a learning rate for another batch size (linear or square-root rule).

torch and matplotlib are imported only by the functions that need them.
"""

from tunesmith.lr._finder import RangeTestResult, find
from tunesmith.lr._scale import scale
from tunesmith.lr._schedules import Schedule, schedule
from tunesmith.lr._space import ScheduleSpace, schedule_space
from tunesmith.lr._suggest import Suggestion, suggest
from tunesmith.lr._warmup import WarmupResult, WarmupRun, find_warmup

__all__ = [
    "RangeTestResult", "Schedule", "ScheduleSpace", "Suggestion", "WarmupResult", "WarmupRun", "find",
    "find_warmup", "scale", "schedule", "schedule_space", "suggest",
]
