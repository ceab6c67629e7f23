"""A training script that knows nothing of sweeps: argparse flags in, ``val_loss=...`` lines out.

Run it alone (``python train.py --lr 0.01``) or under a sweep (``tunesmith sweep sweep.yaml``
then ``tunesmith agent SWEEP_ID``): the agent passes ``--lr=...`` flags and reads the
``val_loss=`` lines it prints. It fits a ridge-regularised linear model by gradient
descent on scikit-learn's diabetes data (numpy only, a fraction of a second per run).
"""

from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--l2", type=float, default=0.0)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--optimizer", choices=["sgd", "momentum"], default="sgd")
    args = parser.parse_args()

    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True)
    x = (x - x.mean(0)) / x.std(0)
    y = (y - y.mean()) / y.std()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    train, val = order[:300], order[300:]
    w = np.zeros(x.shape[1])
    velocity = np.zeros_like(w)
    for epoch in range(1, args.epochs + 1):
        grad = x[train].T @ (x[train] @ w - y[train]) / len(train) + args.l2 * w
        velocity = (0.9 * velocity if args.optimizer == "momentum" else 0.0) + grad
        w -= args.lr * velocity
        val_loss = float(np.mean((x[val] @ w - y[val]) ** 2))
        if not np.isfinite(val_loss):
            raise SystemExit(f"diverged at epoch {epoch} (lr={args.lr})")
        print(f"epoch={epoch} val_loss={val_loss:.6f}", flush=True)


if __name__ == "__main__":
    main()
