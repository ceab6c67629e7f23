"""Loggers on the Ray executor: the feed follows the storage in the driver, so Ray tasks' trials are logged alike."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_trackers import read_events, read_mlflow
from test_tracking import Recorder, check_complete, objective

import tunesmith
from tunesmith.integration.trackers import JSONLogger, MLflowLogger, TensorBoardLogger

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def ray_runtime() -> Iterator[None]:
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_workers_on_sqlite(sqlite_url: str, tmp_path: Path) -> None:
    rec = Recorder()
    study = tunesmith.create_study(storage=sqlite_url, study_name="ray", seed=0)
    trackers = [JSONLogger(tmp_path), MLflowLogger(f"sqlite:///{tmp_path / 'mlflow.db'}", experiment_name="ray"),
                TensorBoardLogger(tmp_path / "tb")]
    study.optimize(objective, n_trials=8, executor="ray", n_workers=4, loggers=[rec, *trackers])
    check_complete(rec, 8)
    assert len((tmp_path / "ray" / "trials.jsonl").read_text().splitlines()) == 8
    # the real trackers, read back: a run per trial with every report, nothing lost
    client, children, _ = read_mlflow(f"sqlite:///{tmp_path / 'mlflow.db'}", "ray")
    assert sorted(int(r.data.tags["tunesmith.trial"]) for r in children) == list(range(8))
    assert all(len(client.get_metric_history(r.info.run_id, "loss")) == 3 for r in children)
    for i in range(8):
        events = read_events(str(tmp_path / "tb" / "ray" / f"trial_{i}"))
        assert len([v for e in events for v in e.summary.value if v.tag == "loss"]) == 3


def test_ray_in_memory_study(tmp_path: Path) -> None:
    rec = Recorder()
    study = tunesmith.create_study(seed=0)
    study.optimize(objective, n_trials=6, executor="ray", loggers=[rec])
    check_complete(rec, 6)
