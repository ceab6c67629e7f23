"""Ray Tune 1.x's ``tune.suggest`` searchers (as tunesmith samplers) and ``tune.utils.validate_save_restore``."""

from __future__ import annotations

import pytest

from tunesmith import tune
from tunesmith.samplers import GPSampler, RandomSampler, TPESampler
from tunesmith.tune.suggest import (
    BasicVariantGenerator,
    BayesOptSearch,
    ConcurrencyLimiter,
    HyperOptSearch,
    OptunaSearch,
)
from tunesmith.tune.suggest.hyperopt import HyperOptSearch as FromSubmodule
from tunesmith.tune.suggest.optuna import OptunaSearch as OptunaFromSubmodule
from tunesmith.tune.utils import validate_save_restore


def _objective(config):
    tune.report(mean_loss=(config["x"] - 0.2) ** 2)


def test_each_searcher_names_its_sampler():
    assert FromSubmodule is HyperOptSearch and OptunaFromSubmodule is OptunaSearch
    assert isinstance(OptunaSearch().make_sampler(), TPESampler)
    assert isinstance(HyperOptSearch().make_sampler(), TPESampler)
    assert isinstance(BayesOptSearch().make_sampler(), GPSampler)
    assert isinstance(BasicVariantGenerator().make_sampler(), RandomSampler)
    assert OptunaSearch(seed=3).make_sampler().seed == 3 and OptunaSearch().make_sampler(seed=5).seed == 5


def test_a_limited_searcher_gives_run_its_sampler_metric_and_concurrency(tmp_path):
    algo = ConcurrencyLimiter(OptunaSearch(metric="mean_loss", mode="min"), max_concurrent=1)
    res = tune.run(_objective, config={"x": tune.uniform(0, 1)}, search_alg=algo, num_samples=4, verbose=0,
                   storage=str(tmp_path / "o.db"))
    assert isinstance(res.study.sampler, TPESampler) and res.study.metric_names == ["mean_loss"]
    assert res.get_best_config()["x"] == min((t.config["x"] for t in res.trials), key=lambda x: (x - 0.2) ** 2)
    plain = ConcurrencyLimiter(TPESampler(seed=0), max_concurrent=2)  # a tunesmith sampler is taken too
    assert isinstance(plain.make_sampler(), TPESampler) and plain.max_concurrent == 2


def test_what_tunesmith_does_not_take_is_refused_with_the_tunesmith_way():
    with pytest.raises(NotImplementedError, match="config="):
        OptunaSearch(space={"x": object()})
    with pytest.raises(NotImplementedError, match="enqueue_trial"):
        HyperOptSearch(points_to_evaluate=[{"x": 1}])
    with pytest.raises(NotImplementedError, match=r"tunesmith\.samplers"):
        OptunaSearch(sampler=object())
    with pytest.raises(ValueError, match="max_concurrent"):
        ConcurrencyLimiter(OptunaSearch(), max_concurrent=0)
    with pytest.raises(TypeError, match="ConcurrencyLimiter"):
        ConcurrencyLimiter("optuna", max_concurrent=2)


class _Counter(tune.Trainable):
    def setup(self, config):
        self.total = config.get("start", 0)

    def step(self):
        self.total += 1
        return {"total": self.total}

    def save_checkpoint(self, checkpoint_dir):
        return {"total": self.total}

    def load_checkpoint(self, checkpoint):
        self.total = checkpoint["total"]


class _Forgetful(_Counter):
    def load_checkpoint(self, checkpoint):
        pass  # the state does not come back

    def step(self):
        self.total += 1
        return {"total": self.total, "training_iteration": self.total}


def test_validate_save_restore():
    assert validate_save_restore(_Counter, config={"start": 2}) is True
    with pytest.raises(AssertionError, match="not 4"):
        validate_save_restore(_Forgetful)
    with pytest.raises(TypeError, match="Trainable subclass"):
        validate_save_restore(_objective)
