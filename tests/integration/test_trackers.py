"""Each tracker with its real library, offline, reading back what it wrote: MLflow, W&B, TensorBoard."""

from __future__ import annotations

import glob
import os
import struct
from pathlib import Path
from typing import Any

import pytest
from wandb_support import read_runs  # tests/, on sys.path (conftest.py is there)

import tunesmith
from tunesmith.integration.trackers import MLflowLogger, TensorBoardLogger, WandbLogger, setup_mlflow, setup_wandb

pytest.importorskip("mlflow")
pytest.importorskip("wandb")
pytest.importorskip("tensorboardX")


def objective(trial: tunesmith.Trial) -> float:
    x = trial.suggest_float("x", 0, 1)
    opt = trial.suggest_categorical("opt", ["sgd", "adam"])
    for step in range(1, 4):
        trial.report(step, loss=x + step)
        if trial.should_prune() or (trial.number % 4 == 2 and step == 2):
            raise tunesmith.TrialPruned()
    if trial.number % 4 == 3:
        raise ValueError("bad trial")
    return x + (opt == "adam")


def expected_state(number: int) -> str:
    return {3: "FAILED", 2: "PRUNED"}.get(number % 4, "COMPLETE")


def steps(number: int) -> tuple[int, ...]:
    """The steps a trial reported: a pruned one stopped after its second."""
    return (1, 2) if number % 4 == 2 else (1, 2, 3)


@pytest.fixture(autouse=True)
def _wandb_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb_dir"))
    os.makedirs(tmp_path / "wandb_dir", exist_ok=True)


# -- MLflow ---------------------------------------------------------------------------
def read_mlflow(uri: str, experiment: str) -> tuple[Any, list[Any], Any]:
    import mlflow

    client = mlflow.MlflowClient(uri)
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1
    return client, children, parents[0]


@pytest.mark.parametrize("n_workers", [1, pytest.param(4, marks=pytest.mark.slow)])
def test_mlflow_parent_and_child_runs(tmp_path: Path, n_workers: int) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    n = 8
    study = tunesmith.create_study(storage=f"sqlite:///{tmp_path / 's.db'}", study_name="mlf", seed=1)
    logger = MLflowLogger(uri, experiment_name="exp")
    study.optimize(objective, n_trials=n, n_workers=n_workers, loggers=[logger])
    client, children, parent = read_mlflow(uri, "exp")
    assert parent.info.run_id == logger.parent_run_id and parent.info.status == "FINISHED"
    assert parent.data.tags["tunesmith.study"] == "mlf"
    assert parent.data.metrics["best_value"] == pytest.approx(study.best_value)
    by_number = {int(r.data.tags["tunesmith.trial"]): r for r in children}
    assert sorted(by_number) == list(range(n))  # nothing lost
    for t in study.trials:
        run = by_number[t.number]
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert run.data.tags["state"] == expected_state(t.number)
        assert run.info.status == ("FAILED" if t.number % 4 == 3 else "FINISHED")
        assert run.data.params == {"x": str(t.params["x"]), "opt": t.params["opt"]}
        history = client.get_metric_history(run.info.run_id, "loss")
        assert sorted((m.step, m.value) for m in history) == [
            (s, pytest.approx(t.params["x"] + s)) for s in steps(t.number)
        ]
        if t.values:
            assert run.data.metrics["value"] == pytest.approx(t.values[0])
        else:
            assert "value" not in run.data.metrics


@pytest.mark.slow
def test_mlflow_pruned_state(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    from tunesmith.schedulers import ASHAScheduler

    study = tunesmith.create_study(study_name="pr", seed=0,
                                   scheduler=ASHAScheduler(max_t=3, grace_period=1, reduction_factor=2))

    def rising(trial: tunesmith.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        for step in range(1, 4):
            trial.report(step, value=x * step)
            if trial.should_prune():
                raise tunesmith.TrialPruned()
        return x * 3

    study.optimize(rising, n_trials=8, loggers=[MLflowLogger(uri)])
    _, children, _ = read_mlflow(uri, "pr")
    states = {int(r.data.tags["tunesmith.trial"]): r.data.tags["state"] for r in children}
    assert states == {t.number: t.state.name for t in study.trials}
    assert "PRUNED" in states.values()


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_setup_mlflow_inside_trial(tmp_path: Path, workers: int) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"  # a new file: the workers create its tables, one at a time
    import mlflow  # imported by the driver: its exit handler is not a forked worker's

    def train(config: dict[str, Any]) -> None:
        mlflow = setup_mlflow(config, tracking_uri=uri)
        for i in range(2):
            mlflow.log_metric("loss", config["x"] * i, step=i)
            tunesmith.report(loss=config["x"] * i)
        # no end_run: the next trial's setup_mlflow ends it, or the worker's exit

    n = 2 * workers
    tunesmith.run(train, {"x": tunesmith.uniform(0, 1)}, num_samples=n, metric="loss", mode="min",
                  name="setup", storage=str(tmp_path / "r.db"), max_concurrent_trials=workers, verbose=0)
    if workers == 1:
        mlflow.end_run()  # serial: the last run is this process's, ended at its exit
    client = mlflow.MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("setup").experiment_id])
    assert sorted(r.info.run_name for r in runs) == [f"trial-{i}" for i in range(n)]
    assert {r.data.tags["tunesmith.study"] for r in runs} == {"setup"}
    assert all(float(r.data.params["x"]) == pytest.approx(r.data.metrics["loss"]) for r in runs)
    assert {r.info.status for r in runs} == {"FINISHED"}


# -- W&B ------------------------------------------------------------------------------
@pytest.mark.parametrize("n_workers", [1, pytest.param(4, marks=pytest.mark.slow)])
def test_wandb_offline_runs(tmp_path: Path, n_workers: int) -> None:
    n = 8
    study = tunesmith.create_study(storage=f"sqlite:///{tmp_path / 's.db'}", study_name="wb", seed=2)
    study.optimize(objective, n_trials=n, n_workers=n_workers,
                   loggers=[WandbLogger(project="proj", dir=str(tmp_path / "wb"))])
    runs = {r.name: r for r in read_runs(str(tmp_path / "wb"), expect=n)}
    assert sorted(runs) == sorted(f"wb-trial-{i}" for i in range(n))  # nothing lost
    for t in study.trials:
        run = runs[f"wb-trial-{t.number}"]
        state = expected_state(t.number)
        assert run.group == "wb" and run.project == "proj" and state in run.tags
        assert run.config["x"] == pytest.approx(t.params["x"]) and run.config["opt"] == t.params["opt"]
        assert [(h["_step"], h["loss"]) for h in run.history] == [
            (s, pytest.approx(t.params["x"] + s)) for s in steps(t.number)
        ]
        assert run.summary["state"] == state
        assert run.exit_code == (1 if state == "FAILED" else 0)
        if t.values:
            assert run.summary["value"] == pytest.approx(t.values[0])


@pytest.mark.parametrize("workers", [1, 2])
def test_setup_wandb_groups_by_study(tmp_path: Path, workers: int) -> None:
    def train(config: dict[str, Any]) -> None:
        run = setup_wandb(config, project="tutorial", dir=str(tmp_path / "wb"))
        for i in range(1, 3):
            run.log({"loss": config["x"] / i})
            tunesmith.report(loss=config["x"] / i)
        run.finish()

    n = 2 * workers
    tunesmith.run(train, {"x": tunesmith.uniform(0, 1)}, num_samples=n, metric="loss", mode="min", name="tut",
                  storage=str(tmp_path / "r.db"), max_concurrent_trials=workers, verbose=0)
    # Each run whole, the last of each worker process too (W&B writes it at the process's exit).
    runs = read_runs(str(tmp_path / "wb"), expect=n, timeout=10.0)
    assert sorted(r.name for r in runs) == [f"tut-trial-{i}" for i in range(n)]
    assert {r.group for r in runs} == {"tut"} and {r.project for r in runs} == {"tutorial"}
    assert all(len(r.history) == 2 and r.config["tunesmith_study"] == "tut" and r.exit_code == 0 for r in runs)


@pytest.mark.slow
def test_setup_wandb_outside_a_trial_warns(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="outside a tunesmith trial"):
        run = setup_wandb({"a": 1}, project="plain", dir=str(tmp_path / "wb"))
    run.finish()
    (only,) = read_runs(str(tmp_path / "wb"), expect=1)
    assert only.config == {"a": 1} and only.group == "" and only.project == "plain" and only.exit_code == 0


def test_wandb_logger_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="mode must be one of"):
        WandbLogger(mode="offlne")
    with pytest.raises(TypeError, match="config= is set by the logger"):
        WandbLogger(config={"a": 1})


# -- TensorBoard ----------------------------------------------------------------------
def read_events(folder: str) -> list[Any]:
    """Every Event in a folder's tfevents files (TFRecord framing: length, crc, data, crc)."""
    from tensorboardX.proto import event_pb2

    events = []
    for path in sorted(glob.glob(os.path.join(folder, "events.out.tfevents.*"))):
        data = Path(path).read_bytes()
        pos = 0
        while pos < len(data):
            (length,) = struct.unpack("<Q", data[pos:pos + 8])
            ev = event_pb2.Event()
            ev.ParseFromString(data[pos + 12:pos + 12 + length])
            events.append(ev)
            pos += 12 + length + 4
    return events


@pytest.mark.parametrize("n_workers", [1, 4])
def test_tensorboard_event_files(tmp_path: Path, n_workers: int) -> None:
    from tensorboardX.proto import plugin_hparams_pb2

    n = 8
    study = tunesmith.create_study(storage=f"sqlite:///{tmp_path / 's.db'}", study_name="tb study", seed=3)
    study.optimize(objective, n_trials=n, n_workers=n_workers, loggers=[TensorBoardLogger(tmp_path / "tb")])
    root = tmp_path / "tb" / "tb_study"
    assert sorted(os.listdir(root)) == sorted(f"trial_{i}" for i in range(n))
    for t in study.trials:
        events = read_events(str(root / f"trial_{t.number}"))
        scalars = [(e.step, v.tag, v.simple_value) for e in events for v in e.summary.value
                   if v.HasField("simple_value")]
        assert [(s, v) for s, tag, v in scalars if tag == "loss"] == [
            (s, pytest.approx(t.params["x"] + s)) for s in steps(t.number)
        ]
        hp = [v for e in events for v in e.summary.value if v.tag == "_hparams_/session_start_info"]
        assert len(hp) == 1
        info = plugin_hparams_pb2.HParamsPluginData.FromString(hp[0].metadata.plugin_data.content)
        hparams = info.session_start_info.hparams
        assert hparams["state"].string_value == expected_state(t.number)
        assert hparams["x"].number_value == pytest.approx(t.params["x"])
        assert hparams["opt"].string_value == t.params["opt"]
        finals = {tag: v for _, tag, v in scalars if tag.startswith("hparam/")}
        assert finals == ({"hparam/value": pytest.approx(t.values[0])} if t.values else {})
