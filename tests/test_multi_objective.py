from __future__ import annotations

import itertools

import numpy as np
import pytest

from tunesmith.multi_objective import hypervolume, hypervolume_contributions, nondominated_ranks


def _grid_volume(points: np.ndarray, ref: np.ndarray, cells: int = 40) -> float:
    """The dominated volume counted on a grid of cell centres (exact for points on the grid's corners)."""
    axes = [(np.arange(cells) + 0.5) / cells * r for r in ref]
    centres = np.array(list(itertools.product(*axes)))
    covered = np.zeros(len(centres), dtype=bool)
    for p in points:
        covered |= (centres >= p).all(axis=1)
    return covered.mean() * float(np.prod(ref))


@pytest.mark.parametrize("m", [2, 3, 4])
def test_hypervolume_matches_counting_cells(m: int) -> None:
    rng = np.random.default_rng(m)
    ref = np.ones(m)
    cells = 40 if m < 4 else 16
    points = rng.integers(0, cells, size=(9, m)) / cells  # on the grid: counting is exact
    assert hypervolume(points, ref) == pytest.approx(_grid_volume(points, ref, cells))


def test_hypervolume_ignores_points_beyond_the_reference_and_dominated_ones() -> None:
    pts = np.array([[0.0, 0.5, 0.5], [0.5, 0.0, 0.5], [0.6, 0.6, 0.6], [2.0, 0.0, 0.0]])
    assert hypervolume(pts, (1.0, 1.0, 1.0)) == pytest.approx(hypervolume(pts[:2], (1.0, 1.0, 1.0)))
    assert hypervolume(np.empty((0, 3)), (1.0, 1.0, 1.0)) == 0.0


def test_contributions_are_the_volume_only_that_point_covers() -> None:
    pts = np.array([[0.0, 0.5, 0.0], [0.5, 0.0, 0.0], [0.6, 0.6, 0.6], [0.0, 0.5, 0.0]])
    c = hypervolume_contributions(pts, (1.0, 1.0, 1.0))
    assert c[1] == pytest.approx(0.25)  # the box [0.5, 1] x [0, 0.5] x [0, 1], covered by no other point
    assert c[2] == 0.0  # dominated
    assert c[0] == c[3] == 0.0  # duplicates cover nothing alone
    assert nondominated_ranks(pts).tolist() == [0, 0, 1, 0]
