"""Ray Tune's classic PyTorch tutorial, on scikit-learn's digits, with ``from tunesmith import tune``.

The script is written as for Ray Tune (``tune.run``, ``ASHAScheduler``, ``CLIReporter``,
``tune.checkpoint_dir``, ``tune.report``); only the imports differ. ASHA stops the
poor configurations early; the best trial's checkpoint is loaded and scored on a
held-out test set. Two trials run at a time (one CPU each).

    pip install -e ".[torch]"   # torch==2.13.0 (CPU) and scikit-learn
    python examples/tune_digits_asha.py [--num-samples 16] [--max-num-epochs 10] [--seed 0]

With ``--seed`` the configurations are the same on every run (the sampler and the
``sample_from`` draws are seeded); which trials ASHA stops can still depend on the
order in which parallel trials report.
"""

from __future__ import annotations

import argparse
import os
from functools import partial

import numpy as np
import torch
from digits_net import Net, evaluate, load_data, split, train_epoch
from torch import optim
from torch.utils.data import DataLoader

from tunesmith import tune
from tunesmith.tune import CLIReporter
from tunesmith.tune.schedulers import ASHAScheduler


def train_digits(config, checkpoint_dir=None, data_dir=None, max_num_epochs=10):
    torch.set_num_threads(1)  # one CPU per trial
    torch.manual_seed(0)  # same initial weights and batches for every configuration
    net = Net(config["l1"], config["l2"])
    optimizer = optim.SGD(net.parameters(), lr=config["lr"], momentum=0.9)
    start = 0
    if checkpoint_dir:  # resumed: a retried trial, or one cloned by PBT
        model_state, optimizer_state, last_epoch = torch.load(os.path.join(checkpoint_dir, "checkpoint"))
        net.load_state_dict(model_state)
        optimizer.load_state_dict(optimizer_state)
        start = last_epoch + 1
    trainset, _ = load_data()
    train_subset, val_subset = split(trainset)
    trainloader = DataLoader(train_subset, batch_size=int(config["batch_size"]), shuffle=True)
    valloader = DataLoader(val_subset, batch_size=256)
    for epoch in range(start, max_num_epochs):
        train_epoch(net, trainloader, optimizer)
        val_loss, accuracy = evaluate(net, valloader)
        with tune.checkpoint_dir(epoch) as checkpoint_dir:
            path = os.path.join(checkpoint_dir, "checkpoint")
            torch.save((net.state_dict(), optimizer.state_dict(), epoch), path)
        tune.report(loss=val_loss, accuracy=accuracy)


def test_accuracy(net):
    _, testset = load_data()
    return evaluate(net, DataLoader(testset, batch_size=256))[1]


def main(num_samples=16, max_num_epochs=10, gpus_per_trial=0, storage="sqlite:///digits_asha.db", seed=None):
    config = {
        "l1": tune.sample_from(lambda _: 2 ** np.random.randint(2, 9)),
        "l2": tune.sample_from(lambda _: 2 ** np.random.randint(2, 9)),
        "lr": tune.loguniform(1e-4, 1e-1),
        "batch_size": tune.choice([2, 4, 8, 16]),
    }
    scheduler = ASHAScheduler(
        metric="loss", mode="min", max_t=max_num_epochs, grace_period=1, reduction_factor=2,
    )
    reporter = CLIReporter(
        parameter_columns=["l1", "l2", "lr", "batch_size"],
        metric_columns=["loss", "accuracy", "training_iteration"],
    )
    result = tune.run(
        partial(train_digits, data_dir=None, max_num_epochs=max_num_epochs),
        resources_per_trial={"cpu": 1, "gpu": gpus_per_trial},
        config=config,
        num_samples=num_samples,
        scheduler=scheduler,
        progress_reporter=reporter,
        storage=storage,
        seed=seed,
    )
    best_trial = result.get_best_trial("loss", "min", "last")
    print(f"Best trial config: {best_trial.config}")
    print(f"Best trial final validation loss: {best_trial.last_result['loss']:.4f}")
    print(f"Best trial final validation accuracy: {best_trial.last_result['accuracy']:.4f}")
    best_net = Net(best_trial.config["l1"], best_trial.config["l2"])
    model_state, _, _ = torch.load(os.path.join(best_trial.checkpoint.value, "checkpoint"))
    best_net.load_state_dict(model_state)
    print(f"Best trial test set accuracy: {test_accuracy(best_net):.4f}")
    stopped = sum(t.last_result.get("training_iteration", 0) < max_num_epochs for t in result.trials)
    print(f"{len(result.trials)} trials, {stopped} stopped early by ASHA")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-samples", type=int, default=16)
    parser.add_argument("--max-num-epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=None, help="seed the search (same configurations)")
    args = parser.parse_args()
    main(num_samples=args.num_samples, max_num_epochs=args.max_num_epochs, seed=args.seed)
