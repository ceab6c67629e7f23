"""The warm-up recipe (a problem whose sharpness falls, and a real torch MLP) and the batch-size rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tunesmith.lr import Schedule, WarmupResult, find_warmup, scale


def _sharpening_problem(schedule: Schedule, steps: int = 300) -> list[float]:
    """Gradient descent on a quadratic whose curvature falls from 50 to 1 as training goes on:
    a large rate is unstable at the start only, so a warm-up makes it stable."""
    w, sharp, losses = 1.0, 50.0, []
    for t in range(steps):
        w -= schedule(t) * sharp * w
        sharp = max(1.0, sharp * 0.95)
        losses.append(w * w)
    return losses


def test_recipe_finds_the_unstable_rate_then_the_shortest_stabilizing_warmup() -> None:
    lrs = np.logspace(-3, 0, 13)
    r = find_warmup(_sharpening_problem, lrs=lrs, warmup_steps=[10, 30, 100, 300])
    assert isinstance(r, WarmupResult)
    # at step 0 the rate is unstable once lr * 50 > 2, i.e. lr > 0.04: the first grid rate above is 10^-1.25
    assert r.unstable_lr == pytest.approx(10**-1.25)
    assert r.target_lr == pytest.approx(10 * r.unstable_lr)
    base_runs = [run for run in r.runs if run.warmup_steps == 0]
    assert [run.stable for run in base_runs] == [True] * (len(base_runs) - 1) + [False]
    warm_runs = [run for run in r.runs if run.warmup_steps > 0]
    assert all(run.lr == r.target_lr for run in warm_runs)
    assert [run.stable for run in warm_runs] == [False, False, True]  # 10 and 30 too short, 100 enough
    assert r.warmup_steps == 100
    assert "100 warm-up steps make" in r.summary()
    # the evidence holds: the same warm-up, run again, is stable; the one before is not
    assert not _stable(r.target_lr, 30) and _stable(r.target_lr, 100)


def _stable(lr: float, warm: int) -> bool:
    from tunesmith.lr import schedule
    from tunesmith.lr._warmup import default_is_stable

    return default_is_stable(_sharpening_problem(schedule("constant", lr=lr, warmup_steps=warm)))


def test_recipe_reports_when_nothing_is_unstable_or_no_warmup_helps() -> None:
    r = find_warmup(_sharpening_problem, lrs=[1e-3, 1e-2], warmup_steps=[10])
    assert r.unstable_lr is None and r.warmup_steps is None and len(r.runs) == 2
    assert "no warm-up needed" in r.summary()
    r = find_warmup(_sharpening_problem, lrs=[1e-2, 1.0], warmup_steps=[5], factor=10)
    assert r.unstable_lr == 1.0 and r.warmup_steps is None
    assert "try longer warm-ups" in r.summary()


def test_recipe_on_a_small_torch_task() -> None:
    torch = pytest.importorskip("torch")
    from torch import nn

    g = torch.Generator().manual_seed(0)
    x = torch.randn(128, 8, generator=g)
    y = torch.tanh(x @ torch.randn(8, 1, generator=g))

    def train(schedule: Schedule, steps: int = 60) -> list[float]:
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 1))
        opt = torch.optim.SGD(net.parameters(), lr=1.0)
        sched = schedule.torch(opt)
        losses = []
        for t in range(steps):
            i = (t * 32) % 128
            opt.zero_grad()
            loss = nn.functional.mse_loss(net(x[i:i + 32]), y[i:i + 32])
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
        return losses

    r = find_warmup(train, lrs=list(np.logspace(-2, 1.5, 8)), warmup_steps=[5, 20], factor=3)
    base = [run for run in r.runs if run.warmup_steps == 0]
    assert r.unstable_lr is not None and base[-1].lr == r.unstable_lr and not base[-1].stable
    assert all(run.stable for run in base[:-1]) and len(base) >= 2
    assert not math.isfinite(base[-1].max_loss) or base[-1].max_loss > 2 * base[-1].first_loss \
        or base[-1].final_loss >= base[-1].first_loss
    warm = [run for run in r.runs if run.warmup_steps > 0]
    assert warm and all(run.lr == pytest.approx(3 * r.unstable_lr) for run in warm)
    if r.warmup_steps is None:
        assert not any(run.stable for run in warm)
    else:
        assert warm[-1].stable and warm[-1].warmup_steps == r.warmup_steps


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"lrs": []}, "lrs must be positive"),
    ({"lrs": [0.1, 0.01]}, "lrs must be increasing"),
    ({"warmup_steps": [0]}, "warmup_steps must be positive integers"),
    ({"warmup_steps": [20, 10]}, "warmup_steps must be increasing"),
    ({"factor": 0.5}, "factor must be >= 1"),
])
def test_recipe_bad_input(kwargs: dict, match: str) -> None:
    args = {"lrs": [0.01, 0.1], "warmup_steps": [10], **kwargs}
    with pytest.raises(ValueError, match=match):
        find_warmup(_sharpening_problem, **args)


def test_scale_rules() -> None:
    assert scale(0.1, 256, 64) == pytest.approx(0.4)
    assert scale(0.1, 256, 64, rule="sqrt") == pytest.approx(0.2)
    assert scale(0.1, 32, 128, rule="linear") == pytest.approx(0.025)
    assert scale(1e-3, 1024, 256, rule="auto", optimizer="Adam") == pytest.approx(2e-3)
    assert scale(1e-3, 1024, 256, rule="auto", optimizer="rmsprop") == pytest.approx(2e-3)
    assert scale(0.1, 1024, 256, rule="auto", optimizer="sgd") == pytest.approx(0.4)


def test_scale_auto_reads_a_torch_optimizer() -> None:
    torch = pytest.importorskip("torch")
    p = [torch.nn.Parameter(torch.zeros(1))]
    assert scale(1e-3, 400, 100, rule="auto", optimizer=torch.optim.AdamW(p)) == pytest.approx(2e-3)
    assert scale(0.1, 400, 100, rule="auto", optimizer=torch.optim.SGD(p, lr=0.1)) == pytest.approx(0.4)


@pytest.mark.parametrize(("args", "kwargs", "match"), [
    ((0.0, 64, 32), {}, "lr must be a positive number"),
    ((0.1, 0, 32), {}, "batch_size must be a positive integer"),
    ((0.1, 64, 32.0), {}, "base_batch_size must be a positive integer"),
    ((0.1, 64, 32), {"rule": "square"}, "rule must be one of"),
    ((0.1, 64, 32), {"rule": "auto"}, "rule='auto' needs optimizer="),
])
def test_scale_bad_input(args: tuple, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        scale(*args, **kwargs)
