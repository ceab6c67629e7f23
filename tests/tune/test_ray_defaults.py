"""tune.run as Ray Tune 1.x runs it: random search by default, schedulers that let a report without
their metric continue, the trial's folder as working directory, ``scope=`` of the best-trial getters."""

from __future__ import annotations

import os

import pytest

import tunesmith
from tunesmith import tune
from tunesmith.samplers import AutoSampler, RandomSampler, TPESampler
from tunesmith.schedulers import ASHAScheduler, MedianStoppingRule


def _quadratic(config):
    tune.report(loss=(config["x"] - 0.3) ** 2)


def test_default_searcher_is_random_under_tune_run_and_auto_under_tunesmith_run(tmp_path):
    space = {"x": tune.uniform(0, 1)}
    ray = tune.run(_quadratic, config=space, num_samples=3, metric="loss", mode="min", verbose=0,
                   storage=str(tmp_path / "a.db"), seed=1)
    assert isinstance(ray.study.sampler, RandomSampler)
    again = tune.run(_quadratic, config=space, num_samples=3, metric="loss", mode="min", verbose=0,
                     storage=str(tmp_path / "b.db"), seed=1)
    assert [t.config for t in ray.trials] == [t.config for t in again.trials]  # seeded random search
    own = tunesmith.run(_quadratic, config=space, num_samples=2, metric="loss", mode="min", verbose=0,
                        storage=str(tmp_path / "c.db"))
    assert isinstance(own.study.sampler, AutoSampler)
    chosen = tune.run(_quadratic, config=space, num_samples=2, metric="loss", mode="min", verbose=0,
                      search_alg=TPESampler(seed=0), storage=str(tmp_path / "d.db"))
    assert isinstance(chosen.study.sampler, TPESampler)


def test_grid_search_is_enumerated_by_the_default_searcher(tmp_path):
    res = tune.run(_quadratic, config={"x": tune.grid_search([0.1, 0.2, 0.3])}, num_samples=2, verbose=0, metric="loss",
                   storage=str(tmp_path / "g.db"))
    assert sorted(t.config["x"] for t in res.trials) == [0.1, 0.1, 0.2, 0.2, 0.3, 0.3]


def _curve_then_other(config):
    for i in range(1, 7):
        tune.report(loss=config["x"] / i)
    tune.report(mean_accuracy=1 - config["x"], done=True)  # Ray's examples end so (lightgbm_example)


@pytest.mark.parametrize("scheduler", [
    lambda: ASHAScheduler(metric="loss", mode="min", max_t=10, grace_period=1),
    lambda: MedianStoppingRule(metric="loss", mode="min", grace_period=1),
])
def test_a_report_without_the_schedulers_metric_continues_under_tune_run(tmp_path, scheduler):
    res = tune.run(_curve_then_other, config={"x": tune.uniform(0.1, 1)}, num_samples=4, verbose=0,
                   scheduler=scheduler(), storage=str(tmp_path / "s.db"), max_concurrent_trials=1, seed=0)
    assert not res.errors
    best = res.get_best_trial("loss", "min", "last")  # the last *loss* reported, as Ray's metric analysis
    last_loss = {t.number: [m["loss"] for _, m in res.study.storage.get_reports(res.study.study_id, t.frozen.trial_id)
                            if "loss" in m][-1] for t in res.trials}
    assert best is not None and last_loss[best.number] == min(last_loss.values())
    assert all("mean_accuracy" in t.last_result for t in res.trials if t.state.name == "COMPLETE")


def test_study_optimize_keeps_its_clear_error_for_a_missing_metric():
    study = tunesmith.create_study(metric="loss", mode="min", scheduler=ASHAScheduler(max_t=4))

    def objective(trial):
        trial.report(1, other=1.0)
        return 1.0

    study.optimize(objective, n_trials=1)
    assert "compares trials by 'loss'" in (study.trials[0].error or "")


def test_missing_metric_setting_survives_the_stored_spec():
    from tunesmith.schedulers import scheduler_from_spec

    s = ASHAScheduler(metric="loss", mode="min")
    s.missing_metric = "continue"
    assert scheduler_from_spec(s.spec()).missing_metric == "continue"
    assert "missing_metric" not in ASHAScheduler().spec()  # tunesmith's default is not stored


def _writes_relative(config):
    here = os.getcwd()
    assert os.path.isdir(tune.get_trial_dir()) and os.path.samefile(here, tune.get_trial_dir())
    with open("model.txt", "w") as f:
        f.write(str(config["x"]))
    tune.report(loss=config["x"])


def test_the_trial_runs_in_its_folder_and_the_cwd_comes_back(tmp_path):
    before = os.getcwd()
    res = tune.run(_writes_relative, config={"x": tune.grid_search([3.0, 1.0, 2.0])}, metric="loss", mode="min",
                   verbose=0, storage=str(tmp_path / "w.db"), local_dir=str(tmp_path / "results"))
    assert os.getcwd() == before and not res.errors
    logdir = res.get_best_logdir("loss", "min")
    assert logdir.startswith(str(tmp_path / "results"))
    assert open(os.path.join(logdir, "model.txt")).read() == "1.0"


def test_relative_storage_and_local_dir_are_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = tune.run(_writes_relative, config={"x": tune.uniform(0, 1)}, num_samples=2, verbose=0, metric="loss",
                   storage="sqlite:///rel.db", local_dir="out", max_concurrent_trials=1)
    assert os.path.exists(tmp_path / "rel.db") and not res.errors
    assert all(os.path.isfile(os.path.join(t.logdir, "model.txt")) and t.logdir.startswith(str(tmp_path / "out"))
               for t in res.trials)


def _three_reports(config):
    for v in config["values"]:
        tune.report(loss=v)


@pytest.mark.parametrize(("scope", "mode", "best"), [
    ("last", "min", "b"), ("all", "min", "a"), ("avg", "min", "c"), ("last-5-avg", "min", "c"),
    ("last-10-avg", "max", "a"), ("all", "max", "a"),
])
def test_scope(tmp_path_factory, scope, mode, best):
    runs = {"a": [0.0, 10.0, 10.0], "b": [5.0, 5.0, 1.0], "c": [1.0, 1.0, 2.0]}
    res = _scoped(tmp_path_factory, runs)
    chosen = res.get_best_trial("loss", mode, scope)
    assert [k for k, v in runs.items() if v == chosen.config["values"]] == [best]
    assert res.get_best_config("loss", mode, scope) == chosen.config
    assert res.get_best_logdir("loss", mode, scope) == chosen.logdir


_SCOPED: dict[str, object] = {}


def _scoped(factory, runs):
    if "res" not in _SCOPED:
        _SCOPED["res"] = tune.run(_three_reports, config={"values": tune.grid_search(list(runs.values()))},
                                  metric="loss", verbose=0, storage=str(factory.mktemp("scope") / "s.db"))
    return _SCOPED["res"]


def test_unknown_scope_is_refused(tmp_path):
    res = tune.run(_quadratic, config={"x": 0.5}, verbose=0, metric="loss", storage=str(tmp_path / "u.db"))
    with pytest.raises(ValueError, match="last-5-avg"):
        res.get_best_trial("loss", "min", "best")


class _Exported(tune.Trainable):
    def setup(self, config):
        self.value = config["x"]

    def step(self):
        return {"loss": self.value, "done": self.iteration >= 1}

    def _export_model(self, export_formats, export_dir):
        path = os.path.join(export_dir, "exported.txt")
        with open(path, "w") as f:
            f.write(f"{export_formats} {self.value}")
        return {export_formats[0]: path}


def test_export_formats_call_the_class_trainables_export_into_its_folder(tmp_path):
    res = tune.run(_Exported, config={"x": tune.grid_search([1.0, 2.0])}, metric="loss", mode="min", verbose=0,
                   export_formats=[tune.ExportFormat.MODEL], storage=str(tmp_path / "e.db"))
    assert open(os.path.join(res.get_best_logdir(), "exported.txt")).read() == "['model'] 1.0"
    with pytest.raises(ValueError, match="unknown format"):
        tune.run(_Exported, config={"x": 1.0}, verbose=0, export_formats=["pickle"])
