"""Every tunesmith sampler passes the shared conformance suite (tunesmith.testing)."""

from __future__ import annotations

from tunesmith.samplers import (
    AutoSampler,
    BOHBSampler,
    CmaEsSampler,
    CoarseToFineSampler,
    GPSampler,
    GridSampler,
    NSGAIISampler,
    QMCSampler,
    RandomSampler,
    Sampler,
    TPESampler,
)
from tunesmith.schedulers import HyperBandScheduler, Scheduler
from tunesmith.testing import SamplerConformance
from tunesmith.testing.samplers import OPTIMIZERS, STEPS

# Model-based samplers get a short start, so that their models run within the suite's studies.


class TestRandom(SamplerConformance):
    multi_objective = True

    def make_sampler(self, seed: int | None) -> Sampler:
        return RandomSampler(seed=seed)


class TestQMC(SamplerConformance):
    multi_objective = True

    def make_sampler(self, seed: int | None) -> Sampler:
        return QMCSampler(seed=seed)


class TestGrid(SamplerConformance):
    """The grid covers the suite's finite parameters; the others are drawn at random."""

    multi_objective = True
    expected_max_trials = len(OPTIMIZERS) * len(STEPS)

    def make_sampler(self, seed: int | None) -> Sampler:
        return GridSampler({"opt": list(OPTIMIZERS), "s": list(STEPS)}, seed=seed)


class TestTPE(SamplerConformance):
    multi_objective = True

    def make_sampler(self, seed: int | None) -> Sampler:
        return TPESampler(seed=seed, n_startup_trials=5)


class TestGP(SamplerConformance):
    multi_objective = True  # one GP models one objective: several go to its fallback (TPE)
    repeats_values = True  # it may propose a boundary optimum again and again

    def make_sampler(self, seed: int | None) -> Sampler:
        return GPSampler(seed=seed, n_startup_trials=5)


class TestCmaEs(SamplerConformance):
    def make_sampler(self, seed: int | None) -> Sampler:
        return CmaEsSampler(seed=seed)


class TestNSGAII(SamplerConformance):
    multi_objective = True
    repeats_values = True  # a child inherits some of its parents' values as they are

    def make_sampler(self, seed: int | None) -> Sampler:
        return NSGAIISampler(seed=seed, population_size=10)


class TestCoarseToFine(SamplerConformance):
    multi_objective = True  # its boxes follow the first objective

    def make_sampler(self, seed: int | None) -> Sampler:
        return CoarseToFineSampler(seed=seed, round_size=8)


class TestAuto(SamplerConformance):
    multi_objective = True

    def make_sampler(self, seed: int | None) -> Sampler:
        return AutoSampler(seed=seed, n_startup_trials=5, gp_max_trials=15)


class TestBOHB(SamplerConformance):
    """BOHB beside Hyperband, as it is meant to run: the model fits the results per budget."""

    multi_objective = True  # without a scheduler it is TPE

    def make_sampler(self, seed: int | None) -> Sampler:
        return BOHBSampler(seed=seed, min_points_in_model=4, random_fraction=0.2)

    def make_scheduler(self) -> Scheduler | None:
        return HyperBandScheduler(max_t=9, reduction_factor=3)
