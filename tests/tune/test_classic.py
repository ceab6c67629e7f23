"""A script written for Ray Tune's classic API runs with only its imports changed."""

from __future__ import annotations

import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from tunesmith import tune
from tunesmith.trial import TrialState
from tunesmith.tune import CLIReporter
from tunesmith.tune.schedulers import ASHAScheduler

ROOT = Path(__file__).resolve().parents[2]


def train_model(config, checkpoint_dir=None, data_dir=None):
    """The tutorial's shape with a numpy 'network': loss falls faster for a good lr."""
    assert data_dir == "/data"
    weight, start = 0.0, 0
    if checkpoint_dir:
        with open(os.path.join(checkpoint_dir, "checkpoint")) as f:
            weight, start = float(f.readline()), int(f.readline()) + 1
    quality = -abs(np.log10(config["lr"]) + 2) + np.log2(config["l1"]) / 8
    for epoch in range(start, 10):
        weight += 0.1
        loss = 1.0 / (1 + weight * np.exp(quality))
        if epoch % 2 == 0:
            with tune.checkpoint_dir(epoch) as ckpt_dir:
                with open(os.path.join(ckpt_dir, "checkpoint"), "w") as f:
                    f.write(f"{weight}\n{epoch}\n")
        else:
            with tune.checkpoint_dir(step=epoch) as ckpt_dir:
                with open(os.path.join(ckpt_dir, "checkpoint"), "w") as f:
                    f.write(f"{weight}\n{epoch}\n")
        tune.report(loss=loss, accuracy=1 - loss)


def test_the_classic_tutorial_script(tmp_path, capsys):
    np.random.seed(0)
    config = {
        "l1": tune.sample_from(lambda _: 2 ** np.random.randint(2, 9)),
        "l2": tune.sample_from(lambda _: 2 ** np.random.randint(2, 9)),
        "lr": tune.loguniform(1e-4, 1e-1),
        "batch_size": tune.choice([2, 4, 8, 16]),
    }
    scheduler = ASHAScheduler(metric="loss", mode="min", max_t=10, grace_period=1, reduction_factor=2)
    reporter = CLIReporter(parameter_columns=["l1", "l2", "lr", "batch_size"],
                           metric_columns=["loss", "accuracy", "training_iteration"])
    result = tune.run(
        partial(train_model, data_dir="/data"),
        resources_per_trial={"cpu": 2, "gpu": 0},
        config=config,
        num_samples=12,
        scheduler=scheduler,
        progress_reporter=reporter,
        storage=f"sqlite:///{tmp_path}/tune.db",
    )
    best_trial = result.get_best_trial("loss", "min", "last")
    assert set(best_trial.config) == {"l1", "l2", "lr", "batch_size"}
    assert best_trial.config["l1"] in [2**k for k in range(2, 9)]
    assert 0 < best_trial.last_result["loss"] < 1 and "accuracy" in best_trial.last_result
    ckpt = best_trial.checkpoint.value
    assert os.path.isfile(os.path.join(ckpt, "checkpoint"))
    assert int(open(os.path.join(ckpt, "checkpoint")).read().split()[1]) == 9
    assert len(result.trials) == 12 and result.best_config == best_trial.config
    # The trainable checkpoints, so ASHA pauses the trials that miss a rung's cut (and resumes
    # those that make it later) instead of stopping them; those still paused when the run
    # ends are stopped trials (PRUNED, Ray's TERMINATED), so the counts add up.
    stopped = [t for t in result.trials if t.state != TrialState.COMPLETE]
    assert stopped and all(t.state == TrialState.PRUNED for t in stopped)
    assert all(t.last_result["training_iteration"] < 10 for t in stopped) and stopped[0].status == "TERMINATED"
    df = result.dataframe()
    assert len(df) == 12 and {"loss", "accuracy", "training_iteration", "config/lr"} <= set(df.columns)
    out = capsys.readouterr().out
    assert "batch_size" in out and "training_iteration" in out


def test_stop_criteria_and_with_parameters(tmp_path):
    def trainable(config, data=None):
        for i in range(100):
            tune.report(score=i * config["x"], n=len(data))

    result = tune.run(
        tune.with_parameters(trainable, data=[1, 2, 3]), config={"x": tune.grid_search([1, 2])},
        stop={"training_iteration": 5}, verbose=0, storage=f"sqlite:///{tmp_path}/s.db", metric="score", mode="max",
    )
    assert [t.last_result["training_iteration"] for t in result.trials] == [5, 5]
    assert all(t.state == TrialState.COMPLETE and t.last_result["n"] == 3 for t in result.trials)
    by_fn = tune.run(tune.with_parameters(trainable, data=[]), config={"x": 1.0}, verbose=0, storage=f"sqlite:///{tmp_path}/f.db",
                     stop=lambda trial_id, r: r["score"] >= 3, metric="score", mode="max")
    assert by_fn.trials[0].last_result["score"] == 3
    with pytest.raises(TypeError, match="stop="):
        tune.run(trainable, config={}, stop={"a": "b"}, verbose=0)
    with pytest.raises(TypeError, match="unexpected"):
        tune.run(trainable, config={}, verbose=0, not_an_argument=1)


@pytest.mark.slow
def test_pytorch_digits_example(tmp_path):
    pytest.importorskip("torch")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "tune_digits_asha.py"), "--num-samples", "6",
         "--max-num-epochs", "4", "--seed", "0"], cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Best trial test set accuracy" in proc.stdout
    acc = float(proc.stdout.split("Best trial test set accuracy: ")[1].split()[0])
    assert acc > 0.5


@pytest.mark.slow
def test_lr_schedule_example(tmp_path):
    pytest.importorskip("torch")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "tune_lr_schedule.py"), "--n-trials", "8"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "best validation accuracy" in proc.stdout
