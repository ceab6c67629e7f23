"""The tuning playbook on the digits MLP: find the learning rate first, then tune the schedule around it.

1. ``tunesmith.lr.find`` runs the range test on the untrained net (model and optimizer are
   restored afterwards) and suggests a rate with a confidence band.
2. ``tunesmith.run`` tunes the rate (in a band around the suggestion), the schedule and its
   warm-up (``tunesmith.lr.schedule_space``, dict style), with ASHA stopping the weak trials.
3. The trainable logs to Weights & Biases the way Ray Tune's tutorial does
   (``setup_wandb`` + ``run.log``), offline: each trial is a W&B run grouped under the study.

    pip install -e ".[torch,trackers]"
    python examples/lr_playbook_digits.py [--num-samples 12] [--epochs 8]

Each trial's W&B run is in its own folder (``tunesmith_artifacts/<study>/trial_N/wandb``);
``wandb sync tunesmith_artifacts/*/trial_*/wandb/offline-run-*`` uploads them later, if you want them online.
"""

from __future__ import annotations

import argparse
import os

import torch
from digits_net import Net, evaluate, load_data, split, train_epoch
from torch.utils.data import DataLoader

import tunesmith
from tunesmith import lr as tlr
from tunesmith.integration.trackers import setup_wandb
from tunesmith.schedulers import ASHAScheduler

os.environ.setdefault("WANDB_MODE", "offline")  # no account, no network
os.environ.setdefault("WANDB_SILENT", "true")
BATCH = 32


def loaders(batch_size: int = BATCH) -> tuple[DataLoader, DataLoader]:
    train, val = split(load_data()[0])
    return DataLoader(train, batch_size=batch_size, shuffle=True), DataLoader(val, batch_size=256)


def find_lr() -> tlr.Suggestion:
    """The range test on a fresh net: the loss at growing rates, a suggestion from the curve."""
    torch.manual_seed(0)
    net = Net()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    train, _ = loaders()
    found = tlr.find(net, optimizer, torch.nn.CrossEntropyLoss(), train, start_lr=1e-5, end_lr=10, num_iter=100)
    assert found.suggestion is not None, "the range test was too short to suggest a rate"
    return found.suggestion


def make_trainable(space: tlr.ScheduleSpace, epochs: int):
    def train_digits(config: dict) -> None:
        torch.set_num_threads(1)
        torch.manual_seed(0)
        run = setup_wandb(config, project="lr-playbook")  # the tutorial's pattern, grouped by study
        net = Net()
        sched = space.from_config(config)  # the schedule this trial drew, with its base rate
        optimizer = torch.optim.SGD(net.parameters(), lr=sched(0), momentum=0.9)
        scheduler = sched.torch(optimizer)
        train, val = loaders()
        for epoch in range(epochs):
            train_epoch(net, train, optimizer, scheduler)
            val_loss, accuracy = evaluate(net, val)
            run.log({"val_loss": val_loss, "accuracy": accuracy, "lr": scheduler.get_last_lr()[0]}, step=epoch)
            tunesmith.report(val_loss=val_loss, accuracy=accuracy)
        run.finish()

    return train_digits


def main(num_samples: int = 12, epochs: int = 8, seed: int = 0, storage: str = "sqlite:///lr_playbook.db"):
    found = find_lr()
    print(f"range test: suggested lr {found.lr:.3g} (band {found.low:.3g}..{found.high:.3g}, {found.method})")
    steps = epochs * len(loaders()[0])
    space = tlr.schedule_space(
        ("constant", "cosine", "step", "linear"), total_steps=steps,
        lr=(found.low / 3, found.high * 3), max_warmup_steps=steps // 4,
    )
    result = tunesmith.run(
        make_trainable(space, epochs), space.config(), num_samples=num_samples, seed=seed, storage=storage,
        scheduler=ASHAScheduler(metric="val_loss", mode="min", max_t=epochs, grace_period=2),
        max_concurrent_trials=2, verbose=1,
    )
    best = result.get_best_trial("val_loss", "min", "last")
    print(f"best: val_loss {best.last_result['val_loss']:.4f}, accuracy {best.last_result['accuracy']:.3f}, "
          f"{space.from_config(best.config)}")
    return found, result


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--num-samples", type=int, default=12)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    main(args.num_samples, args.epochs, args.seed)
