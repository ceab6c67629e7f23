"""``ExperimentAnalysis``: Ray Tune 1.x's members, and checkpoints that are paths."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from tunesmith import tune


def _train(config, checkpoint_dir=None):
    for step in range(1, 5):
        with tune.checkpoint_dir(step) as d:
            with open(os.path.join(d, "model.pt"), "w") as f:
                f.write(f"{config['x']} {step}")
        tune.report(loss=config["x"] * (5 - step) if step < 4 else config["x"] * 3, nested={"a": step})


@pytest.fixture(scope="module")
def analysis(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("analysis")
    return tune.run(_train, config={"x": tune.grid_search([1.0, 2.0, 3.0]), "k": "const"}, metric="loss",
                    mode="min", verbose=0, storage=f"sqlite:///{tmp}/a.db", max_concurrent_trials=1)


def test_best_checkpoint_is_path_like(analysis):
    best = analysis.best_checkpoint
    path = os.path.join(analysis.best_checkpoint, "model.pt")  # Ray 1.x scripts do this
    assert open(path).read() == "1.0 3" and str(best) == best.path == os.fspath(best)
    by_metric = analysis.get_best_checkpoint(analysis.best_trial, "loss", "min")
    assert open(os.path.join(by_metric, "model.pt")).read() == "1.0 3"  # its lowest loss, 2.0, at step 3
    assert os.path.join(analysis.best_trial.checkpoint, "model.pt").endswith("model.pt")
    same = analysis.get_best_checkpoint(analysis.best_logdir, "loss", "min")  # Ray passes the logdir
    assert same == by_metric


def test_best_members(analysis):
    assert analysis.best_config == {"x": 1.0, "k": "const"} == analysis.get_best_config("loss", "min")
    assert analysis.get_best_config("loss", "max") == {"x": 3.0, "k": "const"}
    assert analysis.get_best_config("loss", "min", scope="all")["x"] == 1.0
    assert analysis.best_result["loss"] == 3.0
    assert analysis.best_logdir == analysis.best_trial.logdir and os.path.isdir(analysis.best_logdir)
    assert analysis.get_best_logdir("loss", "max") == analysis.trials[2].logdir
    df = analysis.best_result_df
    assert list(df.index) == [analysis.best_trial.trial_id] and df.iloc[0]["loss"] == 3.0
    assert df.iloc[0]["nested/a"] == 4


def test_tables(analysis):
    rdf = analysis.results_df
    assert isinstance(rdf, pd.DataFrame) and len(rdf) == 3 and rdf.index.name == "trial_id"
    assert set(rdf["loss"]) == {3.0, 6.0, 9.0}
    assert analysis.results[analysis.trials[1].trial_id]["loss"] == 6.0
    frames = analysis.trial_dataframes
    assert set(frames) == {t.logdir for t in analysis.trials}
    first = frames[analysis.best_logdir]
    assert list(first["training_iteration"]) == [1, 2, 3, 4] and list(first["loss"]) == [4.0, 3.0, 2.0, 3.0]
    configs = analysis.get_all_configs()
    assert configs[analysis.trials[2].logdir] == {"x": 3.0, "k": "const"}
    assert analysis.get_all_configs(prefix=True)[analysis.trials[0].logdir] == {"config/x": 1.0, "config/k": "const"}
    df = analysis.dataframe()
    assert list(df["loss"]) == [3.0, 6.0, 9.0] and "logdir" in df.columns and "config/k" in df.columns
    at_best = analysis.dataframe(metric="loss", mode="min")  # each trial's best report
    assert list(at_best["loss"]) == [2.0, 4.0, 6.0]
    paths = analysis.get_trial_checkpoints_paths(analysis.trials[0], "loss")
    assert [v for _, v in paths] == [4.0, 3.0, 2.0, 3.0] and all(os.path.isdir(p) for p, _ in paths)
    assert analysis.best_dataframe is not None and len(analysis.best_dataframe) == 4
    with pytest.raises(ValueError, match="no trial"):
        analysis.get_trial_checkpoints_paths("nope")
