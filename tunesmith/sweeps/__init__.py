"""W&B sweeps without W&B's service: the sweep's controller is its study record (SQLite or PostgreSQL).

``tunesmith sweep sweep.yaml`` creates the sweep (a study holding the YAML as data);
``tunesmith agent SWEEP_ID`` runs its program once per trial, on any machine that
reaches the storage. See :mod:`tunesmith.sweeps._agent` for what a run does.

Where it differs from W&B (each on purpose, and documented where it is done):

- ``method: bayes`` is tunesmith's GP sampler; ``tpe``, ``gp``, ``cmaes``, ``auto`` name
  tunesmith's samplers; ``early_terminate`` also takes ``type: asha`` and ``type: median``;
  a parameter may carry ``when:`` (conditional parameters); ``mu``/``sigma`` alone mean normal;
- hyperband reads each running run's value at the last band it reached (W&B's code reads
  past the end of the curve), and ``strict: true`` keeps the top ``ceil(n/eta)``;
- ``${interpreter}`` is the agent's own Python (W&B: ``python``); an unknown ``${macro}``
  is an error when the sweep is created (W&B drops it when the run starts);
- ``metric.impute`` / ``impute_while_running`` are W&B's (see :mod:`tunesmith.sweeps._impute`):
  the model-based samplers see a failed run with its imputed value (and, if asked, a running
  run with its best so far) while the record keeps it FAILED; a finished run counts with its
  final value, where W&B's bayes takes the best value it logged;
- numbers written ``1e-5`` are floats and a top-level name with dots (``optimizer.lr``, for
  Hydra) is one flat key, as in W&B; nested ``parameters`` blocks give dicts;
- the storage is a trust boundary: an agent runs the stored command as it is only in the default
  form (its Python running a program file below its directory); a custom ``command`` runs once the
  agent's user confirms it (``--config`` with their copy of the sweep file, or ``--trust-stored-command``);
- ``entity``, ``project``, ``controller`` and W&B's launch keys are accepted and ignored
  (with a note); the program is looked for relative to the agent's directory, as W&B does.
"""

from __future__ import annotations

from tunesmith.sweeps._agent import Agent, AgentOptions, FlappingGuard, parse_metrics
from tunesmith.sweeps._command import DEFAULT_COMMAND, build_command, command_args
from tunesmith.sweeps._controller import (
    STATES,
    SweepConfig,
    create_sweep,
    get_state,
    load_sweep,
    next_action,
    set_state,
)
from tunesmith.sweeps._hyperband import HyperbandRule
from tunesmith.sweeps._params import DISTRIBUTIONS, SweepParameter, SweepSpace
from tunesmith.sweeps._yaml import SweepConfigError, SweepDocument

__all__ = [
    "DEFAULT_COMMAND",
    "DISTRIBUTIONS",
    "STATES",
    "Agent",
    "AgentOptions",
    "FlappingGuard",
    "HyperbandRule",
    "SweepConfig",
    "SweepConfigError",
    "SweepDocument",
    "SweepParameter",
    "SweepSpace",
    "build_command",
    "command_args",
    "create_sweep",
    "get_state",
    "load_sweep",
    "next_action",
    "parse_metrics",
    "set_state",
]
