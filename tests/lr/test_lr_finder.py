"""The range test: exact restoration of model, optimizer and RNG, divergence, bad input, both forms."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from tunesmith.lr import RangeTestResult, find  # noqa: E402


def _task(seed: int = 0) -> tuple[nn.Module, DataLoader]:
    torch.manual_seed(seed)
    x = torch.randn(128, 8)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 2))
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True)
    return model, loader


def _warm_up(model: nn.Module, optimizer: torch.optim.Optimizer, loader: DataLoader, steps: int = 3) -> None:
    """A few real steps, so the optimizer has state (Adam's moments and step counts, SGD's momentum)."""
    loss_fn = nn.CrossEntropyLoss()
    for xb, yb in itertools.islice(loader, steps):
        optimizer.zero_grad()
        loss_fn(model(xb), yb).backward()
        optimizer.step()


def _snapshot(model: nn.Module, optimizer: torch.optim.Optimizer) -> tuple[dict, dict, list]:
    import copy

    return ({k: v.clone() for k, v in model.state_dict().items()}, copy.deepcopy(optimizer.state_dict()),
            [None if p.grad is None else p.grad.clone() for p in model.parameters()])


def _assert_same(before: tuple[dict, dict, list], model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
    params, opt, grads = before
    now = model.state_dict()
    assert now.keys() == params.keys()
    for k in params:  # bitwise: parameters and buffers (BatchNorm running stats, num_batches_tracked)
        assert torch.equal(now[k], params[k]), k
    opt_now = optimizer.state_dict()
    assert opt_now["param_groups"] == opt["param_groups"]  # learning rates included
    assert opt_now["state"].keys() == opt["state"].keys()
    for i, state in opt["state"].items():
        assert state.keys() == opt_now["state"][i].keys()
        for key, value in state.items():
            other = opt_now["state"][i][key]
            if torch.is_tensor(value):
                assert torch.equal(other, value) and other.dtype == value.dtype, (i, key)
            else:
                assert other == value, (i, key)
    for p, g in zip(model.parameters(), grads, strict=True):
        assert (p.grad is None and g is None) or torch.equal(p.grad, g)


def test_adam_state_and_parameters_restored_bitwise() -> None:
    model, loader = _task()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    _warm_up(model, opt, loader)
    steps_before = [float(s["step"]) for s in opt.state_dict()["state"].values()]
    assert steps_before and all(s == 3 for s in steps_before)
    before = _snapshot(model, opt)
    model.eval()
    result = find(model, opt, nn.CrossEntropyLoss(), loader, start_lr=1e-5, end_lr=1.0, num_iter=30)
    assert isinstance(result, RangeTestResult) and len(result.losses) > 5
    _assert_same(before, model, opt)
    assert not model.training  # the mode it had
    # the restored optimizer goes on from where it was: its next step counts 4
    model.train()
    _warm_up(model, opt, loader, steps=1)
    assert all(float(s["step"]) == 4 for s in opt.state_dict()["state"].values())


def test_sgd_momentum_restored_after_divergence() -> None:
    model, loader = _task(1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    _warm_up(model, opt, loader)
    assert all("momentum_buffer" in s for s in opt.state_dict()["state"].values())
    before = _snapshot(model, opt)
    result = find(model, opt, nn.CrossEntropyLoss(), loader, start_lr=1e-4, end_lr=1e4, num_iter=100)
    assert result.diverged
    assert len(result.losses) < 100  # stopped early
    _assert_same(before, model, opt)
    assert model.training


def test_fresh_optimizer_stays_fresh() -> None:
    model, loader = _task(2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    before = _snapshot(model, opt)
    find(model, opt, nn.CrossEntropyLoss(), loader, start_lr=1e-5, end_lr=1e-1, num_iter=10)
    assert opt.state_dict()["state"] == {}
    _assert_same(before, model, opt)


def test_restored_after_an_exception_in_user_code() -> None:
    model, loader = _task(3)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    _warm_up(model, opt, loader)
    before = _snapshot(model, opt)
    calls = []
    ce = nn.CrossEntropyLoss()

    def loss_fn(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        if len(calls) == 7:
            raise RuntimeError("boom in the loss")
        return ce(out, y)

    with pytest.raises(RuntimeError, match="boom in the loss"):
        find(model, opt, loss_fn, loader, num_iter=50)
    assert len(calls) == 7
    _assert_same(before, model, opt)


def test_torch_random_generator_restored() -> None:
    model, loader = _task(4)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    find(model, opt, nn.CrossEntropyLoss(), loader, num_iter=12)  # the shuffling loader draws from it
    assert torch.equal(torch.rand(3), expected)


def test_the_signature_is_the_issues_positional_order() -> None:
    import inspect

    params = inspect.signature(find).parameters
    assert list(params)[:11] == ["model", "optimizer", "loss_fn", "train_loader", "val_loader", "start_lr", "end_lr",
                                 "num_iter", "mode", "smooth", "diverge_threshold"]
    assert [params[n].default for n in list(params)[4:11]] == [None, 1e-7, 10.0, 100, "exp", 0.05, 4.0]
    model, loader = _task(4)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    r = find(model, opt, nn.CrossEntropyLoss(), loader, None, 1e-4, 1e-2, 9, "linear")
    assert len(r.lrs) == 9 and r.lrs[0] == pytest.approx(1e-4) and r.lrs[-1] == pytest.approx(1e-2)


def test_val_loader_records_the_validation_loss() -> None:
    model, loader = _task(5)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    val = DataLoader(loader.dataset, batch_size=64)
    r = find(model, opt, nn.CrossEntropyLoss(), loader, val, start_lr=1e-4, end_lr=1e-2, num_iter=8)
    assert len(r.losses) == 8 and not r.diverged
    # the mean validation loss after one tiny step: close to the untrained model's loss on the same rows
    with torch.no_grad():
        model.eval()
        untrained = float(nn.CrossEntropyLoss()(model(val.dataset.tensors[0]), val.dataset.tensors[1]))
    assert r.losses[0] == pytest.approx(untrained, rel=0.05)


def test_loader_is_cycled_and_lrs_follow_the_mode() -> None:
    model, _ = _task(6)
    x, y = torch.randn(8, 8), torch.zeros(8, dtype=torch.long)
    short = DataLoader(TensorDataset(x, y), batch_size=4)  # 2 batches
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    r = find(model, opt, nn.CrossEntropyLoss(), short, start_lr=1e-3, end_lr=1e-2, num_iter=7, mode="linear")
    assert len(r.losses) == 7
    np.testing.assert_allclose(r.lrs, np.linspace(1e-3, 1e-2, 7))
    r = find(model, opt, nn.CrossEntropyLoss(), short, start_lr=1e-3, end_lr=1e-1, num_iter=3)
    np.testing.assert_allclose(r.lrs, [1e-3, 1e-2, 1e-1])


def test_step_form_stops_on_divergence_and_sets_each_lr() -> None:
    seen: list[float] = []
    w = [3.0]

    def step(lr: float) -> float:
        seen.append(lr)
        loss = w[0] ** 2
        w[0] -= lr * 2 * w[0]  # diverges once lr > 1
        return loss

    r = find(step=step, start_lr=1e-4, end_lr=100, num_iter=100)
    assert r.diverged and len(r.losses) < 100
    assert seen == pytest.approx(list(r.lrs))
    assert max(seen) < 20  # stopped within a few steps of lr passing 1 (far below end_lr=100)
    assert r.suggestion is not None and r.suggestion.method == "robust"
    assert r.suggestion.low <= r.suggestion.lr <= r.suggestion.high
    assert 1e-3 < r.suggestion.lr < 1.0


def test_nan_loss_stops_the_test() -> None:
    r = find(step=lambda lr: math.nan if lr > 1e-3 else 1.0, start_lr=1e-6, end_lr=1, num_iter=30)
    assert r.diverged and math.isnan(r.losses[-1]) and len(r.losses) < 30


def test_other_methods_on_the_same_curve() -> None:
    w = [3.0]

    def step(lr: float) -> float:
        loss = w[0] ** 2
        w[0] -= lr * 2 * w[0]
        return loss

    r = find(step=step, start_lr=1e-4, end_lr=100, num_iter=100, method="steepest")
    assert r.suggestion is not None and r.suggestion.method == "steepest"
    assert r.suggest("minimum/10").method == "minimum/10"
    assert r.suggest("robust").lr > 0


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"start_lr": 1.0, "end_lr": 1.0}, "end_lr must be larger than start_lr"),
    ({"start_lr": 0.0}, "start_lr must be a positive number"),
    ({"num_iter": 1}, "num_iter must be an integer >= 2"),
    ({"mode": "log"}, "mode must be 'exp' or 'linear'"),
    ({"method": "fastest"}, "method must be one of"),
    ({"smooth": 0.0}, "smooth must be in"),
    ({"diverge_threshold": 1.0}, "diverge_threshold must be > 1"),
])
def test_bad_input_names_the_parameter(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        find(step=lambda lr: 1.0, **kwargs)


def test_torch_form_needs_all_its_parts() -> None:
    model, loader = _task()
    with pytest.raises(ValueError, match="missing \\['optimizer', 'loss_fn'\\]"):
        find(model, train_loader=loader)
    with pytest.raises(ValueError, match="not both"):
        find(model, step=lambda lr: 1.0)


def test_plot_draws_the_curve_and_the_suggestions() -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    w = [3.0]

    def step(lr: float) -> float:
        loss = w[0] ** 2
        w[0] -= lr * 2 * w[0]
        return loss

    ax = find(step=step, start_lr=1e-4, end_lr=100, num_iter=80).plot()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:2] == ["loss", "smoothed"] and any(s.startswith("robust") for s in labels)
    assert ax.get_xscale() == "log"
    plt.close(ax.figure)
