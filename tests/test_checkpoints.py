from __future__ import annotations

import os

import pytest

import tunesmith
from tunesmith.checkpoints import CheckpointConfig, CheckpointStore, default_artifact_root
from tunesmith.trial import TrialState


def test_a_checkpoint_appears_only_when_its_block_succeeds(tmp_path):
    store = CheckpointStore(tmp_path, "my study/1")
    with store.writing(3, 5) as d:
        open(os.path.join(d, "w"), "w").write("x")
        assert store.list(3) == []  # not visible while written
    (c,) = store.list(3)
    assert (c.step, c.trial, c.value) == (5, 3, c.path) and c.path.startswith(str(tmp_path / "my_study_1"))
    with pytest.raises(RuntimeError), store.writing(3, 6):
        raise RuntimeError("crash mid-save")
    assert [c.step for c in store.list(3)] == [5]
    assert sorted(os.listdir(store.trial_dir(3))) == ["checkpoint_000005"]  # no temporary left over
    with store.writing(3, 5) as d:  # the same step again replaces it
        open(os.path.join(d, "v2"), "w").write("y")
    assert os.listdir(store.list(3)[0].path) == ["v2"]
    with pytest.raises(ValueError, match="step"), store.writing(3, -1):
        pass


def test_retention_keeps_the_best_by_metric_and_the_latest(tmp_path):
    store = CheckpointStore(tmp_path, "s", CheckpointConfig(2, "loss", "min"))
    for step, loss in [(1, 0.5), (2, 0.2), (3, 0.9), (4, 0.3), (5, 0.8)]:
        with store.writing(0, step):
            pass
        store.annotate(store.list(0)[-1].path, {"loss": loss})
        store.apply_retention(0)
    assert [c.step for c in store.list(0)] == [2, 4, 5]  # best two (0.2, 0.3) plus the latest
    assert store.list(0)[0].metrics == {"loss": 0.2}
    keep_recent = CheckpointStore(tmp_path, "r", CheckpointConfig(1))
    for step in range(3):
        with keep_recent.writing(0, step):
            pass
        keep_recent.apply_retention(0)
    assert [c.step for c in keep_recent.list(0)] == [2]
    assert CheckpointConfig.from_ray(3, "min-loss") == CheckpointConfig(3, "loss", "min")
    with pytest.raises(ValueError, match="num_to_keep"):
        CheckpointConfig(0)


def test_default_root_is_next_to_a_sqlite_file(tmp_path):
    assert default_artifact_root(f"sqlite:///{tmp_path}/a.db") == str(tmp_path / "tunesmith_artifacts")
    assert default_artifact_root("postgresql://u@h/db") == os.path.abspath("tunesmith_artifacts")
    assert default_artifact_root(None) == default_artifact_root(None) != os.path.abspath("tunesmith_artifacts")
    study = tunesmith.create_study(storage=f"sqlite:///{tmp_path}/a.db")
    assert study.checkpoints.root == str(tmp_path / "tunesmith_artifacts")
    again = tunesmith.load_study(study.name, f"sqlite:///{tmp_path}/a.db")
    assert again.checkpoints.study_dir == study.checkpoints.study_dir


def test_save_and_load_in_an_objective(tmp_path):
    seen = {}

    def objective(trial):
        assert trial.get_checkpoint() is None
        for step in range(3):
            trial.save_checkpoint({"step": step, "weights": [step] * 3}, step=step)
            trial.report(step, loss=1.0 / (step + 1))
        seen["ckpt"] = trial.get_checkpoint()
        return trial.last_result["loss"]

    study = tunesmith.create_study(metric="loss", artifact_dir=tmp_path / "art",
                                   checkpoint_config=CheckpointConfig(num_to_keep=1))
    study.optimize(objective, n_trials=1)
    ckpt = seen["ckpt"]
    assert ckpt.load() == {"step": 2, "weights": [2, 2, 2]} and ckpt.metrics == {"loss": 1.0 / 3}
    assert [c.step for c in study.checkpoints.list(0)] == [2]


def test_outside_a_trial_is_a_clear_error():
    with pytest.raises(RuntimeError, match="outside a trial"):
        tunesmith.checkpoint_dir(1)
    with pytest.raises(RuntimeError, match="outside a trial"):
        tunesmith.get_checkpoint()


def _resumable(config, checkpoint_dir=None):
    start = 0
    if checkpoint_dir is not None:
        start = int(open(os.path.join(checkpoint_dir, "epoch")).read()) + 1
        open(os.path.join(config["marks"], f"resumed_at_{start}"), "w").close()
    for epoch in range(start, 6):
        with tunesmith.checkpoint_dir(epoch) as d:
            open(os.path.join(d, "epoch"), "w").write(str(epoch))
        tunesmith.report(loss=1.0 / (epoch + 1))
        if epoch == 2 and not os.listdir(config["marks"]):
            os._exit(1)  # the worker dies after its checkpoint at epoch 2


@pytest.mark.slow
def test_a_retried_trial_resumes_from_its_last_checkpoint(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    result = tunesmith.run(
        _resumable, {"marks": str(marks)}, num_samples=1, metric="loss", mode="min", verbose=0,
        storage=f"sqlite:///{tmp_path}/r.db", max_retries=1, resources_per_trial={"cpu": 1},
        max_concurrent_trials=1, trial_timeout=60,
    )
    (t,) = result.trials
    assert t.state == TrialState.COMPLETE, t.error
    assert os.listdir(marks) == ["resumed_at_3"]
    assert t.last_result["training_iteration"] == 6  # iterations go on counting after the retry
    assert t.checkpoint.step == 5
