"""Property tests for the parameter distributions (tunesmith/distributions.py)."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tunesmith.distributions import (
    CategoricalDistribution,
    DerivedDistribution,
    Distribution,
    FloatDistribution,
    IntDistribution,
    NormalDistribution,
    build,
    check_name,
    distribution_from_json,
)

unit = st.floats(0.0, 1.0, allow_nan=False)
fraction = st.floats(0.0, 1.0, allow_nan=False)
STEPS = [0.001, 0.01, 0.1, 0.2, 0.25, 0.5, 1.0, 2.5, 10.0]


# -- strategies ---------------------------------------------------------------------------------------


@st.composite
def float_dists(draw: st.DrawFn) -> FloatDistribution:
    kind = draw(st.sampled_from(["linear", "log", "step", "log_step"]))
    if kind == "linear":
        low = draw(st.floats(-1e6, 1e6))
        return FloatDistribution(low, low + draw(st.floats(1e-3, 1e6)))
    if kind == "log":
        low = draw(st.floats(1e-8, 1e4))
        return FloatDistribution(low, low * draw(st.floats(1.001, 1e8)), log=True)
    step = draw(st.sampled_from(STEPS))
    if kind == "step":
        low = draw(st.floats(-1e4, 1e4))
        return FloatDistribution(low, low + draw(st.integers(1, 1000)) * step, step=step)
    low = step * draw(st.integers(1, 100))
    return FloatDistribution(low, low + draw(st.integers(1, 1000)) * step, log=True, step=step)


@st.composite
def int_dists(draw: st.DrawFn) -> IntDistribution:
    if draw(st.booleans()):
        low = draw(st.integers(1, 10_000))
        return IntDistribution(low, draw(st.integers(low, low * 1000)), log=True)
    low = draw(st.integers(-1_000_000, 1_000_000))
    step = draw(st.integers(1, 100))
    return IntDistribution(low, low + draw(st.integers(0, 1000)) * step, step=step)


@st.composite
def normal_dists(draw: st.DrawFn) -> NormalDistribution:
    step = draw(st.one_of(st.none(), st.sampled_from(STEPS)))
    return NormalDistribution(draw(st.floats(-100, 100)), draw(st.floats(1e-3, 100)), step=step)


def _strict_key(value: Any) -> Any:
    """Equality that tells True from 1 and a list from a tuple (but 1 == 1.0, as Python does)."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("num", float(value))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_strict_key(v) for v in value))
    return (type(value).__name__, value)


scalar_choices = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.floats(-10, 10, allow_nan=False), st.text(max_size=3),
)
json_choices = st.recursive(scalar_choices, lambda inner: st.lists(inner, max_size=3), max_leaves=6)
any_choices = st.recursive(
    scalar_choices, lambda inner: st.one_of(st.lists(inner, max_size=3), st.tuples(inner, inner)), max_leaves=6,
)


def categorical_dists(elements: st.SearchStrategy[Any] = any_choices) -> st.SearchStrategy[CategoricalDistribution]:
    return st.builds(
        lambda cs, grid: CategoricalDistribution(tuple(cs), grid=grid),
        st.lists(elements, min_size=1, max_size=8, unique_by=_strict_key),
        st.booleans(),
    )


numeric_dists = st.one_of(float_dists(), int_dists(), normal_dists())
all_dists = st.one_of(float_dists(), int_dists(), normal_dists(), categorical_dists())


def _valid(d: Distribution) -> Distribution:
    d.validate("p")  # every generated distribution is a legal one
    return d


def _float_domain_value(d: FloatDistribution, t: float) -> float:
    """A value inside ``d`` chosen by ``t`` in [0, 1] (on the lattice when there is a step)."""
    if d.step is not None:
        kmax = round((d.high - d.low) / d.step)
        return d.low + round(t * kmax) * d.step
    if d.log:
        return math.exp(math.log(d.low) + t * (math.log(d.high) - math.log(d.low)))
    return d.low + t * (d.high - d.low)


def _int_domain_value(d: IntDistribution, t: float) -> int:
    n = (d.high - d.low) // d.step
    return d.low + round(t * n) * d.step


# -- every point of the unit interval maps into the domain --------------------------------------------


@settings(deadline=None)
@given(all_dists, unit)
def test_from_unit_is_always_contained(d: Distribution, u: float) -> None:
    _valid(d)
    assert d.contains(d.from_unit(u))
    assert 0.0 <= d.to_unit(d.from_unit(u)) <= 1.0


@settings(deadline=None)
@given(all_dists, st.integers(0, 2**32 - 1))
def test_sample_is_contained(d: Distribution, seed: int) -> None:
    _valid(d)
    rng = np.random.default_rng(seed)
    for _ in range(5):
        assert d.contains(d.sample(rng))


@given(float_dists(), unit)
def test_float_from_unit_stays_within_bounds(d: FloatDistribution, u: float) -> None:
    x = d.from_unit(u)
    tol = 1e-9 * max(1.0, abs(d.low), abs(d.high))
    assert d.low - tol <= x <= d.high + tol
    assert isinstance(x, float)


@given(int_dists(), unit)
def test_int_from_unit_is_an_int_on_the_lattice(d: IntDistribution, u: float) -> None:
    x = d.from_unit(u)
    assert type(x) is int
    assert d.low <= x <= d.high
    assert (x - d.low) % d.step == 0


# -- round trips through the unit interval ------------------------------------------------------------


@given(float_dists(), fraction)
def test_float_round_trip_through_unit(d: FloatDistribution, t: float) -> None:
    v = _float_domain_value(d, t)
    assert d.contains(v)
    back = d.from_unit(d.to_unit(v))
    assert back == pytest.approx(v, rel=1e-9, abs=1e-9 * max(1.0, abs(d.low), abs(d.high)))


@given(int_dists(), fraction)
def test_int_round_trip_through_unit_is_exact(d: IntDistribution, t: float) -> None:
    v = _int_domain_value(d, t)
    assert d.contains(v)
    assert d.from_unit(d.to_unit(v)) == v


@settings(deadline=None)
@given(normal_dists(), st.floats(-5, 5))
def test_normal_round_trip_through_unit(d: NormalDistribution, z: float) -> None:
    v = d.mean + z * d.sd
    if d.step is not None:
        v = round(v / d.step) * d.step
    back = d.from_unit(d.to_unit(v))
    assert back == pytest.approx(v, rel=1e-6, abs=1e-6 * d.sd)


@given(categorical_dists())
def test_categorical_round_trip_is_exact(d: CategoricalDistribution) -> None:
    for i, c in enumerate(d.choices):
        assert d.index_of(c) == i
        assert d.from_unit(d.to_unit(c)) is d.choices[i]
        assert d.to_external(d.to_internal(c)) is d.choices[i]


@pytest.mark.parametrize(
    "choices",
    [
        (1, True, 0, False, None),
        ([1, 2], [True, 2], (1, 2), (True, 2), "a"),  # unhashable lists and hashable tuples
        ([1], [True], [1.5], [[1]], [[True]]),
        ({"a": 1}, {"a": True}, {"a": 2}),
        ((1,), (True,), (0,), (False,)),
    ],
)
def test_categorical_keeps_true_apart_from_one(choices: tuple[Any, ...]) -> None:
    d = CategoricalDistribution(choices)
    assert [d.index_of(c) for c in choices] == list(range(len(choices)))
    for i, c in enumerate(choices):
        assert d.from_unit(d.to_unit(c)) is choices[i]
        assert d.to_external(json.loads(json.dumps(d.to_internal(c)))) is choices[i]


def test_categorical_unknown_value_is_rejected() -> None:
    d = CategoricalDistribution((1, [2, 3], "a"))
    assert not d.contains(True)
    assert not d.contains([2, 4])
    assert not d.contains((2, 3))
    with pytest.raises(ValueError, match="not one of the choices"):
        d.index_of("b")


# -- int bounds are inclusive -------------------------------------------------------------------------


@given(int_dists())
def test_int_from_unit_reaches_both_ends(d: IntDistribution) -> None:
    assert d.from_unit(0.0) == d.low
    assert d.from_unit(1.0) == d.high


@pytest.mark.parametrize(
    "d",
    [
        IntDistribution(1, 3),
        IntDistribution(-2, 2),
        IntDistribution(0, 10, step=5),
        IntDistribution(1, 4, log=True),
        IntDistribution(100, 104, log=True),
        IntDistribution(7, 7),
    ],
    ids=repr,
)
def test_int_sample_reaches_both_ends(d: IntDistribution) -> None:
    rng = np.random.default_rng(0)
    seen = {d.sample(rng) for _ in range(400)}
    assert seen == set(range(d.low, d.high + 1, d.step))


def test_float_from_unit_ends_are_the_bounds() -> None:
    for d in (FloatDistribution(-1.5, 2.0), FloatDistribution(1e-5, 1e2, log=True),
              FloatDistribution(0.0, 1.0, step=0.25)):
        assert d.from_unit(0.0) == pytest.approx(d.low)
        assert d.from_unit(1.0) == pytest.approx(d.high)


# -- log scales spread over orders of magnitude ------------------------------------------------------


def test_log_float_samples_cover_orders_of_magnitude() -> None:
    d = FloatDistribution(1e-6, 1.0, log=True)
    rng = np.random.default_rng(0)
    xs = np.array([d.sample(rng) for _ in range(4000)])
    assert abs(np.log10(np.median(xs)) - (-3.0)) < 0.2  # median near the geometric mean 1e-3
    per_decade = np.histogram(np.log10(xs), bins=6, range=(-6, 0))[0] / len(xs)
    assert np.all(np.abs(per_decade - 1 / 6) < 0.03)
    linear = FloatDistribution(1e-6, 1.0)
    assert np.median([linear.sample(rng) for _ in range(1000)]) > 0.3  # ...unlike a linear scale


def test_log_int_samples_cover_orders_of_magnitude() -> None:
    d = IntDistribution(1, 1_000_000, log=True)
    rng = np.random.default_rng(1)
    xs = np.array([d.sample(rng) for _ in range(4000)])
    assert abs(np.log10(np.median(xs)) - 3.0) < 0.2
    assert (xs < 10).mean() > 0.1  # small values are common, not ~1e-5 as on a linear scale


def test_log_from_unit_is_geometric() -> None:
    assert FloatDistribution(1e-4, 1e-1, log=True).from_unit(0.5) == pytest.approx(10 ** -2.5)
    assert FloatDistribution(2.0, 32.0, log=True).from_unit(0.25) == pytest.approx(4.0)


# -- steps --------------------------------------------------------------------------------------------


@given(float_dists(), unit)
def test_float_step_values_are_on_the_lattice(d: FloatDistribution, u: float) -> None:
    assume(d.step is not None)
    x = d.from_unit(u)
    k = (x - d.low) / d.step
    assert abs(k - round(k)) < 1e-6


@settings(deadline=None)
@given(normal_dists(), st.integers(0, 2**32 - 1))
def test_normal_step_values_are_multiples(d: NormalDistribution, seed: int) -> None:
    assume(d.step is not None)
    x = d.sample(np.random.default_rng(seed))
    assert abs(x / d.step - round(x / d.step)) < 1e-6


def test_normal_samples_have_the_right_moments() -> None:
    d = NormalDistribution(3.0, 2.0)
    rng = np.random.default_rng(0)
    xs = np.array([d.sample(rng) for _ in range(4000)])
    assert abs(xs.mean() - 3.0) < 0.15
    assert abs(xs.std() - 2.0) < 0.15
    assert d.from_unit(0.5) == pytest.approx(3.0)
    assert d.to_unit(3.0 + 2.0) == pytest.approx(0.8413447, abs=1e-6)


def test_contains_rejects_values_outside() -> None:
    assert not FloatDistribution(0, 1).contains(1.5)
    assert not FloatDistribution(0, 1).contains(True)
    assert not FloatDistribution(0, 1).contains("0.5")
    assert not FloatDistribution(0, 1, step=0.25).contains(0.3)
    assert FloatDistribution(0, 1, step=0.25).contains(0.75)
    assert not IntDistribution(0, 10, step=2).contains(3)
    assert not IntDistribution(0, 10).contains(11)
    assert not IntDistribution(0, 10).contains(2.5)
    assert IntDistribution(0, 10).contains(np.int64(4))
    assert not IntDistribution(0, 1).contains(True)
    assert not NormalDistribution().contains(float("nan"))


# -- serialisation ------------------------------------------------------------------------------------


json_safe_dists = st.one_of(float_dists(), int_dists(), normal_dists(), categorical_dists(json_choices))


@given(json_safe_dists)
def test_json_round_trip(d: Distribution) -> None:
    back = distribution_from_json(d.to_json())
    assert type(back) is type(d)
    assert back == d
    assert back.to_json() == d.to_json()


def test_json_round_trip_of_derived_and_unknown_kind() -> None:
    assert isinstance(distribution_from_json(DerivedDistribution().to_json()), DerivedDistribution)
    with pytest.raises(ValueError, match="'nope'"):
        distribution_from_json('{"kind": "nope"}')


@pytest.mark.parametrize(
    "d",
    [
        FloatDistribution(np.float32(0.5), np.float32(2.0)),
        FloatDistribution(np.float64(1e-4), np.float32(1.0), log=True),
        FloatDistribution(np.float32(0.0), np.float32(1.0), step=np.float32(0.25)),
        IntDistribution(np.int64(1), np.int32(9), step=np.int64(2)),
        NormalDistribution(np.float32(1.0), np.float32(2.0), step=np.float32(0.5)),
    ],
    ids=repr,
)
def test_json_round_trip_with_numpy_bounds(d: Distribution) -> None:
    """Bounds taken from numpy arrays must come back as numbers, not as their repr."""
    back = distribution_from_json(d.to_json())
    assert back == d
    for name, value in json.loads(d.to_json()).items():
        assert not isinstance(value, str) or name == "kind"
    back.validate("p")
    assert back.contains(back.from_unit(0.3))


@settings(deadline=None)
@given(all_dists, unit)
def test_internal_form_is_json_safe_and_round_trips(d: Distribution, u: float) -> None:
    v = d.from_unit(u)
    internal = d.to_internal(v)
    stored = json.loads(json.dumps(internal))  # what a storage writes and reads back
    back = d.to_external(stored)
    if isinstance(d, CategoricalDistribution):
        assert type(stored) is int
        assert back is v
    elif isinstance(d, IntDistribution):
        assert type(back) is int and back == v
    else:
        assert back == v


def test_derived_internal_form_is_json_safe() -> None:
    d = DerivedDistribution()
    value = {"a": (np.int64(2), np.float32(0.5)), "b": [True, None, "x"], "c": object()}
    stored = json.loads(json.dumps(d.to_internal(value)))
    assert stored["a"] == [2, 0.5]
    assert stored["b"] == [True, None, "x"]
    assert isinstance(stored["c"], str)
    assert d.to_internal(np.int64(8)) == 8 and type(d.to_internal(np.int64(8))) is int


@pytest.mark.parametrize("low, high, step", [(1.1, 1.2, 0.1), (1.0, 1.001, 0.001), (0.7, 0.8, 0.1), (2.2, 2.5, 0.1)])
def test_float_step_accepts_a_range_with_rounding_error(low: float, high: float, step: float) -> None:
    """``1.2 - 1.1 < 0.1`` in floats: a one-step range must still be accepted."""
    d = FloatDistribution(low, high, step=step)
    d.validate("p")
    assert d.from_unit(0.0) == low
    assert d.from_unit(1.0) == pytest.approx(high)


@pytest.mark.parametrize("step", [0, -1])
def test_int_step_is_checked_even_when_low_equals_high(step: int) -> None:
    with pytest.raises(ValueError, match=f"^step must be a positive number, got step={step}$"):
        IntDistribution(3, 3, step=step)
    IntDistribution(3, 3).validate("p")
    assert IntDistribution(3, 3).from_unit(0.7) == 3


# -- a malformed distribution cannot be constructed ---------------------------------------------------


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: FloatDistribution(0, 1, log=True), "log scale needs low > 0, got low=0"),
        (lambda: FloatDistribution(5, 1), "low=5 must not exceed high=1"),
        (lambda: FloatDistribution(1, 1), "low=1 must be < high=1 (use a constant for a fixed value)"),
        (lambda: FloatDistribution(0, 1, step=0), "step must be a positive number, got step=0"),
        (lambda: FloatDistribution(0, 1, step=float("inf")), "step must be a positive number, got step=inf"),
        (lambda: IntDistribution(10, 3), "low=10 must not exceed high=3"),
        (lambda: IntDistribution(0, 5, log=True), "log scale needs low > 0, got low=0"),
        (lambda: IntDistribution(1, 9, log=True, step=2), "log scale needs step=1, got step=2"),
        (lambda: IntDistribution(0, 1.5), "integer high expected, got high=1.5"),
        (lambda: NormalDistribution(0, -1), "randn needs a finite mean and a finite sd > 0, got mean=0, sd=-1"),
        (lambda: NormalDistribution(0, 1, step=0), "step must be a positive number, got step=0"),
        (lambda: CategoricalDistribution(()), "choice needs at least one value, got an empty list"),
        (lambda: CategoricalDistribution((), grid=True), "grid_search needs at least one value, got an empty list"),
    ],
)
def test_malformed_distribution_fails_at_construction(make: Any, message: str) -> None:
    with pytest.raises(ValueError) as info:
        make()
    assert str(info.value) == message


@settings(deadline=None)
@given(
    st.one_of(st.integers(-3, 3), st.floats(-3, 3), st.sampled_from([math.nan, math.inf])),
    st.one_of(st.integers(-3, 3), st.floats(-3, 3)),
    st.booleans(),
    st.one_of(st.none(), st.sampled_from([-1.0, 0.0, 0.5, 1.0, 2.0])),
    unit,
)
def test_a_constructed_float_distribution_is_usable(low: float, high: float, log: bool, step: float | None,
                                                    u: float) -> None:
    """Whatever the arguments, construction either fails with ValueError or gives a working domain."""
    try:
        d = FloatDistribution(low, high, log=log, step=step)
    except ValueError:
        return
    d.validate("p")
    assert d.contains(d.from_unit(u))
    assert distribution_from_json(d.to_json()) == d


def test_validate_names_the_parameter() -> None:
    d = FloatDistribution(0.5, 1.0, log=True)
    d.validate("model/lr")
    object.__setattr__(d, "low", 0)  # a distribution changed after construction is checked again
    with pytest.raises(ValueError, match=r"^parameter 'model/lr': log scale needs low > 0, got low=0$"):
        d.validate("model/lr")


def test_build_names_the_parameter() -> None:
    assert build("lr", FloatDistribution, 1e-4, 1e-1, log=True) == FloatDistribution(1e-4, 1e-1, log=True)
    with pytest.raises(ValueError, match=r"^parameter 'lr': log scale needs low > 0, got low=0$"):
        build("lr", FloatDistribution, 0, 1, log=True)


def test_internal_distributions_still_construct() -> None:
    assert distribution_from_json(DerivedDistribution().to_json()) == DerivedDistribution()
    assert distribution_from_json(NormalDistribution().to_json()) == NormalDistribution()
    assert distribution_from_json(FloatDistribution(0, 1, step=0.5).to_json()) == FloatDistribution(0.0, 1.0, step=0.5)
    assert CategoricalDistribution([1, 2], grid=True).choices == (1, 2)


# -- parameter names ---------------------------------------------------------------------------------


@given(st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=256))
def test_printable_names_up_to_256_characters_are_accepted(name: str) -> None:
    check_name(name)
    FloatDistribution(0, 1).validate(name)


@given(st.text(max_size=20), st.characters(whitelist_categories=("Cc",)), st.text(max_size=20))
def test_a_control_character_anywhere_is_rejected(before: str, control: str, after: str) -> None:
    with pytest.raises(ValueError, match="control character"):
        FloatDistribution(0, 1).validate(before + control + after)


@pytest.mark.parametrize(
    "name, message",
    [
        ("", "parameter name must not be empty"),
        ("x" * 257, "is 257 characters long; at most 256 are allowed"),
        ("a\x00b", "parameter name 'a\\x00b' contains the control character '\\x00'"),
        (None, "parameter name must be a str, got NoneType None"),
        (("a", "b"), "must be a str, got tuple ('a', 'b')"),
    ],
    ids=["empty", "long", "nul", "none", "tuple"],
)
def test_bad_name_message(name: Any, message: str) -> None:
    with pytest.raises(ValueError) as info:
        CategoricalDistribution((1, 2)).validate(name)
    assert message in str(info.value)
    assert len(str(info.value)) < 140  # a long name is shown shortened


def test_build_reuses_a_checked_distribution_and_keeps_value_types_apart() -> None:
    from tunesmith.distributions import CategoricalDistribution, FloatDistribution, build

    a = build("lr", FloatDistribution, 1e-4, 1e-1, log=True)
    assert build("lr", FloatDistribution, 1e-4, 1e-1, log=True) is a  # checked once, reused
    assert build("lr", FloatDistribution, 1e-4, 1e-1) is not a
    ints = build("c", CategoricalDistribution, (1, 2))
    bools = build("c", CategoricalDistribution, (True, 2))
    floats = build("c", CategoricalDistribution, (1.0, 2))
    assert [type(x) for x in (ints.choices[0], bools.choices[0], floats.choices[0])] == [int, bool, float]
    with pytest.raises(ValueError, match="parameter 'bad'"):
        build("bad", FloatDistribution, 1.0, 0.0)
    with pytest.raises(ValueError, match="parameter 'bad'"):  # an error is never cached as a success
        build("bad", FloatDistribution, 1.0, 0.0)
