"""The study record is a trust boundary; checkpoints belong to one study; objective values of any array library."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import tunesmith
from tunesmith.exceptions import StudyNotFoundError
from tunesmith.samplers import RandomSampler, Sampler, sampler_from_spec
from tunesmith.storage import SQLStorage


def _save_one(trial: tunesmith.Trial) -> float:
    trial.suggest_float("x", 0, 1)
    if trial.get_checkpoint() is not None:
        raise RuntimeError(f"trial {trial.number} was handed a checkpoint it never saved")
    trial.save_checkpoint({"trial": trial.number}, step=0)
    trial.report(0, value=1.0)
    return 1.0


def test_studies_whose_names_sanitise_alike_keep_their_checkpoints_apart(sqlite_url: str) -> None:
    a = tunesmith.create_study("exp 1", sqlite_url)
    b = tunesmith.create_study("exp_1", sqlite_url)
    a.optimize(_save_one, n_trials=2)
    b.optimize(_save_one, n_trials=2)  # raises inside the trial if a's checkpoint leaks in
    assert [t.state for t in b.trials] == [tunesmith.TrialState.COMPLETE] * 2
    assert a.checkpoints.study_dir != b.checkpoints.study_dir
    assert a.checkpoints.latest(0).load() == {"trial": 0}


def test_a_study_created_again_under_its_name_starts_without_checkpoints(tmp_path) -> None:
    db = tmp_path / "s.db"
    first = tunesmith.create_study("again", f"sqlite:///{db}", artifact_dir=tmp_path / "art")
    first.optimize(_save_one, n_trials=1)
    db.unlink()  # the user deletes the database file, keeps the artifact folder
    second = tunesmith.create_study("again", f"sqlite:///{db}", artifact_dir=tmp_path / "art")
    second.optimize(_save_one, n_trials=1)
    assert second.trials[0].state == tunesmith.TrialState.COMPLETE
    assert first.checkpoints.latest(0) is not None  # retention of one never touched the other's files


def test_a_name_cannot_leave_the_artifact_root(tmp_path) -> None:
    study = tunesmith.create_study("..", f"sqlite:///{tmp_path / 's.db'}", artifact_dir=tmp_path / "art")
    study.optimize(_save_one, n_trials=1)
    inside = os.path.realpath(study.checkpoints.latest(0).path)
    assert inside.startswith(os.path.realpath(tmp_path / "art") + os.sep)
    for bad in ["", "   ", "a\x00b", "tab\there", "x" * 513]:
        with pytest.raises(ValueError, match="study name"):
            tunesmith.create_study(bad)


def test_a_restore_path_from_the_record_must_stay_in_the_study_folder(tmp_path) -> None:
    planted = tmp_path / "planted"
    planted.mkdir()
    (planted / "data.pkl").write_bytes(b"not to be loaded")
    study = tunesmith.create_study("s", f"sqlite:///{tmp_path / 's.db'}", artifact_dir=tmp_path / "art")
    # What a writer of the database can do: queue a trial that restores from a path of its choice.
    study.storage.enqueue_trial(
        study.study_id, {}, {"restore": {"path": str(planted), "step": 0, "trial": 0}},
    )

    def objective(trial: tunesmith.Trial) -> float:
        trial.get_checkpoint()
        return 0.0

    study.optimize(objective, n_trials=1)
    (trial,) = study.trials
    assert trial.state == tunesmith.TrialState.FAILED and "outside the study's artifact folder" in trial.error


class _Planted(Sampler):
    def __init__(self, **kwargs: object) -> None:
        raise AssertionError("a class named by the database was instantiated")


def test_a_spec_in_the_record_imports_only_tunesmith_classes(tmp_path, monkeypatch) -> None:
    marker = tmp_path / "imported"
    (tmp_path / "evil_mod.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ValueError, match="not a tunesmith class"):
        sampler_from_spec({"class": "evil_mod.Sampler", "kwargs": {}})
    assert not marker.exists()  # the module named by the record was never imported
    with pytest.raises(ValueError, match="not a tunesmith class"):
        sampler_from_spec({"class": f"{__name__}._Planted", "kwargs": {}})
    assert isinstance(sampler_from_spec(RandomSampler(seed=1).spec()), RandomSampler)

    # A stored spec is what load_study and `tunesmith worker` read.
    url = f"sqlite:///{tmp_path / 's.db'}"
    tunesmith.create_study("w", url)
    storage = SQLStorage(url)
    with storage._engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE tunesmith_studies SET attrs = ? WHERE name = 'w'",
            (json.dumps({"sampler": {"class": "evil_mod.Sampler", "kwargs": {}}}),),
        )
    with pytest.raises(ValueError, match="TUNESMITH_TRUSTED_CLASSES"):
        tunesmith.load_study("w", url)
    assert not marker.exists()
    monkeypatch.setenv("TUNESMITH_TRUSTED_CLASSES", f"{__name__}._Planted")
    with pytest.raises(AssertionError, match="instantiated"):  # trusted by the user: loaded
        sampler_from_spec({"class": f"{__name__}._Planted", "kwargs": {}})


def test_delete_study_removes_its_trials_and_checkpoints(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    gone = tunesmith.create_study("gone", url, artifact_dir=tmp_path / "art")
    kept = tunesmith.create_study("kept", url, artifact_dir=tmp_path / "art")
    gone.optimize(_save_one, n_trials=2)
    kept.optimize(_save_one, n_trials=1)
    folder = gone.checkpoints.study_dir
    assert os.path.isdir(folder)
    tunesmith.delete_study("gone", url)
    assert not os.path.exists(folder)
    with pytest.raises(StudyNotFoundError):
        tunesmith.load_study("gone", url)
    assert len(tunesmith.load_study("kept", url).trials) == 1 and kept.checkpoints.latest(0) is not None
    with pytest.raises(StudyNotFoundError):
        tunesmith.delete_study("gone", url)


def test_delete_study_leaves_a_folder_it_did_not_write(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = tunesmith.create_study("s", url, artifact_dir=tmp_path / "art")
    study.optimize(_save_one, n_trials=1)
    (tmp_path / "art" / os.path.basename(study.checkpoints.study_dir) / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="did not write"):
        tunesmith.delete_study("s", url)
    assert tunesmith.load_study("s", url).trials  # nothing deleted


def test_in_memory_study_leaves_no_artifact_folder(tmp_path) -> None:
    script = (
        "import os, tunesmith\n"
        "s = tunesmith.create_study()\n"
        "s.optimize(lambda t: t.save_checkpoint({'a': 1}, step=0) and 1.0, n_trials=1)\n"
        "print(s.checkpoints.root)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True)
    root = out.stdout.strip().splitlines()[-1]
    assert os.listdir(tmp_path) == [] and not os.path.exists(root)


@pytest.mark.parametrize("value", [
    np.float32(0.25), np.array(0.25), np.array([0.25]), np.array([[0.25]]), [np.float64(0.25)],
])
def test_numpy_scalars_of_any_shape_one_are_values(value: object) -> None:
    study = tunesmith.create_study()
    study.optimize(lambda t: value, n_trials=1)
    assert study.trials[0].values == [0.25]


def test_torch_tensors_are_values() -> None:
    torch = pytest.importorskip("torch")
    study = tunesmith.create_study()
    w = torch.tensor([0.5], requires_grad=True)
    returns = iter([torch.tensor(0.25), (w * 2).sum(), w * 1, torch.tensor([[0.5]], dtype=torch.float16)])
    study.optimize(lambda t: next(returns), n_trials=4)
    assert [t.values for t in study.trials] == [[0.25], [1.0], [0.5], [0.5]]
    two = tunesmith.create_study(directions=["minimize", "maximize"])
    two.optimize(lambda t: torch.tensor([1.0, 2.0]), n_trials=1)
    assert two.trials[0].values == [1.0, 2.0]


def test_a_refused_value_names_its_type() -> None:
    study = tunesmith.create_study()
    study.optimize(lambda t: np.array([1.0, 2.0]), n_trials=1)
    study.optimize(lambda t: "0.1", n_trials=1)
    study.optimize(lambda t: object(), n_trials=1)
    errors = [t.error for t in study.trials]
    assert "expected 1 value(s), got 2 from a ndarray" in errors[0]
    assert "str ('0.1'), not a number" in errors[1]
    assert "object" in errors[2] and "not a number" in errors[2]
