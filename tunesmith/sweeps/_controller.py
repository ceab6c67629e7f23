"""The sweep's controller *is* its study record: configuration, state and run count all live in the storage.

A sweep is a study whose user attribute ``sweep`` holds the W&B configuration (as
data: it is read, never executed) and ``sweep_state`` its state (``running``,
``paused``, ``stopped``, ``cancelled``). Agents anywhere need only the sweep id (the
study's name) and the storage; they read the state between runs and while a run goes
on, so ``tunesmith sweep --pause`` and the like act within one poll.

The only thing an agent executes is the sweep author's ``program``/``command``, filled
with parameter values; nothing else read from the database chooses code.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tunesmith.record import TrialState
from tunesmith.study import Study, create_study, load_study
from tunesmith.sweeps._command import MACROS
from tunesmith.sweeps._hyperband import HyperbandRule
from tunesmith.sweeps._impute import IMPUTE, IMPUTE_WHILE_RUNNING
from tunesmith.sweeps._params import SweepSpace
from tunesmith.sweeps._yaml import SweepConfigError, SweepDocument

__all__ = [
    "CONFIG_ATTR", "STATES", "STATE_ATTR", "SweepConfig", "create_sweep", "get_state", "load_sweep", "next_action",
    "set_state",
]

CONFIG_ATTR = "sweep"
STATE_ATTR = "sweep_state"
STATES = ("running", "paused", "stopped", "cancelled")
#: the methods: W&B's, and tunesmith's samplers by name
METHODS = ("grid", "random", "bayes", "tpe", "gp", "cmaes", "auto")
_KEYS = ("program", "command", "method", "metric", "parameters", "early_terminate", "run_cap", "name", "description")
#: W&B keys that mean nothing without W&B's service: accepted, noted, ignored
IGNORED_KEYS = ("entity", "project", "controller", "apiVersion", "kind", "job", "image_uri", "launch", "scheduler")
_EARLY = {
    "hyperband": ("type", "min_iter", "max_iter", "s", "eta", "strict"),
    "asha": ("type", "max_t", "grace_period", "reduction_factor", "min_iter", "eta"),
    "median": ("type", "grace_period", "min_samples_required"),
}
_NO_METRIC = "_runtime"  # the value of a sweep with no metric: the run's seconds (W&B's _runtime)


@dataclass
class SweepConfig:
    """A validated W&B sweep configuration (``data``: as written, JSON-safe)."""

    data: dict[str, Any]
    space: SweepSpace
    method: str
    metric: str
    goal: str
    target: float | None = None
    run_cap: int | None = None
    early: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    impute: str = "worst"
    impute_while_running: str = "false"

    @property
    def program(self) -> str | None:
        return self.data.get("program")

    @property
    def command(self) -> list[Any] | None:
        return self.data.get("command")

    @property
    def hyperband(self) -> HyperbandRule | None:
        if self.early is None or self.early.get("type") != "hyperband":
            return None
        return HyperbandRule.from_config(self.early)

    @property
    def has_metric(self) -> bool:
        return "metric" in self.data

    @classmethod
    def parse(cls, doc: SweepDocument) -> SweepConfig:
        """Validate like W&B's schema; errors name ``file:line`` and the field."""
        d = doc.data
        notes = []
        for key in d:
            if key in IGNORED_KEYS:
                notes.append(f"{doc.where((key,))}: {key!r} is a W&B service setting; ignored offline")
            elif key not in _KEYS:
                raise doc.error((key,), f"unknown field {key!r}; valid: {', '.join(_KEYS)}")
        method = d.get("method")
        if method is None:
            raise doc.error((), f"method is required: one of {', '.join(METHODS)}")
        if method not in METHODS:
            raise doc.error(("method",), f"method: unknown method {method!r}; valid: {', '.join(METHODS)}")
        if "parameters" not in d:
            raise doc.error((), "parameters is required")
        space = SweepSpace.from_parameters(d["parameters"], method, doc)
        for key in ("program", "name", "description"):
            if key in d and not isinstance(d[key], str):
                raise doc.error((key,), f"{key} must be a string, got {d[key]!r}")
        _check_command(doc)
        if "program" not in d and not any("${program}" == str(c) for c in d.get("command") or []) and not d.get(
                "command"):
            raise doc.error((), "program is required (the script each run executes), or a command")
        metric, goal, target = _NO_METRIC, "minimize", None
        if "metric" in d:
            m = d["metric"]
            if not isinstance(m, Mapping) or not isinstance(m.get("name"), str) or not m.get("name"):
                raise doc.error(("metric",), "metric needs a name: metric: {name: val_loss, goal: minimize}")
            for key in m:
                if key not in ("name", "goal", "target", "impute", "impute_while_running"):
                    raise doc.error(("metric", key), f"metric.{key}: unknown field; valid: name, goal, target, "
                                    "impute, impute_while_running")
            metric, goal = m["name"], m.get("goal", "minimize")
            if goal not in ("minimize", "maximize"):
                raise doc.error(("metric", "goal"), f"metric.goal must be minimize or maximize, got {goal!r}")
            if "target" in m:
                if isinstance(m["target"], bool) or not isinstance(m["target"], (int, float)):
                    raise doc.error(("metric", "target"), f"metric.target must be a number, got {m['target']!r}")
                target = float(m["target"])
            impute = m.get("impute", "worst")
            if impute not in IMPUTE:
                raise doc.error(("metric", "impute"), f"metric.impute must be one of {', '.join(IMPUTE)}, "
                                f"got {impute!r}")
            running = m.get("impute_while_running", "false")
            running = "false" if running is False else running  # YAML's false, for W&B's "false"
            if running not in IMPUTE_WHILE_RUNNING:
                raise doc.error(("metric", "impute_while_running"), "metric.impute_while_running must be one of "
                                f"{', '.join(IMPUTE_WHILE_RUNNING)}, got {running!r}")
        elif method not in ("grid", "random"):
            raise doc.error(("method",), f"method {method} needs a metric: metric: {{name: ..., goal: minimize}}")
        run_cap = d.get("run_cap")
        if run_cap is not None and (isinstance(run_cap, bool) or not isinstance(run_cap, int) or run_cap < 1):
            raise doc.error(("run_cap",), f"run_cap must be an integer > 0, got {run_cap!r}")
        early = _early(doc, "metric" in d)
        out = cls(dict(d), space, method, metric, goal, target, run_cap, early, notes)
        if "metric" in d:
            out.impute, out.impute_while_running = impute, running
        return out

    def make_sampler(self, seed: int | None = None) -> Any:
        from tunesmith import samplers

        if self.method == "grid":
            return samplers.GridSampler(self.space.grid_lists(), seed=seed)
        name = {"random": "RandomSampler", "bayes": "GPSampler", "gp": "GPSampler", "tpe": "TPESampler",
                "cmaes": "CmaEsSampler", "auto": "AutoSampler"}[self.method]
        sampler = getattr(samplers, name)(seed=seed)
        if self.method == "random" or not self.has_metric:
            return sampler
        # W&B's metric.impute / impute_while_running: failed (and running) runs count for the model
        from tunesmith.sweeps._impute import ImputingSampler

        return ImputingSampler(sampler, self.metric, self.impute, self.impute_while_running)

    def make_scheduler(self) -> Any:
        if self.early is None or self.early["type"] == "hyperband":
            return None  # hyperband is W&B's rule, applied by the agents (see _hyperband.py)
        from tunesmith import schedulers

        kw = {k: v for k, v in self.early.items() if k != "type"}
        mode = "max" if self.goal == "maximize" else "min"
        if self.early["type"] == "asha":
            if "min_iter" in kw:
                kw["grace_period"] = kw.pop("min_iter")
            if "eta" in kw:
                kw["reduction_factor"] = kw.pop("eta")
            return schedulers.ASHAScheduler(
                time_attr="training_iteration", metric=self.metric, mode=mode, promotion=False, **kw)
        return schedulers.MedianStoppingRule(time_attr="training_iteration", metric=self.metric, mode=mode, **kw)


def _check_command(doc: SweepDocument) -> None:
    command = doc.data.get("command")
    if command is None:
        return
    if not isinstance(command, list) or not command:
        raise doc.error(("command",), f"command must be a non-empty list, got {command!r}")
    for i, item in enumerate(command):
        text = str(item)
        if text.startswith("${") and text.endswith("}") and not text.startswith("${envvar:"):
            if text[2:-1] not in MACROS:
                raise doc.error(("command", i), (
                    f"command[{i}]: unknown macro {text}; valid: "
                    + ", ".join("${" + m + "}" for m in MACROS) + ", ${envvar:NAME}"))


def _early(doc: SweepDocument, has_metric: bool) -> dict[str, Any] | None:
    et = doc.data.get("early_terminate")
    if et is None:
        return None
    path: tuple[Any, ...] = ("early_terminate",)
    if not isinstance(et, Mapping) or et.get("type") not in _EARLY:
        got = et.get("type") if isinstance(et, Mapping) else et
        raise doc.error((*path, "type"), f"early_terminate.type: unknown {got!r}; valid: {', '.join(_EARLY)}")
    if not has_metric:
        raise doc.error(path, "early_terminate needs a metric to compare runs by")
    kind = et["type"]
    for key, value in et.items():
        if key not in _EARLY[kind]:
            raise doc.error((*path, key), f"early_terminate.{key}: not a field of {kind}; valid: "
                            f"{', '.join(_EARLY[kind][1:])}")
        if key not in ("type", "strict") and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise doc.error((*path, key), f"early_terminate.{key} must be a number, got {value!r}")
    if kind == "hyperband":
        if "min_iter" not in et and not ("max_iter" in et and "s" in et):
            raise doc.error(path, "early_terminate (hyperband) needs min_iter, or max_iter and s")
        if "min_iter" in et and (not isinstance(et["min_iter"], int) or et["min_iter"] < 1):
            raise doc.error((*path, "min_iter"), f"early_terminate.min_iter must be an integer >= 1, "
                            f"got {et['min_iter']!r}")
        if not et.get("eta", 3) > 1:
            raise doc.error((*path, "eta"), f"early_terminate.eta must be > 1, got {et['eta']!r}")
        if "strict" in et and not isinstance(et["strict"], bool):
            raise doc.error((*path, "strict"), f"early_terminate.strict must be true or false, got {et['strict']!r}")
        try:
            HyperbandRule.from_config(et)
        except ValueError as e:
            raise doc.error(path, str(e)) from None
    return dict(et)


def create_sweep(
    doc: SweepDocument, storage: Any, name: str | None = None, seed: int | None = None,
) -> tuple[Study, SweepConfig]:
    """Create the sweep's study (its id: ``name``, the YAML's ``name``, else a new 8-letter id)."""
    config = SweepConfig.parse(doc)
    sweep_id = name or uuid.uuid4().hex[:8]
    study = create_study(
        sweep_id, storage, direction=config.goal, metric=config.metric, sampler=config.make_sampler(seed),
        scheduler=config.make_scheduler(),
    )
    study.set_user_attr(CONFIG_ATTR, {
        "config": config.data, "source": os.path.abspath(doc.source) if os.path.exists(doc.source) else doc.source,
        "created": time.time(),
    })
    study.set_user_attr(STATE_ATTR, "running")
    return study, config


def load_sweep(sweep_id: str, storage: Any) -> tuple[Study, SweepConfig]:
    """Reopen a sweep from its storage; raises SweepConfigError if the study is not a sweep."""
    study = load_study(sweep_id, storage)
    stored = study.user_attrs.get(CONFIG_ATTR)
    if not isinstance(stored, Mapping) or not isinstance(stored.get("config"), Mapping):
        raise SweepConfigError(f"study {sweep_id!r} is not a sweep (it has no stored sweep configuration)")
    config = SweepConfig.parse(SweepDocument.from_dict(stored["config"], f"sweep {sweep_id}"))
    return study, config


def get_state(study: Study) -> str:
    state = study.user_attrs.get(STATE_ATTR, "running")
    return state if state in STATES else "running"


def set_state(study: Study, state: str) -> None:
    if state not in STATES:
        raise ValueError(f"sweep state must be one of {', '.join(STATES)}, got {state!r}")
    study.set_user_attr(STATE_ATTR, state)


def run_limit(study: Study, config: SweepConfig) -> int | None:
    """Runs the sweep may create in all (run_cap, and a grid's size)."""
    limit = config.run_cap
    if config.method == "grid":
        size = 1
        for values in config.space.grid_lists().values():
            size *= len(values)
        limit = size if limit is None else min(limit, size)
    return limit


def target_reached(study: Study, config: SweepConfig) -> bool:
    if config.target is None:
        return False
    try:
        best = study.best_value
    except ValueError:
        return False
    return best <= config.target if config.goal == "minimize" else best >= config.target


def next_action(study: Study, config: SweepConfig) -> tuple[str, str]:
    """``("run"|"wait"|"end", why)``: what an agent does before starting a run."""
    state = get_state(study)
    if state in ("stopped", "cancelled"):
        return "end", f"the sweep was {state}"
    if target_reached(study, config):
        return "end", f"metric.target {config.target:g} reached"
    limit = run_limit(study, config)
    counts = study.count()
    if limit is not None:
        created = sum(counts.values())
        if created >= limit and counts.get(TrialState.WAITING, 0) == 0:
            return "end", f"all {limit} run(s) of the sweep were created"
    if state == "paused":
        return "wait", "the sweep is paused"
    return "run", ""

