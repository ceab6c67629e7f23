"""The learning-rate range test (Smith 2017, "Cyclical Learning Rates", section 3.3).

Train for ``num_iter`` steps while the learning rate grows from ``start_lr`` to ``end_lr``
(geometrically, ``mode="exp"``, or linearly), record the loss at each step, stop once the
loss diverged, and suggest a learning rate from the curve (:mod:`tunesmith.lr._suggest`).

The suggestion is a starting point for a run of a few hundred steps, or for the peak of a
decaying schedule: the range test cannot see how long training will be, and a long run at a
constant rate is often best at a lower one (the short-horizon bias), so tune around it.

Two forms: with a torch model, optimizer, loss and data loader (the model, the optimizer and
torch's random generator are restored bit for bit afterwards, also after divergence or an
exception), or framework-free with ``step(lr) -> loss``, which needs numpy only:

>>> import numpy as np
>>> w = np.array([5.0])
>>> def step(lr):                       # one gradient step on f(w) = w^2, returns the loss before it
...     loss = float(w[0] ** 2)
...     w[:] -= lr * 2 * w
...     return loss
>>> result = find(step=step, start_lr=1e-4, end_lr=10, num_iter=60)
>>> result.diverged, 1e-3 < result.suggestion.lr < 1.0
(True, True)
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tunesmith.lr._suggest import METHODS, Suggestion, divergence_index, ema, suggest

__all__ = ["RangeTestResult", "find"]

MODES = ("exp", "linear")


@dataclass
class RangeTestResult:
    """The curve of a range test and the suggestion made from it.

    Attributes:
        lrs: learning rate at each recorded step.
        losses: the raw loss at each step (the training batch's, or the validation loss).
        smoothed: the exponentially smoothed losses (``smooth`` = weight of the newest point).
        diverged: whether the test stopped early because the loss diverged.
        suggestion: the suggestion of ``method`` (None when the curve was too short for one).
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    diverged: bool
    suggestion: Suggestion | None
    smooth: float = 0.05
    diverge_threshold: float = 4.0
    _others: dict[str, Suggestion] = field(default_factory=dict, repr=False)

    def suggest(self, method: str = "robust") -> Suggestion:
        """The suggestion of another method on the same curve (see :data:`METHODS`)."""
        if method not in self._others:
            self._others[method] = suggest(
                self.lrs, self.losses, method, smooth=self.smooth, diverge_threshold=self.diverge_threshold)
        return self._others[method]

    def plot(self, ax: Any = None, methods: Iterable[str] = ("robust", "steepest")) -> Any:
        """Loss against learning rate (log axis) with the suggestions of ``methods`` marked; returns the axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        ax.plot(self.lrs, self.losses, color="0.75", lw=1, label="loss")
        ax.plot(self.lrs, self.smoothed, color="C0", lw=1.5, label="smoothed")
        for k, method in enumerate(methods):
            try:
                s = self.suggest(method)
            except ValueError:
                continue
            ax.axvline(s.lr, color=f"C{k + 1}", ls="--", label=f"{method}: {s.lr:.2e}")
            ax.axvspan(s.low, s.high, color=f"C{k + 1}", alpha=0.12)
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        finite = self.smoothed[np.isfinite(self.smoothed)]
        if len(finite):
            lo, hi = float(finite.min()), float(finite[0])
            ax.set_ylim(lo - 0.1 * abs(hi - lo), hi + 0.5 * abs(hi - lo) + 1e-12)
        ax.legend(fontsize="small")
        return ax


def _check(start_lr: float, end_lr: float, num_iter: int, mode: str, smooth: float, diverge_threshold: float,
           method: str) -> None:
    if not (isinstance(start_lr, (int, float)) and start_lr > 0 and math.isfinite(start_lr)):
        raise ValueError(f"start_lr must be a positive number, got {start_lr!r}")
    if not (isinstance(end_lr, (int, float)) and math.isfinite(end_lr)) or start_lr >= end_lr:
        raise ValueError(f"end_lr must be larger than start_lr={start_lr!r}, got end_lr={end_lr!r}")
    if isinstance(num_iter, bool) or not isinstance(num_iter, int) or num_iter < 2:
        raise ValueError(f"num_iter must be an integer >= 2, got {num_iter!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be 'exp' or 'linear', got {mode!r}")
    if not (isinstance(smooth, (int, float)) and 0 < smooth <= 1):
        raise ValueError(f"smooth must be in (0, 1], got {smooth!r}")
    if not (isinstance(diverge_threshold, (int, float)) and diverge_threshold > 1):
        raise ValueError(f"diverge_threshold must be > 1, got {diverge_threshold!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}")


def lr_sequence(start_lr: float, end_lr: float, num_iter: int, mode: str = "exp") -> np.ndarray:
    """The learning rates a range test tries: ``num_iter`` of them from ``start_lr`` to ``end_lr``."""
    t = np.arange(num_iter) / (num_iter - 1)
    if mode == "exp":
        return np.asarray(start_lr * (end_lr / start_lr) ** t, dtype=float)
    return np.asarray(start_lr + (end_lr - start_lr) * t, dtype=float)


def find(
    model: Any = None, optimizer: Any = None, loss_fn: Callable[..., Any] | None = None,
    train_loader: Iterable[Any] | None = None, val_loader: Iterable[Any] | None = None,
    start_lr: float = 1e-7, end_lr: float = 10.0, num_iter: int = 100, mode: str = "exp",
    smooth: float = 0.05, diverge_threshold: float = 4.0, *, step: Callable[[float], float] | None = None,
    method: str = "robust",
) -> RangeTestResult:
    """Run a learning-rate range test and suggest a learning rate.

    Either ``model, optimizer, loss_fn, train_loader`` (torch; batches are ``(inputs, targets)``,
    ``loss_fn(model(inputs), targets)``, the loader is cycled when it runs out) or ``step``, a
    function that takes one training step at the given learning rate and returns its loss.

    Args:
        val_loader: when given, the recorded loss is the mean loss over it after each step (slower,
            smoother); otherwise the training batch's loss.
        start_lr, end_lr, num_iter, mode: the learning rates tried (``"exp"``: geometric; ``"linear"``).
        smooth: weight of the newest loss in the exponential moving average.
        diverge_threshold: stop once the smoothed loss exceeds this times its lowest value (or a loss
            is not finite).
        method: the suggestion method (``"robust"``, ``"steepest"``, ``"minimum/10"``, ``"valley"``);
            the others stay available through :meth:`RangeTestResult.suggest`.

    The torch form sets every parameter group's learning rate directly and restores the model's
    parameters and buffers, its train/eval mode, the optimizer's state and learning rates, and
    torch's CPU random generator exactly afterwards, whatever happened.
    """
    _check(start_lr, end_lr, num_iter, mode, smooth, diverge_threshold, method)
    lrs = lr_sequence(start_lr, end_lr, num_iter, mode)
    if step is not None:
        if model is not None or optimizer is not None or train_loader is not None:
            raise ValueError("pass either step= or model/optimizer/loss_fn/train_loader, not both")
        if not callable(step):
            raise TypeError(f"step must be a function lr -> loss, got {type(step).__name__}")
        losses = _run(lrs, step, smooth, diverge_threshold)
    else:
        missing = [n for n, v in (("model", model), ("optimizer", optimizer), ("loss_fn", loss_fn),
                                  ("train_loader", train_loader)) if v is None]
        if missing:
            raise ValueError(f"find needs step= or a model, optimizer, loss_fn and train_loader; missing {missing}")
        assert loss_fn is not None and train_loader is not None
        losses = _find_torch(model, optimizer, loss_fn, train_loader, val_loader, lrs, smooth, diverge_threshold)
    return _result(lrs[: len(losses)], np.asarray(losses, dtype=float), num_iter, smooth, diverge_threshold, method)


def _run(lrs: np.ndarray, step: Callable[[float], float], smooth: float, threshold: float) -> list[float]:
    """Call ``step`` at each learning rate until the loss diverges (the diverging loss is kept).

    The same test as :func:`divergence_index`, kept up to date point by point."""
    losses: list[float] = []
    avg, best, beta = 0.0, math.inf, 1.0 - smooth
    for i, lr in enumerate(lrs):
        loss = float(step(float(lr)))
        losses.append(loss)
        if not math.isfinite(loss):
            break
        avg = beta * avg + smooth * loss
        smoothed = avg / (1.0 - beta ** (i + 1))
        best = min(best, smoothed)
        if smoothed > threshold * best:
            break
    return losses


def _result(lrs: np.ndarray, losses: np.ndarray, num_iter: int, smooth: float, threshold: float,
            method: str) -> RangeTestResult:
    diverged = len(losses) < num_iter or divergence_index(losses, smooth, threshold) < len(losses)
    finite = np.where(np.isfinite(losses), losses, np.nan)
    smoothed = ema(np.nan_to_num(finite, nan=np.nanmax(finite) if np.isfinite(finite).any() else 0.0), smooth)
    try:
        chosen: Suggestion | None = suggest(lrs, losses, method, smooth=smooth, diverge_threshold=threshold)
    except ValueError:
        chosen = None
    result = RangeTestResult(lrs, losses, smoothed, diverged, chosen, smooth, threshold)
    if chosen is not None:
        result._others[method] = chosen
    return result


def _cycle(loader: Iterable[Any]) -> Iterator[Any]:
    while True:
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            raise ValueError("train_loader yielded no batches")


def _find_torch(model: Any, optimizer: Any, loss_fn: Callable[..., Any], train_loader: Iterable[Any],
                val_loader: Iterable[Any] | None, lrs: np.ndarray, smooth: float, threshold: float) -> list[float]:
    import torch

    params = list(model.parameters())
    device = params[0].device if params else torch.device("cpu")
    model_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    optim_state = copy.deepcopy(optimizer.state_dict())
    grads = [None if p.grad is None else p.grad.detach().clone() for p in params]
    rng_state = torch.get_rng_state()
    was_training = model.training

    def to(x: Any) -> Any:
        return x.to(device) if hasattr(x, "to") else x

    batches = _cycle(train_loader)

    def step(lr: float) -> float:
        for group in optimizer.param_groups:
            group["lr"] = lr
        model.train()
        inputs, targets = next(batches)
        optimizer.zero_grad()
        loss = loss_fn(model(to(inputs)), to(targets))
        loss.backward()
        optimizer.step()
        if val_loader is None:
            return float(loss.detach())
        model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for v_in, v_tg in val_loader:
                n = len(v_tg)
                total += float(loss_fn(model(to(v_in)), to(v_tg))) * n
                count += n
        return total / max(count, 1)

    try:
        return _run(lrs, step, smooth, threshold)
    finally:
        with torch.no_grad():
            model.load_state_dict(model_state)
            for p, g in zip(params, grads, strict=True):
                p.grad = g
        optimizer.load_state_dict(optim_state)
        torch.set_rng_state(rng_state)
        model.train(was_training)
