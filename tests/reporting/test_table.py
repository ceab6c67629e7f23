"""The table fits the console: numbers whole, columns by priority, headers abbreviated, every state drawn."""

from __future__ import annotations

import io
import math
import re

import pytest
from rich.console import Console
from rich.text import Text

import tunesmith
from tunesmith.reporting import ConsoleReporter
from tunesmith.reporting._table import Column, abbreviate, fit_columns
from tunesmith.samplers import RandomSampler
from tunesmith.trial import TrialState

_PARAMS = [
    "learning_rate", "batch_size", "weight_decay", "dropout", "optimizer", "n_layers", "hidden_size",
    "momentum", "warmup_ratio", "label_smoothing",
]
_METRICS = ["loss", "accuracy", "grad_norm", "reward", "tokens_seen", "training_iteration"]


def _wide(trial: tunesmith.Trial) -> float:
    lr = trial.suggest_float("learning_rate", 1e-6, 1e-1, log=True)
    trial.suggest_int("batch_size", 8, 512, log=True)
    trial.suggest_float("weight_decay", 1e-9, 1e-2, log=True)
    trial.suggest_float("dropout", 0.0, 0.5)
    trial.suggest_categorical("optimizer", ["adam", "sgd", "rmsprop"])
    trial.suggest_int("n_layers", 1, 8)
    trial.suggest_int("hidden_size", 16, 4096, log=True)
    trial.suggest_float("momentum", 0.5, 0.999)
    trial.suggest_float("warmup_ratio", 0, 0.2)
    trial.suggest_float("label_smoothing", 0, 0.3)
    loss = lr * 3.7e-4
    for i in range(1, 4):
        loss = lr * 3.7e-4 / i
        trial.report(
            i, loss=loss, accuracy=1 - lr, grad_norm=12345.678 / lr, reward=-1234.5678 * (1 + lr),
            tokens_seen=123_456_789_012 * i, training_iteration=i,
        )
    return loss


def _render(width: int) -> tuple[tunesmith.Study, list[str]]:
    console = Console(width=width, force_terminal=True, record=True, file=io.StringIO(), color_system=None)
    study = tunesmith.create_study(name="wide", metric="loss", mode="min", sampler=RandomSampler(seed=0))
    study.optimize(_wide, n_trials=15, reporter=ConsoleReporter(console=console))
    lines = console.export_text().splitlines()
    start = max(i for i, ln in enumerate(lines) if ln.rstrip() == "study wide")  # the final table's title
    end = next(i for i, ln in enumerate(lines) if ln.startswith("study wide:"))  # the summary
    return study, lines[start:end]


def _names_for(header: str) -> list[str]:
    """The parameters and metrics ``header`` may stand for: the name, or its words each shortened."""
    out = []
    for name in [*_PARAMS, *_METRICS]:
        words, short = name.split("_"), header.split("_")
        if name == header or (name, header) == ("training_iteration", "iter") or (
            len(words) == len(short) and all(w.startswith(s) and s for w, s in zip(words, short, strict=True))
        ):
            out.append(name)
    return out


@pytest.mark.parametrize("width", [80, 120])
def test_table_fits_the_width_with_whole_numbers_and_the_priority_columns(width: int) -> None:
    study, table = _render(width)
    print("\n".join(table))  # pytest -s shows it
    assert all(Text(ln).cell_len <= width for ln in table), [ln for ln in table if len(ln) > width]
    assert not any("…" in ln for ln in table)
    header = next(ln for ln in table if ln.startswith("trial")).split()
    assert header[:2] == ["trial", "state"]
    rule = next(i for i, ln in enumerate(table) if ln.startswith("─"))
    rows = [ln.split() for ln in table[rule + 1: -1]]  # up to the caption
    assert len(rows) == 15
    by_number = {t.number: t for t in study.trials}
    shown: list[str] = []
    for col, head in enumerate(header[2:], start=2):
        if head == "time":
            continue
        names = _names_for(head)
        assert len(names) == 1, f"header {head!r} is not a word-wise abbreviation of one column: {names}"
        shown.append(names[0])
        for row in rows:
            t = by_number[int(row[0])]
            real = t.params[names[0]] if names[0] in t.params else t.last_result[names[0]]
            if isinstance(real, str):
                assert row[col] == real
            else:
                assert math.isclose(float(row[col]), real, rel_tol=1e-3), (head, row[col], real)
    # The objective first, then parameters and other metrics in turn, each in order, as far as they fit.
    metrics = [n for n in shown if n in _METRICS]
    params = [n for n in shown if n in _PARAMS]
    assert metrics[0] == "loss" and metrics == [m for m in _METRICS if m in metrics]
    assert params == [p for p in _PARAMS if p in params]
    assert min(len(metrics), len(params)) >= (2 if width == 80 else 4)
    left_out = {"param": len(_PARAMS) - len(params), "metric": len(_METRICS) - len(metrics)}
    notes = [f"+{n} {kind}{'s' if n > 1 else ''}" for kind, n in left_out.items() if n]
    assert notes and f"{', '.join(notes)} not shown" in table[-1], (notes, table[-1])


def _tutorial(trial: tunesmith.Trial) -> None:
    """The columns of the Ray Tune tutorial (``examples/tune_digits_asha.py``)."""
    lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    trial.suggest_categorical("l1", [4, 64, 256])
    trial.suggest_categorical("l2", [4, 64, 256])
    trial.suggest_categorical("batch_size", [2, 4, 8, 16])
    for i in range(1, 11):
        trial.report(i, loss=lr / i, accuracy=1 - lr / i, training_iteration=i)


@pytest.mark.parametrize("width", [80, 120])
def test_the_tutorial_table_shows_every_parameter_and_metric(width: int) -> None:
    console = Console(width=width, force_terminal=True, record=True, file=io.StringIO(), color_system=None)
    study = tunesmith.create_study(name="tutorial", metric="loss", mode="min", sampler=RandomSampler(seed=0))
    reporter = ConsoleReporter(
        parameter_columns=["l1", "l2", "lr", "batch_size"], metric_columns=["loss", "accuracy", "training_iteration"],
        console=console,
    )
    study.optimize(_tutorial, n_trials=12, reporter=reporter)
    lines = console.export_text().splitlines()
    header = next(ln for ln in reversed(lines) if ln.startswith("trial "))
    print("\n".join(lines[-22:]))
    whole = ["trial", "state", "l1", "l2", "lr", "batch_size", "loss", "accuracy", "training_iteration", "time"]
    if width == 120:
        assert header.split() == whole
    else:  # every parameter and metric; "iter" for training_iteration; the time (least needed) does not fit
        assert header.split() == [{"training_iteration": "iter"}.get(h, h) for h in whole[:-1]]
    assert not any("not shown" in ln for ln in lines)


def test_abbreviate_shortens_each_word_and_never_cuts_to_an_ellipsis() -> None:
    assert abbreviate("batch_size", 10) == "batch_size"
    assert abbreviate("batch_size", 7) == "bat_siz"
    assert abbreviate("value_1", 5) == "val_1"  # the distinguishing digit stays
    assert abbreviate("training_iteration", 6) == "iter"
    assert abbreviate("accuracy", 6) == "accura"
    assert abbreviate("a_b_c_d", 3) == "a_b"  # more words than fit: cut


def test_fit_columns_keeps_required_and_priority_columns_and_widens_headers_last() -> None:
    def col(key: str, header: str, cell: str, priority: float, required: bool = False) -> Column:
        return Column(key, header, [Text(cell)], priority, required=required)

    cols = [
        col("trial", "trial", "1", 0, True), col("p1", "first_parameter", "0.1234", 3),
        col("p2", "second_parameter", "1.234e-05", 4), col("m", "loss", "3.779e-05", 1),
    ]
    # Two characters between cells; at their floors: 5 + 8 (p1, header 8) + 9 + 2 * 2 = 26, p2 needs 11 more.
    shown = fit_columns(cols, 26)
    assert [c.key for c in shown] == ["trial", "p1", "m"]  # p2 left out; display order kept
    assert [c.width for c in shown] == [5, 8, 9] and shown[1].title() == "firs_par"
    assert fit_columns(cols, 30)[1].title() == "first_parame"  # width left over widens an abbreviated header
    assert fit_columns(cols, 33)[1].title() == "first_parameter"  # 7 more: whole
    assert [c.key for c in fit_columns(cols, 37)] == ["trial", "p1", "p2", "m"]
    assert [c.key for c in fit_columns(cols, 3)] == ["trial"]  # required even if nothing fits


def test_every_trial_state_is_drawn_in_the_live_table_and_in_lines() -> None:
    study = tunesmith.create_study(name="states", sampler=RandomSampler(seed=0))
    for state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED, TrialState.PAUSED):
        trial = study.ask()
        trial.suggest_float("x", 0, 1)
        trial.report(1, loss=0.5)
        if state == TrialState.COMPLETE:
            study.tell(trial, 0.25)
        else:
            study.tell(trial, state=state)
    study.ask().suggest_float("x", 0, 1)  # stays RUNNING
    study.enqueue({"x": 0.5})  # stays WAITING
    assert {t.state for t in study.trials} == set(TrialState)
    for terminal in (True, False):
        console = Console(file=io.StringIO(), force_terminal=terminal, color_system="truecolor", width=100)
        reporter = ConsoleReporter(console=console, print_intermediate_tables=True)
        reporter.start(study, None, None)
        reporter.update(study)
        reporter.finish(study)
        out = console.file.getvalue()  # type: ignore[attr-defined]
        for state in TrialState:
            assert f"1 {state.name}" in re.sub(r"\x1b\[[0-9;]*m", "", out), state
