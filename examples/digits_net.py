"""The model and data of the PyTorch examples: a small MLP on scikit-learn's digits (8x8 images).

Shared by ``tune_digits_asha.py``, ``tune_lr_schedule.py`` and the scheduler benchmark.
The data set ships with scikit-learn: nothing is downloaded.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - the usual spelling
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset, random_split


class Net(nn.Module):
    """64 -> l1 -> l2 -> 10, ReLU, like the Ray Tune CIFAR tutorial's classifier head."""

    def __init__(self, l1: int = 120, l2: int = 84) -> None:
        super().__init__()
        self.fc1 = nn.Linear(64, l1)
        self.fc2 = nn.Linear(l1, l2)
        self.fc3 = nn.Linear(l2, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def load_data(seed: int = 0) -> tuple[TensorDataset, TensorDataset]:
    """(train+validation set, held-out test set), pixels scaled to [0, 1]."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X.astype(np.float32) / 16.0, y, test_size=0.25, random_state=seed, stratify=y,
    )

    def as_set(a: np.ndarray, b: np.ndarray) -> TensorDataset:
        return TensorDataset(torch.from_numpy(a), torch.from_numpy(b).long())
    return as_set(X_train, y_train), as_set(X_test, y_test)


def split(trainset: TensorDataset, seed: int = 0) -> tuple[TensorDataset, TensorDataset]:
    """80% to train on, 20% to validate on (fixed by ``seed``)."""
    n_train = int(len(trainset) * 0.8)
    gen = torch.Generator().manual_seed(seed)
    train, val = random_split(trainset, [n_train, len(trainset) - n_train], generator=gen)
    return train, val  # type: ignore[return-value]


def train_epoch(net: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer,
                scheduler: torch.optim.lr_scheduler.LRScheduler | None = None) -> None:
    net.train()
    for inputs, labels in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(net(inputs), labels)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()


def evaluate(net: nn.Module, loader: DataLoader) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) on ``loader``."""
    net.eval()
    total_loss, correct, total = 0.0, 0, 0
    with torch.no_grad():
        for inputs, labels in loader:
            out = net(inputs)
            total_loss += float(F.cross_entropy(out, labels, reduction="sum"))
            correct += int((out.argmax(1) == labels).sum())
            total += len(labels)
    return total_loss / total, correct / total
