"""param_distributions / param_grid -> a tunesmith space, and back to estimator parameters."""

from __future__ import annotations

import pytest

pytest.importorskip("sklearn")

import numpy as np
import scipy.stats as st
from sklearn.model_selection import ParameterGrid
from sklearn.svm import SVC

import tunesmith
from tunesmith.distributions import FloatDistribution, IntDistribution, NormalDistribution
from tunesmith.sklearn._space import GRID_KEY, distributions_space, grid_space
from tunesmith.space import SampleFrom, SearchSpace


def test_scipy_families_become_tunesmith_distributions() -> None:
    space = distributions_space({
        "a": st.uniform(2, 3), "b": st.loguniform(1e-4, 1e-1), "c": st.randint(1, 5), "d": st.norm(1.0, 2.0),
        "e": st.reciprocal(0.1, 10),
    })
    assert space.config["a"] == FloatDistribution(2.0, 5.0)
    assert space.config["b"] == FloatDistribution(1e-4, 1e-1, log=True)
    assert space.config["c"] == IntDistribution(1, 4)  # scipy's randint excludes high; ours is inclusive
    assert space.config["d"] == NormalDistribution(1.0, 2.0)
    assert space.config["e"] == FloatDistribution(0.1, 10.0, log=True)


def test_other_rvs_objects_are_drawn_with_rvs_seeded_per_trial() -> None:
    space = distributions_space({"x": st.expon(scale=2.0), "y": st.loguniform(1, 10, loc=5)})  # shifted: not log
    assert isinstance(space.config["x"], SampleFrom) and isinstance(space.config["y"], SampleFrom)
    compiled = SearchSpace(space.config)
    first = compiled.resolve({}, np.random.default_rng(0))
    assert first == compiled.resolve({}, np.random.default_rng(0))
    assert first != compiled.resolve({}, np.random.default_rng(1))
    assert first["x"] > 0 and 6 <= first["y"] <= 15


def test_lists_and_tunesmith_distributions_pass_through() -> None:
    space = distributions_space({"k": ["rbf", "linear"], "C": tunesmith.loguniform(0.1, 10), "n": range(3)})
    assert space.config["k"].choices == ("rbf", "linear") and not space.config["k"].grid
    assert space.config["C"] == FloatDistribution(0.1, 10, log=True)
    assert space.config["n"].choices == (0, 1, 2)


def test_a_list_of_dicts_takes_one_dict_per_candidate() -> None:
    space = distributions_space([{"kernel": ["linear"], "C": [1, 2]}, {"kernel": ["rbf"], "C": st.uniform(0, 1)}])
    assert set(space.config) == {GRID_KEY, "0/kernel", "0/C", "1/kernel", "1/C"}
    values = {GRID_KEY: 1, "0/kernel": "linear", "0/C": 2, "1/kernel": "rbf", "1/C": 0.5}
    assert space.estimator_params(values) == {"kernel": "rbf", "C": 0.5}


@pytest.mark.parametrize(("bad", "error", "match"), [
    ({"C": 1.0}, TypeError, "parameter 'C' must be a list"),
    ({"C": "abc"}, TypeError, "parameter 'C' must be a list"),
    ({"C": []}, ValueError, "parameter 'C' has an empty list"),
    ([], ValueError, "empty list has no candidates"),
    ("C", TypeError, "must be a dict or a list of dicts"),
    ([{"C": [1]}, 3], TypeError, r"param_distributions\[1\] must be a dict"),
    ({"C": tunesmith.uniform(0, 1), 3: [1]}, TypeError, "names must be str"),
])
def test_bad_distributions_name_the_parameter(bad: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        distributions_space(bad)


def test_a_single_grid_enumerates_in_parameter_grid_order() -> None:
    grid = {"gamma": [0.1, 1.0, 10.0], "C": [1, 10], "kernel": ["rbf", "poly"]}
    space = grid_space(grid)
    assert len(space) == 12
    study = tunesmith.create_study(sampler=tunesmith.samplers.RandomSampler(seed=0))
    study.set_space(space.config)
    study.optimize(lambda t: 0.0, n_trials=12)
    got = [space.estimator_params(space.external(t.internal_params)) for t in study.trials]
    assert got == list(ParameterGrid(grid))


def test_a_list_of_grids_is_one_axis_over_its_candidates_with_objects_kept() -> None:
    estimators = [SVC(kernel="linear"), SVC(kernel="rbf")]
    grid = [{"C": [1, 2]}, {"clf": estimators}]
    space = grid_space(grid)
    assert len(space) == 4
    assert [space.estimator_params({"candidate": i}) for i in range(4)] == list(ParameterGrid(grid))
    assert space.estimator_params({"candidate": 3})["clf"] is estimators[1]


def test_bad_grids_get_scikit_learns_messages() -> None:
    with pytest.raises(TypeError, match="needs to be a list or a numpy array"):
        grid_space({"C": 1})
    with pytest.raises(ValueError, match="empty"):
        grid_space({"C": []})
