"""``Study._repr_html_``: a notebook's compact summary."""

from __future__ import annotations

import pytest

import tunesmith
from tunesmith.reporting import _html


def _objective(trial: tunesmith.Trial) -> float:
    x = trial.suggest_float("x", -1, 1)
    trial.suggest_categorical("<b>opt</b>", ["<script>alert(1)</script>", "b"])
    return x * x


def test_summary_counts_best_and_escapes_user_strings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_html, "_history_plot", lambda study: "")
    study = tunesmith.create_study(name="<img src=x onerror=alert(1)>", seed=0)
    assert "no trials yet" in study._repr_html_()
    study.optimize(_objective, n_trials=6)
    study.optimize(lambda t: 1 / 0, n_trials=1)
    page = study._repr_html_()
    assert "6 COMPLETE" in page and "1 FAILED" in page and "7 trials" in page
    assert f"best trial {study.best_trial.number}" in page and f"{study.best_value:.6g}" in page
    assert "<img" not in page and "<script>" not in page and "&lt;img src=x" in page
    assert "&lt;b&gt;opt&lt;/b&gt;" in page


def test_several_objectives_show_the_pareto_front(monkeypatch: pytest.MonkeyPatch) -> None:
    study = tunesmith.create_study(directions=["minimize", "maximize"], seed=0)
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)), n_trials=8)
    assert f"Pareto front: {len(study.pareto_front())} trials" in study._repr_html_()


def test_history_plot_carries_plotly_js_once_for_offline_notebooks(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("plotly")
    monkeypatch.setattr(_html, "_plotlyjs_sent", False)
    study = tunesmith.create_study(seed=0)
    study.optimize(_objective, n_trials=5)
    first, second = study._repr_html_(), study._repr_html_()
    assert "plotly" in first and len(first) > 1_000_000  # the library itself, no CDN
    assert "Plotly.newPlot" in second and len(second) < 100_000
