"""Parameter distributions: the one internal representation of a search space.

Every way of declaring a parameter (``tunesmith.uniform``, ``trial.suggest_float``,
``hp.Float``...) compiles to one of these small immutable value objects. Each knows
how to validate itself, sample, and map values to and from the unit interval, which
is what model-based samplers work in.

Integer bounds are **inclusive everywhere**: ``IntDistribution(1, 3)`` yields 1, 2
or 3. (Ray Tune's ``randint`` excludes its upper bound; ours does not.)

Values are stored in an *internal* form that is always JSON-safe: numbers as
themselves, a categorical choice as its index.

>>> d = FloatDistribution(1e-4, 1e-1, log=True)
>>> round(d.from_unit(0.5), 6)
0.003162
"""

from __future__ import annotations

import contextlib
import json
import math
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar, cast

import numpy as np

__all__ = [
    "CategoricalDistribution",
    "DerivedDistribution",
    "Distribution",
    "FloatDistribution",
    "IntDistribution",
    "NormalDistribution",
    "build",
    "check_name",
    "distribution_from_json",
    "named",
]

_EPS = 1e-9


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _num(x: Any) -> Any:
    # numpy scalars -> Python numbers, so that to_json writes a number and not its repr.
    return x.item() if isinstance(x, (np.integer, np.floating)) else x


class Distribution:
    """Base class: a parameter's domain, checked when it is constructed."""

    kind: ClassVar[str] = ""
    #: whether samplers can place it in the unit cube (False for derived values)
    numeric_encoding: ClassVar[bool] = True

    def __post_init__(self) -> None:
        self._check()

    def _check(self) -> None:
        """Raise ValueError saying what is malformed and what would be valid (no parameter name)."""

    def validate(self, name: str) -> None:
        """Raise ValueError naming ``name`` if the name or the distribution is malformed."""
        check_name(name)
        with named(name):
            self._check()

    def sample(self, rng: np.random.Generator) -> Any:
        """Draw one external value."""
        return self.from_unit(float(rng.random()))

    def to_unit(self, value: Any) -> float:
        """Map an external value into [0, 1]."""
        raise NotImplementedError

    def from_unit(self, u: float) -> Any:
        """Map a point of [0, 1] to an external value."""
        raise NotImplementedError

    def contains(self, value: Any) -> bool:
        raise NotImplementedError

    def to_internal(self, value: Any) -> Any:
        """External value -> JSON-safe stored form."""
        return value

    def to_external(self, internal: Any) -> Any:
        """Stored form -> external value."""
        return internal

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, **self._fields()}, sort_keys=True, default=repr)

    def _fields(self) -> dict[str, Any]:
        return {}

    def _check_value(self, name: str, value: Any) -> None:
        if not self.contains(value):
            raise ValueError(f"parameter {name!r}: value {value!r} is outside {self}")


#: the longest parameter name allowed, on every storage alike
MAX_NAME_LENGTH = 256


def check_name(name: Any) -> None:
    """Raise ValueError unless ``name`` is a non-empty str of at most 256 characters and no
    control characters: the same rule on every storage (PostgreSQL cannot store NUL)."""
    if not isinstance(name, str):
        raise ValueError(f"parameter name must be a str, got {type(name).__name__} {_shown(name)}")
    if not name:
        raise ValueError("parameter name must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(
            f"parameter name {_shown(name)} is {len(name)} characters long; at most {MAX_NAME_LENGTH} are allowed"
        )
    # Cc: NUL and the other C0/C1 controls; Cs: lone surrogates, which UTF-8 cannot encode.
    bad = next((c for c in name if unicodedata.category(c) in ("Cc", "Cs")), None)
    if bad is not None:
        raise ValueError(
            f"parameter name {_shown(name)} contains the control character {bad!r}; names must be printable text"
        )


def _shown(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 5]}...{text[-2:]}"


@contextlib.contextmanager
def named(name: str) -> Iterator[None]:
    """Prefix a ValueError raised inside with ``parameter 'name': ``."""
    try:
        yield
    except ValueError as e:
        raise ValueError(f"parameter {_shown(name, 100)}: {e}") from None


D = TypeVar("D", bound=Distribution)


def build(name: str, make: Callable[..., D], /, *args: Any, **kwargs: Any) -> D:
    """``make(*args, **kwargs)``, with an error naming the parameter ``name`` (define-by-run calls).

    An objective declares the same parameters in every trial: a distribution built and
    checked once is reused (they are immutable), which keeps checking off the hot path.
    """
    key = (name, make, repr(args), repr(sorted(kwargs.items())))  # repr: 1, 1.0 and True stay apart
    built = _BUILT.get(key)
    if built is not None:
        return cast(D, built)
    with named(name):
        dist = make(*args, **kwargs)
    if len(_BUILT) >= _MAX_BUILT:
        _BUILT.clear()
    _BUILT[key] = dist
    return dist


_BUILT: dict[tuple[Any, ...], Distribution] = {}
_MAX_BUILT = 4096


def _check_bounds(low: Any, high: Any, log: bool, what: str) -> None:
    if not (_is_number(low) and _is_number(high)):
        raise ValueError(f"{what} bounds must be numbers, got low={low!r}, high={high!r}")
    if math.isnan(low) or math.isnan(high) or math.isinf(low) or math.isinf(high):
        raise ValueError(f"bounds must be finite, got low={low!r}, high={high!r}")
    if low > high:
        raise ValueError(f"low={low!r} must not exceed high={high!r}")
    if log and low <= 0:
        raise ValueError(f"log scale needs low > 0, got low={low!r}")


def _check_step(low: float, high: float, step: float | None) -> None:
    if step is None:
        return
    if not _is_number(step) or not step > 0 or not math.isfinite(step):
        raise ValueError(f"step must be a positive number, got step={step!r}")
    span = high - low
    if span > 0 and span / step < 1 - 1e-6:  # tolerant: in floats, 1.2 - 1.1 < 0.1
        raise ValueError(f"step={step!r} is larger than the range [{low!r}, {high!r}]")
    k = span / step
    if abs(k - round(k)) > 1e-6 * max(1.0, abs(k)):
        top = round(low + math.floor(k + 1e-9) * step, 12)
        raise ValueError(
            f"step={step!r} does not divide the range [{low!r}, {high!r}]; "
            f"valid: a high of the form low + k*step, e.g. high={top!r}"
        )


@dataclass(frozen=True)
class FloatDistribution(Distribution):
    """A real in [low, high]; ``log`` samples uniformly in log space; ``step`` quantizes."""

    low: float
    high: float
    log: bool = False
    step: float | None = None
    kind: ClassVar[str] = "float"

    def _check(self) -> None:
        _check_bounds(self.low, self.high, self.log, "float")
        if self.low == self.high and self.step is None:
            raise ValueError(f"low={self.low!r} must be < high={self.high!r} (use a constant for a fixed value)")
        _check_step(self.low, self.high, self.step)

    def _quantize(self, x: float) -> float:
        if self.step is None:
            return min(max(x, self.low), self.high)
        k = round((x - self.low) / self.step)
        kmax = round((self.high - self.low) / self.step)
        # Round off the float noise of low + k*step (0.1 * 7 = 0.7000000000000001).
        value = round(self.low + min(max(k, 0), kmax) * self.step, 12)
        return float(min(max(value, self.low), self.high))

    def from_unit(self, u: float) -> float:
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high)
            x = math.exp(lo + u * (hi - lo))
        else:
            x = self.low + u * (self.high - self.low)
        return self._quantize(x)

    def to_unit(self, value: Any) -> float:
        v = float(value)
        if self.high == self.low:
            return 0.5
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high)
            return (math.log(v) - lo) / (hi - lo)
        return (v - self.low) / (self.high - self.low)

    def contains(self, value: Any) -> bool:
        if not _is_number(value):
            return False
        v = float(value)
        if not (self.low - _EPS * max(1.0, abs(self.low)) <= v <= self.high + _EPS * max(1.0, abs(self.high))):
            return False
        if self.step is not None:
            k = (v - self.low) / self.step
            return abs(k - round(k)) < 1e-6
        return True

    def to_internal(self, value: Any) -> float:
        return float(value)

    def _fields(self) -> dict[str, Any]:
        return {"low": _num(self.low), "high": _num(self.high), "log": bool(self.log), "step": _num(self.step)}


@dataclass(frozen=True)
class IntDistribution(Distribution):
    """An integer in [low, high], both inclusive."""

    low: int
    high: int
    log: bool = False
    step: int = 1
    kind: ClassVar[str] = "int"

    def _check(self) -> None:
        for label, v in (("low", self.low), ("high", self.high), ("step", self.step)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
                raise ValueError(f"integer {label} expected, got {label}={v!r}")
        _check_bounds(self.low, self.high, self.log, "int")
        if self.log and self.step != 1:
            raise ValueError(f"log scale needs step=1, got step={self.step!r}")
        _check_step(self.low, self.high, self.step)

    def from_unit(self, u: float) -> int:
        if self.log:
            # Widen by half a unit so each integer gets its share of log-space mass.
            lo, hi = math.log(self.low - 0.5), math.log(self.high + 0.5)
            x = math.exp(lo + u * (hi - lo))
            return int(min(max(round(x), self.low), self.high))
        n = (self.high - self.low) // self.step + 1
        k = min(int(u * n), n - 1)
        return int(self.low + max(k, 0) * self.step)

    def to_unit(self, value: Any) -> float:
        v = int(value)
        if self.log:
            lo, hi = math.log(self.low - 0.5), math.log(self.high + 0.5)
            return (math.log(v) - lo) / (hi - lo)
        n = (self.high - self.low) // self.step + 1
        return ((v - self.low) // self.step + 0.5) / n

    def contains(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            if isinstance(value, (float, np.floating)) and float(value).is_integer():
                value = int(value)
            else:
                return False
        return self.low <= value <= self.high and (value - self.low) % self.step == 0

    def to_internal(self, value: Any) -> int:
        return int(value)

    def _fields(self) -> dict[str, Any]:
        return {"low": int(self.low), "high": int(self.high), "log": self.log, "step": int(self.step)}


@dataclass(frozen=True)
class NormalDistribution(Distribution):
    """A Gaussian real (``randn``); ``step`` rounds to multiples of it."""

    mean: float = 0.0
    sd: float = 1.0
    step: float | None = None
    kind: ClassVar[str] = "normal"

    def _check(self) -> None:
        finite = all(_is_number(v) and math.isfinite(v) for v in (self.mean, self.sd))
        if not finite or not self.sd > 0:
            raise ValueError(
                f"randn needs a finite mean and a finite sd > 0, got mean={self.mean!r}, sd={self.sd!r}"
            )
        if self.step is not None and not (_is_number(self.step) and self.step > 0 and math.isfinite(self.step)):
            raise ValueError(f"step must be a positive number, got step={self.step!r}")

    def _round(self, x: float) -> float:
        return x if self.step is None else float(round(x / self.step) * self.step)

    def sample(self, rng: np.random.Generator) -> float:
        return self._round(float(rng.normal(self.mean, self.sd)))

    def from_unit(self, u: float) -> float:
        from scipy.special import ndtri

        u = min(max(u, 1e-12), 1 - 1e-12)
        return self._round(self.mean + self.sd * float(ndtri(u)))

    def to_unit(self, value: Any) -> float:
        return 0.5 * (1.0 + math.erf((float(value) - self.mean) / (self.sd * math.sqrt(2.0))))

    def contains(self, value: Any) -> bool:
        if not (_is_number(value) and math.isfinite(float(value))):
            return False
        if self.step is not None:
            k = float(value) / self.step
            return abs(k - round(k)) < 1e-6
        return True

    def to_internal(self, value: Any) -> float:
        return float(value)

    def _fields(self) -> dict[str, Any]:
        return {"mean": _num(self.mean), "sd": _num(self.sd), "step": _num(self.step)}


@dataclass(frozen=True)
class CategoricalDistribution(Distribution):
    """One of a finite tuple of choices; ``grid`` marks a ``grid_search`` axis."""

    choices: tuple[Any, ...]
    grid: bool = False
    kind: ClassVar[str] = "categorical"
    _index: dict[Any, int] = field(default_factory=dict, compare=False, repr=False, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.choices, tuple):
            object.__setattr__(self, "choices", tuple(self.choices))
        index: dict[Any, int] = {}
        for i, c in enumerate(self.choices):
            try:
                index.setdefault(_choice_key(c), i)
            except TypeError:  # unhashable choice: fall back to a linear scan
                pass
        object.__setattr__(self, "_index", index)
        super().__post_init__()

    def _check(self) -> None:
        if len(self.choices) == 0:
            what = "grid_search" if self.grid else "choice"
            raise ValueError(f"{what} needs at least one value, got an empty list")

    def sample(self, rng: np.random.Generator) -> Any:
        return self.choices[int(rng.integers(len(self.choices)))]

    def index_of(self, value: Any) -> int:
        try:
            return self._index[_choice_key(value)]
        except (KeyError, TypeError):
            for i, c in enumerate(self.choices):
                if c is value or _same(c, value):
                    return i
        raise ValueError(f"{value!r} is not one of the choices {list(self.choices)!r}")

    def from_unit(self, u: float) -> Any:
        n = len(self.choices)
        return self.choices[min(max(int(u * n), 0), n - 1)]

    def to_unit(self, value: Any) -> float:
        return (self.index_of(value) + 0.5) / len(self.choices)

    def contains(self, value: Any) -> bool:
        try:
            self.index_of(value)
        except ValueError:
            return False
        return True

    def to_internal(self, value: Any) -> int:
        return self.index_of(value)

    def to_external(self, internal: Any) -> Any:
        return self.choices[int(internal)]

    def _fields(self) -> dict[str, Any]:
        return {"choices": [_jsonable(c) for c in self.choices], "grid": self.grid}


@dataclass(frozen=True)
class DerivedDistribution(Distribution):
    """A value computed by user code (``sample_from``); stored, never sampled."""

    kind: ClassVar[str] = "derived"
    numeric_encoding: ClassVar[bool] = False

    def contains(self, value: Any) -> bool:
        return True

    def to_internal(self, value: Any) -> Any:
        return _jsonable(value)


def _choice_key(value: Any) -> Any:
    # Distinguish True from 1 and 1.0 (also inside tuples) so that choice([1, True]) keeps both.
    if isinstance(value, tuple):
        return (tuple, tuple(_choice_key(v) for v in value))
    return (type(value) if isinstance(value, bool) else 0, value)


def _same(a: Any, b: Any) -> bool:
    # ``a == b`` except that True is not 1, also inside lists, tuples and dicts.
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return isinstance(a, list) == isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    try:
        return bool(a == b) and (isinstance(a, bool) == isinstance(b, bool))
    except Exception:  # arrays and other odd types
        return False


def _jsonable(value: Any) -> Any:
    """A JSON-safe version of ``value`` (tuples as lists; opaque objects as repr)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


def distribution_from_json(text: str) -> Distribution:
    """Rebuild a distribution written by :meth:`Distribution.to_json`."""
    data = json.loads(text)
    kind = data.pop("kind")
    if kind == "float":
        return FloatDistribution(**data)
    if kind == "int":
        return IntDistribution(**data)
    if kind == "normal":
        return NormalDistribution(**data)
    if kind == "categorical":
        return CategoricalDistribution(tuple(data["choices"]), grid=data.get("grid", False))
    if kind == "derived":
        return DerivedDistribution()
    raise ValueError(f"unknown distribution kind {kind!r} in stored study")


def clip(dist: FloatDistribution | IntDistribution, value: float) -> Any:
    """The value of ``dist`` nearest ``value``: inside the bounds, on the step, an int for ints.

    >>> clip(IntDistribution(1, 10, step=3), 8.7), clip(FloatDistribution(0.0, 1.0), 1.2)
    (7, 1.0)
    """
    v = min(max(float(value), dist.low), dist.high)
    return dist.from_unit(dist.to_unit(v))
