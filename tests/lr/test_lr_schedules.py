"""Schedules: values at known steps, warm-up, and the torch scheduler's rates equal to the function's."""

from __future__ import annotations

import math

import pytest

from tunesmith.lr import Schedule, schedule


def test_constant_with_warmup() -> None:
    f = schedule("constant", lr=0.2, warmup_steps=4)
    assert [f(s) for s in range(6)] == pytest.approx([0.0, 0.05, 0.1, 0.15, 0.2, 0.2])
    g = schedule("constant", lr=0.2, warmup_steps=4, warmup_start=0.5)
    assert g(0) == pytest.approx(0.1) and g(2) == pytest.approx(0.15) and g(4) == pytest.approx(0.2)
    assert schedule("constant")(10) == 1.0  # without lr: the factor


def test_linear_decay_reaches_the_end_factor_at_total_steps() -> None:
    f = schedule("linear", lr=1.0, total_steps=110, warmup_steps=10, end_factor=0.1)
    assert f(10) == pytest.approx(1.0)
    assert f(60) == pytest.approx(0.55)
    assert f(110) == pytest.approx(0.1) and f(500) == pytest.approx(0.1)


def test_step_decay_at_the_milestones() -> None:
    f = schedule("step", lr=1.0, milestones=[10, 20], gamma=0.5)
    assert [f(s) for s in (0, 9, 10, 19, 20, 100)] == pytest.approx([1, 1, 0.5, 0.5, 0.25, 0.25])
    w = schedule("step", lr=1.0, milestones=[10], gamma=0.1, warmup_steps=5)
    assert w(0) == 0.0 and w(5) == 1.0 and w(10) == pytest.approx(0.1)


def test_exponential_decay_starts_after_the_warmup() -> None:
    f = schedule("exponential", lr=2.0, gamma=0.9, warmup_steps=2)
    assert f(2) == pytest.approx(2.0)
    assert f(12) == pytest.approx(2.0 * 0.9**10)


def test_cosine_ends_at_its_floor() -> None:
    f = schedule("cosine", lr=1.0, total_steps=100, min_factor=0.1)
    assert f(0) == pytest.approx(1.0)
    assert f(50) == pytest.approx(0.55)
    assert f(100) == pytest.approx(0.1) and f(150) == pytest.approx(0.1)
    w = schedule("cosine", lr=1.0, total_steps=110, warmup_steps=10)
    assert w(10) == pytest.approx(1.0) and w(60) == pytest.approx(0.5) and w(110) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(("kind", "params"), [
    ("constant", {"warmup_steps": 5}),
    ("linear", {"total_steps": 40, "warmup_steps": 5, "end_factor": 0.05}),
    ("step", {"milestones": [8, 20, 30], "gamma": 0.3, "warmup_steps": 3}),
    ("exponential", {"gamma": 0.95, "warmup_steps": 4, "warmup_start": 0.1}),
    ("cosine", {"total_steps": 40, "warmup_steps": 6, "min_factor": 0.01}),
])
def test_torch_scheduler_rates_equal_the_function(kind: str, params: dict) -> None:
    torch = pytest.importorskip("torch")
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD([{"params": [model.weight]}, {"params": [model.bias], "lr": 0.5}], lr=0.1)
    f = schedule(kind, lr=0.3, **params)
    sched = schedule(kind, lr=0.3, optimizer=opt, **params)
    assert isinstance(sched, torch.optim.lr_scheduler.LambdaLR)
    for step in range(45):
        assert [g["lr"] for g in opt.param_groups] == [f(step), f(step)]  # bit for bit
        opt.step()
        sched.step()
    # without lr, each group keeps its own base rate and the schedule is the factor
    opt2 = torch.optim.SGD([{"params": [model.weight]}, {"params": [model.bias], "lr": 0.5}], lr=0.1)
    s2 = schedule(kind, optimizer=opt2, **params)
    for _ in range(7):
        opt2.step()
        s2.step()
    factor = schedule(kind, **params)(7)
    assert [g["lr"] for g in opt2.param_groups] == pytest.approx([0.1 * factor, 0.5 * factor])


@pytest.mark.parametrize(("kind", "params", "match"), [
    ("cosin", {}, "kind must be one of"),
    ("cosine", {}, "needs 'total_steps'"),
    ("cosine", {"total_steps": 10, "gamma": 0.5}, "takes no parameter 'gamma'"),
    ("step", {"milestones": [5, 3]}, "strictly increasing"),
    ("step", {"milestones": 5}, "milestones must be a list"),
    ("exponential", {"gamma": 0}, "gamma must be > 0"),
    ("linear", {"total_steps": 10, "warmup_steps": 11}, "exceeds total_steps=10"),
    ("constant", {"warmup_steps": -1}, "warmup_steps must be >= 0"),
    ("constant", {"warmup_start": 1.5}, "warmup_start must be <= 1.0"),
    ("cosine", {"total_steps": 2.5}, "total_steps must be an integer"),
])
def test_bad_parameters_are_named(kind: str, params: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        schedule(kind, **params)


def test_bad_lr_and_negative_step() -> None:
    with pytest.raises(ValueError, match="lr must be > 0"):
        schedule("constant", lr=0.0)
    s = schedule("constant")
    assert isinstance(s, Schedule)
    with pytest.raises(ValueError, match="step must be >= 0"):
        s(-1)
    assert math.isclose(schedule("exponential", gamma=0.5).factor(3), 0.125)
