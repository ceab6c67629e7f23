"""W&B sweep ``parameters`` -> tunesmith distributions, and the values each run's program gets.

Every W&B distribution is accepted with W&B's inference when ``distribution`` is absent
(``value`` -> constant, ``values`` -> categorical, ``values`` + ``probabilities`` ->
categorical_w_probabilities, integer ``min``/``max`` -> int_uniform, a float bound ->
uniform, ``parameters`` -> a nested dict). Beyond W&B, ``mu``/``sigma`` alone infer
``normal`` (W&B asks for ``distribution: normal``), and a parameter may carry
``when: {other: value or [values]}``: it exists only in runs where ``other`` has one
of those values (conditional parameters; not with ``method: grid``). A top-level name
with dots (``optimizer.lr``) is one key of the run's config, as in W&B (Hydra overrides);
only a nested ``parameters`` block makes a dict.

Each parameter is searched as a tunesmith distribution (what the study stores) and
turned into the value the program gets by W&B's definition:

=============================  ===============================  ==============================
W&B distribution               stored (searched) as             program gets
=============================  ===============================  ==============================
categorical                    categorical                      the value
categorical_w_probabilities    uniform(0, 1) ``u``              the value at ``u`` of the CDF
int_uniform                    int [min, max]                   the integer
uniform                        float [min, max]                 the float
q_uniform                      float [min, max]                 round(x / q) * q
log_uniform (exponents)        log-float [e^min, e^max]         the float
log_uniform_values             log-float [min, max]             the float
q_log_uniform(_values)         as above                         round(x / q) * q
inv_log_uniform (exponents)    log-float [e^-max, e^-min]       the float
inv_log_uniform_values         log-float [min, max]             the float
normal / q_normal              normal(mu, sigma)                x / round(x / q) * q
log_normal / q_log_normal      normal(mu, sigma)                e^x / round(e^x / q) * q
beta / q_beta                  uniform(0, 1) ``u``              Beta(a, b) quantile at ``u`` (/ rounded)
=============================  ===============================  ==============================

``q`` rounding gives an int when ``q`` is an int, as in W&B. With ``method: grid``,
int_uniform is every integer of [min, max] and q_uniform ``arange(min, max, q)``
(W&B's rule: max itself excluded); other ranges are refused, as W&B does.

>>> space = SweepSpace.from_parameters({"lr": {"min": 0.001, "max": 0.1}, "layers": {"values": [1, 2]}})
>>> sorted(space.distributions)
['layers', 'lr']
>>> space.config_for({"lr": 0.01, "layers": 2})
{'layers': 2, 'lr': 0.01}
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tunesmith.distributions import (
    CategoricalDistribution,
    Distribution,
    FloatDistribution,
    IntDistribution,
    NormalDistribution,
)
from tunesmith.sweeps._yaml import SweepConfigError, SweepDocument, dotted

__all__ = ["DISTRIBUTIONS", "SweepParameter", "SweepSpace"]

_Q = {"q": 1.0}
#: every W&B distribution: its required fields and its defaults
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "constant": (("value",), {}),
    "categorical": (("values",), {}),
    "categorical_w_probabilities": (("values", "probabilities"), {}),
    "int_uniform": (("min", "max"), {}),
    "uniform": (("min", "max"), {}),
    "q_uniform": (("min", "max"), _Q),
    "log_uniform": (("min", "max"), {}),
    "log_uniform_values": (("min", "max"), {}),
    "q_log_uniform": (("min", "max"), _Q),
    "q_log_uniform_values": (("min", "max"), _Q),
    "inv_log_uniform": (("min", "max"), {}),
    "inv_log_uniform_values": (("min", "max"), {}),
    "normal": ((), {"mu": 0.0, "sigma": 1.0}),
    "q_normal": ((), {"mu": 0.0, "sigma": 1.0, **_Q}),
    "log_normal": ((), {"mu": 0.0, "sigma": 1.0}),
    "q_log_normal": ((), {"mu": 0.0, "sigma": 1.0, **_Q}),
    "beta": ((), {"a": 1.0, "b": 1.0}),
    "q_beta": ((), {"a": 1.0, "b": 1.0, **_Q}),
}
_GRID_KINDS = ("constant", "categorical", "int_uniform", "q_uniform")
_POSITIVE_MIN = ("log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values")
_EXTENSION_KEYS = ("when",)  # tunesmith's, beyond W&B's schema


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _infer(cfg: Mapping[str, Any]) -> str | None:
    """W&B's choice of distribution when none is written (its schema's order)."""
    keys = set(cfg) - {"when"}
    if keys == {"values"}:
        return "categorical"
    if keys == {"values", "probabilities"}:
        return "categorical_w_probabilities"
    if keys == {"value"}:
        return "constant"
    if keys == {"min", "max"}:
        lo, hi = cfg["min"], cfg["max"]
        if isinstance(lo, int) and isinstance(hi, int) and not isinstance(lo, bool) and not isinstance(hi, bool):
            return "int_uniform"
        return "uniform"
    if keys and keys <= {"mu", "sigma"}:
        return "normal"
    return None


@dataclass
class SweepParameter:
    """One leaf of ``parameters``: its dotted name, W&B distribution and filled-in fields."""

    name: str
    kind: str
    config: dict[str, Any]
    when: dict[str, list[Any]] = field(default_factory=dict)
    #: where the value goes in the run's config: one key per nested ``parameters`` level (a top-level
    #: name with dots, ``optimizer.lr``, is one flat key, as in W&B); empty: ``(name,)``
    keys: tuple[str, ...] = ()
    #: where it is written in the YAML (for error lines)
    yaml_path: tuple[Any, ...] = ()

    @property
    def config_keys(self) -> tuple[str, ...]:
        return self.keys or (self.name,)

    @property
    def is_constant(self) -> bool:
        return self.kind == "constant"

    def grid_values(self) -> list[Any]:
        c = self.config
        if self.kind == "categorical":
            return list(c["values"])
        if self.kind == "int_uniform":
            return list(range(c["min"], c["max"] + 1))
        if self.kind == "q_uniform":
            return [_pyval(v) for v in np.arange(c["min"], c["max"], c["q"]).tolist()]
        raise AssertionError(self.kind)

    def distribution(self, grid: bool = False) -> Distribution | None:
        """What the study searches (None for a constant)."""
        c, k = self.config, self.kind
        if k == "constant":
            return None
        if grid:
            return CategoricalDistribution(tuple(self.grid_values()))
        if k == "categorical":
            return CategoricalDistribution(tuple(c["values"]))
        if k in ("categorical_w_probabilities", "beta", "q_beta"):
            return FloatDistribution(0.0, 1.0)
        if k == "int_uniform":
            return IntDistribution(c["min"], c["max"])
        if k in ("uniform", "q_uniform"):
            return FloatDistribution(float(c["min"]), float(c["max"]))
        if k in ("log_uniform", "q_log_uniform"):
            return FloatDistribution(math.exp(c["min"]), math.exp(c["max"]), log=True)
        if k in ("log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values"):
            return FloatDistribution(float(c["min"]), float(c["max"]), log=True)
        if k == "inv_log_uniform":
            return FloatDistribution(math.exp(-c["max"]), math.exp(-c["min"]), log=True)
        if k in ("normal", "q_normal", "log_normal", "q_log_normal"):
            return NormalDistribution(float(c["mu"]), float(c["sigma"]))
        raise AssertionError(k)

    def value(self, stored: Any, grid: bool = False) -> Any:
        """The value the program gets for the stored one (W&B's definition of the distribution)."""
        c, k = self.config, self.kind
        if k == "constant":
            return c["value"]
        if grid or k in ("categorical", "int_uniform"):
            return _pyval(stored)
        x = float(stored)
        if k == "categorical_w_probabilities":
            p = np.asarray(c["probabilities"], dtype=float)
            index = int(np.searchsorted(np.cumsum(p) / p.sum(), x, side="right"))
            return c["values"][min(index, len(p) - 1)]
        if k in ("log_normal", "q_log_normal"):
            x = math.exp(x)
        elif k in ("beta", "q_beta"):
            from scipy import stats

            x = float(stats.beta.ppf(x, c["a"], c["b"]))
        if k.startswith("q_"):
            q = c["q"]
            rounded = round(x / q) * q
            return int(rounded) if isinstance(q, int) and not isinstance(q, bool) else float(rounded)
        return x

    def active(self, config: Mapping[str, Any]) -> bool:
        """Whether this conditional parameter exists in a run whose values so far are ``config`` (flat)."""
        return all(name in config and config[name] in allowed for name, allowed in self.when.items())


def _pyval(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


@dataclass
class SweepSpace:
    """The sweep's parameters: what the study searches and how a run's config is built."""

    parameters: list[SweepParameter]
    grid: bool = False
    nested: set[str] = field(default_factory=set)  # names of dict parameters (their leaves are "a.b")

    @classmethod
    def from_parameters(
        cls, parameters: Any, method: str = "random", doc: SweepDocument | None = None,
    ) -> SweepSpace:
        """Validate ``parameters`` (W&B's schema) and build the space; errors name the file line and field."""
        doc = doc or SweepDocument({"parameters": parameters})
        grid = method == "grid"
        out: list[SweepParameter] = []
        nested: set[str] = set()
        _walk(parameters, ("parameters",), "", doc, out, nested)
        names: set[str] = set()
        for p in out:
            if p.name in names:
                raise doc.error(p.yaml_path, f"{dotted(p.yaml_path)}: parameter {p.name!r} is written twice (a "
                                "dotted name and a nested parameters block name the same value)")
            names.add(p.name)
        for i, p in enumerate(out):
            path = p.yaml_path or ("parameters", p.name)
            if grid and p.kind not in _GRID_KINDS:
                raise doc.error(path, (
                    f"{dotted(path)}: method grid needs discrete parameters (values, value, int_uniform or "
                    f"q_uniform), got distribution {p.kind}"
                ))
            for other in p.when:
                if other not in names:
                    raise doc.error((*path, "when"), f"{dotted(path)}.when names no parameter {other!r}")
                if other not in {q.name for q in out[:i]}:
                    raise doc.error((*path, "when"), (
                        f"{dotted(path)}.when: {other!r} must be written before {p.name!r}"))
            if grid and p.when:
                raise doc.error((*path, "when"), f"{dotted(path)}.when: conditional parameters need a method "
                                "other than grid")
        return cls(out, grid, nested)

    @property
    def distributions(self) -> dict[str, Distribution]:
        """What every run searches (unconditional parameters)."""
        return {p.name: d for p in self.parameters if not p.when and (d := p.distribution(self.grid)) is not None}

    def grid_lists(self) -> dict[str, list[Any]]:
        return {p.name: p.grid_values() for p in self.parameters if not p.is_constant}

    def conditional(self) -> list[SweepParameter]:
        return [p for p in self.parameters if p.when]

    def flat_config(self, stored: Mapping[str, Any]) -> dict[str, Any]:
        """Program values by dotted name, for the parameters present (constants always)."""
        flat: dict[str, Any] = {}
        for p in self.parameters:
            if p.is_constant:
                if p.active(flat) or not p.when:
                    flat[p.name] = p.config["value"]
            elif p.name in stored:
                flat[p.name] = p.value(stored[p.name], self.grid)
        return flat

    def config_for(self, stored: Mapping[str, Any]) -> dict[str, Any]:
        """The run's config as W&B gives it: nested parameters as dicts, in name order."""
        out: dict[str, Any] = {}
        keys = {p.name: p.config_keys for p in self.parameters}
        for name, value in self.flat_config(stored).items():
            node = out
            parts = keys[name]
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = value
        return _sorted(out)

    def suggest_conditionals(self, suggest: Callable[[str, Distribution], Any], stored: Mapping[str, Any]) -> None:
        """Draw the conditional parameters active in a run, in written order (``suggest``: the trial's)."""
        values = dict(stored)
        for p in self.conditional():
            if p.active(self.flat_config(values)):
                dist = p.distribution()
                if dist is not None:
                    values[p.name] = suggest(p.name, dist)


def _sorted(d: dict[str, Any]) -> dict[str, Any]:
    return {k: _sorted(v) if isinstance(v, dict) else v for k, v in sorted(d.items())}


def _walk(
    parameters: Any, path: tuple[Any, ...], prefix: str, doc: SweepDocument,
    out: list[SweepParameter], nested: set[str], keys: tuple[str, ...] = (),
) -> None:
    if not isinstance(parameters, Mapping) or not parameters:
        raise doc.error(path, f"{dotted(path)} must be a mapping of at least one parameter, got {parameters!r}")
    for name, cfg in parameters.items():
        here = (*path, name)
        if not isinstance(name, str) or not name:
            raise doc.error(here, f"{dotted(path)}: parameter names are strings, got {name!r}")
        if not isinstance(cfg, Mapping):
            raise doc.error(here, (
                f"{dotted(here)} must be a mapping such as {{values: [...]}} or {{min: ..., max: ...}}, got {cfg!r}"))
        full = f"{prefix}{name}"
        if "parameters" in cfg:
            extra = set(cfg) - {"parameters"}
            if extra:
                raise doc.error(here, f"{dotted(here)}: a nested parameters block takes no other field, "
                                f"got {sorted(extra)}")
            nested.add(full)
            _walk(cfg["parameters"], (*here, "parameters"), f"{full}.", doc, out, nested, (*keys, name))
            continue
        param = _parameter(full, here, dict(cfg), doc)
        param.keys, param.yaml_path = (*keys, name), here
        out.append(param)


def _parameter(name: str, path: tuple[Any, ...], cfg: dict[str, Any], doc: SweepDocument) -> SweepParameter:
    field_name = dotted(path)
    kind = cfg.get("distribution")
    if kind is None:
        kind = _infer(cfg)
        if kind is None:
            raise doc.error(path, (
                f"{field_name}: cannot tell the distribution from fields {sorted(cfg)}; write value, values, "
                f"min and max, or a distribution (one of {', '.join(DISTRIBUTIONS)})"))
    elif kind not in DISTRIBUTIONS:
        raise doc.error((*path, "distribution"), (
            f"{field_name}.distribution: unknown distribution {kind!r}; valid: {', '.join(DISTRIBUTIONS)}"))
    required, defaults = DISTRIBUTIONS[kind]
    allowed = set(required) | set(defaults) | {"distribution", *_EXTENSION_KEYS}
    for key in cfg:
        if key not in allowed:
            raise doc.error((*path, key), (
                f"{field_name}.{key}: not a field of distribution {kind} (its fields: "
                f"{', '.join(sorted(allowed - {'when'}))})"))
    for key in required:
        if key not in cfg:
            raise doc.error(path, f"{field_name}: distribution {kind} needs {key!r}")
    when = _when(cfg.pop("when", None), (*path, "when"), doc)
    cfg.pop("distribution", None)
    filled = {**defaults, **cfg}
    _check(kind, filled, path, doc)
    return SweepParameter(name, kind, filled, when)


def _when(raw: Any, path: tuple[Any, ...], doc: SweepDocument) -> dict[str, list[Any]]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not raw:
        raise doc.error(path, f"{dotted(path)} must map parameter names to a value or a list of values")
    return {str(k): list(v) if isinstance(v, list) else [v] for k, v in raw.items()}


def _check(kind: str, c: dict[str, Any], path: tuple[Any, ...], doc: SweepDocument) -> None:
    def fail(key: str, message: str) -> SweepConfigError:
        return doc.error((*path, key), f"{dotted((*path, key))} {message}")

    for key in ("min", "max", "mu", "sigma", "q", "a", "b"):
        if key in c and not _is_number(c[key]):
            raise fail(key, f"must be a number, got {c[key]!r}")
    if kind == "int_uniform":
        for key in ("min", "max"):
            if not isinstance(c[key], int):
                raise fail(key, f"must be an integer for int_uniform, got {c[key]!r}")
    if "min" in c and "max" in c and not c["min"] < c["max"]:
        raise fail("min", f"must be < max, got min={c['min']} max={c['max']}")
    if kind in _POSITIVE_MIN and not c["min"] > 0:
        raise fail("min", f"must be > 0 for {kind} (the bounds are values, not exponents), got {c['min']}")
    for key in ("sigma", "q", "a", "b"):
        if key in c and not c[key] > 0:
            raise fail(key, f"must be > 0, got {c[key]}")
    if kind in ("categorical", "categorical_w_probabilities"):
        values = c["values"]
        if not isinstance(values, list) or not values:
            raise fail("values", f"must be a non-empty list, got {values!r}")
    if kind == "categorical_w_probabilities":
        p = c["probabilities"]
        if not isinstance(p, list) or len(p) != len(c["values"]):
            raise fail("probabilities", f"must be a list as long as values ({len(c['values'])}), got {p!r}")
        if not all(_is_number(x) and x >= 0 for x in p):
            raise fail("probabilities", f"must be numbers >= 0, got {p!r}")
        if not math.isclose(sum(p), 1.0, rel_tol=0, abs_tol=1e-6):
            raise fail("probabilities", f"must sum to 1, got {sum(p):g}")


def sample_values(param: SweepParameter, n: int, seed: int = 0) -> list[Any]:
    """``n`` program values of ``param`` drawn at random through its stored distribution (for tests and docs)."""
    rng = np.random.default_rng(seed)
    dist = param.distribution()
    if dist is None:
        return [param.config["value"]] * n
    return [param.value(dist.sample(rng)) for _ in range(n)]
