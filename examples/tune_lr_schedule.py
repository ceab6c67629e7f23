"""Tune the learning-rate schedule itself, with the learning rate, on the digits MLP.

Define-by-run (Optuna style): the schedule is a categorical parameter and each
schedule has its own conditional parameters (a decay rate for exponential, a step
size and factor for step decay); a linear warm-up of 0-3 epochs goes in front of
all of them. ASHA compares trials after 3 and 6 epochs (once every warm-up is over)
and stops the worse half; two trials run at once.

    pip install -e ".[torch]"
    python examples/tune_lr_schedule.py [--n-trials 30]
"""

from __future__ import annotations

import argparse
import math

import torch
from digits_net import Net, evaluate, load_data, split, train_epoch
from torch import optim
from torch.utils.data import DataLoader

import tunesmith
from tunesmith.schedulers import ASHAScheduler

EPOCHS = 12


def lr_factor(trial: tunesmith.Trial, steps_per_epoch: int):
    """The multiplier of the base learning rate at each optimizer step, as a function."""
    schedule = trial.suggest_categorical("schedule", ["constant", "linear", "step", "exponential"])
    warmup = trial.suggest_int("warmup_epochs", 0, 3) * steps_per_epoch
    total = EPOCHS * steps_per_epoch
    if schedule == "exponential":
        gamma = trial.suggest_float("gamma", 0.5, 0.99)  # per epoch
    elif schedule == "step":
        step_size = trial.suggest_int("step_epochs", 2, 6) * steps_per_epoch
        factor = trial.suggest_float("step_factor", 0.1, 0.7)

    def factor_at(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        t = step - warmup
        if schedule == "linear":
            return max(0.0, 1.0 - t / max(1, total - warmup))
        if schedule == "step":
            return factor ** (t // step_size)
        if schedule == "exponential":
            return gamma ** (t / steps_per_epoch)
        return 1.0

    return factor_at


def objective(trial: tunesmith.Trial) -> float:
    torch.set_num_threads(1)
    torch.manual_seed(trial.number)
    lr = trial.suggest_float("lr", 1e-3, 1.0, log=True)
    batch_size = trial.suggest_categorical("batch_size", [16, 32, 64])
    trainset, _ = load_data()
    train_subset, val_subset = split(trainset)
    loader = DataLoader(train_subset, batch_size=batch_size, shuffle=True)
    valloader = DataLoader(val_subset, batch_size=256)
    net = Net(64, 64)
    optimizer = optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    schedule = optim.lr_scheduler.LambdaLR(optimizer, lr_factor(trial, math.ceil(len(train_subset) / batch_size)))
    for epoch in range(1, EPOCHS + 1):
        train_epoch(net, loader, optimizer, schedule)
        val_loss, accuracy = evaluate(net, valloader)
        trial.report(epoch, loss=val_loss, accuracy=accuracy)
        if trial.should_stop():
            raise tunesmith.TrialStopped()
    return accuracy


def main(n_trials: int = 30, storage: str = "sqlite:///lr_schedule.db") -> tunesmith.Study:
    study = tunesmith.create_study(
        storage=storage, metric="accuracy", mode="max", seed=0,
        scheduler=ASHAScheduler(max_t=EPOCHS, grace_period=3, reduction_factor=2),
    )
    study.optimize(objective, n_trials=n_trials, n_workers=2, show_progress_bar=True)
    best = study.best_trial
    print(f"best validation accuracy {best.value:.4f} (trial {best.number}): {best.params}")
    by_schedule: dict[str, list[float]] = {}
    for t in study.get_trials([tunesmith.TrialState.COMPLETE]):
        by_schedule.setdefault(t.params["schedule"], []).append(t.value)
    for name, accs in sorted(by_schedule.items()):
        print(f"  {name:<12} {len(accs)} completed, best {max(accs):.4f}")
    return study


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-trials", type=int, default=30)
    main(parser.parse_args().n_trials)
