"""Learning-rate finder: how close each suggestion lands to the grid-searched best learning rate.

    python benchmarks/lr_finder.py [--cases 36] [--seeds 5] [--out lr_finder.json]

Two sets of cases, each range-tested with 5 seeds (the seed changes the gradient noise, the
batch order and the loss noise, never the problem):

1. Generated curves: the noisy quadratic model (Zhang et al. 2019, "Which algorithmic choices
   matter at which batch sizes?"), SGD on ``L(w) = 1/2 sum_i h_i w_i^2`` in 50 dimensions
   with curvatures ``h_i = h_max * i^-p`` and gradient noise of variance ``h_i * sigma2``. Case
   ``k`` draws ``h_max`` (10^0..10^3, so the best rate moves over three decades), ``p``
   (1, 1.5, 2), ``sigma2`` (10^-3..1), the training budget (100, 300, 1000 steps) and the
   loss-observation noise (2%, 10%, 30% of the loss) from a generator seeded with ``k``.
   The range test simulates the stochastic SGD run (100 steps, 1e-6..10, geometric); the
   known best learning rate is the argmin of the exact expected loss after ``budget`` steps
   of constant-rate SGD, ``E[w_i^2]_T = r^T w_0^2 + lr^2 h_i sigma2 (1 - r^T)/(1 - r)``,
   ``r = (1 - lr h_i)^2``, on a grid of 0.01 decades.
2. Real tasks on CPU (scikit-learn data): an MLP on breast cancer (SGD, momentum 0.9), a small
   CNN on digits (Adam), logistic regression on digits (plain SGD). The best learning rate
   is the grid search: train at each of 51 rates (10^-4..10) (0.1 decades apart) for a fixed budget of
   steps, 3 seeds each, and take the argmin of the mean validation loss.

A suggestion "hits" when it is within 2x of the best learning rate (|log10 ratio| <= 0.301).
The spread of a method on a case is the standard deviation of log10(suggestion) over the seeds.
Peers: torch-lr-finder's suggestion (``LRFinder.plot(suggest_lr=True)``) and Lightning's
(``_LRFinder.suggestion()``) computed by their own code on the same curves; on the real tasks
also torch-lr-finder's and Lightning's ``Tuner.lr_find`` full range tests on the same model.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tunesmith.lr import find
from tunesmith.lr._suggest import METHODS, suggest

START_LR, END_LR, NUM_ITER = 1e-6, 10.0, 100
HIT = math.log10(2)


# -- generated curves: the noisy quadratic model ---------------------------------------------------
def nqm_case(k: int) -> dict[str, Any]:
    """The parameters of generated case ``k`` (deterministic in ``k``)."""
    r = np.random.default_rng(1000 + k)
    return {"h_max": float(10 ** r.uniform(0, 3)), "power": float(r.choice([1.0, 1.5, 2.0])),
            "sigma2": float(10 ** r.uniform(-3, 0)), "obs": float(r.choice([0.02, 0.1, 0.3])),
            "budget": int(r.choice([100, 300, 1000])), "d": 50}


def _curvatures(case: dict[str, Any]) -> np.ndarray:
    return np.asarray(case["h_max"] * np.arange(1, case["d"] + 1) ** (-case["power"]), dtype=float)


def nqm_expected_loss(case: dict[str, Any], lr: float) -> float:
    """Exact expected loss after ``budget`` steps of SGD at constant ``lr`` from w_0 = 1."""
    h = _curvatures(case)
    r = (1 - lr * h) ** 2
    if np.any(r >= 1):
        return math.inf
    t = case["budget"]
    m = r**t + lr**2 * h * case["sigma2"] * (1 - r**t) / (1 - r)
    return float(0.5 * np.sum(h * m))


def nqm_best_lr(case: dict[str, Any]) -> float:
    grid = 10 ** np.arange(-6, 1.0001, 0.01)
    return float(grid[int(np.argmin([nqm_expected_loss(case, a) for a in grid]))])


def nqm_step(case: dict[str, Any], seed: int) -> Callable[[float], float]:
    """``step(lr) -> observed loss`` of one stochastic SGD run on the case."""
    h = _curvatures(case)
    w = np.ones(case["d"])
    rng = np.random.default_rng(seed)
    noise_sd = np.sqrt(h * case["sigma2"])

    def step(lr: float) -> float:
        w[:] = w - lr * (h * w + noise_sd * rng.standard_normal(len(h)))
        loss = 0.5 * float(np.sum(h * w**2))
        return loss * (1 + case["obs"] * float(rng.standard_normal())) if math.isfinite(loss) else math.nan

    return step


# -- real tasks -----------------------------------------------------------------------------------------
def _data(task: str) -> tuple[Any, Any, Any, Any]:
    import torch
    from sklearn.datasets import load_breast_cancer, load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    if task == "mlp_cancer":
        x, y = load_breast_cancer(return_X_y=True)
    else:
        x, y = load_digits(return_X_y=True)
    x_tr, x_va, y_tr, y_va = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    if task == "mlp_cancer":
        scaler = StandardScaler().fit(x_tr)
        x_tr, x_va = scaler.transform(x_tr), scaler.transform(x_va)
    else:
        x_tr, x_va = x_tr / 16.0, x_va / 16.0
    if task == "cnn_digits":
        x_tr, x_va = x_tr.reshape(-1, 1, 8, 8), x_va.reshape(-1, 1, 8, 8)
    t = torch.tensor
    return (t(x_tr, dtype=torch.float32), t(y_tr), t(x_va, dtype=torch.float32), t(y_va))


TASKS = {  # name: (optimizer, batch size, training budget in steps)
    "mlp_cancer": ("sgd_momentum", 32, 150),
    "cnn_digits": ("adam", 64, 200),
    "logreg_digits": ("sgd", 32, 200),
}


def _model(task: str) -> Any:
    from torch import nn

    if task == "mlp_cancer":
        return nn.Sequential(nn.Linear(30, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
    if task == "cnn_digits":
        return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 16, 10))
    return nn.Linear(64, 10)


def _optimizer(task: str, model: Any, lr: float) -> Any:
    import torch

    kind = TASKS[task][0]
    if kind == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr)
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9 if kind == "sgd_momentum" else 0.0)


def _loader(x: Any, y: Any, batch: int, seed: int) -> Any:
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    gen = torch.Generator().manual_seed(seed)
    return DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=True, generator=gen)


def train_fixed(task: str, lr: float, seed: int, data: tuple[Any, ...]) -> float:
    """Validation loss after the task's budget of steps at constant ``lr`` (inf when it diverged)."""
    import torch

    x_tr, y_tr, x_va, y_va = data
    torch.manual_seed(seed)
    model = _model(task)
    opt = _optimizer(task, model, lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    _, batch, budget = TASKS[task]
    done = 0
    while done < budget:
        for xb, yb in _loader(x_tr, y_tr, batch, seed + done):
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            if not torch.isfinite(loss):
                return math.inf
            loss.backward()
            opt.step()
            done += 1
            if done == budget:
                break
    with torch.no_grad():
        val = float(loss_fn(model(x_va), y_va))
    return val if math.isfinite(val) else math.inf


def real_best_lr(task: str, data: tuple[Any, ...]) -> tuple[float, list[float], list[float]]:
    grid = [float(10**e) for e in np.arange(-4, 1.0001, 0.1)]
    means = [float(np.mean([train_fixed(task, lr, s, data) for s in range(3)])) for lr in grid]
    return grid[int(np.argmin(means))], grid, means


def real_curve(task: str, seed: int, data: tuple[Any, ...], validation: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Our range test on the task (the training batch's loss, or with ``validation`` the validation loss)."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    x_tr, y_tr, x_va, y_va = data
    torch.manual_seed(seed)
    model = _model(task)
    val = DataLoader(TensorDataset(x_va, y_va), batch_size=len(y_va)) if validation else None
    r = find(model, _optimizer(task, model, START_LR), torch.nn.CrossEntropyLoss(),
             _loader(x_tr, y_tr, TASKS[task][1], seed), val, start_lr=START_LR, end_lr=END_LR, num_iter=NUM_ITER)
    return r.lrs, r.losses


# -- peers ----------------------------------------------------------------------------------------------
def peer_torch_lr_finder(lrs: np.ndarray, losses: np.ndarray, smoothed: bool = False) -> float | None:
    """torch-lr-finder's own suggestion code on a curve (EMA-smoothed and cut as its range_test records
    it, unless ``smoothed``: its own history)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from torch_lr_finder import LRFinder

    from tunesmith.lr._suggest import divergence_index, ema

    end = len(losses) if smoothed else divergence_index(losses, 0.05, 5.0)
    finder = LRFinder.__new__(LRFinder)
    finder.history = {"lr": list(lrs[:end]), "loss": list(losses if smoothed else ema(losses[:end], 0.05))}
    fig, ax = plt.subplots()
    try:
        with open(os.devnull, "w") as devnull:
            stdout, sys.stdout = sys.stdout, devnull
            try:
                out = finder.plot(ax=ax, suggest_lr=True)
            finally:
                sys.stdout = stdout
    except Exception:
        return None
    finally:
        plt.close(fig)
    return float(out[1]) if isinstance(out, tuple) and out[1] is not None else None


def peer_lightning(lrs: np.ndarray, losses: np.ndarray) -> float | None:
    """Lightning's ``_LRFinder.suggestion()`` on a curve, filled as its lr_find records it: the moving
    average with beta 0.98, its bias correction counted from the global step (which is already 1 at the
    first record), stopped at 4x the best smoothed loss."""
    import logging

    from pytorch_lightning.tuner.lr_finder import _LRFinder

    logging.getLogger("pytorch_lightning").setLevel(logging.CRITICAL)
    avg, best, recorded = 0.0, math.inf, []
    for i, loss in enumerate(losses):
        if not math.isfinite(loss):
            break
        avg = 0.98 * avg + 0.02 * float(loss)
        smoothed = avg / (1 - 0.98 ** (i + 2))
        recorded.append(smoothed)
        if i + 1 > 1 and smoothed > 4.0 * best:
            break
        best = min(best, smoothed)
    finder = _LRFinder("exponential", float(lrs[0]), float(lrs[-1]), len(lrs))
    finder.results = {"lr": list(map(float, lrs[: len(recorded)])), "loss": recorded}
    out = finder.suggestion()
    return None if out is None else float(out)


PEERS: dict[str, Callable[[np.ndarray, np.ndarray], float | None]] = {
    "torch-lr-finder (same curve)": peer_torch_lr_finder, "Lightning (same curve)": peer_lightning}


def evaluate(lrs: np.ndarray, losses: np.ndarray) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for m in METHODS:
        try:
            out[m] = suggest(lrs, losses, m).lr
        except ValueError:
            out[m] = None
    for name, fn in PEERS.items():
        try:
            out[name] = fn(lrs, losses)
        except ImportError:
            out[name] = None
    return out


def tlf_range_test(task: str, seed: int, data: tuple[Any, ...]) -> float | None:
    """torch-lr-finder's full range test (its defaults but our range) and suggestion."""
    import torch
    from torch_lr_finder import LRFinder

    x_tr, y_tr, _, _ = data
    torch.manual_seed(seed)
    model = _model(task)
    finder = LRFinder(model, _optimizer(task, model, START_LR), torch.nn.CrossEntropyLoss(), device="cpu")
    with open(os.devnull, "w") as devnull:
        stdout, sys.stdout = sys.stdout, devnull
        try:
            finder.range_test(_loader(x_tr, y_tr, TASKS[task][1], seed), end_lr=END_LR, num_iter=NUM_ITER)
        finally:
            sys.stdout = stdout
    return peer_torch_lr_finder(np.asarray(finder.history["lr"]), np.asarray(finder.history["loss"]), smoothed=True)


def lightning_lr_find(task: str, seed: int, data: tuple[Any, ...]) -> float | None:
    """Lightning's ``Tuner.lr_find`` on the same model, data and optimizer."""
    import logging

    import pytorch_lightning as pl
    import torch
    from pytorch_lightning.tuner import Tuner

    for name in ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    x_tr, y_tr, _, _ = data

    class Module(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = _model(task)
            self.lr = START_LR
            self.loss_fn = torch.nn.CrossEntropyLoss()

        def training_step(self, batch: Any, _: int) -> Any:
            return self.loss_fn(self.net(batch[0]), batch[1])

        def configure_optimizers(self) -> Any:
            return _optimizer(task, self.net, self.lr)

    torch.manual_seed(seed)
    module = Module()
    trainer = pl.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, max_epochs=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = Tuner(trainer).lr_find(module, train_dataloaders=_loader(x_tr, y_tr, TASKS[task][1], seed),
                                     min_lr=START_LR, max_lr=END_LR, num_training=NUM_ITER, update_attr=False)
    return None if res is None else res.suggestion()


# -- summary ----------------------------------------------------------------------------------------------
def summarize(rows: list[dict[str, Any]], names: list[str]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name in names:
        errs, spreads, missing = [], [], 0
        for row in rows:
            vals = [s.get(name) for s in row["suggestions"]]
            logs = [math.log10(v) for v in vals if v is not None and v > 0]
            missing += len(vals) - len(logs)
            errs += [abs(v - math.log10(row["best"])) for v in logs]
            errs += [math.inf] * (len(vals) - len(logs))
            if len(logs) > 1:
                spreads.append(float(np.std(logs)))
        n = len(errs)
        out[name] = {"hit": sum(e <= HIT for e in errs) / n if n else math.nan,
                     "median_err": float(np.median(errs)) if n else math.nan,
                     "spread_median": float(np.median(spreads)) if spreads else math.nan,
                     "spread_max": float(np.max(spreads)) if spreads else math.nan, "missing": missing}
    return out


def _cell(d: dict[str, float] | None) -> str:
    return f"{d['hit']:.0%}" if d else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=36)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--no-real", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    os.environ.setdefault("TQDM_DISABLE", "1")  # the peers' progress bars
    t0 = time.time()
    generated = []
    for k in range(args.cases):
        case = nqm_case(k)
        sugg = []
        for seed in range(args.seeds):
            r = find(step=nqm_step(case, seed), start_lr=START_LR, end_lr=END_LR, num_iter=NUM_ITER)
            sugg.append(evaluate(r.lrs, r.losses))
        generated.append({"case": case, "best": nqm_best_lr(case), "suggestions": sugg})
    real = []
    if not args.no_real:
        import torch

        torch.set_num_threads(1)
        for task in TASKS:
            data = _data(task)
            best, grid, means = real_best_lr(task, data)
            sugg = []
            for seed in range(args.seeds):
                lrs, losses = real_curve(task, seed, data)
                s = evaluate(lrs, losses)
                s["robust, range test on validation loss"] = suggest(*real_curve(task, seed, data, True)).lr
                try:
                    s["torch-lr-finder (its range test)"] = tlf_range_test(task, seed, data)
                except ImportError:  # pip install torch-lr-finder to compare
                    s["torch-lr-finder (its range test)"] = None
                try:
                    s["Lightning Tuner.lr_find"] = lightning_lr_find(task, seed, data)
                except Exception as e:  # reported, not hidden
                    print(f"Lightning lr_find failed on {task}: {e!r}", file=sys.stderr)
                    s["Lightning Tuner.lr_find"] = None
                sugg.append(s)
            real.append({"task": task, "best": best, "grid": grid, "val_loss": means, "suggestions": sugg})
            print(f"{task}: best lr {best:.3g}; " + ", ".join(
                f"{k}={np.median([x[k] or np.nan for x in sugg]):.3g}" for k in sugg[0]), flush=True)
    names = list(METHODS) + list(PEERS)
    real_names = [*names, "robust, range test on validation loss", "torch-lr-finder (its range test)",
                  "Lightning Tuner.lr_find"]
    table = {"generated": summarize(generated, names), "real": summarize(real, real_names) if real else {},
             "all": summarize(generated + real, names)}
    print(f"{time.time() - t0:.0f} s; load average {os.getloadavg()}")
    header = f"| method | generated: within 2x ({len(generated)} cases x {args.seeds}) | real: within 2x | " \
             "all: within 2x | spread median / max (decades, all) | median error (decades, all) |"
    print(header)
    print("|---|---:|---:|---:|---:|---:|")
    for name in real_names:
        g, r, a = table["generated"].get(name), table["real"].get(name), table["all"].get(name)
        spread = f"{a['spread_median']:.2f} / {a['spread_max']:.2f}" if a else (
            f"{r['spread_median']:.2f} / {r['spread_max']:.2f} (real)" if r else "-")
        err = f"{a['median_err']:.2f}" if a else (f"{r['median_err']:.2f} (real)" if r else "-")
        print(f"| {name} | {_cell(g)} | {_cell(r)} | {_cell(a)} | {spread} | {err} |")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"generated": generated, "real": real, "table": table}, f, default=float)


if __name__ == "__main__":
    main()
