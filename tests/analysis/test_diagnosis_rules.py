"""The rules one at a time, on hand-made noisy curves; the robust statistics; reading curves."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tunesmith.analysis import KINDS, Diagnosis, Finding, diagnose_curves
from tunesmith.analysis._curves import curves_from_lists, curves_from_reports, guess_maximize, normalized
from tunesmith.analysis._stats import fit_line, neighbour_median, noise_sigma, rolling_median

RNG_SEED = 7


def noisy(x: np.ndarray, sigma: float, seed: int = RNG_SEED) -> list[float]:
    """Relative (multiplicative) noise, as a loss has."""
    rng = np.random.default_rng(seed)
    return [float(v) for v in x * np.exp(sigma * rng.standard_normal(len(x)))]


def kinds(curves: dict[str, list[float | None]], **kw: object) -> set[str]:
    return diagnose_curves(curves, **kw).kinds  # type: ignore[arg-type]


S = np.arange(60, dtype=float)
CONVERGED = 0.3 + 2.0 * np.exp(-S / 6)


# -- robust statistics ------------------------------------------------------------------------


def test_rolling_median_keeps_a_monotone_trend_and_drops_a_spike() -> None:
    x = np.exp(-np.arange(20) / 3.0)
    assert np.allclose(rolling_median(x, 7), x)
    x[10] = 5.0
    assert rolling_median(x, 7)[10] < 0.1


def test_neighbour_median_leaves_the_point_out() -> None:
    x = np.array([1.0, 2.0, 9.0, 4.0, 5.0])
    assert neighbour_median(x, 3)[2] == 3.0  # the mean of the two neighbours, not 4
    assert neighbour_median(x, 5)[2] == 3.0
    assert neighbour_median(x, 5)[0] == 1.0  # an end point is its own


def test_noise_sigma_sees_the_noise_through_a_trend_and_a_few_spikes() -> None:
    rng = np.random.default_rng(0)
    x = 5 * np.exp(-np.arange(300) / 80) + 0.1 * rng.standard_normal(300)
    x[[50, 120, 200]] += 3.0
    assert noise_sigma(x) == pytest.approx(0.1, rel=0.15)
    assert noise_sigma(np.array([1.0])) == 0.0


def test_fit_line_slope_and_error() -> None:
    t = np.arange(10, dtype=float)
    line = fit_line(t, 2 * t + 1)
    assert line.slope == pytest.approx(2) and line.change == pytest.approx(18)
    assert line.se == 0 and math.isinf(line.t)
    floored = fit_line(t, 2 * t + 1, noise=1.0)
    assert floored.se == pytest.approx(1 / math.sqrt(82.5))
    assert fit_line(t[:1], t[:1]).se == math.inf


# -- reading curves ----------------------------------------------------------------------------


def test_metric_names_are_guessed_from_common_spellings() -> None:
    c = curves_from_lists({"Train/Loss": [1.0, 0.5], "eval-loss": [1.1, 0.6], "learning_rate": [0.1, 0.1]})
    assert (c.train.name, c.val.name, c.lr.name) == ("Train/Loss", "eval-loss", "learning_rate")  # type: ignore[union-attr]
    c = curves_from_lists({"acc": [0.1, 0.5], "val_loss": [2.0, 1.0], "val_acc": [0.1, 0.4]})
    assert (c.train.name, c.val.name) == ("acc", "val_acc")  # type: ignore[union-attr]  # same kind as train
    c = curves_from_lists({"loss": [1.0, 0.5], "val_loss": [1.1, 0.6], "val_accuracy": [0.1, 0.5]})
    assert c.val.name == "val_loss"  # type: ignore[union-attr]
    assert curves_from_lists({"valid_loss": [1.0, 0.9]}).primary.name == "valid_loss"  # type: ignore[union-attr]
    assert normalized(" Val/Acc ") == "val_acc"


def test_directions_are_guessed_from_names() -> None:
    assert not guess_maximize("val_loss") and not guess_maximize("top1_error") and not guess_maximize("mse")
    assert guess_maximize("val_accuracy") and guess_maximize("eval/auc") and guess_maximize("f1_score")
    assert not guess_maximize("something")


def test_accuracy_becomes_an_error_rate_and_percentages_too() -> None:
    c = curves_from_lists({"val_acc": [10.0, 55.0, 80.0]})
    assert c.val.bad.tolist() == [90.0, 45.0, 20.0] and c.val.top == 100.0  # type: ignore[union-attr]
    c = curves_from_lists({"reward": [-5.0, 3.0, 8.0]}, val="reward")
    assert c.val.maximize and c.val.bad.tolist() == [5.0, -3.0, -8.0]  # type: ignore[union-attr]


def test_reports_keep_numbers_and_the_last_value_of_a_repeated_step() -> None:
    reports = [(0, {"loss": 2.0, "note": "warmup", "ok": True}), (1, {"loss": 1.5}), (1, {"loss": 1.4}),
               (2, {"loss": float("nan")})]
    c = curves_from_reports(reports)
    assert c.train.steps.tolist() == [0, 1, 2]  # type: ignore[union-attr]
    assert c.train.values[:2].tolist() == [2.0, 1.4] and math.isnan(c.train.values[2])  # type: ignore[union-attr]
    assert curves_from_reports(reports, train="missing").train is None  # a trial that never reported it


def test_bad_curves_are_refused_naming_what_is_wrong() -> None:
    with pytest.raises(ValueError, match=r"curve 'val_loss' has 2 values but there are 3 steps"):
        diagnose_curves({"loss": [1.0, 0.9, 0.8], "val_loss": [1.0, 0.9]})
    with pytest.raises(ValueError, match=r"train='x' is not a reported metric; reported: \['loss'\]"):
        diagnose_curves({"loss": [1.0, 0.9]}, train="x")
    with pytest.raises(ValueError, match="steps must increase"):
        diagnose_curves({"loss": [1.0, 0.9]}, steps=[3, 3])
    with pytest.raises(ValueError, match=r"steps must be integers, got 0.5"):
        diagnose_curves({"loss": [1.0, 0.9]}, steps=[0.5, 1])  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"curve 'loss' holds 'a' at step 1"):
        diagnose_curves({"loss": [1.0, "a"]})  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"direction must be 'minimize', 'maximize' or None, got 'min'"):
        diagnose_curves({"loss": [1.0, 0.9]}, direction="min")
    with pytest.raises(ValueError, match=r"no training or validation curve among \['lr', 'speed'\]"):
        diagnose_curves({"lr": [1.0, 0.9], "speed": [3.0, 3.0]})
    with pytest.raises(ValueError, match="non-empty dict"):
        diagnose_curves({})


# -- the rules -------------------------------------------------------------------------------------


def test_diverging_nan_growth_and_collapse() -> None:
    loss = noisy(CONVERGED, 0.03)
    assert kinds({"loss": [*loss[:30], float("nan")]}) == {"diverging"}
    growth = [*loss[:30], *(loss[29] * 1.8 ** np.arange(1, 10))]
    (f,) = diagnose_curves({"loss": growth})
    assert f.kind == "diverging" and "geometrically" in f.message and f.steps[-1] == 38
    collapse = [*loss[:30], *noisy(np.full(20, 2.4), 0.03)]  # learned, then back to chance and stays
    assert kinds({"loss": collapse}) == {"diverging"}
    assert kinds({"loss": loss}) == set()


def test_a_spike_at_the_end_is_not_divergence() -> None:
    loss = noisy(CONVERGED, 0.03)
    assert "diverging" not in kinds({"loss": [*loss[:-1], loss[-1] * 5]})


def test_diverging_explains_everything_else_away() -> None:
    d = diagnose_curves({"loss": [2.0, 1.0, 8.0, 0.5, 9.0, 0.7, float("inf")], "lr": [1.0] * 7})
    assert [f.kind for f in d] == ["diverging"]


def test_not_learning_is_flat_on_both_curves() -> None:
    flat = noisy(np.full(50, 2.3) * (1 - 0.02 * np.arange(50) / 50), 0.05)
    assert kinds({"loss": flat, "val_loss": noisy(np.full(50, 2.35), 0.02, seed=1)}) == {"not_learning"}
    assert kinds({"loss": flat, "val_loss": noisy(CONVERGED[:50], 0.02)}) != {"not_learning"}
    acc_at_chance = [0.1 + 0.01 * v for v in np.random.default_rng(0).standard_normal(40)]
    assert kinds({"val_acc": acc_at_chance}) == {"not_learning"}


def test_a_first_step_drop_is_learning() -> None:
    curve = [2.3, *noisy(np.full(30, 1.2), 0.01)]
    assert "not_learning" not in kinds({"loss": curve})


def test_decayed_too_early_needs_a_step_decay_while_improving() -> None:
    gap = np.r_[2.0 * np.exp(-np.arange(12) / 10), 2.0 * np.exp(-1.2) * np.exp(-np.arange(48) / 1000)]
    lr = [0.1] * 12 + [0.001] * 48
    loss = noisy(0.2 + gap, 0.02)
    (f,) = diagnose_curves({"loss": loss, "lr": lr})
    assert f.kind == "decayed_too_early" and "100x at step 12" in f.message and f.steps[0] >= 12
    assert kinds({"loss": loss}) == {"underfitting"} or kinds({"loss": loss}) == set()  # no lr: nothing to blame
    late = noisy(CONVERGED, 0.02)  # the same decay after the plateau
    assert "decayed_too_early" not in kinds({"loss": late, "lr": [0.1] * 40 + [0.001] * 20})
    cosine = [0.1 * 0.5 * (1 + math.cos(math.pi * i / 59)) for i in range(60)]
    assert "decayed_too_early" not in kinds({"loss": late, "lr": cosine})


def test_overfitting_validation_up_while_training_down() -> None:
    train = noisy(0.05 + 2.2 * np.exp(-S / 12), 0.02)
    val = noisy(0.4 + 2.0 * np.exp(-S / 6) + 0.01 * np.maximum(S - 20, 0), 0.01, seed=2)
    (f,) = diagnose_curves({"loss": train, "val_loss": val})
    assert f.kind == "overfitting" and 18 <= f.steps[0] <= 30 and f.steps[-1] == 59
    assert kinds({"val_loss": val}) != {"overfitting"}  # without a training curve it cannot be told
    acc_train = [1 - v / 2.4 for v in train]
    acc_val = [1 - min(v, 2.3) / 2.4 for v in val]
    assert kinds({"accuracy": acc_train, "val_accuracy": acc_val}) == {"overfitting"}


def test_underfitting_against_a_target_or_chance() -> None:
    high = noisy(1.4 + 0.9 * np.exp(-S / 6), 0.02)
    val = noisy(1.45 + 0.9 * np.exp(-S / 6), 0.01, seed=3)
    curves = {"loss": high, "val_loss": val}
    assert kinds(curves) == set()  # a loss has no chance level: nothing to compare with
    assert kinds(curves, target=0.3) == {"underfitting"}
    assert kinds(curves, target=1.4) == set()
    gapped = {"loss": noisy(0.1 + 2.2 * np.exp(-S / 6), 0.02), "val_loss": val}
    assert kinds(gapped, target=0.3) == set()  # a generalisation gap, not underfitting
    acc = [0.1 + 0.15 * (1 - math.exp(-i / 5)) for i in range(60)]  # 25 % where chance is 10 %
    assert kinds({"val_accuracy": acc}) == {"underfitting"}
    assert kinds({"val_accuracy": acc}, target=0.26) == set()


def test_still_improving_at_the_end() -> None:
    slow = noisy(0.3 + 2.0 * np.exp(-S / 60), 0.02)
    (f,) = diagnose_curves({"loss": slow, "val_loss": noisy(0.35 + 2.0 * np.exp(-S / 60), 0.01, seed=4)})
    assert f.kind == "still_improving" and f.steps[-1] == 59 and "val_loss" in f.message
    assert kinds({"loss": noisy(CONVERGED, 0.02)}) == set()


def test_still_improving_looks_past_the_fall_after_a_step_decay() -> None:
    before = 0.8 + 1.5 * np.exp(-np.arange(40) / 5)
    after = 0.3 + 0.5 * np.exp(-np.arange(20) / 2)
    loss = noisy(np.r_[before, after], 0.01)
    assert kinds({"loss": loss, "lr": [0.1] * 40 + [0.01] * 20}) == set()


def test_unstable_spikes_noise_and_setbacks() -> None:
    spiky = noisy(CONVERGED, 0.02)
    for i in (15, 35):
        spiky[i] *= 2.5
    (f,) = diagnose_curves({"loss": spiky})
    assert f.kind == "unstable" and f.steps == (15, 35) and "spikes at steps 15, 35: up to" in f.message
    one_small = noisy(CONVERGED, 0.02)
    one_small[30] *= 1.6
    assert kinds({"loss": one_small}) == set()
    jumpy = noisy(0.9 + 1.4 * np.exp(-S / 6), 0.35)
    (f,) = diagnose_curves({"loss": jumpy})
    assert f.kind == "unstable" and "noisy" in f.message
    setback = noisy(CONVERGED + 0.9 * np.exp(-(((S - 28) / 5) ** 2)), 0.02)  # and won back by the end
    (f,) = diagnose_curves({"loss": setback})
    assert f.kind == "unstable" and "rose again" in f.message


def test_short_curves_are_judged_only_where_they_can_be() -> None:
    assert kinds({"loss": [2.3, 2.3, 2.3]}) == set()
    assert kinds({"loss": [2.3, float("nan")]}) == {"diverging"}


def test_target_is_in_the_metrics_own_units() -> None:
    acc = [0.1 + 0.6 * (1 - math.exp(-i / 5)) for i in range(60)]  # levels off at 70 %
    assert kinds({"val_accuracy": acc}, target=0.95) == {"underfitting"}
    assert kinds({"val_accuracy": acc}, target=0.72) == set()


# -- findings ---------------------------------------------------------------------------------------


def test_a_finding_of_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match=r"kind must be one of diverging, .*, boundary_best; got 'exploding'"):
        Finding("exploding", 1, (), "m", "a")


def test_diagnosis_is_a_read_only_sequence_with_a_summary() -> None:
    f1 = Finding("unstable", 2, (4,), "spike", "lower lr")
    f2 = Finding("unstable", 2, (9,), "spike", "lower lr")
    f3 = Finding("boundary_best", None, (), "edge", "widen")
    d = Diagnosis([f1, f2, f3], n_trials=3)
    assert list(d) == [f1, f2, f3] and d[0] is f1 and list(d[1:]) == [f2, f3] and len(d) == 3
    assert d.summary == {**dict.fromkeys(KINDS, 0), "unstable": 1, "boundary_best": 1}
    assert d.healthy == 2 and d.kinds == {"unstable", "boundary_best"}
    assert d.of_kind("unstable") == [f1, f2] and d.for_trial(2) == [f1, f2]
    assert d == Diagnosis([f1, f2, f3], 3) and d != Diagnosis([f1], 3)
    assert repr(d) == "Diagnosis(3 findings in 3 trials: unstable=1, boundary_best=1)"
    with pytest.raises(ValueError, match="kind must be one of"):
        d.of_kind("spiky")
    assert str(f1) == "trial 2: unstable: spike -> lower lr"
